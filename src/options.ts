// What a scaffold run is made of: the settings shared by every env (global) and the
// settings of one env, their profile defaults, and the rules that check them. The same
// checks run on flags and on the config file, so a value is valid or not wherever it
// comes from. Nothing here does I/O.
import {
  checkBuckets,
  checkConsumers,
  checkDataLayout,
  defaultBuckets,
  defaultConsumers,
  type BucketSettings,
  type ConsumerSettings,
} from './consumers.ts';
import { fail, show } from './errors.ts';
import { FLINK_LINES, flinkLine } from './flink.ts';

export const PROFILES = ['dev', 'prod'] as const;
export type Profile = (typeof PROFILES)[number];

export const SECRETS_MODES = ['plain', 'sops', 'external'] as const;
export type SecretsMode = (typeof SECRETS_MODES)[number];
export const GITOPS_ENGINES = ['flux', 'argocd'] as const;
/** The CI workflow written for the repository's pull requests (render/ci.ts), or none. */
export const CI_PROVIDERS = ['github', 'gitlab', 'none'] as const;
/** How the consumers' JVMs come to trust the servers' CA (with TLS on). */
export const TRUSTSTORES = ['trust-manager', 'none'] as const;
export const CONSUMER_NAMES = ['per-env', 'legacy'] as const;
/** How the metrics endpoints authenticate: MinIO's bearer token (JWT), or none. */
export const METRICS_AUTH = ['jwt', 'public'] as const;
/** Encryption at rest: MinIO's built-in KMS with one static key, or none. */
export const KMS_MODES = ['static', 'none'] as const;
/** How an erasure-coded env's servers must spread: one per node, also evenly over zones, or only preferably (none). */
export const SPREAD_MODES = ['host', 'zone', 'none'] as const;
/** Spark lines with an Iceberg runtime, and their Scala version (Spark 4 is Scala 2.13 only). */
export const SPARK_LINES: Record<string, string> = { '3.4': '2.12', '3.5': '2.12', '4.0': '2.13' };

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface GlobalSettings {
  /** MinIO server image, pinned by tag or digest. */
  image: string;
  /** mc client image of the bucket bootstrap Job, pinned by tag or digest. */
  mcImage: string;
  /** kubectl image of the restarter Job (erasure-coded envs), pinned by tag or digest. */
  kubectlImage: string;
  /** Flink version of the consumers: decides the checkpoint key names and the S3 plugin jar. */
  flinkVersion: string;
  /** Flink image of flink-operator consumers ("" = flink:<flinkVersion>). */
  flinkImage: string;
  /** Spark line of iceberg-spark consumers: decides the Iceberg runtime jar (spark.jars.packages). */
  sparkVersion: string;
  /** Iceberg release of iceberg-spark consumers' jars. */
  icebergVersion: string;
  /** Image of the env's Iceberg REST catalog servers ("" = Iceberg's own for icebergVersion). */
  catalogImage: string;
  /** trust-manager's trust namespace, which is also cert-manager's cluster resource namespace. */
  trustNamespace: string;
  /** Namespace of Prometheus, allowed to scrape the S3 port. */
  monitoringNamespace: string;
  /** Namespace of the ingress controller, allowed to reach the API and the console. */
  ingressNamespace: string;
  /** Node label ("key=value") that MinIO pods prefer to run on. */
  storageNodeLabel: string;
  /** Labels on the ServiceMonitor, for a Prometheus that selects by label (e.g. release). */
  serviceMonitorLabels: Record<string, string>;
  /** The engine that syncs the repository: how sealed secrets get decrypted. */
  gitops: (typeof GITOPS_ENGINES)[number];
  /** The repository the engine syncs from ("": unknown, no engine manifests). */
  repoURL: string;
  /** The branch the engine follows. */
  revision: string;
  /** The pull-request workflow written for the repository (GitHub Actions, GitLab CI), or none. */
  ci: (typeof CI_PROVIDERS)[number];
}

/** A server pool added to an erasure-coded env after its first (replicas × size). */
export interface PoolSettings {
  servers: number;
  /** Volume size per server of this pool. */
  size: string;
}

export interface EnvSettings {
  profile: Profile;
  namespace: string;
  /** Servers of the first pool (1: standalone). */
  replicas: number;
  storage: 'hostpath' | 'pvc';
  hostPath: string;
  /** Volume size per server of the first pool. */
  size: string;
  /** The pools added since the first, in order (MinIO expands by pools, never by re-striping one). */
  pools: PoolSettings[];
  storageClass: string;
  secrets: SecretsMode;
  secretStore: string;
  secretStoreKind: 'SecretStore' | 'ClusterSecretStore';
  remoteKey: string;
  tls: boolean;
  issuer: string;
  issuerKind: 'Issuer' | 'ClusterIssuer';
  ingress: boolean;
  /** Issuer of the ingress hosts' certificate: "" means the same as `issuer`. */
  ingressIssuer: string;
  ingressIssuerKind: 'Issuer' | 'ClusterIssuer';
  ingressClass: string;
  /** With TLS: how the consumers trust the servers' CA (a trust-manager Bundle, or nothing). */
  truststore: (typeof TRUSTSTORES)[number];
  /** With TLS, trust-manager and your own issuer: the Secret in the trust namespace holding its CA (tls.crt). */
  caSecret: string;
  apiHost: string;
  consoleHost: string;
  monitoring: boolean;
  /** jwt: the metrics need a bearer token (the ServiceMonitor's, from a user that may read metrics only); public: anyone in reach. */
  metricsAuth: (typeof METRICS_AUTH)[number];
  /** static: a generated key (MINIO_KMS_SECRET_KEY) seals every object of an encrypted bucket (docs/hardening.md). */
  kms: (typeof KMS_MODES)[number];
  /** Where MinIO posts its audit log (http or https URL), or "" for none. */
  auditWebhook: string;
  /**
   * Erasure-coded envs: host, each pool's servers on distinct nodes (enforced; a server that
   * finds no free node stays Pending); zone, also evenly over the zones; none, only the
   * preferred anti-affinity (for clusters with fewer nodes than servers). Not recorded for a
   * single server.
   */
  spread: (typeof SPREAD_MODES)[number];
  /** Argo CD clusters (names) to deploy to; more than one renders an ApplicationSet. */
  clusters: string[];
  resources: Resources;
  /** Buckets the bootstrap Job creates and keeps as configured. */
  buckets: Record<string, BucketSettings>;
  /** Who uses them: each gets its own MinIO user, policy and credentials Secret. */
  consumers: Record<string, ConsumerSettings>;
  /**
   * How the objects in the consumers' namespaces are named: per-env (carrying MinIO's
   * namespace, so envs on one cluster do not collide), or legacy (the consumer's name
   * alone), which envs rendered before per-env names keep until the person switches.
   */
  consumerNames: (typeof CONSUMER_NAMES)[number];
}

