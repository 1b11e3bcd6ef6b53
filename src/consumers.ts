// The env's data layout: the buckets the bootstrap creates (prefixes, lifecycle,
// versioning, quota) and the consumers that use them (a namespace, a kind, the buckets
// it may use, its MinIO user). The checks follow the S3 naming rules, MinIO's limits and
// what the consumers need to work (a catalog that exists, checkpoints that restore);
// they run on the config file like every other setting. Nothing here does I/O.
import { fail, show } from './errors.ts';

export const CONSUMER_KINDS = ['flink-cmf', 'flink-operator', 'iceberg-spark', 'iceberg-catalog'] as const;
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
  /** Default encryption (SSE-S3) of new objects; absent: on when the env has a KMS. */
  encryption?: boolean;
}

export interface ConsumerSettings {
  namespace: string;
  kind: ConsumerKind;
  /** The MinIO user (access key) of this consumer. */
  user: string;
  /** What it may use: a bucket ("flink") or a prefix of one ("datalake/warehouse/"). */
  buckets: string[];
  /** Flink kinds: how often a checkpoint is taken (a Flink duration, e.g. 60s). */
  checkpointInterval?: string;
  /** iceberg-spark: the Iceberg catalog type. */
  catalog?: (typeof CATALOGS)[number];
  /** iceberg-spark: an external REST catalog's URL, or the JDBC URL. */
  catalogUri?: string;
  /** iceberg-spark with a REST catalog: the env's catalog server (a consumer of kind iceberg-catalog). */
  catalogServer?: string;
  /** iceberg-spark with an external REST catalog: the warehouse as that server names it. */
  warehouse?: string;
  /** iceberg-catalog: the size of its version store's volume. */
  size?: string;
}

export const FLINK_KINDS: readonly ConsumerKind[] = ['flink-cmf', 'flink-operator'];
export const isFlink = (c: ConsumerSettings) => FLINK_KINDS.includes(c.kind);

/** The fields each kind takes, beyond namespace, kind, user and buckets. */
const KIND_FIELDS: Record<ConsumerKind, string[]> = {
  'flink-cmf': ['checkpointInterval'],
  'flink-operator': ['checkpointInterval'],
  'iceberg-spark': ['catalog', 'catalogUri', 'catalogServer', 'warehouse'],
  'iceberg-catalog': ['size'],
};

export const DEFAULT_CHECKPOINT_INTERVAL = '60s';
export const DEFAULT_CATALOG_SIZE = '1Gi';

export function defaultBuckets(): Record<string, BucketSettings> {
  return {
    // The seed's Flink layout, without its 7-day expiry of checkpoints/: incremental
    // checkpoints share files older than that (see checkDataLayout).
    flink: { prefixes: ['checkpoints/', 'savepoints/'], lifecycle: [], versioning: false, quota: '' },
    datalake: { prefixes: ['warehouse/'], lifecycle: [], versioning: false, quota: '' },
  };
}

