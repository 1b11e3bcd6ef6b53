// The env's data layout: the buckets the bootstrap creates (prefixes, lifecycle,
// versioning, quota) and the consumers that use them (a namespace, a kind, the buckets
// it may use, its MinIO user). The checks follow the S3 naming rules and MinIO's limits;
// they run on the config file like every other setting. Nothing here does I/O.
import { fail } from './errors.ts';

export const CONSUMER_KINDS = ['flink-cmf', 'flink-operator', 'iceberg-spark'] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];
export const CATALOGS = ['rest', 'jdbc', 'hadoop'] as const;

export interface LifecycleRule {
  /** Objects under this prefix expire... */
  prefix: string;
  /** ...this many days after they were written. */
  expireDays: number;
}

export interface BucketSettings {
  /** "Directories" made as empty marker objects, so the layout shows in the console. */
  prefixes: string[];
  lifecycle: LifecycleRule[];
  /** Needs an erasure-coded server (4 or more drives). */
  versioning: boolean;
  /** Hard quota such as 100GiB; "" for none. */
  quota: string;
}

export interface ConsumerSettings {
  namespace: string;
  kind: ConsumerKind;
  /** The MinIO user (access key) of this consumer. */
  user: string;
  /** What it may use: a bucket ("flink") or a prefix of one ("datalake/warehouse/"). */
  buckets: string[];
  /** Iceberg catalog type (iceberg-spark only). */
  catalog?: (typeof CATALOGS)[number];
  /** Iceberg REST catalog URI or JDBC URL (iceberg-spark with catalog rest or jdbc). */
  catalogUri?: string;
}

export function defaultBuckets(): Record<string, BucketSettings> {
  return {
    // The seed's Flink layout, with its 7-day expiry of old checkpoints.
    flink: { prefixes: ['checkpoints/', 'savepoints/'], lifecycle: [{ prefix: 'checkpoints/', expireDays: 7 }], versioning: false, quota: '' },
    datalake: { prefixes: ['warehouse/'], lifecycle: [], versioning: false, quota: '' },
  };
}

export function defaultConsumers(): Record<string, ConsumerSettings> {
  return {
    flink: { namespace: 'el-demo', kind: 'flink-cmf', user: 'flink', buckets: ['flink'] },
    spark: {
      namespace: 'analytics',
      kind: 'iceberg-spark',
      user: 'spark',
      buckets: ['datalake'],
      catalog: 'rest',
      catalogUri: 'http://iceberg-rest.analytics.svc.cluster.local:8181',
    },
  };
}

const show = (raw: unknown) => (typeof raw === 'string' ? JSON.stringify(raw) : String(raw));
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function known(raw: Record<string, unknown>, keys: string[], where: string) {
  for (const key of Object.keys(raw)) if (!keys.includes(key)) fail(`${where}.${key} is not a known setting; known: ${keys.join(', ')}`);
}