/** Everything one run renders from: the env's name and settings plus the global ones. */
export interface Options {
  env: string;
  global: GlobalSettings;
  settings: EnvSettings;
  /** Where the output root sits in its git repository ("" or "deploy/minio/"): engines sync from the repository root. */
  repoPath: string;
  /** A fingerprint of the sealed consumer credentials (sops mode), so a rotation re-runs the bootstrap Job. */
  sealedChecksum?: string;
  /** A fingerprint of the sealed root credentials (sops mode): a rotation restarts the servers. */
  rootChecksum?: string;
  /** Per pool, the volume size its claim template was first rendered with (it cannot change). */
  claimSizes?: string[];
}

/** The issuer value that makes the overlay bring its own private CA (cert-manager). */
export const SELF_SIGNED_ISSUER = 'self-signed';

// quay.io still serves the frozen community tags after Docker Hub's minio/* went away
// (see the generated README); this is the last multi-arch server release.
export const DEFAULT_MINIO_IMAGE = 'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z';
// The last mc release published on quay.io (the September server release has no mc).
export const DEFAULT_MC_IMAGE = 'quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z';
// Kubernetes' own kubectl image (registry.k8s.io/kubectl, published with every release
// since 1.28; a distroless go-runner base, no shell): the restarter Job runs kubectl only.
export const DEFAULT_KUBECTL_IMAGE = 'registry.k8s.io/kubectl:v1.36.1';
// The last 1.x line: the renamed execution.checkpointing.* keys, supported by CMF and the
// operator. 1.20.0 is the release whose artifacts the tests resolve from Maven Central.
export const DEFAULT_FLINK_VERSION = '1.20.0';
// Spark 3.5 (Scala 2.12) with Iceberg 1.10.1: the pair the tests run (pyspark 3.5.7).
export const DEFAULT_SPARK_VERSION = '3.5';
export const DEFAULT_ICEBERG_VERSION = '1.10.1';
// Apache Iceberg's REST catalog server, the image the Iceberg project publishes with each
// release: by default the release of the Spark consumers' jars (see render/catalog.ts).
export const catalogImage = (g: GlobalSettings) =>
  g.catalogImage || `docker.io/apache/iceberg-rest-fixture:${g.icebergVersion}`;
/** The root user of plain (dev) mode, fixed so the dev overlay is reproducible. */
export const DEV_ROOT_USER = 'dev-admin';

export function defaultGlobal(): GlobalSettings {
  return {
    image: DEFAULT_MINIO_IMAGE,
    mcImage: DEFAULT_MC_IMAGE,
    kubectlImage: DEFAULT_KUBECTL_IMAGE,
    flinkVersion: DEFAULT_FLINK_VERSION,
    flinkImage: '',
    sparkVersion: DEFAULT_SPARK_VERSION,
    icebergVersion: DEFAULT_ICEBERG_VERSION,
    catalogImage: '',
    trustNamespace: 'cert-manager',
    monitoringNamespace: 'monitoring',
    ingressNamespace: 'ingress-nginx',
    storageNodeLabel: 'node-type=storage',
    serviceMonitorLabels: {},
    gitops: 'flux',
    repoURL: '',
    revision: 'main',
    ci: 'github',
  };
}

export function profileDefaults(profile: Profile, env: string): EnvSettings {
  const common = {
    profile,
    hostPath: '/mnt/disk1/data',
    pools: [] as PoolSettings[],
    storageClass: '',
    secretStore: 'aws-secrets-manager',
    secretStoreKind: 'ClusterSecretStore',
    remoteKey: `${env}/minio`,
    issuer: SELF_SIGNED_ISSUER,
    issuerKind: 'ClusterIssuer',
    ingressClass: 'nginx',
    truststore: 'trust-manager',
    caSecret: '',
    ingressIssuer: '',
    ingressIssuerKind: 'ClusterIssuer',
    clusters: [] as string[],
    apiHost: `minio.${env}.local`,
    consoleHost: `minio-console.${env}.local`,
    metricsAuth: 'jwt',
    auditWebhook: '',
    spread: 'host',
    buckets: defaultBuckets(),
    consumers: defaultConsumers(),
    consumerNames: 'per-env',
  } as const;
  if (profile === 'dev') {
    return {
      ...common,
      namespace: env === 'dev' ? 'minio-dev' : `minio-${env}`,
      replicas: 1,
      storage: 'hostpath',
      size: '10Gi',
      secrets: 'plain',
      tls: false,
      ingress: false,
      monitoring: false,
      kms: 'none',
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    };
  }
  return {
    ...common,
    namespace: env === 'prod' ? 'minio' : `minio-${env}`,
    replicas: 4,
    storage: 'pvc',
    size: '8Gi',
    secrets: 'sops',
    tls: true,
    ingress: true,
    monitoring: true,
    kms: 'static',
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  };
}