export function defaultConsumers(): Record<string, ConsumerSettings> {
  return {
    flink: {
      namespace: 'el-demo',
      kind: 'flink-cmf',
      user: 'flink',
      buckets: ['flink'],
      checkpointInterval: DEFAULT_CHECKPOINT_INTERVAL,
    },
    spark: {
      namespace: 'analytics',
      kind: 'iceberg-spark',
      user: 'spark',
      buckets: ['datalake/warehouse/'],
      catalog: 'rest',
      catalogServer: 'iceberg',
    },
    // The lake's Iceberg REST catalog, deployed with the env (Apache Iceberg's REST server).
    iceberg: {
      namespace: 'analytics',
      kind: 'iceberg-catalog',
      user: 'iceberg',
      buckets: ['datalake/warehouse/'],
      size: DEFAULT_CATALOG_SIZE,
    },
  };
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function known(raw: Record<string, unknown>, keys: string[], where: string) {
  for (const key of Object.keys(raw))
    if (!keys.includes(key)) fail(`${where}.${key} is not a known setting; known: ${keys.join(', ')}`);
}

/** The S3 bucket naming rules (AWS's, which MinIO enforces too). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return "may hold only lower-case letters, digits, '.' and '-', and must begin and end with a letter or digit";
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return "must not have '..', '.-' or '-.'";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-') || name.endsWith('-s3alias') || name.endsWith('--ol-s3'))
    return "must not begin with 'xn--' or 'sthree-' or end with '-s3alias' or '--ol-s3' (reserved)";
  return undefined;
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/$/;

function prefix(raw: unknown, where: string): string {
  if (typeof raw === 'string' && PREFIX.test(raw) && !raw.split('/').includes('..')) return raw;
  return fail(
    `${where} ${show(raw)} is not a prefix; use path segments of letters, digits, '.', '_' and '-' ending in '/', e.g. checkpoints/`,
  );
}

function flag(raw: unknown, where: string): boolean {
  if (raw === true || raw === false) return raw;
  return fail(`${where} ${show(raw)} is not allowed; use true or false`);
}

export function checkBuckets(raw: unknown, where: string): Record<string, BucketSettings> {
  if (!isMap(raw))
    return fail(`${where} must be a map from bucket name to its settings, e.g. {flink: {prefixes: [checkpoints/]}}`);
  const out: Record<string, BucketSettings> = {};
  for (const [name, value] of Object.entries(raw)) {
    const problem = bucketNameProblem(name);
    if (problem)
      fail(`${where}: bucket name ${show(name)} ${problem} (S3 naming rules); rename it, e.g. flink-checkpoints`);
    const at = `${where}.${name}`;
    const v = value ?? {};
    if (!isMap(v)) fail(`${at} must be a map with prefixes, lifecycle, versioning, quota and encryption`);
    known(v, ['prefixes', 'lifecycle', 'versioning', 'quota', 'encryption'], at);
    const list = (key: string) => {
      const l = v[key] ?? [];
      if (!Array.isArray(l)) fail(`${at}.${key} must be a list`);
      return l as unknown[];
    };
    const prefixes = list('prefixes').map((p, i) => prefix(p, `${at}.prefixes[${i}]`));
    if (new Set(prefixes).size !== prefixes.length) fail(`${at}.prefixes names a prefix twice; list each once`);
    const lifecycle = list('lifecycle').map((r, i) => {
      const rat = `${at}.lifecycle[${i}]`;
      if (!isMap(r)) return fail(`${rat} must be a map like {prefix: logs/, expireDays: 7}`);
      known(r, ['prefix', 'expireDays'], rat);
      const days = r.expireDays;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 36500)
        fail(`${rat}.expireDays ${show(days)} is not a number of days; use a whole number from 1, e.g. 7`);
      return { prefix: prefix(r.prefix, `${rat}.prefix`), expireDays: days as number };
    });
    if (new Set(lifecycle.map((r) => r.prefix)).size !== lifecycle.length)
      fail(`${at}.lifecycle has two rules for one prefix; keep one`);
    const quota = v.quota ?? '';
    if (quota !== '' && !(typeof quota === 'string' && /^[1-9]\d*(KiB|MiB|GiB|TiB|PiB)$/.test(quota))) {
      fail(
        `${at}.quota ${show(quota)} is not a size; use a whole number with KiB, MiB, GiB, TiB or PiB, e.g. 100GiB, or "" for none`,
      );
    }
    out[name] = {
      prefixes,
      lifecycle,
      versioning: v.versioning === undefined ? false : flag(v.versioning, `${at}.versioning`),
      quota: quota as string,
    };
    if (v.encryption !== undefined) out[name].encryption = flag(v.encryption, `${at}.encryption`);
  }
  return out;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RESERVED = ['root', 'console', 'metrics', 'kms', 'audit', 'all'];

/** The MinIO user whose token reads the metrics (render/metrics.ts): no consumer's. */
export const METRICS_USER = 'minio-metrics';
// MinIO access keys: at least 3 characters; kept to a set that needs no quoting anywhere.
const USER = /^[a-z0-9][a-z0-9._-]{2,63}$/;
// A Flink duration as people write it in flinkConfiguration: 60s, 5min, 1h, 500ms.
const DURATION = /^[1-9]\d*(ms|s|min|h)$/;

/** A REST catalog's URL: http(s), a host, nothing that needs quoting in spark-defaults.conf. */
function catalogUrlProblem(uri: string, catalog: string): string | undefined {
  if (catalog === 'jdbc') return /^jdbc:[a-z][a-z0-9]*:\S+$/.test(uri) ? undefined : 'is not a JDBC URL';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not a URL';
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.hostname === '' || /\s/.test(uri))
    return 'is not an http(s) URL with a host';
  if (url.username || url.password)
    return 'carries credentials; give the catalog its own authentication instead of putting a secret in the URL';
  return undefined;
}

