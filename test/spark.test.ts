// Proof that the rendered Spark + Iceberg wiring works with the real software: the scaffolder
// renders an env with its default consumers (Spark, and the env's Iceberg REST catalog
// server, each with its own MinIO user limited to datalake/warehouse/) — over http a dev
// env, over https the default prod render exactly (its sealed Secrets decrypted by the real
// sops, as Flux does) — the rendered bootstrap
// makes the users on a real MinIO, Apache Iceberg's own REST catalog server (the code of the
// apache/iceberg-rest-fixture 1.10.1 image: JdbcCatalog on a SQLite file, from Maven Central)
// runs with exactly the rendered Deployment's environment (secretKeyRefs resolved from the
// rendered Secret), and pyspark 3.5.7 loads exactly the rendered spark-defaults.conf with the
// environment the rendered pod template gives it. The test replaces only addresses (the S3
// endpoint, the catalog URI, the truststore path, the SQLite file) and the port; over https
// the truststore is the one trust-manager builds from the rendered Bundle (test/trust.ts).
import { copyFileSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import YAML from 'yaml';
import { ROOT, startMinio, type Minio } from './minio.ts';
import { build, secretValues, serverEnv, jobInputs, runBootstrap, scaffold, type Obj } from './scaffolded.ts';
import { needCatalogServer, needSpark, runSparkIceberg, startCatalogServer, type CatalogServer } from './spark.ts';
import { needTool, tempDir } from './tools.ts';
import { renderedTruststores } from './trust.ts';

// The default consumers of a new env (spark, and its catalog server iceberg), on an
// erasure-coded dev env (plain credentials, so the rendered Secrets carry the values).
const CONFIG = `envs:
  lab:
    profile: dev
    replicas: 4
    storage: pvc
`;
/** The lab env's MinIO namespace (its default), which the consumers' objects carry in their names. */
const LAB_NAMESPACE = 'minio-lab';
/** Where the rendered pods find the truststore, and where the rendered Ivy cache is. */
const POD_TRUSTSTORE = '/etc/minio-gitops/trust/truststore.p12';
const POD_IVY = '/tmp/.ivy2';
/** The warm Ivy cache of tools/install-spark.sh (a path of this machine, like the truststore's). */
const IVY = join(import.meta.dirname, '..', '.tools', 'ivy');

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];

/** A container's environment as the kubelet resolves it: values, and secretKeyRefs from the rendered Secret. */
function resolve(objs: Obj[], minioNamespace: string, consumer: string, env: Env): Record<string, string> {
  const secret = secretValues(objs, 'analytics', `${minioNamespace}-s3-credentials-${consumer}`);
  return Object.fromEntries(
    env.map((e) => {
      if (!e.valueFrom) return [e.name, e.value!];
      expect(e.valueFrom.secretKeyRef.name).toBe(`${minioNamespace}-s3-credentials-${consumer}`);
      return [e.name, secret[e.valueFrom.secretKeyRef.key]!];
    }),
  );
}

/** What the env renders for the Spark consumer and the catalog server, as the pods would get it (their objects carry MinIO's namespace). */
function rendered(objs: Obj[], minioNamespace: string) {
  const defaults = objs.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === `${minioNamespace}-spark-spark-defaults`,
  )!.data!;
  const pod = YAML.parse(defaults['pod-template.yaml']!) as { spec: { containers: { env: Env }[] } };
  const catalog = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === `${minioNamespace}-iceberg`)!;
  const conf = Object.fromEntries(
    defaults['spark-defaults.conf']!.split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
  return {
    sparkDefaults: defaults['spark-defaults.conf']!,
    sparkEnv: resolve(objs, minioNamespace, 'spark', pod.spec.containers[0]!.env),
    catalogEnv: resolve(objs, minioNamespace, 'iceberg', catalog.spec.template.spec.containers[0].env),
    endpoint: conf['spark.sql.catalog.iceberg.s3.endpoint']!,
    catalogUri: conf['spark.sql.catalog.iceberg.uri']!,
  };
}

