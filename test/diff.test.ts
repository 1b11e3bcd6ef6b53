// `diff`: what a pull request does to the built objects, as a reviewer sees it. Real
// processes (`zx scaffold.ts`), real git repositories with a base commit and a head made by
// the scaffolder, real kubectl kustomize builds, the real sops to read back every value
// that must never be printed. The highlight rules on their own are checked with objects in
// test/diff-highlights.test.ts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { expectRefused, git, run, scaffoldedTrees } from './run.ts';
import { needTool, REPO, tempDir } from './tools.ts';

const scaffolded = scaffoldedTrees('minio-gitops-diff-');

type Change = {
  change: string;
  kind: string;
  namespace?: string;
  name: string;
  fields?: { path: string; old?: unknown; new?: unknown }[];
  secrets?: Record<string, string>;
  recipients?: { added: string[]; removed: string[] };
};
type Report = {
  counts: { added: number; removed: number; changed: number; unchanged: number };
  highlights: { category: string; object: string; message: string }[];
  objects: Change[];
  base: { commit: string };
};

function diff(out: string, env: string, ...args: string[]) {
  return run(['diff', '--env', env, '--out', out, ...args]);
}

/** The JSON report, after checking that all three formats agree on the exit code. */
function report(ctx: { skip: (note?: string) => void }, out: string, env: string, base: string): Report {
  needTool(ctx, 'kubectl');
  const r = diff(out, env, '--base', base, '--format', 'json');
  expect([0, 1], r.stderr).toContain(r.code);
  return JSON.parse(r.stdout) as Report;
}

