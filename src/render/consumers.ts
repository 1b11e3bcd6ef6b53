// The consumers' side, in their own namespaces (overlays/<env>/consumers/, a kustomization
// without `namespace:` so each object keeps its own): each consumer's credentials Secret
// and what wires it to S3 —
//   flink-cmf       a Confluent Manager for Apache Flink FlinkEnvironment whose
//                   flinkApplicationDefaults carry the S3 and checkpoint settings
//   flink-operator  an Apache Flink Kubernetes Operator FlinkDeployment with the same
//   iceberg-spark   a ConfigMap holding spark-defaults.conf for an Iceberg catalog on S3FileIO
// The same credentials sit in the MinIO namespace for the bootstrap Job (a mirror Secret):
// a Secret cannot be read across namespaces.
import { createHash } from 'node:crypto';
import type { ConsumerSettings } from '../consumers.ts';
import { grantBucket } from '../consumers.ts';
import type { Options } from '../options.ts';
import { kustomization, yamlFile, type GeneratedFile } from './files.ts';
import { metadata, syncWave, WAVES } from './names.ts';
import { externalSecret, plainSecret } from './overlay.ts';
import { s3Endpoint } from './bootstrap.ts';

/** The consumer's Secret in its namespace (the seed's minio-s3-credentials, one per consumer). */
export function consumerSecret(consumer: string): string {
  return `minio-s3-credentials-${consumer}`;
}

/** The copy in the MinIO namespace that the bootstrap Job reads. */
export function consumerMirrorSecret(consumer: string): string {
  return `minio-consumer-${consumer}`;
}

/** MinIO ignores the region; the AWS SDKs want one. */
export const S3_REGION = 'us-east-1';

/** The two values the bootstrap Job's copy holds (and mounts as files of these names). */
export const CREDENTIAL_KEYS = ['s3.access-key', 's3.secret-key'] as const;

/** The keys that carry the secret key: what external mode reads from the store. */
const SECRET_VALUE_KEYS = ['s3.secret-key', 'AWS_SECRET_ACCESS_KEY'];

/**
 * A consumer's Secret: the seed's keys (s3.access-key, s3.secret-key, s3.endpoint) and
 * the same credentials under the AWS SDK's names, for envFrom. One place for every mode.
 */
export function consumerSecretValues(endpoint: string, user: string, secret: string): Record<string, string> {
  return { 's3.access-key': user, 's3.secret-key': secret, 's3.endpoint': endpoint, AWS_ACCESS_KEY_ID: user, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: S3_REGION };
}

/** Every key a consumer's Secret has (verify checks them). */
export const CONSUMER_SECRET_KEYS = Object.keys(consumerSecretValues('', '', ''));

/** Plain (dev) credentials: fixed, so the dev overlay is reproducible. */
export function devConsumerCredentials(consumer: string, c: ConsumerSettings) {
  return { 's3.access-key': c.user, 's3.secret-key': `dev-${consumer}-password-change-me` };
}

const CONSUMER_WAVE = { annotations: syncWave(WAVES.consumers) };
const MIRROR_WAVE = { annotations: syncWave(WAVES.prerequisites) };

/**
 * The consumers' credentials objects for plain and external mode (sops mode seals them
 * in sealed/<env>/{bootstrap,consumers}/): file name -> object.
 */
export function consumerCredentials(o: Options, side: 'bootstrap' | 'consumers'): Record<string, object> {
  const s = o.settings;
  const out: Record<string, object> = {};
  for (const [name, c] of Object.entries(s.consumers)) {
    const secretName = side === 'bootstrap' ? consumerMirrorSecret(name) : consumerSecret(name);
    const meta = side === 'bootstrap' ? MIRROR_WAVE : { namespace: c.namespace, ...CONSUMER_WAVE };
    if (s.secrets === 'plain') {
      const v = devConsumerCredentials(name, c);
      out[`secret-${name}.yaml`] = plainSecret(secretName, side === 'bootstrap' ? v : consumerSecretValues(s3Endpoint(o), v['s3.access-key'], v['s3.secret-key']), meta);
    } else if (s.secrets === 'external') {
      // The store holds the secret only: the user (access key) is the configured one, so
      // the checks on it (one user per consumer, not the root user) hold in this mode too.
      const all = side === 'bootstrap' ? { 's3.access-key': c.user, 's3.secret-key': '' } : consumerSecretValues(s3Endpoint(o), c.user, '');
      const fromStore = Object.fromEntries(Object.keys(all).filter((k) => SECRET_VALUE_KEYS.includes(k)).map((k) => [k, 'secretKey']));
      const fixed = Object.fromEntries(Object.entries(all).filter(([k]) => !SECRET_VALUE_KEYS.includes(k)));
      out[`externalsecret-${name}.yaml`] = externalSecret(o, secretName, fromStore, `${s.remoteKey}/${name}`, meta, fixed);
    }
  }
  return out;
}