/** The image's own ENV (its Dockerfile), under the rendered variables as in the container. */
const IMAGE_ENV: Record<string, string> = {
  CATALOG_CATALOG__IMPL: 'org.apache.iceberg.jdbc.JdbcCatalog',
  CATALOG_URI: 'jdbc:sqlite:file::memory:?cache=shared',
  CATALOG_JDBC_USER: 'user',
  CATALOG_JDBC_PASSWORD: 'password',
  REST_PORT: '8181',
};

interface Phase {
  name: string;
  seconds: number;
}

async function timed<T>(phases: Phase[], name: string, fn: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    phases.push({ name, seconds: (Date.now() - start) / 1000 });
  }
}

/** Every object in every bucket, as bucket/key. */
function allObjects(m: Minio): string[] {
  return m
    .mc('ls', '--recursive', '--json', 'root')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { key?: string; status?: string })
    .filter((o) => o.status === 'success' && o.key !== undefined)
    .map((o) => o.key as string);
}

interface S3Request {
  user: string;
  api: string;
  method: string;
  path: string;
  query: string;
  status: number;
}

/**
 * Records every S3 call MinIO serves, with the access key that signed it (`mc admin trace
 * --verbose`, which shows the Authorization header's Credential), until `stop()`. Bounded: ready
 * within 20 s or it fails; killed when the test ends.
 */
async function recordS3Requests(ctx: { skip: (note?: string) => void }, m: Minio, dir: string) {
  const mc = needTool(ctx, 'mc');
  const config = join(dir, 'mc-trace');
  mkdirSync(join(config, 'certs', 'CAs'), { recursive: true });
  if (m.ca) copyFileSync(m.ca, join(config, 'certs', 'CAs', 'ca.crt'));
  const env = { PATH: process.env.PATH ?? '', HOME: dir, MC_CONFIG_DIR: config, MC_NO_COLOR: '1', MC_QUIET: '1' };
  execFileSync(mc, ['alias', 'set', 'root', m.endpoint, ROOT.user, ROOT.password], { env, stdio: 'pipe' });
  const file = join(dir, 's3-trace.jsonl');
  const out = openSync(file, 'a');
  const child = spawn(mc, ['admin', 'trace', '--verbose', '--json', 'root'], { env, stdio: ['ignore', out, out] });
  closeSync(out);
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onTestFinished(kill);
  const parse = (): S3Request[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((t) => t.request)
      .map((t) => ({
        user: /Credential=([^/]+)\//.exec(t.request.headers?.Authorization ?? '')?.[1] ?? '',
        api: t.api,
        method: t.request.method,
        path: t.request.path,
        query: t.request.rawQuery ?? '',
        status: t.response?.statusCode ?? 0,
      }));
  const deadline = Date.now() + 20_000;
  while (!parse().some((r) => r.user === ROOT.user)) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`mc admin trace did not start: ${readFileSync(file, 'utf8').slice(-2000)}`);
    m.mc('ls', 'root/datalake/');
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    stop(): S3Request[] {
      kill();
      return parse();
    },
  };
}

const TABLE = { namespace: 'minio_gitops', name: 'events' };

/** The catalog's loadTable answer, checked: no credentials or signing handed to the client. */
async function loadTable(catalog: CatalogServer) {
  const loaded = await catalog.get(`/v1/namespaces/${TABLE.namespace}/tables/${TABLE.name}`);
  expect(
    Object.keys(loaded.config ?? {}).filter((k) => /access-key|secret|session-token|signer|sign|token/.test(k)),
  ).toEqual([]);
  expect(loaded['storage-credentials'] ?? []).toEqual([]);
  return {
    metadataLocation: loaded['metadata-location'] as string,
    currentSnapshotId: String(loaded.metadata['current-snapshot-id']),
    snapshots: (loaded.metadata.snapshots ?? []).length as number,
    location: loaded.metadata.location as string,
    gcEnabled: loaded.metadata.properties?.['gc.enabled'] ?? 'true',
  };
}

