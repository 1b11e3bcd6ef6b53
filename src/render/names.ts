// Names, labels and ports that the rendered objects share. One place, so a Service, its
// selector, the NetworkPolicies and the ServiceMonitor cannot drift apart.
import { consumerObject, type Options } from '../options.ts';
import { template } from './template.ts';

export const APP = 'minio';
export const HEADLESS_SERVICE = 'minio-hl';
export const CONSOLE_SERVICE = 'minio-console';
export const ROOT_SECRET = 'minio-root-credentials';
export const BASIC_AUTH_SECRET = 'minio-console-basic-auth';
export const TLS_SECRET = 'minio-tls';
export const INGRESS_TLS_SECRET = 'minio-ingress-tls';
export const DATA_CLAIM = 'minio-data';

export const API_PORT = 9000;
export const CONSOLE_PORT = 9001;
export const DATA_DIR = '/data';
export const CERTS_DIR = '/etc/minio/certs';
/** The uid/gid the server runs as; hostpath directories must belong to it. */
export const RUN_AS = 1000;

/** A container at Pod Security `restricted`, with a read-only root filesystem. */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Selector labels: stable for the life of the objects, so never more than these two. */
export const selectorLabels = { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/instance': APP };

/** Annotations that keep an object holding data from being pruned or deleted by the engine. */
export const KEEP = {
  'kustomize.toolkit.fluxcd.io/prune': 'disabled',
  'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
};

export const BOOTSTRAP = 'minio-bootstrap';
/** Labels of the bootstrap Job's pods: not the server's selector, so no Service routes to them. */
export const bootstrapSelector = { 'app.kubernetes.io/name': BOOTSTRAP, 'app.kubernetes.io/instance': APP };

export function labels(component: string): Record<string, string> {
  return {
    ...selectorLabels,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'minio-gitops',
    'app.kubernetes.io/managed-by': 'minio-gitops',
  };
}

/**
 * Argo CD sync waves: the namespace first (-2), then what the servers need to start:
 * credentials, certificates and their issuers (-1); MinIO itself at 0; the consumers'
 * objects (1); the bucket bootstrap Job, a PostSync hook (2). Flux ignores the annotation
 * and orders the same steps with dependsOn.
 */
export const WAVES = { namespace: -2, prerequisites: -1, consumers: 1, bootstrap: 2 } as const;

export function syncWave(wave: number): Record<string, string> {
  return { 'argocd.argoproj.io/sync-wave': String(wave) };
}

/** Credentials, certificates and issuers come before the servers (Argo CD sync wave). */
export const PREREQUISITE = { annotations: syncWave(WAVES.prerequisites) };

export function metadata(name: string, component: string, extra: Record<string, unknown> = {}) {
  return { name, labels: labels(component), ...extra };
}

/** The in-cluster DNS names of the server, for certificates. */
export function serviceHosts(namespace: string, distributed: boolean): string[] {
  const names = [APP, CONSOLE_SERVICE].flatMap((svc) => [
    svc,
    `${svc}.${namespace}`,
    `${svc}.${namespace}.svc`,
    `${svc}.${namespace}.svc.cluster.local`,
  ]);
  return distributed ? [...names, `*.${HEADLESS_SERVICE}.${namespace}.svc.cluster.local`] : names;
}

/** One server pool: its StatefulSet's name (the first pool's is `minio`) and server count. */
export interface PoolRef {
  statefulSet: string;
  servers: number;
}

/** The StatefulSet of pool `index` (0-based): the first keeps the name it always had. */
export function poolStatefulSet(index: number): string {
  return index === 0 ? APP : `${APP}-pool-${index + 1}`;
}

/**
 * The MINIO_VOLUMES value: one local directory, or every server of every pool by its
 * stable DNS name, pool after pool (MinIO takes one argument per pool, in the order the
 * pools were added). The namespace is written out, not taken from another env var: a
 * strategic merge may reorder env entries, and $(VAR) only sees the ones before it.
 */
export function minioVolumes(pools: PoolRef[], tls: boolean, namespace: string): string {
  if (pools.length === 1 && pools[0]!.servers === 1) return DATA_DIR;
  const scheme = tls ? 'https' : 'http';
  return pools
    .map(
      (p) =>
        `${scheme}://${p.statefulSet}-{0...${p.servers - 1}}.${HEADLESS_SERVICE}.${namespace}.svc.cluster.local${DATA_DIR}`,
    )
    .join(' ');
}

const headers = template('headers.txt');

/** Where a generated file says it came from, and that hand edits belong in the config. */
export function generatedHeader(scope: string): string {
  return headers('generated', { scope });
}

/** The S3 endpoint inside the cluster: the API Service, https with TLS. */
export function s3Endpoint(o: Options): string {
  return `${o.settings.tls ? 'https' : 'http'}://${APP}.${o.settings.namespace}.svc.cluster.local:${API_PORT}`;
}

/** Every consumer namespace of the env, once, sorted. */
export function consumerNamespaces(o: Options): string[] {
  return [...new Set(Object.values(o.settings.consumers).map((c) => c.namespace))].sort();
}

// consumerObject lives with the settings, which check the names it makes.
export { consumerObject } from '../options.ts';

/** A consumer's credentials Secret in its own namespace (the seed's minio-s3-credentials, one per consumer). */
export function consumerSecret(o: Options, consumer: string): string {
  return o.settings.consumerNames === 'legacy'
    ? `minio-s3-credentials-${consumer}`
    : `${o.settings.namespace}-s3-credentials-${consumer}`;
}

/** The ConfigMap holding a Spark consumer's spark-defaults.conf. */
export function sparkDefaultsName(o: Options, consumer: string): string {
  return `${consumerObject(o, consumer)}-spark-defaults`;
}

/** A catalog server's volume claim. */
export function catalogClaim(o: Options, consumer: string): string {
  return `${consumerObject(o, consumer)}-data`;
}

/** Each object the env puts in its consumers' namespaces, as `Kind namespace/name`. */
export function consumerNamespaceObjects(o: Options): string[] {
  return Object.entries(o.settings.consumers).flatMap(([name, c]) => {
    const id = consumerObject(o, name);
    const objects: [string, string][] = [['Secret', consumerSecret(o, name)]];
    if (c.kind === 'flink-cmf') objects.push(['FlinkEnvironment', id]);
    if (c.kind === 'flink-operator') objects.push(['FlinkDeployment', id]);
    if (c.kind === 'iceberg-spark') objects.push(['ConfigMap', sparkDefaultsName(o, name)]);
    if (c.kind === 'iceberg-catalog')
      objects.push(
        ['Deployment', id],
        ['Service', id],
        ['ServiceAccount', id],
        ['NetworkPolicy', id],
        ['PersistentVolumeClaim', catalogClaim(o, name)],
      );
    return objects.map(([kind, object]) => `${kind} ${c.namespace}/${object}`);
  });
}

/** The copy in the MinIO namespace that the bootstrap Job reads (a Secret cannot be read across namespaces). */
export function consumerMirrorSecret(consumer: string): string {
  return `minio-consumer-${consumer}`;
}

/** MinIO ignores the region; the AWS SDKs want one. */
export const S3_REGION = 'us-east-1';