function checkConsumer(name: string, raw: unknown, where: string): ConsumerSettings {
  const at = `${where}.${name}`;
  if (!isMap(raw)) return fail(`${at} must be a map with namespace, kind and buckets`);
  // A key written with no value (null in YAML) is as good as left out.
  const value = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  const kind = value.kind;
  if (!(CONSUMER_KINDS as readonly unknown[]).includes(kind))
    fail(`${at}.kind ${show(kind)} is not allowed; use one of: ${CONSUMER_KINDS.join(', ')}`);
  const extra = KIND_FIELDS[kind as ConsumerKind];
  const misplaced = Object.keys(value).find((k) => Object.values(KIND_FIELDS).flat().includes(k) && !extra.includes(k));
  if (misplaced) fail(`${at}.${misplaced} does not apply to kind ${kind as string}; remove it`);
  known(value, ['namespace', 'kind', 'user', 'buckets', ...extra], at);
  const namespace = value.namespace;
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))
    fail(`${at}.namespace ${show(namespace)} is not a valid namespace name; use e.g. el-demo`);
  const user = value.user ?? name;
  if (typeof user !== 'string' || !USER.test(user))
    fail(
      `${at}.user ${show(user)} is not a MinIO user name; use 3 to 64 lower-case letters, digits, '.', '_' or '-', e.g. flink`,
    );
  const buckets = value.buckets;
  if (!Array.isArray(buckets) || buckets.length === 0)
    fail(`${at}.buckets must list the buckets (or bucket/prefix/) it may use, e.g. [flink]`);
  const grants = (buckets as unknown[]).map((b, i) => {
    if (typeof b !== 'string') return fail(`${at}.buckets[${i}] ${show(b)} must be a bucket name or bucket/prefix/`);
    const slash = b.indexOf('/');
    if (slash >= 0) prefix(b.slice(slash + 1), `${at}.buckets[${i}] prefix`);
    return b;
  });
  if (new Set(grants).size !== grants.length) fail(`${at}.buckets names one bucket twice; list each once`);
  const consumer: ConsumerSettings = {
    namespace: namespace as string,
    kind: kind as ConsumerKind,
    user,
    buckets: grants,
  };

  if (kind === 'flink-cmf' || kind === 'flink-operator') {
    const interval = value.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    if (typeof interval !== 'string' || !DURATION.test(interval))
      fail(`${at}.checkpointInterval ${show(interval)} is not a Flink duration; use e.g. 60s, 5min or 500ms`);
    consumer.checkpointInterval = interval as string;
  }
  if (kind === 'iceberg-catalog') {
    const size = value.size ?? DEFAULT_CATALOG_SIZE;
    if (typeof size !== 'string' || !/^[1-9]\d*(Mi|Gi|Ti)$/.test(size))
      fail(`${at}.size ${show(size)} is not a volume size; use e.g. 1Gi`);
    consumer.size = size as string;
  }
  if (kind === 'iceberg-spark') {
    const catalog = value.catalog ?? 'rest';
    if (!(CATALOGS as readonly unknown[]).includes(catalog))
      fail(`${at}.catalog ${show(catalog)} is not allowed; use one of: ${CATALOGS.join(', ')}`);
    consumer.catalog = catalog as ConsumerSettings['catalog'];
    const { catalogUri: uri, catalogServer: server } = value;
    if (uri !== undefined) {
      if (catalog === 'hadoop')
        fail(`${at}.catalogUri does not apply to a hadoop catalog (its warehouse is the bucket); remove it`);
      const problem = typeof uri === 'string' ? catalogUrlProblem(uri, catalog as string) : 'is not a string';
      if (problem)
        fail(
          `${at}.catalogUri ${show(uri)} ${problem}; use ${catalog === 'jdbc' ? 'the JDBC URL, e.g. jdbc:postgresql://iceberg-db.analytics:5432/iceberg' : "your REST catalog's URL, e.g. https://catalog.example.com/api/catalog, or catalogServer for the env's own"}`,
        );
      consumer.catalogUri = uri as string;
    }
    if (server !== undefined) {
      if (catalog !== 'rest') fail(`${at}.catalogServer is for catalog: rest; remove it`);
      if (typeof server !== 'string' || !DNS_LABEL.test(server))
        fail(`${at}.catalogServer ${show(server)} must name a consumer of kind iceberg-catalog, e.g. iceberg`);
      if (uri !== undefined)
        fail(
          `${at} has both catalogServer and catalogUri; keep catalogServer for the env's own catalog, or catalogUri for an external one`,
        );
      consumer.catalogServer = server as string;
    }
    if (value.warehouse !== undefined) {
      // The env's own catalog and the jdbc/hadoop ones take the warehouse from the grants.
      if (catalog !== 'rest' || uri === undefined)
        fail(
          `${at}.warehouse is for an external REST catalog (catalog: rest with catalogUri), which names its warehouses itself; remove it`,
        );
      if (typeof value.warehouse !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._/:-]*$/.test(value.warehouse))
        fail(
          `${at}.warehouse ${show(value.warehouse)} is not a warehouse name; use the name your catalog server gives it, e.g. lakehouse`,
        );
      consumer.warehouse = value.warehouse as string;
    }
    if (catalog === 'jdbc' && uri === undefined)
      fail(
        `${at}.catalogUri is missing: a jdbc catalog needs the JDBC URL of its database, e.g. jdbc:postgresql://iceberg-db.analytics:5432/iceberg`,
      );
  }
  return consumer;
}