async function scenario(
  ctx: { skip: (note?: string) => void },
  opts: { tls: boolean; master: string; env: 'lab' | 'prod' },
) {
  needSpark(ctx);
  needCatalogServer(ctx);
  const phases: Phase[] = [];
  const began = Date.now();
  const dir = tempDir('minio-gitops-spark-test-');
  // lab: the config above; prod: the default prod render (sealed credentials, TLS, the KMS key), exactly.
  const out = scaffold(
    opts.env === 'lab' ? CONFIG : '',
    '--env',
    opts.env,
    ...(opts.tls && opts.env === 'lab' ? ['--tls', 'on'] : []),
  );
  const m = await timed(phases, 'start MinIO', () =>
    startMinio(ctx, { drives: 4, tls: opts.tls, env: serverEnv(build(ctx, out, `overlays/${opts.env}/minio`)) }),
  );
  const r = await timed(phases, 'scaffold, and the rendered bootstrap: buckets, users, policies', () => {
    const boot = runBootstrap(m, jobInputs(ctx, out, opts.env), opts.tls ? ['--ca', m.ca!] : []);
    expect(boot.code, boot.stderr).toBe(0);
    return {
      out,
      ...rendered(build(ctx, out, `overlays/${opts.env}/consumers`), opts.env === 'lab' ? LAB_NAMESPACE : 'minio'),
    };
  });
  const store = opts.tls
    ? (
        await timed(phases, 'the truststore trust-manager builds from the rendered Bundle', () =>
          renderedTruststores(ctx, r.out, opts.env, m.ca!),
        )
      ).analytics
    : undefined;
  if (opts.tls) expect(store).toBeDefined();
  /** The rendered text with only its addresses made local. */
  const localize = (text: string, catalog?: string) => {
    let t = text.replaceAll(r.endpoint, m.endpoint).replace(`spark.jars.ivy ${POD_IVY}\n`, `spark.jars.ivy ${IVY}\n`);
    if (catalog) t = t.replaceAll(r.catalogUri, catalog);
    if (store) t = t.replaceAll(POD_TRUSTSTORE, store);
    return t;
  };
  const trace = await timed(phases, 'start the S3 request trace', () => recordS3Requests(ctx, m, dir));

  // The catalog server's environment: the image's ENV, then the rendered variables; addresses local.
  const { JAVA_TOOL_OPTIONS: javaToolOptions, ...renderedEnv } = r.catalogEnv;
  expect(Boolean(javaToolOptions)).toBe(opts.tls);
  const catalogEnv = Object.fromEntries(
    Object.entries({ ...IMAGE_ENV, ...renderedEnv }).map(([k, v]) => [k, localize(v)]),
  );
  const javaOptions = javaToolOptions ? localize(javaToolOptions).split(' ') : [];
  const catalog = await timed(phases, 'start the catalog server', () =>
    startCatalogServer(ctx, { env: catalogEnv, javaOptions }),
  );
  // Clients get no credentials and no signing endpoint from the server's configuration.
  const config = await catalog.get('/v1/config');
  expect(
    Object.keys({ ...config.defaults, ...config.overrides }).filter((k) =>
      /access-key|secret|session-token|sign|token|s3\./.test(k),
    ),
  ).toEqual([]);

  const sparkDefaults = localize(r.sparkDefaults, catalog.uri);
  expect(sparkDefaults).not.toContain('svc.cluster.local');
  const sparkEnv = r.sparkEnv;
  expect(Object.keys(sparkEnv).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']);
  const result = await timed(phases, `Spark ${opts.master}`, () =>
    runSparkIceberg(ctx, { sparkDefaults, env: sparkEnv, master: opts.master, deniedPath: 's3://flink/denied-probe' }),
  );
  const requests = trace.stop();
  const reportLines = () => [
    ...phases.map((p) => `  ${p.name}: ${p.seconds.toFixed(1)} s`),
    `  catalog server ready after ${catalog.startSeconds.toFixed(1)} s`,
    ...result.steps.map((s) => `    spark step ${s.name}: ${s.seconds.toFixed(1)} s`),
    `  total: ${((Date.now() - began) / 1000).toFixed(1)} s`,
  ];
  if (!result.ok) {
    console.log(
      `Spark + Iceberg (${opts.tls ? 'https' : 'http'}, ${opts.master}), failed:\n${reportLines().join('\n')}`,
    );
    throw new Error(
      `the Spark run failed: ${result.error}\n${result.traceback ?? ''}\n--- spark log ---\n${result.log}\n--- catalog server log ---\n${catalog.log().slice(-4000)}`,
    );
  }
  const expire = result.step('expire_snapshots').detail;
  const before = await loadTable(catalog);

  // Persistence: a new server on the same SQLite file serves the same table, at the same snapshot.
  await timed(phases, 'stop the catalog server (SIGTERM)', () => catalog.stop());
  const restarted = await timed(phases, 'start a new catalog server on the same SQLite file', () =>
    startCatalogServer(ctx, { env: catalogEnv, javaOptions, dataDir: catalog.dataDir }),
  );
  const after = await loadTable(restarted);
  // (One local JVM is enough to read three rows back; the executors were checked above.)
  const readBack = await timed(phases, 'Spark local[1]: read the table back', () =>
    runSparkIceberg(ctx, {
      sparkDefaults: localize(r.sparkDefaults, restarted.uri),
      env: sparkEnv,
      master: 'local[1]',
      deniedPath: 's3://flink/denied-probe',
      mode: 'read',
    }),
  );
  await restarted.stop();
  const objects = await timed(phases, 'mc: list every object', () => allObjects(m));
  console.log(
    `Spark + Iceberg (${opts.tls ? 'https' : 'http'}, ${opts.master}):\n${reportLines().join('\n')}\n` +
      `  expire_snapshots: ${JSON.stringify(expire)}\n` +
      `  restarted catalog server ready after ${restarted.startSeconds.toFixed(1)} s\n` +
      readBack.steps.map((s) => `    spark read-back step ${s.name}: ${s.seconds.toFixed(1)} s`).join('\n'),
  );
  if (!readBack.ok)
    throw new Error(
      `reading the table back failed: ${readBack.error}\n${readBack.traceback ?? ''}\n--- spark log ---\n${readBack.log}\n--- catalog server log ---\n${restarted.log().slice(-4000)}`,
    );

  // Tasks ran where the test meant them to, with the trust store where TLS is on.
  const executors = result.step('executors').detail;
  if (opts.master.startsWith('local-cluster')) {
    expect(executors.executors).toBe(2);
    expect(executors.tasks_in_separate_jvms).toBe(true);
    expect(executors.task_jvm_pids.length).toBe(2);
  } else {
    expect(executors.task_jvm_pids).toEqual([executors.driver_pid]);
  }
  expect(executors.driver_trust_store ?? null).toBe(store ?? null);
  expect(executors.task_jvm_trust_stores).toEqual([store ?? 'null']);

  // The steps that change the table all passed their row checks in the harness.
  for (const name of [
    'create_namespace',
    'create_table',
    'insert',
    'update',
    'merge',
    'file_locations',
    'file_io',
    'allowed_write',
    'denied_write',
  ])
    result.step(name);
  expect(result.step('merge').detail).toEqual({ rows: 3 });

  // expire_snapshots really expired: INSERT, UPDATE and MERGE made 3 snapshots, 1 is left, and
  // the older snapshots' manifest lists and the data files only they referenced are gone.
  expect(expire).toMatchObject({ gc_enabled: 'true', snapshots_before: 3, snapshots_after: 1, snapshots: 1 });
  expect(expire.deleted_manifest_lists_count).toBe(2);
  expect(expire.deleted_data_files_count).toBeGreaterThanOrEqual(1);
  expect(before).toMatchObject({ snapshots: 1, currentSnapshotId: expire.current_snapshot_id, gcEnabled: 'true' });
  expect(before.location).toBe(`s3://datalake/warehouse/${TABLE.namespace}/${TABLE.name}`);

  // The restarted server has the table at the same metadata and snapshot; Spark reads the rows.
  expect(after).toEqual(before);
  expect(readBack.step('read_back').detail).toEqual({
    rows: 3,
    snapshots: 1,
    current_snapshot_id: expire.current_snapshot_id,
  });

  // Spark signs with its own user: the catalog neither signs for it nor vends credentials.
  expect(result.fileIo?.class).toBe('org.apache.iceberg.aws.s3.S3FileIO');
  expect(result.fileIo?.properties['s3.remote-signing-enabled'] ?? 'false').toBe('false');
  expect(
    Object.keys(result.fileIo?.properties ?? {}).filter((k) => /signer|access-key|secret|session-token/.test(k)),
  ).toEqual([]);
  expect(result.fileIo?.properties['s3.endpoint']?.replace(/\/$/, '')).toBe(m.endpoint);
  expect(result.step('denied_write').detail.error).toMatch(/Access Denied|AccessDenied|403/);
  // ... and MinIO saw it so: every data file, manifest and manifest list was written, and the
  // expired files deleted, with the spark user's key; the table metadata JSON with the server's.
  const writes = requests.filter(
    (r) => r.method === 'PUT' && r.status === 200 && r.path.startsWith('/datalake/warehouse/'),
  );
  const writers = (re: RegExp) => [...new Set(writes.filter((r) => re.test(r.path)).map((r) => r.user))].sort();
  expect(writers(/\/data\/[^/]+\.parquet$/)).toEqual(['spark']);
  expect(writers(/\/metadata\/[^/]+\.avro$/)).toEqual(['spark']);
  expect(writers(/\/metadata\/[^/]+\.metadata\.json$/)).toEqual(['iceberg']);
  const deletes = requests.filter(
    (r) => r.status < 300 && (r.method === 'DELETE' || (r.method === 'POST' && /(^|&)delete(=|&|$)/.test(r.query))),
  );
  expect(deletes.length).toBeGreaterThan(0);
  expect([...new Set(deletes.map((r) => r.user))].sort()).toEqual(['spark']);
  expect([...new Set(requests.map((r) => r.user))].sort()).toEqual(['iceberg', ROOT.user, 'spark'].sort());

  // Every object the run made (Spark's data and manifests, the server's metadata JSON) is in the
  // warehouse; nothing reached the other bucket.
  // (Outside it only the bootstrap's empty prefix markers of the flink bucket.)
  expect(objects.filter((o) => !o.startsWith('datalake/warehouse/'))).toEqual([
    'flink/checkpoints/',
    'flink/savepoints/',
  ]);
  expect(objects.some((o) => /\/data\/.*\.parquet$/.test(o))).toBe(true);
  expect(objects.some((o) => /\/metadata\/.*\.metadata\.json$/.test(o))).toBe(true);
  expect(objects.some((o) => /\/metadata\/snap-.*\.avro$/.test(o))).toBe(true);
  expect(objects.filter((o) => o.includes('-probe/'))).toEqual([]);
}

describe("Spark + Iceberg through Iceberg's REST catalog server on a real MinIO", () => {
  test('http, local[2]', async (ctx) => {
    await scenario(ctx, { tls: false, master: 'local[2]', env: 'lab' });
  }, 600_000);

  test('the default prod render: https with the private CA (trust store on driver, executors and the catalog server), sealed credentials, local-cluster[2,1,1024]', async (ctx) => {
    await scenario(ctx, { tls: true, master: 'local-cluster[2,1,1024]', env: 'prod' });
  }, 600_000);
});
