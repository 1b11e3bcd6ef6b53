// An iceberg-catalog consumer: the lake's Iceberg REST catalog, deployed with the env in
// the consumer's namespace. It is Apache Iceberg's own REST catalog server (the image the
// Iceberg project publishes, apache/iceberg-rest-fixture: the reference implementation
// of the REST protocol), with its catalog in SQLite on a volume, so the env needs no
// database. Commits are atomic, and every Iceberg operation (snapshot expiry among them)
// works as the clients expect. It writes table metadata itself, with its own MinIO user
// limited to the warehouse; clients (Spark) get no credentials from it and write the data
// files with their own users.
//   ServiceAccount, PVC <id>-data, Deployment (1 replica, Recreate: SQLite has one
//   writer), Service, NetworkPolicy; <id> is <MinIO's namespace>-<consumer> (consumerObject)
import type { ConsumerSettings } from '../consumers.ts';
import { warehouseLocation } from '../consumers.ts';
import type { Options } from '../options.ts';
import { catalogImage } from '../options.ts';
import {
  API_PORT,
  catalogClaim,
  consumerObject,
  consumerSecret,
  KEEP,
  RESTRICTED_CONTAINER,
  S3_REGION,
  s3Endpoint,
  selectorLabels,
  syncWave,
  WAVES,
} from './names.ts';
import { TRUST_MOUNT, trustJavaOptions, trustVolume } from './trust.ts';

export const CATALOG_PORT = 8181;
const DATA_DIR = '/var/lib/iceberg';
// The image's user (iceberg, uid and gid 1000); the volume is made writable for it.
const CATALOG_UID = 1000;

const selector = (name: string) => ({
  'app.kubernetes.io/name': 'iceberg-catalog',
  'app.kubernetes.io/instance': name,
});
function meta(name: string, c: ConsumerSettings, suffix = '') {
  return {
    name: `${name}${suffix}`,
    namespace: c.namespace,
    labels: {
      ...selector(name),
      'app.kubernetes.io/component': 'catalog',
      'app.kubernetes.io/part-of': 'minio-gitops',
      'app.kubernetes.io/managed-by': 'minio-gitops',
    },
    annotations: syncWave(WAVES.consumers),
  };
}

/** The URI Spark's REST catalog client uses: the server's Service. */
export function catalogUri(o: Options, server: string): string {
  const c = o.settings.consumers[server]!;
  return `http://${consumerObject(o, server)}.${c.namespace}.svc.cluster.local:${CATALOG_PORT}`;
}

/**
 * The server's configuration: catalog properties as CATALOG_* variables (the image maps
 * CATALOG_S3_PATH__STYLE__ACCESS to s3.path-style-access: `__` is `-`, `_` is `.`).
 */
export function catalogEnv(o: Options, c: ConsumerSettings): Record<string, string> {
  const at = warehouseLocation(c, o.settings.buckets);
  return {
    CATALOG_URI: `jdbc:sqlite:${DATA_DIR}/catalog.db`,
    CATALOG_WAREHOUSE: `s3://${at.bucket}/${at.prefix}`,
    CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
    CATALOG_S3_ENDPOINT: s3Endpoint(o),
    CATALOG_S3_PATH__STYLE__ACCESS: 'true',
    CATALOG_CLIENT_REGION: S3_REGION,
  };
}

export function catalogObjects(o: Options, name: string, c: ConsumerSettings): Record<string, object> {
  const java = trustJavaOptions(o);
  const id = consumerObject(o, name);
  const ref = (key: string) => ({ name: key, valueFrom: { secretKeyRef: { name: consumerSecret(o, name), key } } });
  const probe = {
    httpGet: { path: '/v1/config', port: 'http' },
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 6,
  };
  const env = [
    ...Object.entries(catalogEnv(o, c)).map(([k, value]) => ({ name: k, value })),
    // Its own MinIO user, through the AWS SDK's default chain.
    ref('AWS_ACCESS_KEY_ID'),
    ref('AWS_SECRET_ACCESS_KEY'),
    ref('AWS_REGION'),
    // The image runs `java -jar`: the JVM reads its options from here.
    ...(java.length > 0 ? [{ name: 'JAVA_TOOL_OPTIONS', value: java.join(' ') }] : []),
  ];
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(id, c),
    spec: {
      replicas: 1,
      // SQLite has one writer and the volume one mounter: the old pod goes first.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector(id) },
      template: {
        metadata: { labels: meta(id, c).labels },
        spec: {
          serviceAccountName: id,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: CATALOG_UID,
            runAsGroup: CATALOG_UID,
            fsGroup: CATALOG_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'catalog',
              image: catalogImage(o.global),
              imagePullPolicy: 'IfNotPresent',
              ports: [{ name: 'http', containerPort: CATALOG_PORT, protocol: 'TCP' }],
              env,
              startupProbe: { ...probe, failureThreshold: 30 },
              // Alive while it accepts connections; ready while it answers the catalog API. One
              // probe for both would restart a server that is only slow to answer.
              livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
              readinessProbe: probe,
              // ephemeral-storage: /tmp (at most 256Mi, below) and its log; the catalog's database is on its volume.
              resources: {
                requests: { cpu: '100m', memory: '512Mi', 'ephemeral-storage': '128Mi' },
                limits: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '512Mi' },
              },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: 'data', mountPath: DATA_DIR },
                // The JVM's temp files (SQLite's native library among them).
                { name: 'tmp', mountPath: '/tmp' },
                ...(java.length > 0 ? [TRUST_MOUNT] : []),
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: catalogClaim(o, name) } },
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ...(java.length > 0 ? [trustVolume(o)] : []),
          ],
        },
      },
    },
  };
  // Who may call it: its own namespace and the Spark consumers that name it.
  const clients = [
    ...new Set([
      c.namespace,
      ...Object.values(o.settings.consumers)
        .filter((x) => x.catalogServer === name)
        .map((x) => x.namespace),
    ]),
  ].sort();
  return {
    [`serviceaccount-${name}.yaml`]: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(id, c),
      automountServiceAccountToken: false,
    },
    [`persistentvolumeclaim-${name}-data.yaml`]: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      // The catalog's only copy: never pruned or deleted by the engine (a renamed or removed
      // consumer leaves it behind, to delete by hand).
      metadata: { ...meta(id, c, '-data'), annotations: { ...meta(id, c).annotations, ...KEEP } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: c.size } },
        ...(o.settings.storageClass ? { storageClassName: o.settings.storageClass } : {}),
      },
    },
    [`deployment-${name}.yaml`]: deployment,
    [`service-${name}.yaml`]: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(id, c),
      spec: {
        selector: selector(id),
        ports: [{ name: 'http', port: CATALOG_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    },
    [`networkpolicy-${name}.yaml`]: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(id, c),
      spec: {
        podSelector: { matchLabels: selector(id) },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: clients }],
                },
              },
            ],
            ports: [{ protocol: 'TCP', port: CATALOG_PORT }],
          },
        ],
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': o.settings.namespace } },
                podSelector: { matchLabels: selectorLabels },
              },
            ],
            ports: [{ protocol: 'TCP', port: API_PORT }],
          },
        ],
      },
    },
  };
}
