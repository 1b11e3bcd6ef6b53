// The bucket bootstrap against a real MinIO (pinned minio and mc from tools/install.sh):
// the script and its inputs are taken from a real kustomize build of the rendered
// overlays/<env>/bootstrap, exactly what the Job mounts, and run three times.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startMinio, type Minio } from './minio.ts';
import { run } from './run.ts';
import { jobInputs, runBootstrap, scaffold, writeCredentials, type Obj } from './scaffolded.ts';
import { needTool, tempDir } from './tools.ts';

const LAB_CONFIG = `envs:
  lab:
    profile: dev
    replicas: 4
    storage: pvc
    buckets:
      flink:
        prefixes: [checkpoints/, savepoints/, tmp/]
        lifecycle: [{prefix: tmp/, expireDays: 7}]
        quota: 10GiB
      datalake:
        prefixes: [warehouse/]
        versioning: true
`;

const bootstrap = runBootstrap;

/** A real MinIO, the lab env scaffolded, and its bootstrap run once. */
async function bootstrapped(ctx: { skip: (note?: string) => void }) {
  const m = await startMinio(ctx, { drives: 4 });
  const out = scaffold(LAB_CONFIG, '--env', 'lab');
  const job = jobInputs(ctx, out, 'lab');
  expect(bootstrap(m, job).code).toBe(0);
  return { m, out, job };
}

const jsonLines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Everything the bootstrap manages, read back from the server. */
function serverState(m: Minio) {
  const buckets = jsonLines(m.mc('ls', '--json', 'root'))
    .map((b) => String(b.key).replace(/\/$/, ''))
    .sort();
  const perBucket = Object.fromEntries(
    buckets.map((b) => {
      const lifecycle = m.tryMc('ilm', 'rule', 'export', `root/${b}`);
      return [
        b,
        {
          objects: jsonLines(m.mc('ls', '--json', '--versions', `root/${b}`))
            .map((o) => `${o.key} v${o.versionOrdinal ?? 1}`)
            .sort(),
          lifecycle: lifecycle.code === 0 ? JSON.parse(lifecycle.out) : null,
          versioning: JSON.parse(m.mc('version', 'info', '--json', `root/${b}`)).versioning.status,
          quota: JSON.parse(m.mc('quota', 'info', '--json', `root/${b}`)).quota ?? null,
          anonymous: JSON.parse(m.mc('anonymous', 'get', '--json', `root/${b}`)).permission,
        },
      ];
    }),
  );
  const users = jsonLines(m.mc('admin', 'user', 'list', '--json', 'root'))
    .map((u) => ({ user: u.accessKey, policies: u.policyName, status: u.userStatus }))
    .sort((a, b) => (a.user < b.user ? -1 : 1));
  const policies = Object.fromEntries(
    jsonLines(m.mc('admin', 'policy', 'ls', '--json', 'root'))
      .map((p) => p.policy as string)
      .filter((p) => p.startsWith('minio-gitops-'))
      .sort()
      .map((p) => [p, JSON.parse(m.mc('admin', 'policy', 'info', '--json', 'root', p)).policyInfo.Policy]),
  );
  return { buckets: perBucket, users, policies };
}

/** Adds an alias for a consumer's credentials (false when they do not work). */
function login(m: Minio, alias: string, dir: string) {
  const [ak, sk] = ['s3.access-key', 's3.secret-key'].map((k) => readFileSync(join(dir, k), 'utf8'));
  return m.tryMc('alias', 'set', alias, m.endpoint, ak!, sk!).code === 0;
}