export function checkConsumers(raw: unknown, where: string): Record<string, ConsumerSettings> {
  if (!isMap(raw))
    return fail(
      `${where} must be a map from consumer name to its settings, e.g. {flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}}`,
    );
  const out: Record<string, ConsumerSettings> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!DNS_LABEL.test(name))
      fail(
        `${where}: consumer name ${show(name)} is not a valid name; use lower-case letters, digits and '-', e.g. flink`,
      );
    // --rotate takes consumer names beside the server's credentials.
    if (RESERVED.includes(name))
      fail(
        `${where}: consumer name ${name} is reserved (--rotate ${name} means the server's credential); rename the consumer, e.g. ${name}-app`,
      );
    out[name] = checkConsumer(name, value, where);
  }
  // A REST catalog with neither a URL nor a server: the env's catalog server, when it has one.
  const servers = Object.keys(out).filter((n) => out[n]!.kind === 'iceberg-catalog');
  for (const [name, c] of Object.entries(out)) {
    if (c.catalog !== 'rest' || c.catalogUri || c.catalogServer) continue;
    if (servers.length !== 1) {
      fail(
        `${where}.${name} uses a REST catalog but names none: set catalogServer to ${servers.length > 1 ? `one of ${servers.join(', ')}` : "a consumer of kind iceberg-catalog (the env's own catalog server, e.g. iceberg: {namespace: analytics, kind: iceberg-catalog, buckets: [datalake/warehouse/]})"}, or catalogUri to your REST catalog`,
      );
    }
    c.catalogServer = servers[0];
  }
  return out;
}

/** The bucket a grant ("flink" or "datalake/warehouse/") is in. */
export function grantBucket(grant: string): string {
  const slash = grant.indexOf('/');
  return slash < 0 ? grant : grant.slice(0, slash);
}

/** The prefix a grant is limited to ("" for a whole bucket). */
function grantPrefix(grant: string): string {
  return grant.slice(grantBucket(grant).length + 1);
}

/** Where a Flink consumer keeps checkpoints: its first grant, and "checkpoints/" in it. */
export function checkpointLocation(c: ConsumerSettings): { bucket: string; prefix: string } {
  const grant = c.buckets[0]!;
  return { bucket: grantBucket(grant), prefix: `${grantPrefix(grant)}checkpoints/` };
}