/** A fingerprint of the consumers' plain credentials, so a change re-runs the Job. */
export function plainCredentialsChecksum(o: Options): string {
  if (o.settings.secrets !== 'plain') return '';
  const all = Object.entries(o.settings.consumers).map(([name, c]) => [name, devConsumerCredentials(name, c)]);
  return createHash('sha256').update(JSON.stringify(all)).digest('hex').slice(0, 16);
}

// ---- Flink

function flinkAtLeast(version: string, major: number, minor: number): boolean {
  const [ma, mi] = version.split('.').map(Number) as [number, number];
  return ma > major || (ma === major && mi >= minor);
}

/** The bucket (and prefix) a Flink consumer keeps its checkpoints and savepoints in. */
function flinkLocation(c: ConsumerSettings): string {
  const grant = c.buckets[0]!;
  return grant.includes('/') ? grant.replace(/\/$/, '') : grant;
}

/**
 * flinkConfiguration for S3 on MinIO: the presto S3 plugin (s3p://, the one Flink
 * recommends for checkpoints), path-style access, RocksDB with incremental checkpoints,
 * and the checkpoint keys of the configured version (renamed in 1.20; the old names are
 * gone in 2.x). `credentials` adds the seed's ${S3_*} references (CMF expands them).
 */
export function flinkConfiguration(o: Options, c: ConsumerSettings, credentials: boolean): Record<string, string> {
  const v = o.global.flinkVersion;
  const at = flinkLocation(c);
  const renamed = flinkAtLeast(v, 1, 20);
  const keys = renamed
    ? { dir: 'execution.checkpointing.dir', savepoints: 'execution.checkpointing.savepoint-dir', incremental: 'execution.checkpointing.incremental', retained: 'execution.checkpointing.num-retained' }
    : { dir: 'state.checkpoints.dir', savepoints: 'state.savepoints.dir', incremental: 'state.backend.incremental', retained: 'state.checkpoints.num-retained' };
  return {
    [flinkAtLeast(v, 1, 17) ? 'state.backend.type' : 'state.backend']: 'rocksdb',
    [keys.dir]: `s3p://${at}/checkpoints`,
    [keys.savepoints]: `s3p://${at}/savepoints`,
    [keys.incremental]: 'true',
    [keys.retained]: '3',
    's3.endpoint': s3Endpoint(o),
    's3.path.style.access': 'true',
    ...(credentials ? { 's3.access-key': '${S3_ACCESS_KEY}', 's3.secret-key': '${S3_SECRET_KEY}' } : {}),
  };
}

/** The main container's env: the presto plugin switched on, the credentials from the Secret. */
function flinkContainer(o: Options, name: string) {
  const ref = (key: string) => ({ valueFrom: { secretKeyRef: { name: consumerSecret(name), key } } });
  return {
    name: 'flink-main-container',
    env: [
      { name: 'ENABLE_BUILT_IN_PLUGINS', value: `flink-s3-fs-presto-${o.global.flinkVersion}.jar` },
      { name: 'S3_ENDPOINT', ...ref('s3.endpoint') },
      { name: 'S3_ACCESS_KEY', ...ref('s3.access-key') },
      { name: 'S3_SECRET_KEY', ...ref('s3.secret-key') },
      // The AWS SDK's default credential chain reads these where ${S3_*} is not expanded.
      { name: 'AWS_ACCESS_KEY_ID', ...ref('s3.access-key') },
      { name: 'AWS_SECRET_ACCESS_KEY', ...ref('s3.secret-key') },
    ],
  };
}

function flinkEnvironment(o: Options, name: string, c: ConsumerSettings) {
  return {
    apiVersion: 'platform.confluent.io/v1beta1',
    kind: 'FlinkEnvironment',
    metadata: metadata(name, 'consumer', { namespace: c.namespace, ...CONSUMER_WAVE }),
    spec: {
      kubernetesNamespace: c.namespace,
      flinkApplicationDefaults: {
        metadata: { labels: { 'app.kubernetes.io/part-of': 'minio-gitops' } },
        spec: {
          flinkConfiguration: flinkConfiguration(o, c, true),
          podTemplate: { spec: { containers: [flinkContainer(o, name)] } },
        },
      },
      cmfRestClassRef: { name: 'default', namespace: c.namespace },
    },
  };
}