// ---- value checks: each takes the raw value and where it came from ("--size" or
// "scaffold.config.yaml: envs.prod.size") and returns the typed value or fails with a fix.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// A Kubernetes resource quantity as people write them: a number and an optional suffix.
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The number a quantity stands for (10Gi -> 10737418240), for comparisons. */
export function quantityValue(q: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)([a-zA-Z]*)$/.exec(q);
  return m ? Number(m[1]) * (SUFFIX[m[2]!] ?? NaN) : NaN;
}

export type Check<T> = (raw: unknown, where: string) => T;

/** The most one volume may be (per server): beyond any disk or cloud volume there is. */
const MAX_VOLUME = 'Pi';
/** The most a pod may ask for: beyond any node there is. */
const MAX_CPU = 1024;
const MAX_MEMORY = '64Ti';

/**
 * Node directories a hostPath volume must not be or be inside: the system's own, and the
 * state of the kubelet, the container runtimes, CNI and etcd (k3s, RKE2, k0s and minikube
 * keep theirs in /var/lib/rancher, /var/lib/k0s and /var/lib/minikube). MinIO would write
 * its data there, and the env README's `chown` would take the directory over.
 */
export const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/run',
  '/var/lib/kubelet',
  '/var/lib/etcd',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/containers',
  '/var/lib/cni',
  '/var/lib/rancher',
  '/var/lib/k0s',
  '/var/lib/minikube',
  '/opt/cni',
];
/** Directories that hold much else: refused themselves, while a directory in them is fine (/srv/minio). */
export const SHARED_DIRS = ['/home', '/media', '/mnt', '/opt', '/srv', '/tmp', '/var', '/var/lib', '/var/tmp'];

/**
 * A URL as a message may show it: what comes before its last @ (user:password@, token@)
 * replaced by ***, and its query by ?***. Only an ssh user name (git@, ssh://git@) stays:
 * it is no secret, while anything before @ in an http(s) URL may be a token.
 */
