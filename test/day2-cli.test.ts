// Day-2 changes as a person makes them (`zx scaffold.ts ...`, a real process, real git
// repositories, real kustomize builds): the changes MinIO and Kubernetes cannot make are
// refused (one line, exit 2, nothing changed), and the allowed ones render what the
// cluster accepts: a new pool beside the first (whose objects stay byte-identical), claims
// that grow while the claim template stays, a configuration label that changes with every
// change the servers must restart for (root credentials included), and the summary line
// that says what the engine will do. The cluster side is test/day2.test.ts, MinIO's side
// test/pools.test.ts.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { expectRefused, git, run, scaffoldedTrees, snapshot } from './run.ts';
import { needTool } from './tools.ts';
import { SHORT_HASH } from '../src/render/hash.ts';

type Obj = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any };

// One scaffold with both envs, copied for each case.
const scaffolded = scaffoldedTrees('minio-gitops-day2-');

function setConfig(out: string, path: string, value: unknown) {
  const file = join(out, 'scaffold.config.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(path.split('.'), value);
  writeFileSync(file, doc.toString());
  git(out, 'commit', '-qam', 'edit the config');
}

function build(ctx: { skip: (note?: string) => void }, out: string, env: string): Obj[] {
  const kustomize = needTool(ctx, 'kustomize');
  return YAML.parseAllDocuments(
    execFileSync(kustomize, ['build', join(out, 'overlays', env, 'minio')], { encoding: 'utf8' }),
  ).map((d) => d.toJS() as Obj);
}
const find = (objs: Obj[], kind: string, name?: string) =>
  objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
/** The servers' configuration labels: the base's pod template hash and the env's. */
const configLabel = (o: Obj) =>
  ['minio-gitops.io/base', 'minio-gitops.io/config'].map((l) => o.spec.template.metadata.labels[l] as string).join('/');

function ok(r: ReturnType<typeof run>) {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe('refused: changes MinIO or Kubernetes cannot make (exit 2, nothing changed)', () => {
  type Case = [name: string, edit: ((out: string) => void) | null, args: string[], message: RegExp];
  const cases: Case[] = [
    [
      'more servers in the one pool (--replicas)',
      null,
      ['--env', 'prod', '--replicas', '8'],
      /pool 1 \(StatefulSet minio\) has 4 servers holding data.*add the capacity as a new pool instead: --pools 4x8Gi,4x8Gi/,
    ],
    ['fewer servers in the pool', null, ['--env', 'prod', '--replicas', '5'], /cannot spread a pool over 5/],
    [
      'more servers by a config edit',
      (out) => setConfig(out, 'envs.prod.replicas', 6),
      ['--env', 'prod'],
      /has 4 servers holding data, and MinIO cannot spread a pool over 6/,
    ],
    [
      'the first pool re-striped through --pools',
      null,
      ['--env', 'prod', '--pools', '8x8Gi'],
      /cannot spread a pool over 8.*--pools 4x8Gi,4x8Gi/,
    ],
    ['a smaller volume', null, ['--env', 'prod', '--size', '4Gi'], /volumes are 8Gi and cannot shrink to 4Gi/],
    [
      'a smaller volume by a config edit',
      (out) => setConfig(out, 'envs.prod.size', '1Gi'),
      ['--env', 'prod'],
      /cannot shrink to 1Gi/,
    ],
    [
      'a pool of 3 servers',
      null,
      ['--env', 'prod', '--pools', '4x8Gi,3x8Gi'],
      /--pools pool 2 "3" is not a pool's server count.*4 to 16/,
    ],
    ['a pool of 17 servers', null, ['--env', 'prod', '--pools', '4x8Gi,17x8Gi'], /4 to 16/],
    [
      'a pool in the config of 2 servers',
      (out) => setConfig(out, 'envs.prod.pools', [{ servers: 2, size: '8Gi' }]),
      ['--env', 'prod'],
      /envs\.prod\.pools\[0\]\.servers 2 is not a pool's server count/,
    ],
    [
      'a pool written wrong',
      null,
      ['--env', 'prod', '--pools', '4x8Gi,four'],
      /"four" is not a pool; write each pool as SERVERSxSIZE/,
    ],
    [
      'a pool of an unknown size',
      null,
      ['--env', 'prod', '--pools', '4x8Gi,4x8Gb'],
      /pool 2 size "8Gb" is not a volume size/,
    ],
    [
      '--pools with --replicas',
      null,
      ['--env', 'prod', '--pools', '4x8Gi,4x8Gi', '--replicas', '4'],
      /--pools sets every pool's servers and size.*give --pools alone/,
    ],
    [
      'pools on a standalone env',
      (out) => setConfig(out, 'envs.dev.pools', [{ servers: 4, size: '8Gi' }]),
      ['--env', 'dev'],
      /pools expand an erasure-coded env, and this one is a single server/,
    ],
    [
      'another namespace',
      null,
      ['--env', 'prod', '--namespace', 'minio-new'],
      /namespace minio -> minio-new points the servers at new, empty volumes and leaves the data in the 4 claims data-minio-\{0\.\.3\} in namespace minio behind.*--leave-data-behind/,
    ],
    [
      'another storage class',
      null,
      ['--env', 'prod', '--storage-class', 'fast'],
      /storageClass \(default\) -> fast cannot apply to the 4 claims data-minio-\{0\.\.3\} in namespace minio and the catalog claim analytics\/minio-iceberg-data: a claim keeps the class it was made with/,
    ],
    [
      'another storage class, even leaving the data behind',
      null,
      ['--env', 'prod', '--storage-class', 'fast', '--leave-data-behind'],
      /cannot apply to the 4 claims/,
    ],
    [
      'another storage class for the catalog claim of a hostPath env',
      null,
      ['--env', 'dev', '--storage-class', 'fast', '--leave-data-behind'],
      /storageClass \(default\) -> fast cannot apply to the catalog claim analytics\/minio-dev-iceberg-data/,
    ],
    [
      'erasure coded to standalone',
      null,
      ['--env', 'prod', '--replicas', '1'],
      /4 erasure-coded servers -> a single server on pvc.*data-minio-\{0\.\.3\}/,
    ],
    [
      'standalone to erasure coded',
      null,
      ['--env', 'dev', '--replicas', '4', '--storage', 'pvc'],
      /storage hostpath -> pvc, a single server on hostpath -> 4 erasure-coded servers.*the node directory \/mnt\/disk1\/data/,
    ],
    [
      'another hostPath',
      null,
      ['--env', 'dev', '--host-path', '/srv/minio'],
      /hostPath \/mnt\/disk1\/data -> \/srv\/minio.*leaves the data in the node directory \/mnt\/disk1\/data/,
    ],
    [
      'a profile switch that strands the data',
      null,
      ['--env', 'dev', '--profile', 'prod'],
      /leaves the data in the node directory/,
    ],
  ];
  it.for(cases)('%s', ([, edit, args, message]) => {
    const out = scaffolded();
    edit?.(out);
    const before = snapshot(out);
    const head = git(out, 'rev-parse', 'HEAD');
    const refs = git(out, 'for-each-ref');
    expectRefused(run([...args, '--out', out]), message);
    expect(snapshot(out)).toEqual(before);
    expect(git(out, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(out, 'for-each-ref')).toBe(refs);
  });

  it('a pool removed without --leave-data-behind (after one was added), and a pool shrunk', () => {
    const out = scaffolded();
    ok(run(['--env', 'prod', '--pools', '4x8Gi,4x16Gi', '--out', out]));
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'prod', '--pools', '4x8Gi', '--out', out]),
      /removing pool 2 would take its servers and their data away; decommission it first/,
    );
    expectRefused(
      run(['--env', 'prod', '--pools', '4x8Gi,4x10Gi', '--out', out]),
      /pool 2 \(StatefulSet minio-pool-2\)'s volumes are 16Gi and cannot shrink to 10Gi/,
    );
    expectRefused(
      run(['--env', 'prod', '--pools', '4x8Gi,5x16Gi', '--out', out]),
      /pool 2 \(StatefulSet minio-pool-2\) has 4 servers.*--pools 4x8Gi,4x16Gi,4x16Gi/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('the rendered files outweigh a record edited by hand: a claim size or a server count there changes nothing', () => {
    const out = scaffolded();
    const file = join(out, 'scaffold.lock.yaml');
    const record = YAML.parse(readFileSync(file, 'utf8'));
    record.layouts.prod.pools[0] = { servers: 8, size: '8Gi', claimSize: '2Gi' };
    writeFileSync(file, YAML.stringify(record));
    git(out, 'commit', '-qam', 'a record edited by hand');
    const r = ok(run(['--env', 'prod', '--out', out]));
    // The claim template stays as rendered (no immutable change), no claims to grow.
    expect(readFileSync(join(out, 'overlays/prod/minio/patch-storage.yaml'), 'utf8')).toMatch(/storage: 8Gi/);
    expect(r.stdout).not.toMatch(/persistentvolumeclaims|patch-storage/);
    expect(YAML.parse(readFileSync(file, 'utf8')).layouts.prod.pools[0]).toEqual({
      servers: 4,
      size: '8Gi',
      claimSize: '8Gi',
    });
    // ... and 8 servers in the record do not let 8 in the config through.
    record.layouts.prod.pools[0] = { servers: 8, size: '8Gi', claimSize: '8Gi' };
    writeFileSync(file, YAML.stringify(record));
    git(out, 'commit', '-qam', 'the record edited again');
    setConfig(out, 'envs.prod.replicas', 8);
    expectRefused(
      run(['--env', 'prod', '--out', out]),
      /has 4 servers holding data, and MinIO cannot spread a pool over 8/,
    );
  });

  it('--check and --dry-run refuse the same way, and the record is untrusted input (a damaged layout is refused)', () => {
    const out = scaffolded();
    for (const mode of ['--check', '--dry-run'])
      expectRefused(run(['--env', 'prod', '--replicas', '8', mode, '--out', out]), /cannot spread a pool over 8/);
    const file = join(out, 'scaffold.lock.yaml');
    const record = YAML.parse(readFileSync(file, 'utf8'));
    for (const bad of [
      { namespace: 'minio', storage: 'pvc', storageClass: '', pools: [] },
      { namespace: '../x', storage: 'pvc', storageClass: '', pools: [{ servers: 4, size: '8Gi', claimSize: '8Gi' }] },
      { ...record.layouts.prod, pools: [{ servers: 4, size: '8Gi; rm', claimSize: '8Gi' }] },
    ]) {
      writeFileSync(file, YAML.stringify({ ...record, layouts: { prod: bad } }));
      const before = snapshot(out);
      expectRefused(run(['--env', 'prod', '--out', out]), /scaffold\.lock\.yaml is damaged/);
      expect(snapshot(out)).toEqual(before);
    }
    // The way out the message gives works even when the damaged record was committed.
    git(out, 'commit', '-qam', 'a damaged record');
    rmSync(file);
    ok(run(['--env', 'prod', '--out', out, '--force']));
    expect(YAML.parse(readFileSync(file, 'utf8')).layouts.prod.pools).toEqual(record.layouts.prod.pools);
  });

  it('a record of the earlier format (hex hashes) is read: one restart, nothing refused', () => {
    const out = scaffolded();
    const file = join(out, 'scaffold.lock.yaml');
    const record = YAML.parse(readFileSync(file, 'utf8'));
    record.layouts.prod.config = '85ef301d873473fd';
    writeFileSync(file, YAML.stringify(record));
    git(out, 'commit', '-qam', 'the record as an earlier version wrote it');
    const r = ok(run(['--env', 'prod', '--out', out]));
    expect(r.stderr).toMatch(/note: env prod: all 4 servers restart together/);
    expect(YAML.parse(readFileSync(file, 'utf8')).layouts.prod.config).toMatch(SHORT_HASH);
  });
});

describe('allowed changes render what the cluster accepts', () => {
  it('a new pool: its own StatefulSet, the first one byte-identical, MINIO_VOLUMES in order, a summary line; the same command again changes nothing', (ctx) => {
    const out = scaffolded();
    const first = build(ctx, out, 'prod');
    const r = ok(run(['--env', 'prod', '--pools', '4x8Gi,4x16Gi', '--out', out]));
    expect(r.stderr).toMatch(
      /note: env prod: new pool 2 of 4 servers \(StatefulSet minio-pool-2, 4 x 16Gi\); the existing data stays in its pools/,
    );
    expect(r.stderr).toMatch(/note: env prod: all 8 servers restart together/);
    const after = build(ctx, out, 'prod');
    const [old, now] = [find(first, 'StatefulSet', 'minio')[0]!, find(after, 'StatefulSet', 'minio')[0]!];
    // Everything but the pod template's MINIO_VOLUMES and configuration label stays.
    const strip = (o: Obj) => {
      const c = structuredClone(o);
      delete c.spec.template.metadata.labels['minio-gitops.io/config']; // the env's hash: MINIO_VOLUMES is in it
      c.spec.template.spec.containers[0].env = c.spec.template.spec.containers[0].env.filter(
        (e: { name: string }) => e.name !== 'MINIO_VOLUMES',
      );
      return c;
    };
    expect(strip(now)).toEqual(strip(old));
    const pool = find(after, 'StatefulSet', 'minio-pool-2')[0]!;
    expect(pool.spec.replicas).toBe(4);
    expect(pool.spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(pool.spec.selector.matchLabels).toEqual({ ...old.spec.selector.matchLabels, 'minio-gitops.io/pool': '2' });
    expect(pool.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('16Gi');
    // The pool's pod template is the first pool's, but for its pool label and the pods its
    // spreading counts: each pool's own (src/render/spread.ts).
    const podOf = (o: Obj) => ({
      ...o.spec.template,
      metadata: { labels: { ...o.spec.template.metadata.labels, 'minio-gitops.io/pool': undefined } },
      spec: { ...o.spec.template.spec, topologySpreadConstraints: undefined },
    });
    expect(JSON.parse(JSON.stringify(podOf(pool)))).toEqual(JSON.parse(JSON.stringify(podOf(now))));
    const spread = (o: Obj) => o.spec.template.spec.topologySpreadConstraints as { labelSelector: object }[];
    expect(spread(now).map((c) => c.labelSelector)).toEqual([
      {
        matchLabels: old.spec.selector.matchLabels,
        matchExpressions: [{ key: 'minio-gitops.io/pool', operator: 'DoesNotExist' }],
      },
    ]);
    expect(spread(pool)).toEqual(
      spread(now).map((c) => ({ ...c, labelSelector: { matchLabels: pool.spec.selector.matchLabels } })),
    );
    const volumes = (o: Obj) =>
      o.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'MINIO_VOLUMES').value;
    expect(volumes(old)).toBe('https://minio-{0...3}.minio-hl.minio.svc.cluster.local/data');
    expect(volumes(now)).toBe(
      'https://minio-{0...3}.minio-hl.minio.svc.cluster.local/data https://minio-pool-2-{0...3}.minio-hl.minio.svc.cluster.local/data',
    );
    // The restarter may delete every pool's servers, by name.
    const role = find(after, 'Role', 'minio-restarter')[0] as unknown as { rules: { resourceNames?: string[] }[] };
    expect(role.rules[1]!.resourceNames).toEqual([
      'minio-0',
      'minio-1',
      'minio-2',
      'minio-3',
      'minio-pool-2-0',
      'minio-pool-2-1',
      'minio-pool-2-2',
      'minio-pool-2-3',
    ]);
    // The config keeps the first pool as it was and lists the added one.
    const config = YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
    expect(config.envs.prod).toMatchObject({ replicas: 4, size: '8Gi', pools: [{ servers: 4, size: '16Gi' }] });
    // Declarative: the same command, or none, changes nothing and commits nothing.
    const head = git(out, 'rev-parse', 'HEAD');
    const snap = snapshot(out);
    for (const args of [['--pools', '4x8Gi,4x16Gi'], []]) {
      const again = ok(run(['--env', 'prod', ...args, '--out', out]));
      expect(again.stderr).not.toMatch(/restart|new pool/);
    }
    expect(snapshot(out)).toEqual(snap);
    expect(git(out, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('larger volumes: the claim templates keep their size, the claims get the new one (never pruned), and grow again', (ctx) => {
    const out = scaffolded();
    ok(run(['--env', 'prod', '--pools', '4x8Gi,4x16Gi', '--out', out]));
    const before = build(ctx, out, 'prod');
    const r = ok(run(['--env', 'prod', '--pools', '4x20Gi,4x32Gi', '--out', out]));
    expect(r.stderr).toMatch(
      /pool 1 \(StatefulSet minio\) grows 8Gi -> 20Gi: the engine patches its 4 claims data-minio-\{0\.\.3\}.*allowVolumeExpansion: true/,
    );
    expect(r.stderr).toMatch(/pool 2 \(StatefulSet minio-pool-2\) grows 16Gi -> 32Gi/);
    // Volumes only: the servers keep their configuration (no restart).
    expect(r.stderr).not.toMatch(/restart/);
    const after = build(ctx, out, 'prod');
    for (const name of ['minio', 'minio-pool-2'])
      expect(find(after, 'StatefulSet', name)).toEqual(find(before, 'StatefulSet', name));
    const claims = find(after, 'PersistentVolumeClaim');
    expect(claims.map((c) => `${c.metadata.name}=${c.spec.resources.requests.storage}`).sort()).toEqual([
      'data-minio-0=20Gi',
      'data-minio-1=20Gi',
      'data-minio-2=20Gi',
      'data-minio-3=20Gi',
      'data-minio-pool-2-0=32Gi',
      'data-minio-pool-2-1=32Gi',
      'data-minio-pool-2-2=32Gi',
      'data-minio-pool-2-3=32Gi',
    ]);
    for (const c of claims) {
      expect((c.metadata as { annotations?: Record<string, string> }).annotations).toMatchObject({
        'kustomize.toolkit.fluxcd.io/prune': 'disabled',
        'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      });
      // What the StatefulSet controller names its claims, in the namespace.
      expect(c.metadata.labels).toEqual(
        find(after, 'StatefulSet', 'minio')[0]!.spec.volumeClaimTemplates[0].metadata.labels,
      );
    }
    const record = YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8'));
    expect(record.layouts.prod.pools).toEqual([
      { servers: 4, size: '20Gi', claimSize: '8Gi' },
      { servers: 4, size: '32Gi', claimSize: '16Gi' },
    ]);
  });

  it('every change the servers must restart for changes their label, and only those: image, TLS, ingress host, root rotation', (ctx) => {
    const out = scaffolded();
    const label = () => configLabel(find(build(ctx, out, 'prod'), 'StatefulSet', 'minio')[0]!);
    const seen = [label()];
    for (const args of [
      ['--image', 'quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z'],
      ['--tls', 'off'],
      ['--console-host', 'console.example.com'],
      ['--rotate', 'root'],
    ]) {
      const r = ok(run(['--env', 'prod', ...args, '--out', out]));
      expect(r.stderr, args.join(' ')).toMatch(
        /note: env prod: all 4 servers restart together \(their configuration changed/,
      );
      const now = label();
      expect(seen, args.join(' ')).not.toContain(now);
      seen.push(now);
    }
    // A bucket, a consumer or other recipients do not touch the servers.
    const rest = ok(
      run([
        '--env',
        'prod',
        '--age-recipient',
        'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
        '--age-recipient',
        readFileSync(process.env.SOPS_AGE_KEY_FILE!, 'utf8').match(/age1[0-9a-z]+/)![0],
        '--out',
        out,
      ]),
    );
    expect(rest.stderr).not.toMatch(/restart/);
    expect(label()).toBe(seen.at(-1));
  });

  it('a change of the shared base (the image, from one env) restarts every env: each build has the new hash in its pods and its restarter; the run says so', (ctx) => {
    const out = scaffolded();
    ok(run(['--env', 'stage', '--profile', 'prod', '--namespace', 'minio-stage', '--out', out]));
    ok(run(['--env', 'stage', '--pools', '4x8Gi,4x8Gi', '--out', out])); // an added pool too: built from the base
    const jobArgs = (objs: Obj[]) => {
      const spec = find(objs, 'Job', 'minio-restarter')[0]!.spec.template.spec;
      return [...spec.initContainers, ...spec.containers].map(
        (c: { args: string[] }) => c.args[c.args.indexOf('--selector') + 1],
      );
    };
    const before = build(ctx, out, 'stage');
    const r = ok(run(['--env', 'prod', '--image', 'quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z', '--out', out]));
    expect(r.stderr).toMatch(/note: env prod: all 4 servers restart together \(their configuration changed/);
    expect(r.stderr).toMatch(/note: env stage: all 8 servers restart together \(base\/ changes for every env/);
    expect(r.stderr).toMatch(/note: env dev: the server restarts \(base\/ changes for every env/);
    // env stage, not re-rendered: its servers' template and its restarter follow the base.
    const after = build(ctx, out, 'stage');
    const [old, now] = [find(before, 'StatefulSet', 'minio')[0]!, find(after, 'StatefulSet', 'minio')[0]!];
    const base = now.spec.template.metadata.labels['minio-gitops.io/base'];
    expect(base).not.toBe(old.spec.template.metadata.labels['minio-gitops.io/base']);
    // Every pool's servers: the new image and base hash (no env keeps a copy of the base).
    expect(
      find(after, 'StatefulSet').map(
        (o) =>
          `${o.metadata.name} ${o.spec.template.spec.containers[0].image} ${o.spec.template.metadata.labels['minio-gitops.io/base']}`,
      ),
    ).toEqual(
      ['minio', 'minio-pool-2'].map((name) => `${name} quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z ${base}`),
    );
    expect(jobArgs(after)[0]).toMatch(new RegExp(`,minio-gitops\\.io/base!=${base}$`));
    expect(jobArgs(after)).not.toEqual(jobArgs(before));
    // ... and stage's own run has nothing left to do for its servers (its README names the image).
    const stage = run(['--env', 'stage', '--check', '--out', out]);
    expect([...stage.stdout.matchAll(/^(?:update|create|delete) (\S+)$/gm)].map((m) => m[1])).toEqual([
      'overlays/stage/README.md',
      'scaffold.lock.yaml',
    ]);
  });

  it('a pool removed (after its decommission) and added again finds its old claims: a larger size grows them', (ctx) => {
    const out = scaffolded();
    ok(run(['--env', 'prod', '--pools', '4x8Gi,4x16Gi', '--out', out]));
    const removed = ok(run(['--env', 'prod', '--pools', '4x8Gi', '--leave-data-behind', '--out', out]));
    expect(removed.stderr).toMatch(
      /pool 2 removed \(StatefulSet minio-pool-2\); its claims stay until you delete them/,
    );
    expect(YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8')).layouts.prod.removed).toEqual({
      'minio-pool-2': { servers: 4, size: '16Gi' },
    });
    const again = ok(run(['--env', 'prod', '--pools', '4x8Gi,4x20Gi', '--out', out]));
    expect(again.stderr).toMatch(
      /new pool 2 of 4 servers .*; it finds the claims data-minio-pool-2-\{0\.\.3\} of the pool removed before, if they are still there \(16Gi each, grown to 20Gi; delete them first for new ones\)/,
    );
    const objs = build(ctx, out, 'prod');
    expect(
      find(objs, 'StatefulSet', 'minio-pool-2')[0]!.spec.volumeClaimTemplates[0].spec.resources.requests.storage,
    ).toBe('16Gi');
    expect(
      find(objs, 'PersistentVolumeClaim')
        .map((c) => `${c.metadata.name}=${c.spec.resources.requests.storage}`)
        .sort(),
    ).toEqual([
      'data-minio-pool-2-0=20Gi',
      'data-minio-pool-2-1=20Gi',
      'data-minio-pool-2-2=20Gi',
      'data-minio-pool-2-3=20Gi',
    ]);
    const record = YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8')).layouts.prod;
    expect(record.removed).toBeUndefined();
    // Added again with another server count, it would mount the old pool's formatted drives: refused.
    const other = scaffolded();
    ok(run(['--env', 'prod', '--pools', '4x8Gi,4x16Gi', '--out', other]));
    ok(run(['--env', 'prod', '--pools', '4x8Gi', '--leave-data-behind', '--out', other]));
    expectRefused(
      run(['--env', 'prod', '--pools', '4x8Gi,8x16Gi', '--out', other]),
      /pool 2 was removed with 4 servers, and its claims data-minio-pool-2-\{0\.\.3\} \(its formatted drives\) may still be there for a new pool 2 of 8 to mount/,
    );
    expect(record.pools[1]).toEqual({ servers: 4, size: '20Gi', claimSize: '16Gi' });
  });

  it('--leave-data-behind lets a stranding change through and says where the data stays', () => {
    const out = scaffolded();
    const r = ok(run(['--env', 'prod', '--namespace', 'minio-new', '--leave-data-behind', '--out', out]));
    expect(r.stderr).toMatch(
      /note: env prod: namespace minio -> minio-new: the servers start on new, empty volumes; the data stays in the 4 claims data-minio-\{0\.\.3\} in namespace minio \(not deleted/,
    );
    // The namespace that held it is never pruned by the engines.
    const ns = YAML.parse(readFileSync(join(out, 'base/common/namespace.yaml'), 'utf8'));
    expect(ns.metadata.annotations).toMatchObject({
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
      'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
    });
  });

  it('an env rendered before the record kept layouts is compared with what was rendered', () => {
    const out = scaffolded();
    const file = join(out, 'scaffold.lock.yaml');
    const record = YAML.parse(readFileSync(file, 'utf8'));
    delete record.layouts;
    writeFileSync(file, YAML.stringify(record));
    git(out, 'commit', '-qam', 'a record of an earlier version');
    expectRefused(run(['--env', 'prod', '--replicas', '8', '--out', out]), /has 4 servers holding data/);
    expectRefused(run(['--env', 'prod', '--namespace', 'other', '--out', out]), /leaves the data in the 4 claims/);
    // What was rendered decides, not the config: edited by hand (and committed), it is refused the same.
    setConfig(out, 'envs.prod.replicas', 8);
    expectRefused(
      run(['--env', 'prod', '--out', out]),
      /pool 1 \(StatefulSet minio\) has 4 servers holding data, and MinIO cannot spread a pool over 8/,
    );
    setConfig(out, 'envs.prod.replicas', 4);
    setConfig(out, 'envs.prod.size', '4Gi');
    expectRefused(run(['--env', 'prod', '--out', out]), /volumes are 8Gi and cannot shrink to 4Gi/);
    setConfig(out, 'envs.dev.hostPath', '/srv/elsewhere');
    expectRefused(run(['--env', 'dev', '--out', out]), /hostPath \/mnt\/disk1\/data -> \/srv\/elsewhere/);
  });
});
