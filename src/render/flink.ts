// A Flink consumer's S3 wiring, for its two kinds:
//   flink-cmf       a Confluent Manager for Apache Flink FlinkEnvironment whose
//                   flinkApplicationDefaults carry the settings for every application
//   flink-operator  an Apache Flink Kubernetes Operator FlinkDeployment with the same
// Checkpoints and savepoints go through the presto S3 plugin (s3p://, the one Flink
// recommends for checkpoints) with path-style access. The credentials are NOT in the
// configuration: the plugin takes s3.access-key literally (an unexpanded ${...} is sent
// as the key: 403 InvalidAccessKeyId) and, when the key is absent, reads the AWS SDK's
// environment variables, which the pod gets from the consumer's Secret.
import type { ConsumerSettings } from '../consumers.ts';
import { checkpointLocation } from '../consumers.ts';
import { flinkKeys } from '../flink.ts';
import type { Options } from '../options.ts';
import { consumerObject, consumerSecret, metadata, s3Endpoint } from './names.ts';
import { TRUST_MOUNT, trustJavaOptions, trustVolume } from './trust.ts';

/** Checkpoints kept: the latest to restore from, and two older ones in case it is damaged. */
export const RETAINED_CHECKPOINTS = 3;

/** The Flink pods' ephemeral-storage (see podTemplate). */
export const FLINK_SCRATCH = { request: '1Gi', limit: '8Gi' } as const;

/** The keys of the consumer's Secret the pods get as environment variables. */
const AWS_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];

/**
 * flinkConfiguration for S3 on MinIO: RocksDB with incremental checkpoints taken every
 * checkpointInterval, kept on cancellation (a cancelled job can be restored), the key
 * names of the configured version, and with TLS the truststore for the JVMs.
 */
export function flinkConfiguration(o: Options, c: ConsumerSettings): Record<string, string> {
  const k = flinkKeys(o.global.flinkVersion);
  const at = checkpointLocation(c);
  const base = `s3p://${at.bucket}/${at.prefix.slice(0, -'checkpoints/'.length)}`;
  const java = trustJavaOptions(o);
  return {
    [k.stateBackend]: 'rocksdb',
    [k.checkpointDir]: `${base}checkpoints`,
    [k.savepointDir]: `${base}savepoints`,
    [k.incremental]: 'true',
    [k.retained]: String(RETAINED_CHECKPOINTS),
    [k.interval]: c.checkpointInterval!,
    [k.retention]: 'RETAIN_ON_CANCELLATION',
    's3.endpoint': s3Endpoint(o),
    's3.path.style.access': 'true',
    ...(java.length > 0 ? { [k.jvmOptions]: java.join(' ') } : {}),
  };
}

/** The main container: the presto plugin switched on, the credentials from the Secret, the truststore. */
function podTemplate(o: Options, name: string) {
  const trusted = trustJavaOptions(o).length > 0;
  const container = {
    name: 'flink-main-container',
    env: [
      { name: 'ENABLE_BUILT_IN_PLUGINS', value: `flink-s3-fs-presto-${o.global.flinkVersion}.jar` },
      ...AWS_ENV.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: consumerSecret(o, name), key } } })),
    ],
    // Flink sets cpu and memory (jobManager/taskManager resources) and keeps the template's
    // other resources. On the node's disk: RocksDB's working copy of the state (io.tmp.dirs,
    // /tmp), the blob cache and the logs. A job with more state than this raises the limit
    // in its own podTemplate; at the limit the kubelet evicts the pod, and the job restarts
    // from its last checkpoint.
    resources: {
      requests: { 'ephemeral-storage': FLINK_SCRATCH.request },
      limits: { 'ephemeral-storage': FLINK_SCRATCH.limit },
    },
    ...(trusted ? { volumeMounts: [TRUST_MOUNT] } : {}),
  };
  return { spec: { containers: [container], ...(trusted ? { volumes: [trustVolume(o)] } : {}) } };
}

export function flinkEnvironment(o: Options, name: string, c: ConsumerSettings, meta: Record<string, unknown>) {
  return {
    apiVersion: 'platform.confluent.io/v1beta1',
    kind: 'FlinkEnvironment',
    metadata: metadata(consumerObject(o, name), 'consumer', meta),
    spec: {
      kubernetesNamespace: c.namespace,
      flinkApplicationDefaults: {
        metadata: { labels: { 'app.kubernetes.io/part-of': 'minio-gitops' } },
        spec: { flinkConfiguration: flinkConfiguration(o, c), podTemplate: podTemplate(o, name) },
      },
      cmfRestClassRef: { name: 'default', namespace: c.namespace },
    },
  };
}

export function flinkDeployment(o: Options, name: string, c: ConsumerSettings, meta: Record<string, unknown>) {
  const [major, minor] = o.global.flinkVersion.split('.');
  const resource = { memory: '2048m', cpu: 1 };
  return {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: metadata(consumerObject(o, name), 'consumer', meta),
    spec: {
      image: o.global.flinkImage || `flink:${o.global.flinkVersion}`,
      flinkVersion: `v${major}_${minor}`,
      serviceAccount: 'flink',
      flinkConfiguration: { ...flinkConfiguration(o, c), 'taskmanager.numberOfTaskSlots': '1' },
      podTemplate: podTemplate(o, name),
      jobManager: { resource },
      taskManager: { resource },
      // A stateful example job from the image: replace jarURI with the real job.
      job: {
        jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar',
        parallelism: 1,
        upgradeMode: 'savepoint',
        state: 'running',
      },
    },
  };
}