export function redactURL(url: string): string {
  const bare = url.replace(/[?#].*$/s, '?***');
  const at = bare.lastIndexOf('@');
  if (at < 0) return bare;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(bare)?.[0] ?? '';
  const user = bare.slice(scheme.length, at);
  if (!/^https?:/i.test(scheme) && /^[a-z_][a-z0-9._-]*$/.test(user)) return bare;
  return `${scheme}***${bare.slice(at)}`;
}

/** Why a repository URL cannot be used, or undefined: credentials in it, a query, or its shape. */
function repoURLProblem(url: string): 'credentials' | 'query' | 'shape' | undefined {
  const HOST =
    /^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
  const PATH = /^[A-Za-z0-9._~%+/-]+$/;
  const USER = /^[a-z_][a-z0-9._-]*$/;
  const full = /^(https?|ssh):\/\/([^/?#]*)(.*)$/s.exec(url);
  if (full) {
    const [, scheme, authority, rest] = full as unknown as [string, string, string, string];
    const at = authority.lastIndexOf('@');
    // Anything before @ in an http(s) URL is a user name with a token or password, or a
    // token alone; an ssh URL names a user (its key is elsewhere), but not a password.
    if (at >= 0 && (scheme !== 'ssh' || !USER.test(authority.slice(0, at)))) return 'credentials';
    if (url.length > 2048) return 'shape';
    if (/[?#]/.test(rest)) return 'query';
    if (!HOST.test(authority.slice(at + 1)) || !rest.startsWith('/') || !PATH.test(rest) || rest === '/')
      return 'shape';
    try {
      new URL(url);
    } catch {
      return 'shape';
    }
    return undefined;
  }
  // scp-like: user@host:path (ssh with a key); user:password@... is no such thing.
  const scp = /^([^@/]*)@([^:/]+):(.*)$/s.exec(url);
  if (scp) {
    const [, user, host, path] = scp as unknown as [string, string, string, string];
    if (!USER.test(user)) return user.includes(':') ? 'credentials' : 'shape';
    if (url.length > 2048) return 'shape';
    if (/[?#]/.test(path)) return 'query';
    return HOST.test(host) && !host.includes(':') && PATH.test(path) ? undefined : 'shape';
  }
  // A URL without its scheme but with credentials (user:token@host/...) is still refused as such.
  return /^[^/]*:[^/]*@/.test(url) ? 'credentials' : 'shape';
}

/** Names beginning kube- are Kubernetes' own (kube-system, kube-public, kube-node-lease, ...). */
const KUBERNETES_OWN = (name: string) => name.startsWith('kube-');
const kubernetesOwns = (name: string) =>
  `namespace ${name} belongs to Kubernetes, which reserves every name beginning kube- (kube-system, kube-public, kube-node-lease, ...)`;

export const checks = {
  oneOf<const V extends string>(values: readonly V[]): Check<V> {
    return (raw, where) => {
      if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as V;
      return fail(`${where} ${show(raw)} is not allowed; use one of: ${values.join(', ')}`);
    };
  },
  dnsLabel: ((raw, where) => {
    if (typeof raw === 'string' && DNS_LABEL.test(raw)) return raw;
    return fail(
      `${where} ${show(raw)} is not a valid name; use lower-case letters, digits and '-', at most 63 characters, e.g. "staging"`,
    );
  }) as Check<string>,
  dnsName: ((raw, where) => {
    if (typeof raw === 'string' && DNS_SUBDOMAIN.test(raw)) return raw;
    return fail(
      `${where} ${show(raw)} is not a valid DNS name; use lower-case letters, digits, '-' and '.', e.g. "minio.example.com"`,
    );
  }) as Check<string>,
  optionalDnsName: ((raw, where) => {
    if (raw === '' || raw === null || raw === undefined) return '';
    return checks.dnsName(raw, where);
  }) as Check<string>,
  quantity: ((raw, where) => {
    if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return String(raw);
    if (typeof raw === 'string' && QUANTITY.test(raw)) return raw;
    return fail(
      `${where} ${show(raw)} is not a Kubernetes quantity; use a number with a unit, e.g. 10Gi, 500Mi or 250m`,
    );
  }) as Check<string>,
  byteSize: ((raw, where) => {
    const value = typeof raw === 'number' ? String(raw) : raw;
    const ok = typeof value === 'string' && /^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$/.test(value);
    if (ok && quantityValue(value) > quantityValue(`1${MAX_VOLUME}`)) {
      return fail(
        `${where} ${show(raw)} is more than 1${MAX_VOLUME}, the most this tool takes for one volume (no disk or cloud volume comes near it); use the size of one server's volume, e.g. 8Gi or 2Ti`,
      );
    }
    if (ok && quantityValue(value) >= 1024 * 1024) return value;
    return fail(
      `${where} ${show(raw)} is not a volume size; use a number with a byte unit of at least 1Mi, e.g. 8Gi or 500Gi`,
    );
  }) as Check<string>,
  labels: ((raw, where) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      return fail(`${where} must be a map of label names to values; write it e.g. as {release: prometheus}`);
    for (const [k, v] of Object.entries(raw)) {
      const ok =
        /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k) &&
        typeof v === 'string' &&
        /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(v);
      if (!ok)
        fail(
          `${where}.${k} ${show(v)} is not a valid Kubernetes label; use name: value with letters, digits, '-', '_' and '.'`,
        );
    }
    return raw as Record<string, string>;
  }) as Check<Record<string, string>>,
  repoURL: ((raw, where) => {
    if (raw === '' || raw === null || raw === undefined) return '';
    const problem = typeof raw === 'string' ? repoURLProblem(raw) : 'shape';
    if (!problem) return raw as string;
    // Never the secret itself in a message: the part before @ and any query are masked.
    // A value that is not a plain URL is not shown at all (a token may hide anywhere in it).
    const shown =
      typeof raw === 'string' && /^[\x20-\x7e]*$/.test(raw) && !raw.includes('%')
        ? JSON.stringify(redactURL(raw))
        : '(not shown)';
    // The origin remote is the default: a URL without credentials replaces it with --repo-url.
    const origin = where.startsWith('the origin remote');
    if (problem === 'credentials') {
      return fail(
        `${where} ${shown} carries credentials (before the @), which would be written into the repository in plain text; ${origin ? 'pass --repo-url with ' : 'use '}an ssh URL and a deploy key (ssh://git@host/org/repo.git or git@host:org/repo.git), or the https URL without credentials and give them to the engine in a Secret (Flux: the GitRepository's secretRef; Argo CD: a repository Secret)`,
      );
    }
    if (problem === 'query')
      return fail(
        `${where} ${shown} has a query or fragment (?...), which a repository URL has no use for and which may carry a token; ${origin ? 'pass --repo-url with' : 'use'} the URL without it`,
      );
    return fail(
      `${where} ${shown} is not a git repository URL; use https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git${origin ? ' with --repo-url' : ''}`,
    );
  }) as Check<string>,
  revision: ((raw, where) => {
    // git's rules for a branch (git check-ref-format), within a set safe in YAML and shells.
    const parts = typeof raw === 'string' && raw.length <= 200 ? raw.split('/') : [];
    const ok =
      parts.length > 0 &&
      parts.every((p) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(p) && !p.endsWith('.lock') && !p.endsWith('.'));
    // HEAD and refs/... are no branch a GitRepository's ref.branch resolves.
    if (
      ok &&
      !(raw as string).includes('..') &&
      !(raw as string).startsWith('-') &&
      raw !== 'HEAD' &&
      !(raw as string).startsWith('refs/')
    )
      return raw as string;
    return fail(
      `${where} ${show(raw)} is not a branch name; use letters, digits, '.', '_', '-' and '/' as git allows them (no '..', no part beginning with '.' or ending in '.lock'), e.g. main`,
    );
  }) as Check<string>,
  clusters: ((raw, where) => {
    const list =
      typeof raw === 'string'
        ? raw
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean)
        : raw;
    if (!Array.isArray(list))
      return fail(
        `${where} must be a list of Argo CD cluster names; write it e.g. as ${where.startsWith('--') ? 'eu-1,us-1' : '[eu-1, us-1]'}`,
      );
    const names = list.map((c, i) => checks.dnsName(c, `${where}[${i}]`));
    if (new Set(names).size !== names.length) fail(`${where} names a cluster twice; list each once`);
    return names;
  }) as Check<string[]>,
  /** A node directory for MinIO's data: absolute, plain (it is printed in a shell command), its own. */
  hostPath: ((raw, where) => {
    const example = 'e.g. /mnt/disk1/data or /srv/minio';
    if (typeof raw !== 'string' || !raw.startsWith('/'))
      return fail(`${where} ${show(raw)} is not an absolute path; use a node path such as /mnt/disk1/data`);
    if (!/^[A-Za-z0-9._/-]{1,1024}$/.test(raw))
      return fail(
        `${where} ${show(raw)} may hold only letters, digits, '.', '_', '-' and '/' (at most 1024), no spaces, quotes or other signs; use a plain path, ${example}`,
      );
    if (raw === '/')
      return fail(`${where} "/" is the node's root directory; MinIO needs a directory of its own, ${example}`);
    if (
      raw.endsWith('/') ||
      raw
        .slice(1)
        .split('/')
        .some((part) => part === '' || part === '.' || part === '..')
    ) {
      return fail(
        `${where} ${show(raw)} is not a normalised path (no '.' or '..' parts, no '//', no '/' at the end); write the directory itself, ${example}`,
      );
    }
    const system = SYSTEM_DIRS.find((dir) => raw === dir || raw.startsWith(`${dir}/`));
    if (system)
      return fail(
        `${where} ${show(raw)} is ${raw === system ? '' : `inside ${system}, `}a directory of the node's system or of Kubernetes (refused: / and ${SYSTEM_DIRS.join(', ')}, and what is inside them), which MinIO's data and the README's chown would take over; use a directory of its own, ${example}`,
      );
    if (SHARED_DIRS.includes(raw))
      return fail(
        `${where} ${show(raw)} holds much else (refused as a whole: ${SHARED_DIRS.join(', ')}), which MinIO's data and the README's chown would take over; use a directory of its own in it, ${example}`,
      );
    return raw;
  }) as Check<string>,
  onOff: ((raw, where) => {
    if (raw === true || raw === 'on' || raw === 'true') return true;
    if (raw === false || raw === 'off' || raw === 'false') return false;
    // The file spells the setting true or false (as it records it); the flag on or off.
    return fail(`${where} ${show(raw)} is not allowed; use ${where.startsWith('--') ? 'on or off' : 'true or false'}`);
  }) as Check<boolean>,
  replicas: ((raw, where) => {
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      return fail(`${where} ${show(raw)} is not a server count; use 1 (standalone) or 4 to 16 (erasure coded)`);
    }
    if (n === 2 || n === 3) {
      return fail(`${where} ${n}: MinIO erasure coding needs at least 4 servers; use 1 (standalone) or 4 to 16`);
    }
    if (n > 16)
      return fail(
        `${where} ${typeof raw === 'string' ? raw : n}: one erasure set holds at most 16 servers; use 4 to 16`,
      );
    return n;
  }) as Check<number>,
  /** The pools added to the first: a list of {servers, size}. */
  pools: ((raw, where) => {
    if (!Array.isArray(raw))
      return fail(
        `${where} must be a list of the pools added to the first one, each {servers: N, size: SIZE}; write it e.g. as [{servers: 4, size: 8Gi}]`,
      );
    if (raw.length > MAX_POOLS - 1)
      fail(
        `${where} lists ${raw.length} pools; this tool takes at most ${MAX_POOLS} pools per env (the first and ${MAX_POOLS - 1} added)`,
      );
    return raw.map((p, i) => {
      const at = `${where}[${i}]`;
      if (!p || typeof p !== 'object' || Array.isArray(p))
        return fail(`${at} must be a map {servers: N, size: SIZE}, e.g. {servers: 4, size: 8Gi}`);
      for (const key of Object.keys(p))
        if (key !== 'servers' && key !== 'size') fail(`${at}.${key} is not a known setting; use servers and size`);
      return {
        servers: poolServers((p as Record<string, unknown>).servers, `${at}.servers`),
        size: checks.byteSize((p as Record<string, unknown>).size, `${at}.size`),
      };
    });
  }) as Check<PoolSettings[]>,
  text: ((raw, where) => {
    if (typeof raw === 'string' && raw.trim() !== '' && !/[\x00-\x1f\x7f]/.test(raw)) return raw;
    return fail(`${where} must be a non-empty single-line string; write it as text on one line`);
  }) as Check<string>,
  /** A webhook's URL: http(s), a host, no credentials or query (a token belongs in a Secret), or "" for none. */
  webhookURL: ((raw, where) => {
    if (raw === '' || raw === null || raw === undefined) return '';
    // Printable ASCII (MinIO refuses other host names), no $ (the kubelet would expand $(VAR)
    // in the servers' environment), well-formed % escapes (MinIO refuses others), a port
    // a NetworkPolicy can name.
    const shape =
      typeof raw === 'string' &&
      raw.length <= 2048 &&
      /^https?:\/\/[\x21-\x7e]+$/.test(raw) &&
      !/[@?#$]/.test(raw) &&
      !/%(?![0-9A-Fa-f]{2})/.test(raw);
    const url = shape ? URL.parse(raw as string) : null;
    // The host as written (URL would turn 1.2.3 into 1.2.0.3, which MinIO's Go would not):
    // DNS labels, an IPv4 or a bracketed IPv6 address.
    const host = (raw as string).replace(/^https?:\/\//, '').split(/[/:]/)[0]!;
    const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
    const named =
      url?.hostname === host && (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.split('.').every((l) => label.test(l)));
    if (url && (named || url.hostname.startsWith('[')) && url.port !== '0' && !url.username && !url.password)
      return raw as string;
    return fail(
      `${where} is not an http or https URL without credentials or query; use e.g. http://audit-receiver.logging.svc:8080/minio (the token is generated and sealed, never in the URL)`,
    );
  }) as Check<string>,
  /** A key in an external secret store (AWS, Vault, GCP, Azure): path segments, an optional leading '/'. */
  remoteKey: ((raw, where) => {
    if (
      typeof raw === 'string' &&
      raw.length <= 512 &&
      /^\/?[A-Za-z0-9_+=@-][A-Za-z0-9._+=@-]*(\/[A-Za-z0-9_+=@-][A-Za-z0-9._+=@-]*)*$/.test(raw)
    )
      return raw;
    return fail(
      `${where} ${show(raw)} is not a key of an external secret store; use path segments of letters, digits, '.', '_', '+', '=', '@' and '-' separated by '/', e.g. prod/minio`,
    );
  }) as Check<string>,
  /** A host name in DNS (an ingress host, a certificate's name): labels of at most 63 characters. */
  hostName: ((raw, where) => {
    // An IP address is no Ingress host (the API server rejects it).
    if (
      typeof raw === 'string' &&
      DNS_SUBDOMAIN.test(raw) &&
      raw.split('.').every((label) => label.length <= 63) &&
      !/^[0-9.]+$/.test(raw)
    )
      return raw;
    return fail(
      `${where} ${show(raw)} is not a valid host name; use lower-case letters, digits, '-' and '.', at most 63 between dots, e.g. "minio.example.com"`,
    );
  }) as Check<string>,
  /** MinIO's namespace: its own, never one of Kubernetes'. */
  namespace: ((raw, where) => {
    const name: string = checks.dnsLabel(raw, where);
    if (KUBERNETES_OWN(name))
      fail(
        `${where}: ${kubernetesOwns(name)}, and MinIO's default-deny NetworkPolicy would cut off everything in it; choose another ${where.startsWith('--') ? 'with --namespace' : `there, e.g. minio`}`,
      );
    return name;
  }) as Check<string>,
  flinkVersion: ((raw, where) => {
    const value = typeof raw === 'number' ? String(raw) : raw;
    if (typeof value !== 'string' || !/^\d+\.\d{1,2}\.\d{1,2}$/.test(value))
      return fail(`${where} ${show(raw)} is not a Flink release; use major.minor.patch, e.g. ${DEFAULT_FLINK_VERSION}`);
    // The configuration keys differ between lines: only lines whose keys are known (and tested).
    if (!flinkLine(value))
      return fail(
        `${where} ${value} is a Flink line this tool does not know the configuration keys of; use a release of ${FLINK_LINES.join(', ')}, e.g. ${DEFAULT_FLINK_VERSION}`,
      );
    return value;
  }) as Check<string>,
  sparkVersion: ((raw, where) => {
    const value = typeof raw === 'number' ? raw.toFixed(1) : raw;
    if (typeof value === 'string' && SPARK_LINES[value]) return value;
    return fail(
      `${where} ${show(raw)} is not a Spark line with an Iceberg runtime; use one of: ${Object.keys(SPARK_LINES).join(', ')}`,
    );
  }) as Check<string>,
  icebergVersion: ((raw, where) => {
    if (typeof raw === 'string' && /^1\.(9|1\d)\.\d{1,2}$/.test(raw)) return raw;
    if (typeof raw === 'number')
      return fail(
        `${where} ${raw} is a number in YAML (it lost its last digits); quote the release, e.g. "${DEFAULT_ICEBERG_VERSION}"`,
      );
    return fail(
      `${where} ${show(raw)} is not an Iceberg 1.x release from 1.9.0 on (the REST catalog and Spark 3.5/4.0 runtimes this tool renders for); use e.g. ${DEFAULT_ICEBERG_VERSION}`,
    );
  }) as Check<string>,
  image: ((raw, where) => {
    const ok =
      typeof raw === 'string' &&
      /^[a-z0-9]([a-z0-9._\-/:]*[a-z0-9])?(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/.test(raw);
    if (ok && !raw.endsWith(':latest')) return raw;
    return fail(
      `${where} ${show(raw)} must be an image pinned by tag or digest (not latest); use e.g. ${/mc-?image/i.test(where) ? DEFAULT_MC_IMAGE : /kubectl-?image/i.test(where) ? DEFAULT_KUBECTL_IMAGE : /flink-?image/i.test(where) ? `flink:${DEFAULT_FLINK_VERSION}` : /catalog-?image/i.test(where) ? `docker.io/apache/iceberg-rest-fixture:${DEFAULT_ICEBERG_VERSION}` : DEFAULT_MINIO_IMAGE}`,
    );
  }) as Check<string>,
  nodeLabel: ((raw, where) => {
    if (
      typeof raw === 'string' &&
      /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?=[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(raw)
    )
      return raw;
    return fail(`${where} ${show(raw)} is not a node label; use key=value, e.g. node-type=storage`);
  }) as Check<string>,
};

/** The most pools an env may have: MinIO has no limit; past this, a second env serves better. */
export const MAX_POOLS = 16;

/** The servers of a pool: one erasure set of 4 to 16 (one drive each). */
function poolServers(raw: unknown, where: string): number {
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 4 && n <= 16) return n;
  return fail(
    `${where} ${show(raw)} is not a pool's server count: a pool is one erasure set of 4 to 16 servers (one drive each); use 4 to 16`,
  );
}

/**
 * --pools 4x8Gi,4x20Gi: every pool of the env, the first one first (it sets replicas and
 * size, the rest become `pools`). Declarative, so the same command twice adds nothing.
 */
export function parsePoolsFlag(raw: string, where: string): { replicas: number; size: string; pools: PoolSettings[] } {
  const parts = raw.split(',').map((p) => p.trim());
  const example = 'e.g. 4x8Gi,4x20Gi (the first pool as it is, then the pools added)';
  if (parts.length > MAX_POOLS) fail(`${where} lists ${parts.length} pools; this tool takes at most ${MAX_POOLS}`);
  const pools = parts.map((part, i) => {
    const m = /^(\d+)x(.+)$/.exec(part);
    if (!m) return fail(`${where} ${show(part)} is not a pool; write each pool as SERVERSxSIZE, ${example}`);
    return {
      servers: poolServers(m[1], `${where} pool ${i + 1}`),
      size: checks.byteSize(m[2], `${where} pool ${i + 1} size`),
    };
  });
  const [first, ...rest] = pools as [PoolSettings, ...PoolSettings[]];
  return { replicas: first.servers, size: first.size, pools: rest };
}

export type FieldTable<S> = { [K in keyof S]: Check<S[K]> };

/** A namespace whose pods are let in to MinIO's ports: kube-system may be one, no other kube-*. */
function letIn(who: string, example: string): Check<string> {
  return (raw, where) => {
    const name = checks.dnsLabel(raw, where);
    if (KUBERNETES_OWN(name) && name !== 'kube-system')
      fail(
        `${where}: ${kubernetesOwns(name)}, and ${who} does not run there; name the namespace ${who} runs in, e.g. ${example} (or kube-system, where some platforms run it)`,
      );
    return name;
  };
}

function resourcesCheck(raw: unknown, where: string): Resources {
  const part = (key: 'requests' | 'limits') => {
    const value = (raw as Record<string, unknown> | null)?.[key] as Record<string, unknown> | undefined;
    if (!value || typeof value !== 'object')
      return fail(`${where}.${key} must be a map with cpu and memory; write it e.g. as {cpu: 500m, memory: 1Gi}`);
    for (const extra of Object.keys(value)) {
      if (extra !== 'cpu' && extra !== 'memory')
        fail(`${where}.${key}.${extra} is not a known setting; use cpu and memory`);
    }
    const cpu = checks.quantity(value.cpu, `${where}.${key}.cpu`);
    const memory = checks.quantity(value.memory, `${where}.${key}.memory`);
    if (quantityValue(cpu) > MAX_CPU)
      fail(
        `${where}.${key}.cpu ${cpu} is more than any node has (this tool takes at most ${MAX_CPU} cores); use e.g. 500m or 2`,
      );
    if (quantityValue(memory) > quantityValue(MAX_MEMORY))
      fail(
        `${where}.${key}.memory ${memory} is more than any node has (this tool takes at most ${MAX_MEMORY}); use e.g. 1Gi or 4Gi`,
      );
    return { cpu, memory };
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    return fail(
      `${where} must be a map with requests and limits; write it e.g. as {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: "2", memory: 4Gi}}`,
    );
  for (const extra of Object.keys(raw)) {
    if (extra !== 'requests' && extra !== 'limits')
      fail(`${where}.${extra} is not a known setting; use requests and limits`);
  }
  return { requests: part('requests'), limits: part('limits') };
}

export const GLOBAL_FIELDS: FieldTable<GlobalSettings> = {
  image: checks.image,
  mcImage: checks.image,
  kubectlImage: checks.image,
  flinkVersion: checks.flinkVersion,
  flinkImage: ((raw, where) => (raw === '' ? '' : checks.image(raw, where))) as Check<string>,
  sparkVersion: checks.sparkVersion,
  icebergVersion: checks.icebergVersion,
  catalogImage: ((raw, where) => (raw === '' ? '' : checks.image(raw, where))) as Check<string>,
  // cert-manager's cluster resource namespace: the env's private CA is made there.
  trustNamespace: ((raw, where) => {
    const name = checks.dnsLabel(raw, where);
    if (KUBERNETES_OWN(name))
      fail(
        `${where}: ${kubernetesOwns(name)}; the env's private CA is made in cert-manager's own namespace (its cluster resource namespace), e.g. cert-manager`,
      );
    return name;
  }) as Check<string>,
  // Namespaces let in to MinIO's ports (nothing is made there): kube-system is where the
  // platform runs them on some clusters (k3s's Traefik, RKE2's ingress-nginx, AKS's managed
  // Prometheus agent); kube-public and kube-node-lease hold no pods, other kube-* are reserved.
  monitoringNamespace: letIn('Prometheus', 'monitoring'),
  ingressNamespace: letIn('the ingress controller', 'ingress-nginx'),
  storageNodeLabel: checks.nodeLabel,
  serviceMonitorLabels: checks.labels,
  gitops: checks.oneOf(GITOPS_ENGINES),
  repoURL: checks.repoURL,
  revision: checks.revision,
  ci: checks.oneOf(CI_PROVIDERS),
};

export const ENV_FIELDS: FieldTable<EnvSettings> = {
  profile: checks.oneOf(PROFILES),
  namespace: checks.namespace,
  replicas: checks.replicas,
  storage: checks.oneOf(['hostpath', 'pvc']),
  hostPath: checks.hostPath,
  size: checks.byteSize,
  pools: checks.pools,
  storageClass: checks.optionalDnsName,
  secrets: checks.oneOf(SECRETS_MODES),
  secretStore: checks.dnsName,
  secretStoreKind: checks.oneOf(['SecretStore', 'ClusterSecretStore']),
  remoteKey: checks.remoteKey,
  tls: checks.onOff,
  issuer: checks.dnsName,
  issuerKind: checks.oneOf(['Issuer', 'ClusterIssuer']),
  ingress: checks.onOff,
  ingressIssuer: checks.optionalDnsName,
  ingressIssuerKind: checks.oneOf(['Issuer', 'ClusterIssuer']),
  ingressClass: checks.dnsName,
  truststore: checks.oneOf(TRUSTSTORES),
  caSecret: checks.optionalDnsName,
  apiHost: checks.hostName,
  consoleHost: checks.hostName,
  monitoring: checks.onOff,
  metricsAuth: checks.oneOf(METRICS_AUTH),
  kms: checks.oneOf(KMS_MODES),
  auditWebhook: checks.webhookURL,
  spread: checks.oneOf(SPREAD_MODES),
  clusters: checks.clusters,
  resources: resourcesCheck,
  buckets: checkBuckets,
  consumers: ((raw, where) => {
    const consumers = checkConsumers(raw, where);
    for (const [name, c] of Object.entries(consumers)) {
      if (KUBERNETES_OWN(c.namespace))
        fail(
          `${where}.${name}.namespace: ${kubernetesOwns(c.namespace)}; the consumer's Secret and workloads belong in a namespace of its own, e.g. el-demo`,
        );
    }
    return consumers;
  }) as Check<Record<string, ConsumerSettings>>,
  consumerNames: checks.oneOf(CONSUMER_NAMES),
};

const RESERVED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Rules across the shared settings. */
export function checkGlobal(g: GlobalSettings): void {
  // Iceberg publishes a runtime for Spark 4.0 from 1.10.0 on (iceberg-spark-runtime-4.0_2.13).
  const [, minor] = g.icebergVersion.split('.').map(Number) as [number, number];
  if (g.sparkVersion === '4.0' && minor < 10)
    fail(
      `icebergVersion ${g.icebergVersion} has no runtime for Spark 4.0 (iceberg-spark-runtime-4.0_2.13 starts at 1.10.0); use --iceberg-version ${DEFAULT_ICEBERG_VERSION}, or --spark-version 3.5`,
    );
}

/** Rules that involve more than one setting. `where` names the env for the message. */
export function checkCombination(env: string, s: EnvSettings, global: GlobalSettings): void {
  // The base denies all traffic in its namespace by default: it must own that namespace.
  if (RESERVED_NAMESPACES.includes(s.namespace) || KUBERNETES_OWN(s.namespace)) {
    fail(
      `env ${env}: namespace ${s.namespace} belongs to Kubernetes, and MinIO's default-deny NetworkPolicy would cut off everything in it; choose another with --namespace`,
    );
  }
  const shared = [
    ...Object.values(s.consumers).map((c) => c.namespace),
    global.monitoringNamespace,
    global.ingressNamespace,
    global.trustNamespace,
  ];
  if (shared.includes(s.namespace)) {
    fail(
      `env ${env}: namespace ${s.namespace} is also a consumer, monitoring, ingress or cert-manager (trust) namespace, and MinIO's default-deny NetworkPolicy would cut off its other pods; give MinIO its own namespace with --namespace`,
    );
  }
  for (const [name, c] of Object.entries(s.consumers)) {
    // Its objects are named <namespace>-<consumer> (names.ts), a label value and for a
    // catalog server a Service name: at most 63 characters, a Service's beginning with a
    // letter; the Flink operator refuses a FlinkDeployment over 45 or not beginning with one.
    const id = consumerObject({ env, global, settings: s, repoPath: '' }, name);
    const [what, max] =
      c.kind === 'flink-operator'
        ? ['FlinkDeployment', 45]
        : c.kind === 'iceberg-catalog'
          ? ['Service', 63]
          : ['objects', 63];
    const shorten =
      s.consumerNames === 'legacy'
        ? "shorten the consumer's name"
        : "shorten the consumer's name or the namespace (--namespace)";
    if (id.length > max)
      fail(
        `env ${env}: consumer ${name}'s ${what} would be named ${id}, longer than ${c.kind === 'flink-operator' ? 'the Flink operator accepts' : 'Kubernetes allows'} (${max} characters); ${shorten}`,
      );
    if (what !== 'objects' && !/^[a-z]/.test(id))
      fail(
        `env ${env}: consumer ${name}'s ${what} would be named ${id}, and a ${what}'s name must begin with a letter; ${s.consumerNames === 'legacy' ? 'rename the consumer' : 'use a namespace that begins with one (--namespace)'}`,
      );
  }
  for (const kind of ['cpu', 'memory'] as const) {
    const { requests, limits } = s.resources;
    if (quantityValue(requests[kind]) > quantityValue(limits[kind])) {
      fail(
        `env ${env}: resources.requests.${kind} ${requests[kind]} is more than resources.limits.${kind} ${limits[kind]}; raise the limit or lower the request in scaffold.config.yaml`,
      );
    }
  }
  if (s.storage === 'hostpath' && s.replicas > 1) {
    fail(
      `env ${env}: hostpath storage works only with 1 replica (one node's disk), not ${s.replicas}; use --storage pvc for an erasure-coded StatefulSet, or --replicas 1`,
    );
  }
  if (s.pools.length > 0 && s.replicas === 1) {
    fail(
      `env ${env}: pools expand an erasure-coded env, and this one is a single server (replicas 1); remove pools from scaffold.config.yaml, or see docs/operations.md (Changing the layout) to move to an erasure-coded env`,
    );
  }
  if (s.secrets === 'plain' && s.profile !== 'dev') {
    fail(
      `env ${env}: --secrets plain would commit credentials in plaintext, which only a dev-profile env may do; use --secrets sops or --secrets external`,
    );
  }
  // The plain-mode root user is fixed; a generated one (root-...) cannot match a consumer user.
  checkDataLayout(`env ${env}`, s.buckets, s.consumers, s.replicas, s.secrets === 'plain' ? DEV_ROOT_USER : '');
  for (const [name, b] of Object.entries(s.buckets)) {
    if (b.encryption && s.kms === 'none')
      fail(
        `env ${env}: bucket ${name} has encryption: true, and the env's MinIO has no KMS to keep the key (kms: none); add --kms static, or set encryption: false for it in scaffold.config.yaml`,
      );
  }
  if (s.ingress && s.apiHost === s.consoleHost) {
    fail(
      `env ${env}: the API and console ingress hosts are both ${s.apiHost}; give them different names with --api-host and --console-host`,
    );
  }
  if (s.tls && s.truststore === 'none' && s.caSecret) {
    fail(
      `env ${env}: caSecret ${s.caSecret} names the CA for trust-manager's truststore, and truststore is none; remove caSecret (--ca-secret ""), or use --truststore trust-manager`,
    );
  }
  if (s.tls && s.truststore === 'trust-manager' && Object.keys(s.consumers).length > 0) {
    // trust-manager reads its sources from the trust namespace only: our own CA lives there;
    // the CA of a person's issuer must be named.
    if (s.issuer === SELF_SIGNED_ISSUER && s.caSecret) {
      fail(
        `env ${env}: caSecret ${s.caSecret} is for your own --issuer; with --issuer self-signed the env makes its CA itself (in ${global.trustNamespace}); remove caSecret (--ca-secret "")`,
      );
    }
    if (s.issuer !== SELF_SIGNED_ISSUER && !s.caSecret) {
      fail(
        `env ${env}: the consumers' truststore needs the CA of issuer ${s.issuer}; name the Secret holding it (key tls.crt, e.g. a CA ClusterIssuer's spec.ca.secretName) in namespace ${global.trustNamespace} with --ca-secret NAME, or use --truststore none if the consumers' JVMs already trust it`,
      );
    }
  }
}

/**
 * What the env puts in a consumer's namespace carries MinIO's namespace in its name, as a
 * Helm release's objects carry the release name: two envs on one cluster (their MinIO in
 * namespaces of their own) may serve consumers in the same namespace without rendering
 * the same object twice. The name of a consumer's workload (FlinkEnvironment,
 * FlinkDeployment, catalog server) and the prefix of its other objects. An env rendered
 * before these names keeps its own (consumerNames: legacy): renaming a Flink job or a
 * catalog server loses its state, so only the person switches it.
 */
export function consumerObject(o: Options, consumer: string): string {
  return o.settings.consumerNames === 'legacy' ? consumer : `${o.settings.namespace}-${consumer}`;
}
