// Pure parts, table-driven: the YAML writer, the config resolution and the plan.
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseFlags } from '../src/args.ts';
import { resolveOptions } from '../src/config.ts';
import { UsageError } from '../src/errors.ts';
import { makePlan, sha256, type PlanInput } from '../src/plan.ts';
import { toYaml } from '../src/yaml.ts';
import { SHORT_HASH, shortHash } from '../src/render/hash.ts';
import { formatRecord, parseRecord } from '../src/plan.ts';
import { htpasswd, type SealedSecretSpec, sealedSecretSpecs } from '../src/render/sealed.ts';
import { fingerprint, publicValues } from '../src/sealed.ts';

describe('toYaml', () => {
  it('puts apiVersion, kind and metadata first and keeps the rest in order', () => {
    const text = toYaml({ spec: { b: 1, a: 2 }, metadata: { name: 'x' }, kind: 'K', apiVersion: 'v1' });
    expect(text).toBe('apiVersion: v1\nkind: K\nmetadata:\n  name: x\nspec:\n  b: 1\n  a: 2\n');
  });

  // Values that trip YAML writers: every one must come back as the same string from a
  // YAML 1.1 reader (kubectl, kustomize, Argo CD) and a YAML 1.2 reader.
  const tricky = [
    'on',
    'off',
    'yes',
    'no',
    'y',
    'n',
    'Y',
    'NO',
    'true',
    'False',
    'null',
    'Null',
    '~',
    '',
    ' ',
    ' lead',
    'trail ',
    '0',
    '1',
    '-1',
    '+1',
    '0755',
    '0o17',
    '0x1F',
    '0b101',
    '1_000',
    '1e3',
    '1.5',
    '.5',
    '-.inf',
    '.NaN',
    '190:20:30',
    '1:20',
    '2026-11-21',
    '2026-11-21T10:00:00Z',
    '1.2.3',
    '=',
    '<<',
    '-',
    '- 1',
    '-.5',
    '-.5e3',
    '.',
    '-.',
    '._',
    'e3',
    '-e1',
    '- x: y',
    '---',
    '...',
    '--address',
    ':9000',
    '?x',
    '*.minio-hl.ns.svc',
    '&anchor',
    '!tag',
    '%x',
    '@x',
    '`x',
    '|x',
    '>x',
    "'x",
    '"x',
    '#x',
    'a #b',
    'a: b',
    'a:',
    'a:b',
    '[x]',
    '{x}',
    'x,y',
    'x]',
    '$(MINIO_VOLUMES)',
    'http://minio-{0...3}.minio-hl.minio.svc.cluster.local/data',
    'node-type=storage',
    'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z',
    'MinIO console',
    'exec:\n  path: ksops\n',
    'line\n',
    'two\nlines',
    'trailing\n\n',
    '\nleading newline',
    ' indented\nblock\n',
    'tab\there',
    'caf\u00e9',
    'line\u2028sep',
    'nel\u0085x',
    'emoji \u{1F600}',
    'ctrl\u0001',
    'back\\slash',
    'quote"inside',
  ];
  it.for(tricky.map((t) => [JSON.stringify(t), t]))('round-trips %s in YAML 1.1 and 1.2', ([, value]) => {
    const doc = { [value as string]: value, list: [value, { nested: value }] };
    const text = toYaml(doc);
    for (const version of ['1.1', '1.2'] as const)
      expect(YAML.parse(text, { version }), `${version}:\n${text}`).toEqual(doc);
  });

  // kustomize writes a string back unquoted when Go cannot hold it as a number (123e456),
  // and a YAML 1.2 reader of its build takes that for Infinity: the hashes in labels and
  // annotations must read as strings even unquoted.
  it('short hashes read as strings even when a writer leaves them unquoted', () => {
    for (let i = 0; i < 20000; i++) {
      const hash = shortHash(String(i));
      expect(hash).toMatch(SHORT_HASH);
      for (const version of ['1.1', '1.2'] as const)
        expect(YAML.parse(`x: ${hash}`, { version }), hash).toEqual({ x: hash });
    }
    expect(new Set(Array.from({ length: 1000 }, (_, i) => shortHash(String(i)))).size).toBe(1000);
  });

  it('writes numbers, booleans, null, empty maps and lists, and nested lists', () => {
    const doc = {
      n: 288,
      b: false,
      z: null,
      m: {},
      l: [],
      nested: [[1, 2], [{ a: 1 }]],
      deep: { list: [{ a: { b: [1] } }] },
    };
    const text = toYaml(doc);
    expect(YAML.parse(text, { version: '1.1' })).toEqual(doc);
    expect(text).toContain('m: {}\nl: []\n');
  });

  it('separates documents with --- and puts the header comment first', () => {
    expect(toYaml([{ kind: 'A' }, { kind: 'B' }], 'made by us')).toBe('# made by us\nkind: A\n---\nkind: B\n');
  });
});