/** Where a catalog server (or a hadoop catalog) keeps the warehouse: its first grant, or the bucket's first prefix. */
export function warehouseLocation(
  c: ConsumerSettings,
  buckets: Record<string, BucketSettings>,
): { bucket: string; prefix: string } {
  const grant = c.buckets[0]!;
  const bucket = grantBucket(grant);
  return { bucket, prefix: grantPrefix(grant) || (buckets[bucket]?.prefixes[0] ?? '') };
}

/** Whether a consumer's grants let it use everything under bucket/prefix. */
function covers(c: ConsumerSettings, bucket: string, prefix: string): boolean {
  return c.buckets.some((g) => grantBucket(g) === bucket && prefix.startsWith(grantPrefix(g)));
}

/** Rules across buckets, consumers and the server: named in `where` ("env prod"). */
export function checkDataLayout(
  where: string,
  buckets: Record<string, BucketSettings>,
  consumers: Record<string, ConsumerSettings>,
  replicas: number,
  reservedUser: string,
): void {
  for (const [name, b] of Object.entries(buckets)) {
    if (b.versioning && replicas === 1) {
      // Current MinIO accepts versioning on one drive, but with no redundancy under it the
      // versions only multiply what a single disk failure loses: erasure-coded envs only.
      fail(
        `${where}: bucket ${name} has versioning on, but a single MinIO server is not erasure coded (one drive, no redundancy); set versioning: false for it in scaffold.config.yaml, or run 4 or more servers (--replicas 4 --storage pvc)`,
      );
    }
  }
  const users = new Map<string, string>();
  for (const [name, c] of Object.entries(consumers)) {
    for (const grant of c.buckets) {
      if (!buckets[grantBucket(grant)])
        fail(
          `${where}: consumer ${name} uses bucket ${grantBucket(grant)}, which is not among the buckets (${Object.keys(buckets).join(', ') || 'none'}); add it under buckets, or fix the name`,
        );
    }
    if (c.user === reservedUser)
      fail(`${where}: consumer ${name} would be MinIO user ${c.user}, the root user of this env; give it its own user`);
    if (c.user === METRICS_USER)
      fail(
        `${where}: consumer ${name} would be MinIO user ${c.user}, the user that reads the metrics; give it its own user`,
      );
    const other = users.get(c.user);
    if (other)
      fail(
        `${where}: consumers ${other} and ${name} are both MinIO user ${c.user}; give each consumer its own user (a shared user would share its permissions)`,
      );
    users.set(c.user, name);
    if (isFlink(c)) {
      // Incremental RocksDB checkpoints keep referencing files in <dir>/<job>/shared/ that
      // were uploaded long before; expiring them by age breaks the restore (404 NoSuchKey).
      const at = checkpointLocation(c);
      for (const rule of buckets[at.bucket]!.lifecycle) {
        if (at.prefix.startsWith(rule.prefix) || rule.prefix.startsWith(at.prefix)) {
          fail(
            `${where}: bucket ${at.bucket} has a lifecycle rule on ${rule.prefix}, where consumer ${name} keeps incremental Flink checkpoints (${at.prefix}): they share files older than any age, so an expiry breaks restores (404 NoSuchKey); remove the rule (Flink deletes what no retained checkpoint needs, and MinIO aborts stale multipart uploads itself)`,
          );
        }
      }
    }
    if (c.catalogServer) {
      const server = consumers[c.catalogServer];
      if (server?.kind !== 'iceberg-catalog')
        fail(
          `${where}: consumer ${name} names catalogServer ${c.catalogServer}, which is not a consumer of kind iceberg-catalog in this env; add one, or fix the name`,
        );
      const wh = warehouseLocation(server, buckets);
      // Spark writes the data files itself, with its own user: it needs the warehouse.
      if (!covers(c, wh.bucket, wh.prefix))
        fail(
          `${where}: consumer ${name} cannot write the warehouse of its catalog server ${c.catalogServer} (s3://${wh.bucket}/${wh.prefix}); add ${wh.bucket}/${wh.prefix} to its buckets`,
        );
    }
  }
}