describe('the bootstrap Job against a real MinIO (4 drives, erasure coded)', () => {
  it('makes exactly the configured buckets, prefixes, lifecycle, versioning, quota, policies and users; runs 2 and 3 change nothing', async (ctx) => {
    const m = await startMinio(ctx, { drives: 4 });
    const out = scaffold(LAB_CONFIG, '--env', 'lab');
    const job = jobInputs(ctx, out, 'lab');

    const first = bootstrap(m, job);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^bucket flink: created$/m);
    expect(first.stdout).toMatch(/^versioning datalake: enabled$/m);
    const state = serverState(m);
    expect(state.buckets).toEqual({
      datalake: {
        objects: ['warehouse/ v1'],
        lifecycle: null,
        versioning: 'Enabled',
        quota: null,
        anonymous: 'private',
      },
      flink: {
        objects: ['checkpoints/ v1', 'savepoints/ v1', 'tmp/ v1'],
        lifecycle: {
          Rules: [{ Expiration: { Days: 7 }, ID: 'expire-tmp', Filter: { Prefix: 'tmp/' }, Status: 'Enabled' }],
        },
        versioning: '',
        quota: 10 * 2 ** 30,
        anonymous: 'private',
      },
    });
    expect(state.users).toEqual([
      { user: 'flink', policies: 'minio-gitops-flink', status: 'enabled' },
      { user: 'iceberg', policies: 'minio-gitops-iceberg', status: 'enabled' },
      { user: 'spark', policies: 'minio-gitops-spark', status: 'enabled' },
    ]);
    expect(state.policies).toEqual({
      'minio-gitops-flink': JSON.parse(readFileSync(join(job.configDir, 'policy-flink.json'), 'utf8')),
      'minio-gitops-iceberg': JSON.parse(readFileSync(join(job.configDir, 'policy-iceberg.json'), 'utf8')),
      'minio-gitops-spark': JSON.parse(readFileSync(join(job.configDir, 'policy-spark.json'), 'utf8')),
    });

    for (const n of [2, 3]) {
      const again = bootstrap(m, job);
      expect(again.code, `run ${n}: ${again.stderr}`).toBe(0);
      expect(again.stdout, `run ${n}`).toMatch(/^done: 0 change\(s\)$/m);
      expect(
        again.stdout.split('\n').filter((l) => l.includes(':') && !/unchanged|^server: ready|^done:/.test(l)),
        `run ${n}`,
      ).toEqual([]);
      expect(serverState(m), `run ${n}`).toEqual(state);
    }

    // What a person changed by hand is put back: public access, an extra policy, a group
    // with more rights, a lifecycle rule; and an access key a consumer made for itself.
    m.mc('anonymous', 'set', 'public', 'root/datalake');
    m.mc('admin', 'policy', 'attach', 'root', 'readwrite', '--user', 'flink');
    m.mc('admin', 'group', 'add', 'root', 'power-users', 'spark');
    m.mc('admin', 'policy', 'attach', 'root', 'readwrite', '--group', 'power-users');
    m.mc('ilm', 'rule', 'add', '--expire-days', '1', 'root/datalake', '--prefix', 'warehouse/');
    const key = JSON.parse(m.mc('admin', 'user', 'svcacct', 'add', '--json', 'root', 'flink')).accessKey as string;
    const repaired = bootstrap(m, job);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/anonymous access public -> none/);
    expect(repaired.stdout).toMatch(/user flink: policy readwrite detached/);
    expect(repaired.stdout).toMatch(/user spark: removed from group power-users/);
    expect(repaired.stdout).toMatch(new RegExp(`user flink: access key ${key} removed`));
    expect(repaired.stdout).toMatch(/lifecycle datalake: removed/);
    expect(serverState(m)).toEqual(state);
    expect(bootstrap(m, job).stdout).toMatch(/^done: 0 change\(s\)$/m);
  });

  it('gives each consumer exactly its buckets: checked with real requests', async (ctx) => {
    const { m, out, job } = await bootstrapped(ctx);
    expect(login(m, 'flink', join(job.credentials, 'flink'))).toBe(true);
    expect(login(m, 'spark', join(job.credentials, 'spark'))).toBe(true);
    expect(login(m, 'iceberg', join(job.credentials, 'iceberg'))).toBe(true);
    const file = join(tempDir(), 'object');
    writeFileSync(file, 'checkpoint state\n');
    const ok = (...a: string[]) => expect(m.tryMc(...a).code, a.join(' ')).toBe(0);
    const denied = (...a: string[]) => {
      const r = m.tryMc(...a);
      expect(r.code, a.join(' ')).not.toBe(0);
      expect(r.out, a.join(' ')).toMatch(/Access Denied|AccessDenied|Insufficient permissions/i);
    };

    ok('cp', file, 'flink/flink/checkpoints/job-1/chk-1/_metadata');
    expect(m.mc('cat', 'flink/flink/checkpoints/job-1/chk-1/_metadata')).toBe('checkpoint state\n');
    ok('ls', 'flink/flink/checkpoints/job-1/');
    ok('cp', file, 'flink/flink/savepoints/sp-1/_metadata');
    ok('rm', 'flink/flink/savepoints/sp-1/_metadata');
    ok('cp', file, 'spark/datalake/warehouse/db/t/metadata/v1.json');
    expect(m.mc('cat', 'spark/datalake/warehouse/db/t/metadata/v1.json')).toBe('checkpoint state\n');

    denied('ls', 'flink/datalake');
    denied('cp', file, 'flink/datalake/warehouse/x');
    denied('cat', 'flink/datalake/warehouse/db/t/metadata/v1.json');
    denied('ls', 'spark/flink');
    denied('cp', file, 'spark/flink/checkpoints/x');
    denied('cat', 'spark/flink/checkpoints/job-1/chk-1/_metadata');
    // Spark and the catalog server: the warehouse prefix only.
    denied('cp', file, 'spark/datalake/elsewhere/x');
    ok('cp', file, 'iceberg/datalake/warehouse/db/t/metadata/v2.json');
    denied('cp', file, 'iceberg/datalake/elsewhere/x');
    denied('ls', 'iceberg/flink');
    for (const user of ['flink', 'spark', 'iceberg']) {
      denied('mb', `${user}/another-bucket`);
      denied('admin', 'user', 'list', user);
      // An access key of its own would outlive a rotation of its secret.
      denied('admin', 'accesskey', 'create', user);
      denied('anonymous', 'set', 'public', `${user}/${user === 'flink' ? 'flink' : 'datalake'}`);
    }

    // The root credentials are in no consumer Secret, in either namespace.
    const kustomize = needTool(ctx, 'kustomize');
    const all = YAML.parseAllDocuments(
      execFileSync(kustomize, ['build', join(out, 'overlays/lab')], { encoding: 'utf8' }),
    ).map((d) => d.toJS() as Obj);
    const root = all.find((o) => o.kind === 'Secret' && o.metadata.name === 'minio-root-credentials')!.stringData!;
    const consumerSecrets = all.filter((o) => o.kind === 'Secret' && o.metadata.name !== 'minio-root-credentials');
    expect(consumerSecrets.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'analytics/minio-lab-s3-credentials-iceberg',
      'analytics/minio-lab-s3-credentials-spark',
      'el-demo/minio-lab-s3-credentials-flink',
      'minio-lab/minio-consumer-flink',
      'minio-lab/minio-consumer-iceberg',
      'minio-lab/minio-consumer-spark',
    ]);
    for (const o of consumerSecrets) {
      for (const value of Object.values(o.stringData!)) expect([root.rootUser, root.rootPassword]).not.toContain(value);
    }
  });

  it('trusts the private CA over https (never --insecure), and fails clearly without it', async (ctx) => {
    const m = await startMinio(ctx, { drives: 4, tls: true });
    const out = scaffold(LAB_CONFIG, '--env', 'lab', '--tls', 'on');
    const job = jobInputs(ctx, out, 'lab');
    expect(job.objs.find((o) => o.kind === 'Job')).toMatchObject({
      spec: {
        template: {
          spec: {
            containers: [
              { env: expect.arrayContaining([{ name: 'MINIO_CA_FILE', value: '/etc/minio-bootstrap/ca/ca.crt' }]) },
            ],
          },
        },
      },
    });
    const untrusted = bootstrap(m, job, ['--wait', '0']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /^error: MinIO at https:\/\/127\.0\.0\.1:\d+ is not ready after 0s: .*(certificate|x509)/m,
    );
    for (const n of [1, 2]) {
      const r = bootstrap(m, job, ['--ca', m.ca!]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(n === 1 ? /^bucket flink: created$/m : /^done: 0 change\(s\)$/m);
    }
    expect(serverState(m).users.map((u) => u.user)).toEqual(['flink', 'iceberg', 'spark']);
  });

  it('applies a rotated consumer credential (sops --rotate) on the next run; the old one stops working', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const m = await startMinio(ctx, { drives: 4 });
    const out = scaffold(LAB_CONFIG, '--env', 'lab', '--secrets', 'sops');
    const job = jobInputs(ctx, out, 'lab');
    // The sealed copies the Job mounts, decrypted as Flux would (the test's own age key).
    const unseal = () => {
      for (const consumer of ['flink', 'spark', 'iceberg']) {
        const file = join(out, `sealed/lab/bootstrap/minio-consumer-${consumer}.yaml`);
        const doc = YAML.parse(execFileSync(sops, ['decrypt', file], { encoding: 'utf8' }));
        writeCredentials(job.credentials, consumer, doc.stringData);
        // The consumer's own Secret (its namespace) holds the same values.
        const own = YAML.parse(
          execFileSync(sops, ['decrypt', join(out, `sealed/lab/consumers/minio-s3-credentials-${consumer}.yaml`)], {
            encoding: 'utf8',
          }),
        );
        expect(own.stringData['s3.secret-key']).toBe(doc.stringData['s3.secret-key']);
        expect(own.stringData.AWS_SECRET_ACCESS_KEY).toBe(doc.stringData['s3.secret-key']);
      }
    };
    unseal();
    expect(bootstrap(m, job).code).toBe(0);
    const old = tempDir();
    writeCredentials(
      old,
      'flink',
      Object.fromEntries(
        ['s3.access-key', 's3.secret-key'].map((k) => [k, readFileSync(join(job.credentials, 'flink', k), 'utf8')]),
      ),
    );
    expect(login(m, 'flink-old', join(old, 'flink'))).toBe(true);

    const checksum = () =>
      readFileSync(join(out, 'overlays/lab/bootstrap/patch-job.yaml'), 'utf8').match(/credentials-checksum: (\w+)/)![1];
    const before = checksum();
    const rotated = run(['--env', 'lab', '--rotate', 'flink', '--out', out]);
    expect(rotated.code, rotated.stderr).toBe(0);
    // The Job's pod template changes with the sealed credentials: Flux recreates it.
    expect(checksum()).not.toBe(before);
    unseal();
    const r = bootstrap(m, job);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^user flink: credentials set$/m);
    expect(r.stdout).toMatch(/^user spark: unchanged$/m);
    expect(login(m, 'flink-new', join(job.credentials, 'flink'))).toBe(true);
    expect(login(m, 'flink-old2', join(old, 'flink'))).toBe(false);
    expect(bootstrap(m, job).stdout).toMatch(/^done: 0 change\(s\)$/m);
  });

  it('takes the policy of a consumer that is gone, and ours from anyone else; deletes no user', async (ctx) => {
    const { m, out, job } = await bootstrapped(ctx);
    // A person who was given a consumer's policy, and a group holding another.
    m.mc('admin', 'user', 'add', 'root', 'alice', 'alice-secret-123');
    m.mc('admin', 'policy', 'attach', 'root', 'readonly', 'minio-gitops-flink', '--user', 'alice');
    m.mc('admin', 'group', 'add', 'root', 'analysts', 'alice');
    m.mc('admin', 'policy', 'attach', 'root', 'minio-gitops-spark', '--group', 'analysts');
    const config = readFileSync(join(out, 'scaffold.config.yaml'), 'utf8');
    const doc = YAML.parseDocument(config);
    doc.deleteIn(['envs', 'lab', 'consumers', 'spark']);
    writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
    expect(run(['--env', 'lab', '--out', out]).code).toBe(0);
    const next = jobInputs(ctx, out, 'lab');
    expect(readdirSync(next.credentials)).toEqual(['flink', 'iceberg']);
    const r = bootstrap(m, next);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^policy minio-gitops-flink: detached from user alice \(not its consumer's user\)$/m);
    expect(r.stdout).toMatch(/^policy minio-gitops-spark: detached from user spark \(not its consumer's user\)$/m);
    expect(r.stdout).toMatch(/^policy minio-gitops-spark: detached from group analysts$/m);
    expect(r.stdout).toMatch(/^policy minio-gitops-spark: removed \(no consumer uses it\)$/m);
    const state = serverState(m);
    expect(state.users).toEqual([
      { user: 'alice', policies: 'readonly', status: 'enabled' },
      { user: 'flink', policies: 'minio-gitops-flink', status: 'enabled' },
      { user: 'iceberg', policies: 'minio-gitops-iceberg', status: 'enabled' },
      { user: 'spark', policies: undefined, status: 'enabled' },
    ]);
    expect(Object.keys(state.policies)).toEqual(['minio-gitops-flink', 'minio-gitops-iceberg']);
    // The old consumer's credentials still log in, and reach nothing.
    expect(login(m, 'spark', join(job.credentials, 'spark'))).toBe(true);
    expect(m.tryMc('ls', 'spark/datalake').code).not.toBe(0);
    expect(bootstrap(m, next).stdout).toMatch(/^done: 0 change\(s\)$/m);
  });

  it('refuses versioning on a single server at scaffold time: one line, exit 2', () => {
    const out = tempDir();
    writeFileSync(
      join(out, 'scaffold.config.yaml'),
      LAB_CONFIG.replace('replicas: 4\n    storage: pvc\n', 'replicas: 1\n'),
    );
    const refused = run(['--env', 'lab', '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /^error: env lab: bucket datalake has versioning on, but a single MinIO server is not erasure coded .*set versioning: false .* or run 4 or more servers/,
    );
    expect(readdirSync(out)).toEqual(['scaffold.config.yaml']);
  });
});

const OTHER_CONSUMERS = `flinkVersion: 1.19.1
envs:
  lab:
    profile: dev
    replicas: 4
    storage: pvc
    consumers:
      jobs:
        namespace: streaming
        kind: flink-operator
        buckets: [flink/jobs/]
      lake:
        namespace: analytics
        kind: iceberg-spark
        user: lake-writer
        buckets: [datalake/warehouse/]
        catalog: hadoop
      reports:
        namespace: reporting
        kind: iceberg-spark
        buckets: [datalake]
        catalog: jdbc
        catalogUri: jdbc:postgresql://iceberg-db.reporting:5432/iceberg
`;

describe('other consumers: the Flink operator, older Flink keys, prefix grants, other catalogs', () => {
  it('renders valid objects for them, and a prefix grant is exactly that prefix on a real MinIO', async (ctx) => {
    const { validateObject, parseAllYaml } = await import('./validate.ts');
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), OTHER_CONSUMERS);
    const r = run(['--env', 'lab', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^note: env lab: consumer lake uses a Hadoop catalog, which cannot commit atomically on S3 .*prefer catalog: rest or jdbc$/m,
    );

    const kustomize = needTool(ctx, 'kustomize');
    const objs = parseAllYaml(
      execFileSync(kustomize, ['build', join(out, 'overlays/lab')], { encoding: 'utf8' }),
    ) as (Obj & { apiVersion: string; spec?: any })[];
    expect(objs.flatMap((o) => validateObject(o as never))).toEqual([]);
    const deployment = objs.find((o) => o.kind === 'FlinkDeployment')!;
    expect(deployment.metadata.namespace).toBe('streaming');
    expect(deployment.spec).toMatchObject({
      image: 'flink:1.19.1',
      flinkVersion: 'v1_19',
      job: { upgradeMode: 'savepoint' },
    });
    // Before 1.20 the checkpoint keys are the state.* ones; no ${...} in the operator's config.
    expect(deployment.spec.flinkConfiguration).toMatchObject({
      'state.checkpoints.dir': 's3p://flink/jobs/checkpoints',
      'state.savepoints.dir': 's3p://flink/jobs/savepoints',
      'state.backend.incremental': 'true',
      's3.path.style.access': 'true',
    });
    // The interval and the retention kept their names (execution.checkpointing.*) in 1.19.
    expect(deployment.spec.flinkConfiguration).toMatchObject({
      'execution.checkpointing.interval': '60s',
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    });
    expect(JSON.stringify(deployment.spec.flinkConfiguration)).not.toMatch(
      /execution\.checkpointing\.(dir|savepoint-dir|incremental|num-retained)|\$\{/,
    );
    expect(deployment.spec.podTemplate.spec.containers[0].env).toContainEqual({
      name: 'ENABLE_BUILT_IN_PLUGINS',
      value: 'flink-s3-fs-presto-1.19.1.jar',
    });
    const conf = (name: string) =>
      objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)!.data!['spark-defaults.conf']!;
    expect(conf('minio-lab-lake-spark-defaults')).toMatch(/^spark\.sql\.catalog\.iceberg\.type hadoop$/m);
    expect(conf('minio-lab-lake-spark-defaults')).toMatch(
      /^spark\.sql\.catalog\.iceberg\.warehouse s3:\/\/datalake\/warehouse\/$/m,
    );
    expect(conf('minio-lab-lake-spark-defaults')).not.toMatch(/\.uri /);
    expect(conf('minio-lab-reports-spark-defaults')).toMatch(
      /^spark\.sql\.catalog\.iceberg\.uri jdbc:postgresql:\/\/iceberg-db\.reporting:5432\/iceberg$/m,
    );
    const clients = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'minio-s3-clients')!;
    expect(clients.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values).toEqual([
      'analytics',
      'reporting',
      'streaming',
    ]);

    const m = await startMinio(ctx, { drives: 4 });
    const job = jobInputs(ctx, out, 'lab');
    const first = bootstrap(m, job);
    expect(first.code, first.stderr).toBe(0);
    expect(bootstrap(m, job).stdout).toMatch(/^done: 0 change\(s\)$/m);
    expect(login(m, 'jobs', join(job.credentials, 'jobs'))).toBe(true);
    expect(login(m, 'lake', join(job.credentials, 'lake'))).toBe(true);
    const file = join(tempDir(), 'object');
    writeFileSync(file, 'x\n');
    const code = (...a: string[]) => m.tryMc(...a).code;
    expect(code('cp', file, 'jobs/flink/jobs/checkpoints/chk-1/_metadata')).toBe(0);
    expect(code('ls', 'jobs/flink/jobs/checkpoints/')).toBe(0);
    expect(code('cp', file, 'jobs/flink/other/x')).not.toBe(0);
    expect(code('ls', 'jobs/flink/')).not.toBe(0);
    expect(code('cp', file, 'lake/datalake/warehouse/db/t/data.parquet')).toBe(0);
    expect(code('cp', file, 'lake/datalake/elsewhere/x')).not.toBe(0);
    expect(code('cat', 'lake/flink/jobs/checkpoints/chk-1/_metadata')).not.toBe(0);
  });

  it('uses the renamed execution.checkpointing.* keys for Flink 2.x', async () => {
    const { flinkConfiguration } = await import('../src/render/flink.ts');
    const { resolveOptions } = await import('../src/config.ts');
    const { parseFlags } = await import('../src/args.ts');
    const { options } = resolveOptions(null, parseFlags(['--env', 'prod', '--flink-version', '2.1.0']));
    const config = flinkConfiguration(options, options.settings.consumers.flink!);
    expect(
      Object.keys(config).filter((k) => k.startsWith('execution.checkpointing.') || k.startsWith('state.')),
    ).toEqual([
      'state.backend.type',
      'execution.checkpointing.dir',
      'execution.checkpointing.savepoint-dir',
      'execution.checkpointing.incremental',
      'execution.checkpointing.num-retained',
      'execution.checkpointing.interval',
      'execution.checkpointing.externalized-checkpoint-retention',
    ]);
    expect(config['s3.endpoint']).toBe('https://minio.minio.svc.cluster.local:9000');
  });
});