const names = (rep: Report, change?: string) =>
  rep.objects
    .filter((o) => !change || o.change === change)
    .map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`)
    .sort();
const object = (rep: Report, kind: string, name: string) =>
  rep.objects.find((o) => o.kind === kind && o.name === name)!;
const paths = (c: Change) => (c.fields ?? []).map((f) => f.path);
const head = (out: string) => git(out, 'rev-parse', 'HEAD').trim();

function scaffold(out: string, ...args: string[]) {
  const r = run([...args, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
}

function setConfig(out: string, path: string[], value: unknown) {
  const file = join(out, 'scaffold.config.yaml');
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
  if (value === undefined) doc.deleteIn(path);
  else doc.setIn(path, value);
  writeFileSync(file, doc.toString());
}

/** Every file under dir (not .git), for collecting sealed files. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) =>
    n === '.git' ? [] : statSync(join(dir, n)).isDirectory() ? files(join(dir, n)).map((f) => join(n, f)) : [n],
  );
}

/**
 * Every value sealed in the repository at this moment, read back with the real sops and
 * the test's key, but only those that appear nowhere in plain text in the tree (a sealed
 * copy of a public setting, such as the endpoint, is not a secret).
 */
function sealedValues(ctx: { skip: (note?: string) => void }, out: string): string[] {
  const sops = needTool(ctx, 'sops');
  const plain = files(out)
    .filter((f) => !f.startsWith('sealed/') && f !== 'scaffold.lock.yaml')
    .map((f) => readFileSync(join(out, f), 'utf8'))
    .join('\n');
  const values = files(join(out, 'sealed'))
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml') && !f.endsWith('generator.yaml'))
    .flatMap((f) => {
      const doc = YAML.parse(execFileSync(sops, ['-d', join(out, 'sealed', f)], { encoding: 'utf8' })) as {
        stringData?: Record<string, string>;
      };
      return Object.values(doc.stringData ?? {});
    });
  return [
    ...new Set(
      values
        .flatMap((v) => v.split('\n'))
        .map((v) => v.trim())
        .filter((v) => v.length >= 8 && !plain.includes(v)),
    ),
  ];
}

function expectNoValue(outputs: string[], values: string[]) {
  expect(values.length).toBeGreaterThan(3);
  for (const v of values) {
    for (const text of outputs) {
      expect(text.includes(v), `a secret value is printed`).toBe(false);
      expect(text.includes(Buffer.from(v).toString('base64')), `a secret value is printed (base64)`).toBe(false);
    }
  }
}

/** All three formats of one diff, checked to be byte-identical on a second run. */
function allFormats(out: string, env: string, base: string): string[] {
  return ['text', 'markdown', 'json'].map((format) => {
    const first = diff(out, env, '--base', base, '--format', format);
    const second = diff(out, env, '--base', base, '--format', format);
    expect(first.code, first.stderr).toBe(1);
    expect(second.stdout).toBe(first.stdout);
    return first.stdout;
  });
}

describe('diff of the built objects between a base commit and the working tree', () => {
  it('a root rotation (sops, Flux): the root Secret, the servers and the restarter, no value printed', (ctx) => {
    const out = scaffolded();
    const before = sealedValues(ctx, out);
    const base = head(out);
    scaffold(out, '--env', 'prod', '--rotate', 'root');
    const rep = report(ctx, out, 'prod', base);
    expect(names(rep)).toEqual([
      'Job minio/minio-restarter',
      'Secret minio/minio-root-credentials',
      'StatefulSet minio/minio',
    ]);
    expect(object(rep, 'Secret', 'minio-root-credentials').secrets).toEqual({
      rootPassword: 'changed',
      rootUser: 'changed',
    });
    expect(object(rep, 'Secret', 'minio-root-credentials').fields).toEqual([]);
    expect(paths(object(rep, 'StatefulSet', 'minio'))).toEqual([
      'spec.template.metadata.labels["minio-gitops.io/config"]',
    ]);
    expect(rep.highlights.map((h) => `${h.category} ${h.object}`)).toEqual(['immutable Job minio/minio-restarter']);
    expect(rep.highlights[0]!.message).toMatch(/Flux re-creates it/);
    expectNoValue(allFormats(out, 'prod', base), [...before, ...sealedValues(ctx, out)]);
  });

  it('--tls off: the certificates and the trust bundle are pruned, the Jobs re-created, only the endpoint of each consumer Secret changes', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    scaffold(out, '--env', 'prod', '--tls', 'off');
    const rep = report(ctx, out, 'prod', base);
    expect(names(rep, 'removed')).toEqual([
      'Bundle minio-trust',
      'Certificate cert-manager/minio-ca',
      'Certificate minio/minio-ingress-tls',
      'Certificate minio/minio-tls',
      'ClusterIssuer minio-ca',
      'Issuer cert-manager/minio-selfsigned',
    ]);
    expect(names(rep, 'added')).toEqual([]);
    const pruned = rep.highlights
      .filter((h) => h.category === 'prune')
      .map((h) => h.object)
      .sort();
    expect(pruned).toEqual(names(rep, 'removed'));
    expect(
      rep.highlights
        .filter((h) => h.category === 'immutable')
        .map((h) => h.object)
        .sort(),
    ).toEqual(['Job minio/minio-bootstrap', 'Job minio/minio-restarter']);
    for (const consumer of ['flink', 'spark', 'iceberg']) {
      const secret = rep.objects.find((o) => o.kind === 'Secret' && o.name === `minio-s3-credentials-${consumer}`)!;
      expect(Object.entries(secret.secrets!).filter(([, s]) => s !== 'unchanged')).toEqual([
        ['s3.endpoint', 'changed'],
      ]);
    }
    const sts = object(rep, 'StatefulSet', 'minio');
    expect(sts.fields).toContainEqual({
      path: 'spec.template.spec.containers[name=minio].env[name=MINIO_VOLUMES].value',
      old: 'https://minio-{0...3}.minio-hl.minio.svc.cluster.local/data',
      new: 'http://minio-{0...3}.minio-hl.minio.svc.cluster.local/data',
    });
    expect(rep.objects.find((o) => o.name === 'minio-root-credentials')).toBeUndefined();
  });

  it('--replicas 4 → 8 as a second pool: a new server set is flagged, the first pool learns the new MINIO_VOLUMES', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    scaffold(out, '--env', 'prod', '--pools', '4x8Gi,4x8Gi');
    const rep = report(ctx, out, 'prod', base);
    expect(names(rep, 'added')).toContain('StatefulSet minio/minio-pool-2');
    expect(rep.highlights).toContainEqual(
      expect.objectContaining({ category: 'servers', object: 'StatefulSet minio/minio-pool-2' }),
    );
    expect(paths(object(rep, 'StatefulSet', 'minio'))).toContain(
      'spec.template.spec.containers[name=minio].env[name=MINIO_VOLUMES].value',
    );
    expect(rep.highlights.filter((h) => h.category === 'prune')).toEqual([]);
  });

  it('replicas edited by hand from 4 to 8 on the erasure set, and its claim template grown: both flagged', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    const file = join(out, 'overlays/prod/kustomization.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}replicas:\n  - name: minio\n    count: 8\n`);
    const sts = join(out, 'overlays/prod/minio/patch-storage.yaml');
    writeFileSync(sts, readFileSync(sts, 'utf8').replace(/ storage: \S+/, ' storage: 1Ti'));
    git(out, 'commit', '-qam', 'by hand');
    const rep = report(ctx, out, 'prod', base);
    const messages = rep.highlights
      .filter((h) => h.object === 'StatefulSet minio/minio')
      .map((h) => `${h.category}: ${h.message}`);
    expect(messages, JSON.stringify(rep.highlights)).toContainEqual(
      expect.stringMatching(/^servers: the servers of an erasure-coded set change \(4 → 8\)/),
    );
    expect(messages, JSON.stringify(messages)).toContainEqual(
      expect.stringMatching(/^immutable: spec\.volumeClaimTemplates changes, which the API server refuses/),
    );
    expect(messages).toContainEqual(expect.stringMatching(/^volume: claim template data grows .* → 1Ti/));
  });

  it('a bucket added: the generated bootstrap config is one changed object (not a prune), the Job is re-created', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    setConfig(out, ['envs', 'dev', 'buckets', 'logs'], { prefixes: [], lifecycle: [], versioning: false, quota: '' });
    scaffold(out, '--env', 'dev');
    const rep = report(ctx, out, 'dev', base);
    expect(rep.objects.map((o) => `${o.change} ${o.kind}`)).toEqual(['changed ConfigMap', 'changed Job']);
    const config = rep.objects[0]!;
    expect(paths(config)).toEqual(['data["bootstrap.conf"]', 'metadata.name']);
    expect(String(config.fields![0]!.new)).toMatch(/^bucket logs$/m);
    expect(rep.highlights.map((h) => h.category)).toEqual(['immutable']);
  });

  it('a consumer removed: its Secret and FlinkEnvironment go (flagged as pruned), the policies follow', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    setConfig(out, ['envs', 'prod', 'consumers', 'flink'], undefined);
    setConfig(out, ['envs', 'prod', 'buckets', 'flink'], undefined);
    scaffold(out, '--env', 'prod');
    const rep = report(ctx, out, 'prod', base);
    expect(names(rep, 'removed')).toEqual(
      expect.arrayContaining([
        'FlinkEnvironment el-demo/minio-flink',
        'Secret el-demo/minio-s3-credentials-flink',
        'Secret minio/minio-consumer-flink',
      ]),
    );
    for (const gone of ['FlinkEnvironment el-demo/minio-flink', 'Secret el-demo/minio-s3-credentials-flink']) {
      expect(rep.highlights).toContainEqual(expect.objectContaining({ category: 'prune', object: gone }));
    }
    expect(names(rep, 'added')).toEqual([]);
  });

  it('no change: exit 0 and one line; the default base is the merge base with the synced branch', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    const r = diff(out, 'prod', '--base', 'HEAD');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^env prod: no change in the built objects \(\d+ objects\)/);
    // main is the repository's first commit: against it, all of prod is new.
    const d = diff(out, 'prod', '--format', 'json');
    expect(d.code, d.stderr).toBe(1);
    const rep = JSON.parse(d.stdout) as Report & { notes: string[] };
    expect(rep.base.commit).toBe(git(out, 'merge-base', 'HEAD', 'main').trim());
    expect(rep.notes).toEqual(['env prod is not rendered at merge base with main: every object is new']);
    expect(rep.counts.removed + rep.counts.changed).toBe(0);
  });

  it('the dev env with plain credentials: values compared by hash and never printed; markdown as committed in test/golden', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    const base = head(out);
    setConfig(out, ['envs', 'dev', 'buckets', 'logs'], {
      prefixes: ['raw/'],
      lifecycle: [],
      versioning: false,
      quota: '',
    });
    scaffold(out, '--env', 'dev', '--monitoring', 'on', '--metrics-auth', 'jwt');
    const outputs = allFormats(out, 'dev', base);
    const built = execFileSync('kubectl', ['kustomize', join(out, 'overlays/dev')], { encoding: 'utf8' });
    const plainValues = YAML.parseAllDocuments(built)
      .map((d) => d.toJS() as { kind: string; stringData?: Record<string, string>; data?: Record<string, string> })
      .filter((o) => o.kind === 'Secret')
      .flatMap((o) => [
        ...Object.values(o.stringData ?? {}),
        ...Object.values(o.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()),
      ])
      .filter((v) => v.length >= 8 && !built.replace(/(stringData|data):\n(\s+.*\n)+/g, '').includes(v));
    expectNoValue(outputs, plainValues);
    const markdown = outputs[1]!.split(base.slice(0, 12)).join('BASE');
    const golden = join(REPO, 'test/golden/diff-dev-metrics.md');
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, markdown);
    expect(markdown).toBe(readFileSync(golden, 'utf8'));
  });

  it('Argo CD: sealed Secrets through KSOPS generators and the AppProject in clusters/<env>, compared without a key', (ctx) => {
    const out = tempDir();
    scaffold(out, '--env', 'prod', '--gitops', 'argocd', '--repo-url', 'https://git.example.com/platform/storage.git');
    const base = head(out);
    scaffold(out, '--env', 'prod', '--rotate', 'metrics', '--ingress', 'off');
    const values = sealedValues(ctx, out);
    // Without any key: the diff never decrypts.
    const r = run(['diff', '--env', 'prod', '--out', out, '--base', base, '--format', 'json'], {
      SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt'),
    });
    expect(r.code, r.stderr).toBe(1);
    const rep = JSON.parse(r.stdout) as Report & { sources: string[] };
    expect(rep.sources).toEqual(['clusters/prod', 'overlays/prod']);
    expect(object(rep, 'Secret', 'minio-metrics-credentials').secrets).toEqual({
      's3.access-key': 'unchanged',
      's3.secret-key': 'changed',
      token: 'changed',
    });
    expect(names(rep, 'removed')).toEqual(
      expect.arrayContaining(['Ingress minio/minio-api', 'Ingress minio/minio-console']),
    );
    expect(paths(object(rep, 'AppProject', 'minio-prod'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^spec\.namespaceResourceWhitelist/)]),
    );
    expectNoValue([r.stdout], values);
  });

  it('external secrets: the ExternalSecret fields are shown (they hold no value)', (ctx) => {
    const out = tempDir();
    scaffold(out, '--env', 'dev', '--secrets', 'external');
    const base = head(out);
    scaffold(out, '--env', 'dev', '--remote-key', 'dev/minio-2');
    const rep = report(ctx, out, 'dev', base);
    expect(rep.objects.length).toBeGreaterThan(0);
    expect(
      rep.objects.every(
        (o) => o.kind === 'ExternalSecret' || o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'StatefulSet',
      ),
    ).toBe(true);
    expect(
      rep.objects.filter((o) => o.kind === 'ExternalSecret').flatMap((o) => o.fields!.map((f) => f.new)),
    ).toContainEqual(expect.stringMatching(/^dev\/minio-2/));
  });

  it('a sealed file with a value in plain text is refused without showing it', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    const file = join(out, 'sealed/prod/minio-root-credentials.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/rootPassword: .*/, 'rootPassword: hunter2-in-plain-text'));
    const r = diff(out, 'prod', '--base', 'HEAD');
    expectRefused(
      r,
      /Secret\/minio\/minio-root-credentials is sealed but its stringData\.rootPassword is not encrypted/,
    );
    expect(r.stderr).not.toContain('hunter2');
  });

  it('a rotation keeps the ciphertext of what stays: only the rotated values show as changed', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    scaffold(out, '--env', 'prod', '--rotate', 'flink');
    const rep = report(ctx, out, 'prod', base);
    const changed = (name: string) =>
      Object.entries(rep.objects.find((o) => o.kind === 'Secret' && o.name === name)!.secrets!)
        .filter(([, s]) => s !== 'unchanged')
        .map(([k]) => k);
    expect(changed('minio-s3-credentials-flink')).toEqual(['AWS_SECRET_ACCESS_KEY', 's3.secret-key']);
    expect(changed('minio-consumer-flink')).toEqual(['s3.secret-key']);
  });

  it('Flux builds each Kustomization path on its own: a patch above them hides nothing; an object built twice is refused', (ctx) => {
    const out = tempDir();
    scaffold(out, '--env', 'prod', '--repo-url', 'https://git.example.com/platform/storage.git');
    const base = head(out);
    const policy = join(out, 'overlays/prod/minio/networkpolicy-s3-clients.yaml');
    writeFileSync(policy, readFileSync(policy, 'utf8').replace(/\n {2}ingress:\n[\s\S]*$/, '\n  ingress:\n    - {}\n'));
    // A patch in overlays/prod (which Flux never builds) that would put the old rules back.
    const top = join(out, 'overlays/prod/kustomization.yaml');
    const original = YAML.parse(
      execFileSync('git', ['-C', out, 'show', `${base}:overlays/prod/minio/networkpolicy-s3-clients.yaml`], {
        encoding: 'utf8',
      }),
    );
    writeFileSync(
      top,
      `${readFileSync(top, 'utf8')}patches:\n  - target: {kind: NetworkPolicy, name: minio-s3-clients}\n    patch: |\n      - op: replace\n        path: /spec/ingress\n        value: ${JSON.stringify(original.spec.ingress)}\n`,
    );
    const rep = report(ctx, out, 'prod', base) as Report & { sources: string[] };
    expect(rep.sources).toEqual([
      'clusters/prod',
      'overlays/prod/minio',
      'overlays/prod/bootstrap',
      'overlays/prod/consumers',
      'overlays/prod/trust',
    ]);
    expect(rep.highlights).toContainEqual(
      expect.objectContaining({
        category: 'network',
        object: 'NetworkPolicy minio/minio-s3-clients',
        message: 'allows ingress from anywhere on all ports',
      }),
    );
    // The same object in clusters/prod as well.
    execFileSync('git', ['-C', out, 'checkout', '-q', '--', '.']);
    const clusters = join(out, 'clusters/prod/kustomization.yaml');
    const copy = YAML.parse(readFileSync(policy, 'utf8'));
    copy.metadata.namespace = 'minio';
    writeFileSync(join(out, 'clusters/prod/copy.yaml'), YAML.stringify(copy));
    writeFileSync(clusters, readFileSync(clusters, 'utf8').replace('resources:\n', 'resources:\n  - copy.yaml\n'));
    expectRefused(
      diff(out, 'prod', '--base', base),
      /NetworkPolicy\/minio\/minio-s3-clients is built by both clusters\/prod and overlays\/prod\/minio/,
    );
  });

  it("a sealed file committed decrypted is refused; a Secret's values never show, whatever their shape or annotation", (ctx) => {
    const sops = needTool(ctx, 'sops');
    const out = scaffolded();
    const file = join(out, 'sealed/prod/minio-root-credentials.yaml');
    const plain = execFileSync(sops, ['-d', file], { encoding: 'utf8' });
    writeFileSync(file, plain);
    const r = diff(out, 'prod', '--base', 'HEAD');
    expectRefused(r, /Secret\/minio\/minio-root-credentials was sealed and is in plain text now/);
    const password = (YAML.parse(plain) as { stringData: Record<string, string> }).stringData.rootPassword!;
    expect(r.stderr).not.toContain(password);
    // A Secret with kubectl's last-applied annotation, and one whose data is not a map.
    const dev = scaffolded();
    const base = head(dev);
    const extra = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'extra',
        namespace: 'minio-dev',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"token":"LASTAPPLIED-SECRET-1"}}',
        },
      },
      stringData: { token: 'LASTAPPLIED-SECRET-1' },
    };
    const odd = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'odd', namespace: 'minio-dev' },
      stringData: 'STRINGSECRET-2',
    };
    writeFileSync(join(dev, 'overlays/dev/extra.yaml'), `${YAML.stringify(extra)}---\n${YAML.stringify(odd)}`);
    const k = join(dev, 'overlays/dev/kustomization.yaml');
    writeFileSync(k, readFileSync(k, 'utf8').replace('resources:\n', 'resources:\n  - extra.yaml\n'));
    const outputs = ['text', 'markdown', 'json'].map((f) => diff(dev, 'dev', '--base', base, '--format', f).stdout);
    for (const text of outputs) expect(text).not.toMatch(/LASTAPPLIED-SECRET-1|STRINGSECRET-2/);
    expect(outputs[0]).toContain('+ added Secret minio-dev/extra');
  });

  it('line-end conversion of the working tree applies to the base too: no false change', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    writeFileSync(join(out, '.gitattributes'), '*.conf text eol=crlf\n');
    git(out, 'add', '.gitattributes');
    git(out, 'commit', '-qm', 'eol');
    rmSync(join(out, 'overlays/dev/bootstrap/bootstrap.conf'));
    git(out, 'checkout', '--', 'overlays/dev/bootstrap/bootstrap.conf');
    expect(readFileSync(join(out, 'overlays/dev/bootstrap/bootstrap.conf'), 'utf8')).toContain('\r\n');
    const r = diff(out, 'dev', '--base', 'HEAD');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('a damaged base tree (a link and a directory of one name) is refused and nothing is written through the link', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    const target = tempDir();
    const blob = execFileSync('git', ['-C', out, 'hash-object', '-w', '--stdin'], {
      input: 'pwned\n',
      encoding: 'utf8',
    }).trim();
    const link = execFileSync('git', ['-C', out, 'hash-object', '-w', '--stdin'], {
      input: target,
      encoding: 'utf8',
    }).trim();
    const inner = execFileSync('git', ['-C', out, 'mktree'], {
      input: `100644 blob ${blob}\tevil.txt\n`,
      encoding: 'utf8',
    }).trim();
    const listing = execFileSync('git', ['-C', out, 'ls-tree', 'HEAD'], { encoding: 'utf8' });
    const tree = execFileSync('git', ['-C', out, 'mktree', '--missing'], {
      input: `${listing}120000 blob ${link}\tx\n040000 tree ${inner}\tx\n`,
      encoding: 'utf8',
    }).trim();
    const commit = execFileSync(
      'git',
      ['-C', out, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', tree, '-m', 'damaged'],
      { encoding: 'utf8' },
    ).trim();
    expectRefused(diff(out, 'dev', '--base', commit), /holds "x\/evil\.txt" under the symbolic link "x"/);
    expect(readdirSync(target)).toEqual([]);
  });

  it('--max-chars keeps the headline, the highlights and the table', (ctx) => {
    const out = scaffolded();
    const base = head(out);
    scaffold(out, '--env', 'prod', '--tls', 'off');
    needTool(ctx, 'kubectl');
    const full = diff(out, 'prod', '--base', base, '--format', 'markdown');
    const cut = diff(out, 'prod', '--base', base, '--format', 'markdown', '--max-chars', '6000');
    expect(full.stdout.length).toBeGreaterThan(6000);
    expect(cut.stdout.length).toBeLessThanOrEqual(6000);
    expect(cut.stdout).toContain('**Look at these first**');
    expect(cut.stdout).toMatch(/left out to keep the comment within its size/);
    expectRefused(diff(out, 'prod', '--max-chars', '12'), /--max-chars "12" is not a whole number of at least 1000/);
  });

  it('bad input: one line, exit 2', (ctx) => {
    needTool(ctx, 'kubectl');
    const out = scaffolded();
    expectRefused(diff(out, 'prod', '--base', 'no-such-ref'), /--base "no-such-ref" is not a commit/);
    expectRefused(diff(out, 'prod', '--base', '--upload-pack=x'), /unknown option|is not a commit/);
    expectRefused(diff(out, 'prod', '--format', 'yaml'), /--format "yaml" is not one of text, markdown, json/);
    expectRefused(
      diff(out, 'staging', '--base', 'HEAD'),
      /env staging is rendered neither at HEAD nor in the working tree/,
    );
    expectRefused(diff(out, 'Prod'), /--env "Prod" is not an env name/);
    expectRefused(run(['diff', '--out', out]), /diff needs --env NAME/);
    expectRefused(run(['diff', '--env', 'prod', '--bogus']), /unknown option or missing value at --bogus/);
    const plain = tempDir();
    expectRefused(diff(plain, 'prod'), /is not in a git repository/);
    git(out, 'branch', '-m', 'main', 'trunk');
    expectRefused(diff(out, 'prod'), /neither main nor origin\/main; fetch it, or pass --base REF/);
    rmSync(join(out, 'overlays/prod/minio/kustomization.yaml'));
    const broken = diff(out, 'prod', '--base', 'HEAD');
    expect(broken.code).toBe(2);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
  });
});