/** Warnings about choices that work but bite later (printed as notes). */
export function dataLayoutNotes(where: string, consumers: Record<string, ConsumerSettings>): string[] {
  return Object.entries(consumers)
    .filter(([, c]) => c.catalog === 'hadoop')
    .map(
      ([name]) =>
        `${where}: consumer ${name} uses a Hadoop catalog, which cannot commit atomically on S3 (concurrent writers can lose commits, as Iceberg's docs warn); prefer catalog: rest or jdbc`,
    );
}

// ---- former defaults, replaced in a recorded env when it is rendered again

const OLD_EXPIRY = { prefix: 'checkpoints/', expireDays: 7 };
const oldCatalogUri = (namespace: unknown) => `http://iceberg-rest.${String(namespace)}.svc.cluster.local:8181`;

/**
 * Earlier versions wrote two defaults that do not work: a 7-day expiry of flink's
 * checkpoints/ (breaks restores) and a REST catalog URL nothing deploys. A recorded env
 * that still holds them exactly gets the current defaults instead (the raw settings are
 * changed in place); anything else a person wrote is checked, and refused, as it is.
 */
export function migrateDataLayout(env: Record<string, unknown>, where: string): string[] {
  const notes: string[] = [];
  const buckets = env.buckets;
  const consumers = env.consumers;
  if (isMap(buckets) && isMap(buckets.flink) && Array.isArray(buckets.flink.lifecycle)) {
    const rules = buckets.flink.lifecycle as unknown[];
    const kept = rules.filter(
      (r) =>
        !(
          isMap(r) &&
          r.prefix === OLD_EXPIRY.prefix &&
          r.expireDays === OLD_EXPIRY.expireDays &&
          Object.keys(r).length === 2
        ),
    );
    if (kept.length !== rules.length) {
      buckets.flink = { ...buckets.flink, lifecycle: kept };
      notes.push(
        `${where}buckets.flink: removed the former default 7-day expiry of checkpoints/: incremental Flink checkpoints share older files, and expiring them breaks restores`,
      );
    }
  }
  if (isMap(consumers)) {
    for (const [name, c] of Object.entries(consumers)) {
      if (
        !isMap(c) ||
        c.kind !== 'iceberg-spark' ||
        c.catalogUri !== oldCatalogUri(c.namespace) ||
        (c.catalog ?? 'rest') !== 'rest'
      )
        continue;
      const server = Object.keys(consumers).find(
        (n) => isMap(consumers[n]) && (consumers[n] as Record<string, unknown>).kind === 'iceberg-catalog',
      );
      // The catalog server to add takes the first of these names that no consumer has,
      // as its name and as its MinIO user.
      const users = Object.entries(consumers).map(([n, x]) => (isMap(x) && typeof x.user === 'string' ? x.user : n));
      const serverName =
        server ??
        ['iceberg', 'iceberg-catalog', 'iceberg-rest'].find((n) => consumers[n] === undefined && !users.includes(n));
      if (!serverName) {
        notes.push(
          `${where}consumers.${name}: catalogUri ${oldCatalogUri(c.namespace)} is the former default, which nothing deploys; add a consumer of kind iceberg-catalog and set catalogServer to it (docs/consumers.md)`,
        );
        continue;
      }
      if (!server) {
        const grant = (Array.isArray(c.buckets) ? c.buckets : []).find((g) => typeof g === 'string') as
          | string
          | undefined;
        const bucket = grant ? grantBucket(grant) : 'datalake';
        const first =
          isMap(buckets) && isMap(buckets[bucket]) && Array.isArray(buckets[bucket].prefixes)
            ? (buckets[bucket].prefixes as unknown[])[0]
            : undefined;
        const location = grant?.includes('/') ? grant : typeof first === 'string' ? `${bucket}/${first}` : bucket;
        consumers[serverName] = { namespace: c.namespace, kind: 'iceberg-catalog', buckets: [location] };
      }
      const { catalogUri: _, ...rest } = c;
      consumers[name] = { ...rest, catalogServer: serverName };
      notes.push(
        `${where}consumers.${name}: the former default catalogUri ${oldCatalogUri(c.namespace)} named a service nothing deploys; it now uses the env's own Iceberg REST catalog, consumer ${serverName}${server ? '' : ' (added)'}`,
      );
    }
  }
  return notes;
}