describe('scripts/bootstrap-minio.sh by hand', () => {
  const script = join(import.meta.dirname, '..', 'scripts', 'bootstrap-minio.sh');
  const sh = (args: string[], env: Record<string, string> = {}) =>
    spawnSync('sh', [script, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

  it('passes shellcheck as a POSIX sh script (the mc image has no bash guarantee)', (ctx) => {
    const shellcheck = needTool(ctx, 'shellcheck');
    const r = spawnSync(shellcheck, ['--shell=sh', '--severity=style', script], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('prints its usage with --help, and refuses bad arguments with exit 2', () => {
    const help = sh(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: bootstrap-minio\.sh --endpoint URL/);
    const missing = sh([]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^error: --endpoint \(or MINIO_ENDPOINT\) is required$/m);
    const unknown = sh(['--endpoint', 'http://127.0.0.1:1', '--insecure']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown argument --insecure$/m);
  });

  it('says what is missing: the root credentials, the config directory', () => {
    const noRoot = sh(['--endpoint', 'http://127.0.0.1:1']);
    expect(noRoot.status).toBe(1);
    expect(noRoot.stderr).toMatch(/^error: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set$/m);
    const noConfig = sh(['--endpoint', 'http://127.0.0.1:1', '--config', tempDir()], {
      MINIO_ROOT_USER: 'a',
      MINIO_ROOT_PASSWORD: 'b',
    });
    expect(noConfig.status).toBe(1);
    expect(noConfig.stderr).toMatch(
      /bootstrap\.conf not found; pass --config with the directory of the env's bootstrap\.conf/,
    );
  });
});