function flinkDeployment(o: Options, name: string, c: ConsumerSettings) {
  const [major, minor] = o.global.flinkVersion.split('.');
  const resource = { memory: '2048m', cpu: 1 };
  return {
    apiVersion: 'flink.apache.org/v1beta1',
    kind: 'FlinkDeployment',
    metadata: metadata(name, 'consumer', { namespace: c.namespace, ...CONSUMER_WAVE }),
    spec: {
      image: o.global.flinkImage || `flink:${o.global.flinkVersion}`,
      flinkVersion: `v${major}_${minor}`,
      serviceAccount: 'flink',
      flinkConfiguration: { ...flinkConfiguration(o, c, false), 'taskmanager.numberOfTaskSlots': '1' },
      podTemplate: { spec: { containers: [flinkContainer(o, name)] } },
      jobManager: { resource },
      taskManager: { resource },
      // A stateful example job from the image: replace jarURI with the real job.
      job: { jarURI: 'local:///opt/flink/examples/streaming/StateMachineExample.jar', parallelism: 1, upgradeMode: 'savepoint', state: 'running' },
    },
  };
}

/** The warehouse: the consumer's first grant, its prefix or the bucket's first prefix. */
function warehouse(o: Options, c: ConsumerSettings): string {
  const grant = c.buckets[0]!;
  if (grant.includes('/')) return `s3://${grant}`;
  const first = o.settings.buckets[grant]?.prefixes[0] ?? '';
  return `s3://${grant}/${first}`;
}

/** spark-defaults.conf for an Iceberg catalog named `iceberg` on S3FileIO. */
export function sparkDefaults(o: Options, name: string, c: ConsumerSettings): string {
  const cat = 'spark.sql.catalog.iceberg';
  const lines: [string, string][] = [
    ['spark.sql.extensions', 'org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions'],
    [cat, 'org.apache.iceberg.spark.SparkCatalog'],
    [`${cat}.type`, c.catalog!],
    ...(c.catalogUri ? ([[`${cat}.uri`, c.catalogUri]] as [string, string][]) : []),
    [`${cat}.warehouse`, warehouse(o, c)],
    [`${cat}.io-impl`, 'org.apache.iceberg.aws.s3.S3FileIO'],
    [`${cat}.s3.endpoint`, s3Endpoint(o)],
    [`${cat}.s3.path-style-access`, 'true'],
    [`${cat}.client.region`, S3_REGION],
    ['spark.sql.defaultCatalog', 'iceberg'],
  ];
  const header = [
    '# Iceberg on MinIO (minio-gitops). Credentials come from the environment (the AWS SDK',
    `# default chain): envFrom the Secret ${consumerSecret(name)} sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.`,
  ];
  return `${[...header, ...lines.map(([k, v]) => `${k} ${v}`)].join('\n')}\n`;
}

function sparkConfigMap(o: Options, name: string, c: ConsumerSettings) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(`${name}-spark-defaults`, 'consumer', { namespace: c.namespace, ...CONSUMER_WAVE }),
    data: { 'spark-defaults.conf': sparkDefaults(o, name, c) },
  };
}

export function renderConsumers(o: Options): GeneratedFile[] {
  const s = o.settings;
  const names = Object.keys(s.consumers);
  if (names.length === 0) return [];
  const dir = `overlays/${o.env}/consumers`;
  const scope = `env ${o.env}, consumers`;
  const objects: Record<string, object> = { ...consumerCredentials(o, 'consumers') };
  for (const [name, c] of Object.entries(s.consumers)) {
    if (c.kind === 'flink-cmf') objects[`flinkenvironment-${name}.yaml`] = flinkEnvironment(o, name, c);
    if (c.kind === 'flink-operator') objects[`flinkdeployment-${name}.yaml`] = flinkDeployment(o, name, c);
    if (c.kind === 'iceberg-spark') objects[`configmap-${name}-spark-defaults.yaml`] = sparkConfigMap(o, name, c);
  }
  return [
    ...Object.entries(objects).map(([file, obj]) => yamlFile(`${dir}/${file}`, obj, scope)),
    // No `namespace:` here: every object names its consumer's namespace.
    kustomization(dir, scope, { resources: [...(s.secrets === 'sops' ? [`../../../sealed/${o.env}/consumers`] : []), ...Object.keys(objects)] }),
  ];
}

/** Every consumer namespace of the env, once, sorted. */
export function consumerNamespaces(o: Options): string[] {
  return [...new Set(Object.values(o.settings.consumers).map((c) => c.namespace))].sort();
}