const resolve = (config: string | null, ...args: string[]) => resolveOptions(config, parseFlags(args));

describe('resolveOptions', () => {
  it('dev and prod profiles give the documented defaults', () => {
    const dev = resolve(null, '--env', 'dev').options.settings;
    expect(dev).toMatchObject({
      namespace: 'minio-dev',
      replicas: 1,
      storage: 'hostpath',
      hostPath: '/mnt/disk1/data',
      secrets: 'plain',
      tls: false,
    });
    const prod = resolve(null, '--env', 'prod').options.settings;
    expect(prod).toMatchObject({
      namespace: 'minio',
      replicas: 4,
      storage: 'pvc',
      size: '8Gi',
      secrets: 'sops',
      tls: true,
      ingress: true,
      monitoring: true,
    });
  });

  it('leaves the config text byte-identical when nothing changes, however it is laid out', () => {
    const first = resolve(null, '--env', 'prod').configText;
    const relaid = first
      .replace('  prod:\n', '  # the production cluster\n  prod:\n')
      .replace(/^ {4}consumers:\n {6}flink:\n/m, '    consumers:\n      # the streaming jobs\n      flink:\n');
    expect(relaid).not.toBe(first);
    expect(resolve(relaid, '--env', 'prod').configText).toBe(relaid);
  });

  it('flags override the file and are written back; the rest of the file stays', () => {
    const first = resolve(null, '--env', 'dev').configText;
    const withProd = resolve(first, '--env', 'prod', '--replicas', '8').configText;
    const parsed = YAML.parse(withProd);
    expect(parsed.envs.prod.replicas).toBe(8);
    expect(parsed.envs.dev).toEqual(YAML.parse(first).envs.dev);
    expect(resolve(withProd, '--env', 'prod').options.settings.replicas).toBe(8);
  });

  it('fills settings missing from a hand-written env from its profile', () => {
    const { options } = resolve('envs:\n  qa:\n    profile: prod\n    replicas: 1\n', '--env', 'qa');
    expect(options.settings).toMatchObject({
      profile: 'prod',
      replicas: 1,
      storage: 'pvc',
      namespace: 'minio-qa',
      remoteKey: 'qa/minio',
      secrets: 'sops',
    });
  });

  it('a different --profile for a recorded env restarts from that profile, with a note', () => {
    const config = resolve(null, '--env', 'qa', '--profile', 'dev').configText;
    const r = resolve(config, '--env', 'qa', '--profile', 'prod');
    expect(r.options.settings).toMatchObject({ profile: 'prod', storage: 'pvc', replicas: 4 });
    expect(r.notes.join()).toMatch(/switched to the prod profile/);
  });

  it('migrates the old default consumerNamespaces to the default consumers, with a note, keeping comments', () => {
    const old =
      'consumerNamespaces:\n  - el-demo\n  - analytics\n# the environments\nenvs:\n  dev:\n    profile: dev # ours\n';
    const r = resolve(old, '--env', 'dev');
    expect(r.notes.join()).toMatch(/consumerNamespaces \[el-demo, analytics\] is replaced by the default consumers/);
    expect(r.configText).toMatch(/^# the environments\nenvs:\n {2}dev:\n {4}profile: dev # ours$/m);
    expect(r.configText).not.toContain('consumerNamespaces');
    expect(YAML.parse(r.configText).envs.dev.consumers).toMatchObject({
      flink: { namespace: 'el-demo' },
      spark: { namespace: 'analytics' },
    });
    expect(resolve(r.configText, '--env', 'dev').configText).toBe(r.configText);
  });

  const errors: [string, string | null, string[], RegExp][] = [
    [
      'an env in the file without a profile',
      'envs:\n  qa:\n    replicas: 1\n',
      ['--env', 'dev'],
      /envs\.qa\.profile is missing; set it to dev or prod/,
    ],
    ['an unknown top-level key', 'imag: x\n', ['--env', 'dev'], /scaffold.config.yaml: imag is not a known setting/],
    ['envs that is not a map', 'envs: [dev]\n', ['--env', 'dev'], /envs must be a map/],
    [
      'resources with a bad quantity',
      'envs:\n  dev:\n    resources: {requests: {cpu: fast, memory: 1Gi}, limits: {cpu: "1", memory: 1Gi}}\n',
      ['--env', 'dev'],
      /envs\.dev\.resources\.requests\.cpu "fast" is not a Kubernetes quantity/,
    ],
    [
      'resources with an unknown key',
      'envs:\n  dev:\n    resources: {requests: {cpu: 1, memory: 1Gi, gpu: 1}, limits: {cpu: "1", memory: 1Gi}}\n',
      ['--env', 'dev'],
      /resources\.requests\.gpu is not a known setting/,
    ],
    [
      'equal ingress hosts',
      null,
      ['--env', 'prod', '--api-host', 'minio.example.com', '--console-host', 'minio.example.com'],
      /API and console ingress hosts are both minio\.example\.com/,
    ],
    ['replicas above one erasure set', null, ['--env', 'prod', '--replicas', '17'], /at most 16 servers/],
    [
      'a bad node label',
      'storageNodeLabel: storage\n',
      ['--env', 'dev'],
      /storageNodeLabel "storage" is not a node label; use key=value/,
    ],
    [
      'an old consumerNamespaces list other than the default',
      'consumerNamespaces: [team-a]\n',
      ['--env', 'dev'],
      /consumerNamespaces \["team-a"\] is replaced by each env's consumers, .* describe them under envs\.NAME\.consumers .* and remove consumerNamespaces/,
    ],
    [
      'a bad consumer namespace',
      'envs:\n  dev:\n    consumers: {flink: {namespace: El_Demo, kind: flink-cmf, buckets: [flink]}}\n',
      ['--env', 'dev'],
      /envs\.dev\.consumers\.flink\.namespace "El_Demo" is not a valid namespace name/,
    ],
  ];
  it.for(errors)('refuses %s', ([, config, args, message]) => {
    expect(() => resolve(config, ...args)).toThrow(UsageError);
    expect(() => resolve(config, ...args)).toThrow(message);
  });
});

describe('makePlan', () => {
  const file = (path: string, content: string) => ({ path, content });
  const base = (over: Partial<PlanInput>): PlanInput => ({
    desired: [],
    disk: new Map(),
    record: {},
    owned: ['base/', 'overlays/dev/'],
    managed: [{ path: 'scaffold.config.yaml', before: 'c', after: 'c' }],
    force: false,
    ...over,
  });
  const actions = (input: PlanInput) => Object.fromEntries(makePlan(input).entries.map((e) => [e.path, e.action]));

  it('classifies create, update, unchanged and delete, and leaves other envs alone', () => {
    const input = base({
      desired: [file('base/a', 'A'), file('base/b', 'B2'), file('overlays/dev/c', 'C')],
      disk: new Map([
        ['base/a', null],
        ['base/b', 'B1'],
        ['overlays/dev/c', 'C'],
        ['overlays/dev/old', 'OLD'],
        ['overlays/prod/p', 'P'],
        ['overlays/dev/gone', null],
      ]),
      record: {
        'base/b': sha256('B1'),
        'overlays/dev/c': sha256('C'),
        'overlays/dev/old': sha256('OLD'),
        'overlays/prod/p': sha256('P'),
        'overlays/dev/gone': sha256('G'),
      },
    });
    expect(actions(input)).toEqual({
      'base/a': 'create',
      'base/b': 'update',
      'overlays/dev/c': 'unchanged',
      'overlays/dev/old': 'delete',
      'scaffold.config.yaml': 'unchanged',
    });
    const { record } = makePlan(input);
    expect(record).toEqual({
      'base/a': sha256('A'),
      'base/b': sha256('B2'),
      'overlays/dev/c': sha256('C'),
      'overlays/prod/p': sha256('P'),
    });
  });

  it('a hand edit, a foreign file and an edited stale file are conflicts; --force takes them', () => {
    const input = base({
      desired: [file('base/a', 'A2'), file('base/new', 'N')],
      disk: new Map([
        ['base/a', 'A1 edited'],
        ['base/new', 'theirs'],
        ['overlays/dev/old', 'OLD edited'],
      ]),
      record: { 'base/a': sha256('A1'), 'overlays/dev/old': sha256('OLD') },
    });
    expect(() => makePlan(input)).toThrow(
      /3 generated files were edited by hand or not written by minio-gitops: base\/a, base\/new, overlays\/dev\/old/,
    );
    const forced = makePlan({ ...input, force: true });
    expect(forced.conflicts).toEqual(['base/a', 'base/new', 'overlays/dev/old']);
    expect(forced.entries.filter((e) => e.forced).map((e) => e.action)).toEqual(['update', 'update', 'delete']);
  });

  it('a file already holding the rendered content is unchanged even if the record is stale', () => {
    // What an interrupted run leaves behind: new content written, record not yet updated.
    const input = base({
      desired: [file('base/a', 'A2')],
      disk: new Map([['base/a', 'A2']]),
      record: { 'base/a': sha256('A1') },
    });
    expect(actions(input)['base/a']).toBe('unchanged');
  });
});

describe("the record of sealed files' public values", () => {
  const files = { 'overlays/prod/b': sha256('B'), 'base/a': sha256('A') };
  const sealed = { 'sealed/prod/z.yaml': { 'b.key': sha256('x'), A_KEY: sha256('y') }, 'sealed/prod/a.yaml': {} };

  it('round-trips, sorted; without fingerprints the record is byte for byte the earlier format', () => {
    const text = formatRecord(files, {}, sealed);
    expect(parseRecord(text)).toEqual({ files, pending: {}, sealed, layouts: {} });
    expect(text.indexOf('sealed/prod/a.yaml')).toBeLessThan(text.indexOf('sealed/prod/z.yaml'));
    expect(text.indexOf('A_KEY')).toBeLessThan(text.indexOf('b.key'));
    const old = formatRecord(files);
    expect(old).toBe(formatRecord(files, {}, {}));
    expect(old).not.toMatch(/sealed/);
    expect(old.split('\n').filter((l) => l.startsWith('#'))).toHaveLength(2);
    expect(parseRecord(old)).toEqual({ files, pending: {}, sealed: {}, layouts: {} });
    expect(parseRecord(formatRecord(files, { 'base/a': sha256('A2'), 'base/b': 'deleted' }, sealed))).toEqual({
      files,
      pending: { 'base/a': sha256('A2'), 'base/b': 'deleted' },
      sealed,
      layouts: {},
    });
    // Records of earlier versions list the pending paths only.
    expect(parseRecord(`files: {}\npending:\n  - base/a\n`).pending).toEqual({ 'base/a': '' });
  });

  it.for([
    ['a value that is not a sha256', 'sealed:\n  sealed/prod/a.yaml:\n    k: not-a-hash\n'],
    ['a list', 'sealed:\n  - a\n'],
    ['a path without a map', `sealed:\n  sealed/prod/a.yaml: ${sha256('x')}\n`],
  ])('refuses a damaged sealed map: %s', ([, tail]) => {
    const text = `files:\n  base/a: ${sha256('A')}\n${tail}`;
    expect(() => parseRecord(text)).toThrow(UsageError);
    expect(() => parseRecord(text)).toThrow(/scaffold\.lock\.yaml is damaged/);
  });

  it('public values: fixed, and derived ones that do not depend on a generated value (found generically, not by name)', () => {
    const spec: SealedSecretSpec = {
      credential: 'x',
      wave: 0,
      path: 'sealed/prod/x.yaml',
      name: 'x',
      namespace: 'ns',
      labels: {},
      generated: { password: 'password', login: 'user' },
      fixed: { user: 'admin', region: 'eu-1' },
      derived: (v) => ({
        auth: htpasswd(v.user!, v.password!),
        url: `https://${v.user}@host:9000`,
        last: v.password!.slice(-1),
        first: v.password!.slice(0, 1),
        length: String(v.password!.length),
        loginPrefix: v.login!.slice(0, 5),
        loginTail: v.login!.slice(5),
        region: v.region!.toUpperCase(),
      }),
    };
    // The generated values and everything computed from their random part stay out; their
    // shape (length, the user prefix) is no secret.
    expect(publicValues(spec)).toEqual({
      user: 'admin',
      url: 'https://admin@host:9000',
      length: '40',
      loginPrefix: 'root-',
      region: 'EU-1',
    });
    const hashes = fingerprint(spec);
    expect(Object.keys(hashes).sort()).toEqual(['length', 'loginPrefix', 'region', 'url', 'user']);
    expect(hashes.url).toBe(sha256('https://admin@host:9000'));
    // Deterministic: same spec, same fingerprint; another fixed value, another hash.
    expect(fingerprint(spec)).toEqual(hashes);
    expect(fingerprint({ ...spec, fixed: { ...spec.fixed, user: 'root' } }).url).not.toBe(hashes.url);
    expect(fingerprint({ ...spec, fixed: { ...spec.fixed, user: 'root' } }).region).toBe(hashes.region);
  });

  it("a spec's salted keys are every key it derives (a comparison without the key counts them by name alone)", () => {
    const { options } = resolveOptions(null, parseFlags(['--env', 'prod', '--ingress', 'on']));
    const specs = sealedSecretSpecs(options);
    expect(specs.some((s) => s.salted)).toBe(true);
    for (const spec of specs.filter((s) => s.salted)) {
      const values = {
        ...spec.fixed,
        ...Object.fromEntries(Object.keys(spec.generated).map((k) => [k, `${k}-value`])),
      };
      expect(Object.keys(spec.derived(values)).sort(), spec.path).toEqual([...spec.salted!].sort());
    }
  });
});