/** The S3 bucket naming rules (AWS's, which MinIO enforces too). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return "may hold only lower-case letters, digits, '.' and '-', and must begin and end with a letter or digit";
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return "must not have '..', '.-' or '-.'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return "must not begin with 'xn--' or 'sthree-' or end with '-s3alias' or '--ol-s3' (reserved)";
  return undefined;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/$/;

function prefix(raw: unknown, where: string): string {
  if (typeof raw === 'string' && PREFIX.test(raw) && !raw.split('/').includes('..')) return raw;
  return fail(`${where} ${show(raw)} is not a prefix; use path segments of letters, digits, '.', '_' and '-' ending in '/', e.g. checkpoints/`);
}

function flag(raw: unknown, where: string): boolean {
  if (raw === true || raw === false) return raw;
  return fail(`${where} ${show(raw)} is not allowed; use true or false`);
}

export function checkBuckets(raw: unknown, where: string): Record<string, BucketSettings> {
  if (!isMap(raw)) return fail(`${where} must be a map from bucket name to its settings, e.g. {flink: {prefixes: [checkpoints/]}}`);
  const out: Record<string, BucketSettings> = {};
  for (const [name, value] of Object.entries(raw)) {
    const problem = bucketNameProblem(name);
    if (problem) fail(`${where}: bucket name ${show(name)} ${problem} (S3 naming rules); rename it, e.g. flink-checkpoints`);
    const at = `${where}.${name}`;
    const v = value ?? {};
    if (!isMap(v)) fail(`${at} must be a map with prefixes, lifecycle, versioning and quota`);
    known(v, ['prefixes', 'lifecycle', 'versioning', 'quota'], at);
    const list = (key: string) => {
      const l = v[key] ?? [];
      if (!Array.isArray(l)) fail(`${at}.${key} must be a list`);
      return l as unknown[];
    };
    const prefixes = list('prefixes').map((p, i) => prefix(p, `${at}.prefixes[${i}]`));
    if (new Set(prefixes).size !== prefixes.length) fail(`${at}.prefixes names a prefix twice; list each once`);
    const lifecycle = list('lifecycle').map((r, i) => {
      const rat = `${at}.lifecycle[${i}]`;
      if (!isMap(r)) return fail(`${rat} must be a map like {prefix: checkpoints/, expireDays: 7}`);
      known(r, ['prefix', 'expireDays'], rat);
      const days = r.expireDays;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36500) fail(`${rat}.expireDays ${show(days)} is not a number of days; use a whole number from 1, e.g. 7`);
      return { prefix: prefix(r.prefix, `${rat}.prefix`), expireDays: days as number };
    });
    if (new Set(lifecycle.map((r) => r.prefix)).size !== lifecycle.length) fail(`${at}.lifecycle has two rules for one prefix; keep one`);
    const quota = v.quota ?? '';
    if (quota !== '' && !(typeof quota === 'string' && /^[1-9]\d*(KiB|MiB|GiB|TiB|PiB)$/.test(quota))) {
      fail(`${at}.quota ${show(quota)} is not a size; use a whole number with KiB, MiB, GiB, TiB or PiB, e.g. 100GiB, or "" for none`);
    }
    out[name] = { prefixes, lifecycle, versioning: v.versioning === undefined ? false : flag(v.versioning, `${at}.versioning`), quota: quota as string };
  }
  return out;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RESERVED = ['root', 'console', 'all'];
// MinIO access keys: at least 3 characters; kept to a set that needs no quoting anywhere.
const USER = /^[a-z0-9][a-z0-9._-]{2,63}$/;

export function checkConsumers(raw: unknown, where: string): Record<string, ConsumerSettings> {
  if (!isMap(raw)) return fail(`${where} must be a map from consumer name to its settings, e.g. {flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}}`);
  const out: Record<string, ConsumerSettings> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!DNS_LABEL.test(name)) fail(`${where}: consumer name ${show(name)} is not a valid name; use lower-case letters, digits and '-', e.g. flink`);
    // --rotate takes consumer names beside the server's credentials.
    if (RESERVED.includes(name)) fail(`${where}: consumer name ${name} is reserved (--rotate ${name} means the server's credential); rename the consumer, e.g. ${name}-app`);
    const at = `${where}.${name}`;
    if (!isMap(value)) fail(`${at} must be a map with namespace, kind and buckets`);
    known(value, ['namespace', 'kind', 'user', 'buckets', 'catalog', 'catalogUri'], at);
    const namespace = value.namespace;
    if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) fail(`${at}.namespace ${show(namespace)} is not a valid namespace name; use e.g. el-demo`);
    const kind = value.kind;
    if (!(CONSUMER_KINDS as readonly unknown[]).includes(kind)) fail(`${at}.kind ${show(kind)} is not allowed; use one of: ${CONSUMER_KINDS.join(', ')}`);
    const user = value.user ?? name;
    if (typeof user !== 'string' || !USER.test(user)) fail(`${at}.user ${show(user)} is not a MinIO user name; use 3 to 64 lower-case letters, digits, '.', '_' or '-', e.g. flink`);
    const buckets = value.buckets;
    if (!Array.isArray(buckets) || buckets.length === 0) fail(`${at}.buckets must list the buckets (or bucket/prefix/) it may use, e.g. [flink]`);
    const grants = (buckets as unknown[]).map((b, i) => {
      if (typeof b !== 'string') return fail(`${at}.buckets[${i}] ${show(b)} must be a bucket name or bucket/prefix/`);
      const slash = b.indexOf('/');
      if (slash >= 0) prefix(b.slice(slash + 1), `${at}.buckets[${i}] prefix`);
      return b;
    });
    if (new Set(grants).size !== grants.length) fail(`${at}.buckets names one bucket twice; list each once`);
    const consumer: ConsumerSettings = { namespace: namespace as string, kind: kind as ConsumerKind, user, buckets: grants };
    if (kind === 'iceberg-spark') {
      const catalog = value.catalog ?? 'rest';
      if (!(CATALOGS as readonly unknown[]).includes(catalog)) fail(`${at}.catalog ${show(catalog)} is not allowed; use one of: ${CATALOGS.join(', ')}`);
      consumer.catalog = catalog as ConsumerSettings['catalog'];
      const uri = value.catalogUri ?? (catalog === 'rest' ? `http://iceberg-rest.${namespace}.svc.cluster.local:8181` : undefined);
      if (catalog !== 'hadoop' && (typeof uri !== 'string' || !/^(https?:\/\/|jdbc:)\S+$/.test(uri))) {
        fail(`${at}.catalogUri ${show(uri)} must be the ${catalog === 'rest' ? 'REST catalog URL, e.g. http://iceberg-rest.analytics.svc.cluster.local:8181' : 'JDBC URL, e.g. jdbc:postgresql://iceberg-db.analytics:5432/iceberg'}`);
      }
      if (catalog !== 'hadoop') consumer.catalogUri = uri as string;
    } else if (value.catalog !== undefined || value.catalogUri !== undefined) {
      fail(`${at}.catalog is for kind iceberg-spark only; remove it`);
    }
    out[name] = consumer;
  }
  return out;
}

/** The bucket a grant ("flink" or "datalake/warehouse/") is in. */
export function grantBucket(grant: string): string {
  const slash = grant.indexOf('/');
  return slash < 0 ? grant : grant.slice(0, slash);
}

/** Rules across buckets, consumers and the server: named in `where` ("env prod"). */
export function checkDataLayout(where: string, buckets: Record<string, BucketSettings>, consumers: Record<string, ConsumerSettings>, replicas: number, reservedUser: string): void {
  for (const [name, b] of Object.entries(buckets)) {
    if (b.versioning && replicas === 1) {
      // Current MinIO accepts versioning on one drive, but with no redundancy under it the
      // versions only multiply what a single disk failure loses: erasure-coded envs only.
      fail(`${where}: bucket ${name} has versioning on, but a single MinIO server is not erasure coded (one drive, no redundancy); set versioning: false for it in scaffold.config.yaml, or run 4 or more servers (--replicas 4 --storage pvc)`);
    }
  }
  const users = new Map<string, string>();
  for (const [name, c] of Object.entries(consumers)) {
    for (const grant of c.buckets) {
      if (!buckets[grantBucket(grant)]) fail(`${where}: consumer ${name} uses bucket ${grantBucket(grant)}, which is not among the buckets (${Object.keys(buckets).join(', ') || 'none'}); add it under buckets, or fix the name`);
    }
    if (c.user === reservedUser) fail(`${where}: consumer ${name} would be MinIO user ${c.user}, the root user of this env; give it its own user`);
    const other = users.get(c.user);
    if (other) fail(`${where}: consumers ${other} and ${name} are both MinIO user ${c.user}; give each consumer its own user (a shared user would share its permissions)`);
    users.set(c.user, name);
  }
}

/** Warnings about choices that work but bite later (printed as notes). */
export function dataLayoutNotes(where: string, consumers: Record<string, ConsumerSettings>): string[] {
  return Object.entries(consumers)
    .filter(([, c]) => c.catalog === 'hadoop')
    .map(([name]) => `${where}: consumer ${name} uses a Hadoop catalog, which cannot commit atomically on S3 (concurrent writers can lose commits, as Iceberg's docs warn); prefer catalog: rest or jdbc`);
}
