// The generator of test/fuzz.test.ts: a seeded PRNG (mulberry32) and, from it, random
// cases for the scaffolder: a starting directory (a fixture), flags (every flag of
// src/args.ts, with good and bad values), and what the case does to the files the
// scaffolder reads (scaffold.config.yaml, scaffold.lock.yaml, .sops.yaml, the sealed files,
// symlinks, files in the way, the git state). A case is data plus functions of the
// fixture's texts, so that one seed and one index always give the same case.
import { createHash } from 'node:crypto';
import YAML from 'yaml';

// ---------------------------------------------------------------- the PRNG

/** mulberry32: 32 bits of state, good enough to pick test inputs, and stable across Node versions. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `index` of a run with `seed`: each case replays alone (FUZZ_ONLY). */
export function caseSeed(seed: number, index: number): number {
  const h = createHash('sha256').update(`${seed}:${index}`).digest();
  return h.readUInt32LE(0);
}

export class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  /** One of the keys, with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  }
  shuffle<T>(list: T[]): T[] {
    for (let i = list.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }
}

// ---------------------------------------------------------------- keys

/** Test-only age identities (made for this test with src/age.ts): the fixtures are sealed to the first. */
export const KEY = {
  identity: 'AGE-SECRET-KEY-1XR6K6FH9N8VXJQF8Z384WTME3937ZCKUCY0EHHW2C686A3TX5PZQPSKQRC',
  recipient: 'age1n5ptldps6rd8crhjx2jhu2wmw78xv4w9u7zqljmuex46ekf6nspqmed7ky',
};
export const OTHER_KEY = {
  identity: 'AGE-SECRET-KEY-1QZ2LSYH3KYD9AVTG3S7C3S6Z04M852FT525MGKZ3FTJTFEQX04ZS22MSSA',
  recipient: 'age1mrl5r8lxflv60zpqshrcmy3q9py4gyzz0v392vwz6cxssnsdyejscvcst3',
};

// ---------------------------------------------------------------- the case

/** The starting directories (test/fuzz.test.ts makes them once, each case works on a copy). */
export const FIXTURES = ['fresh', 'missing', 'devPlain', 'devGit', 'multiGit', 'prodPlain'] as const;
export type Fixture = (typeof FIXTURES)[number];
/** Which envs a fixture has rendered, and whether it is a git repository. */
export const FIXTURE_INFO: Record<Fixture, { envs: string[]; git: boolean; exists: boolean }> = {
  fresh: { envs: [], git: false, exists: true },
  missing: { envs: [], git: false, exists: false },
  devPlain: { envs: ['dev'], git: false, exists: true },
  devGit: { envs: ['dev'], git: true, exists: true },
  multiGit: { envs: ['dev', 'prod'], git: true, exists: true },
  prodPlain: { envs: ['prod'], git: false, exists: true },
};

/** What a case's content functions may read: the fixture's own files, and the case directory. */
export interface Ctx {
  /** The case directory (absolute); the output is `${dir}/out`. `@CASE@` when printing. */
  dir: string;
  /** A file of the case's fixture (path relative to its output), or null. */
  fixtureFile: (path: string) => Buffer | null;
  /** A file of another fixture (a fresh dir's config is a rendered fixture's). */
  otherFixtureFile: (fixture: Fixture, path: string) => Buffer | null;
  /** Records what an edit did (known only once applied), for the report. */
  note: (label: string) => void;
}

/**
 * One change to the case directory before the run, paths relative to the case directory
 * (`out/...` is the output). Content is a function of the context: it may need the
 * fixture's text or the case directory's absolute path (in a lock file's hostile path).
 */
export type Op =
  | { op: 'write'; at: string; content: (c: Ctx) => Buffer; what: string }
  | { op: 'remove'; at: string; what: string }
  | { op: 'mkdir'; at: string; what: string }
  | { op: 'symlink'; at: string; target: string; what: string }
  /** Moves `at` to `to` and leaves a symlink to it at `at` (a part of the output that lives elsewhere). */
  | { op: 'moveAndLink'; at: string; to: string; what: string }
  | { op: 'git'; args: string[]; what: string };

export interface FuzzCase {
  seed: number;
  index: number;
  fixture: Fixture;
  /** The theme the case was built around (the report groups by it). */
  theme: Theme;
  /** argv after `scaffold.ts`; `@CASE@` stands for the case directory. */
  args: string[];
  ops: Op[];
  /** The age key file the run sees (SOPS_AGE_KEY_FILE = @CASE@/keys.txt). */
  key: 'fixture' | 'none' | 'other' | 'garbage' | 'both';
  /** A bare repository @CASE@/origin.git as the output's origin remote. */
  origin: 'none' | 'bare' | 'unreachable';
  /** What the case is, in words. */
  labels: string[];
}

export const THEMES = [
  'flags-valid',
  'flags-invalid',
  'flags-conflict',
  'config-valid',
  'config-invalid',
  'lock',
  'sops',
  'sealed',
  'symlink',
  'way',
  'git',
] as const;
export type Theme = (typeof THEMES)[number];

// ---------------------------------------------------------------- values

const HUGE = (n: number) => 'x'.repeat(n);

/** Strings that no setting takes, or that probe quoting and escaping. */
export function garbageString(r: Rng): string {
  return r.pick([
    '',
    ' ',
    '  padded  ',
    HUGE(r.pick([300, 5000, 100_000])),
    'ünïcödé',
    'стенд',
    '😀',
    'a\u202eb',
    'zero\u200bwidth',
    'a\nb',
    'line\r\nbreak',
    'tab\there',
    'ctl\x01\x02\x7f',
    'esc\x1b[31mred',
    'bell\x07',
    '-',
    '--',
    '-x',
    '../../etc',
    '/abs/path',
    'a b',
    'UPPER',
    '0',
    '-1',
    '1e9',
    '0x1f',
    'null',
    '~',
    'true',
    'on',
    'yes',
    '{}',
    '[]',
    '*alias',
    '&anchor',
    '#comment',
    'key: value',
    '"',
    "'",
    '\\',
    '%',
    '`id`',
    '$(id)',
    '${HOME}',
    'a,b,,c',
    '.',
    '..',
  ]);
}

/** Good (or plausible) values of each flag, by flag name. */
export const GOOD: Record<string, string[]> = {
  profile: ['dev', 'prod'],
  namespace: ['minio-x', 'minio-dev', 'minio', 'store', 'a'],
  replicas: ['1', '4', '8', '16'],
  storage: ['hostpath', 'pvc'],
  'host-path': ['/mnt/disk1/data', '/data', '/var/lib/minio'],
  size: ['8Gi', '1Mi', '500Gi', '1.5Ti', '1Ei'],
  'storage-class': ['', 'fast', 'standard.local'],
  secrets: ['plain', 'sops', 'external'],
  'secret-store': ['vault', 'aws-secrets-manager'],
  'secret-store-kind': ['SecretStore', 'ClusterSecretStore'],
  'remote-key': ['dev/minio', 'a key with spaces', 'ünï/😀', 'x'.repeat(2000)],
  tls: ['on', 'off', 'true', 'false'],
  issuer: ['self-signed', 'my-ca'],
  'issuer-kind': ['Issuer', 'ClusterIssuer'],
  ingress: ['on', 'off'],
  'ingress-issuer': ['', 'letsencrypt'],
  'ingress-issuer-kind': ['Issuer', 'ClusterIssuer'],
  'ingress-class': ['nginx', 'traefik'],
  'api-host': ['minio.example.com', 's3.a.b'],
  'console-host': ['console.example.com', 'c.a.b'],
  truststore: ['trust-manager', 'none'],
  'ca-secret': ['', 'my-ca-secret'],
  monitoring: ['on', 'off'],
  'metrics-auth': ['jwt', 'public'],
  kms: ['static', 'none'],
  'audit-webhook': ['', 'http://audit.logging.svc:8080/minio', 'https://audit.example.com/in'],
  spread: ['host', 'zone', 'none'],
  'repo-url': ['https://example.com/r.git', 'git@github.com:o/r.git', 'ssh://git@h.example/r', ''],
  revision: ['main', 'release/1', 'v1.2'],
  'consumer-names': ['per-env', 'legacy'],
  clusters: ['a,b', 'eu-1', '', 'a, b ,c'],
  gitops: ['flux', 'argocd'],
  ci: ['github', 'gitlab', 'none'],
  'flink-version': ['1.20.0', '1.18.1', '1.19.2', '2.0.0', '2.1.0'],
  'spark-version': ['3.5', '3.4', '4.0'],
  'iceberg-version': ['1.10.1', '1.9.2', '1.10.0'],
  'catalog-image': ['docker.io/apache/iceberg-rest-fixture:1.10.1', `registry.example/cat@sha256:${'a'.repeat(64)}`],
  'mc-image': ['quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z', `mc.example/mc@sha256:${'b'.repeat(64)}`],
  image: ['quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z', 'registry.example/minio:v1'],
  branch: ['scaffold/x', 'feature/fuzz', 'fuzz'],
  'age-recipient': [KEY.recipient, OTHER_KEY.recipient],
  rotate: ['root', 'console', 'flink', 'spark', 'iceberg', 'all'],
};

/** Values that a flag must refuse (or that are borderline), by flag name; garbageString adds more. */
export const BAD: Record<string, string[]> = {
  profile: ['staging', 'Dev', ''],
  namespace: [
    'default',
    'kube-system',
    'el-demo',
    'analytics',
    'cert-manager',
    'Minio',
    'a'.repeat(64),
    'minio_x',
    '-minio',
  ],
  replicas: ['0', '2', '3', '17', '4.0', '+4', ' 4', '1e1', '-1', '04', '99999999999999999999'],
  storage: ['nfs', 'PVC'],
  'host-path': ['rel/path', '/a/../b', '/a b', '/'],
  size: ['1Ki', '10', '8GB', '8 Gi', '0Gi', '1e3Gi'],
  'storage-class': ['Fast', 'a_b'],
  secrets: ['vault', 'none'],
  'secret-store': ['Vault', ''],
  'secret-store-kind': ['secretstore', 'Store'],
  'remote-key': ['', ' ', 'a\nb'],
  tls: ['yes', '1', 'ON'],
  issuer: ['', 'My CA'],
  'issuer-kind': ['issuer', 'CA'],
  ingress: ['maybe'],
  'ingress-issuer': ['LE'],
  'ingress-issuer-kind': ['cluster'],
  'ingress-class': ['', 'Nginx'],
  'api-host': ['', 'UPPER.example', 'a..b', 'minio.example.com.'],
  'console-host': ['', 'minio.example.com'],
  truststore: ['system', ''],
  'ca-secret': ['Secret'],
  monitoring: ['1'],
  'metrics-auth': ['none', 'JWT', ''],
  kms: ['kes', 'on', ''],
  'audit-webhook': ['ftp://x', 'https://u:p@h/x', 'https://h/x?t=1', 'h.example', 'http://'],
  spread: ['rack', 'Host', ''],
  'repo-url': ['file:///tmp/x', 'ftp://x', '/local/path', 'https://a b'],
  revision: ['a..b', '-main', 'with space', ''],
  'consumer-names': ['perenv', ''],
  clusters: ['a,a', 'A', ',,', 'a b'],
  gitops: ['fluxcd', 'argo'],
  ci: ['GitHub', 'jenkins', ''],
  'flink-version': ['1.17.0', '1.20', '3.0.0', '1.20.0.1'],
  'spark-version': ['3.3', '3', '3.50'],
  'iceberg-version': ['1.8.0', '2.0.0', '1.10'],
  'catalog-image': ['x:latest', 'UPPER:1', 'noTag'],
  'mc-image': ['minio/mc', 'mc:latest'],
  image: ['minio/minio', 'minio:latest', 'a@sha256:short'],
  branch: ['a..b', '-x', 'with space', 'main', 'scaffold/dev', 'HEAD', '@', 'a.lock', 'x/'],
  'age-recipient': [
    'age1xyz',
    KEY.recipient.toUpperCase(),
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake',
    `${KEY.recipient},${OTHER_KEY.recipient}`,
    ` ${KEY.recipient}`,
  ],
  rotate: ['nobody', 'ROOT', '', 'kms'],
};

export const SETTING_FLAG_NAMES = [
  'profile',
  'namespace',
  'replicas',
  'storage',
  'host-path',
  'size',
  'storage-class',
  'secrets',
  'secret-store',
  'secret-store-kind',
  'remote-key',
  'tls',
  'issuer',
  'issuer-kind',
  'ingress',
  'ingress-issuer',
  'ingress-issuer-kind',
  'ingress-class',
  'api-host',
  'console-host',
  'truststore',
  'ca-secret',
  'monitoring',
  'metrics-auth',
  'kms',
  'audit-webhook',
  'spread',
  'repo-url',
  'revision',
  'consumer-names',
  'clusters',
  'gitops',
  'ci',
  'flink-version',
  'spark-version',
  'iceberg-version',
  'catalog-image',
  'mc-image',
  'image',
];
/** Flags whose good values go with any env. */
const SAFE_FLAGS = [
  'size',
  'storage-class',
  'secret-store',
  'secret-store-kind',
  'remote-key',
  'ingress-class',
  'monitoring',
  'metrics-auth',
  'audit-webhook',
  'repo-url',
  'revision',
  'gitops',
  'ci',
  'flink-version',
  'catalog-image',
  'mc-image',
  'image',
  'consumer-names',
  'host-path',
  'api-host',
  'console-host',
  'namespace',
  'clusters',
];
/** Settings that go together. */
const PRESETS: string[][] = [
  ['--storage', 'pvc', '--replicas', '4'],
  ['--storage', 'pvc', '--replicas', '16', '--size', '1Ti'],
  ['--replicas', '1', '--storage', 'hostpath'],
  ['--tls', 'on'],
  ['--tls', 'off'],
  ['--tls', 'on', '--truststore', 'none'],
  ['--tls', 'on', '--issuer', 'my-ca', '--issuer-kind', 'Issuer', '--ca-secret', 'my-ca-secret'],
  ['--ingress', 'on', '--ingress-issuer', 'letsencrypt', '--ingress-issuer-kind', 'ClusterIssuer'],
  ['--ingress', 'on', '--tls', 'on'],
  ['--secrets', 'external', '--secret-store', 'vault', '--secret-store-kind', 'SecretStore'],
  ['--secrets', 'sops'],
  ['--secrets', 'sops', '--age-recipient', KEY.recipient, '--age-recipient', OTHER_KEY.recipient],
  ['--spark-version', '4.0', '--iceberg-version', '1.10.1'],
  ['--spark-version', '3.4', '--iceberg-version', '1.9.2'],
  ['--gitops', 'argocd', '--clusters', 'eu-1,us-1', '--repo-url', 'https://example.com/r.git'],
  ['--gitops', 'argocd', '--repo-url', 'git@github.com:o/r.git'],
  ['--gitops', 'flux', '--repo-url', 'ssh://git@h.example/r', '--revision', 'release/1'],
  ['--monitoring', 'on', '--ingress', 'on'],
  ['--consumer-names', 'legacy'],
  ['--flink-version', '1.18.1'],
  ['--flink-version', '2.1.0'],
];
const BOOLEAN_FLAGS = ['dry-run', 'check', 'force', 'no-commit', 'push', 'json'];

/** A flag with a value, in one of the spellings parseArgs takes. */
function flagWith(r: Rng, name: string, value: string): string[] {
  return r.chance(0.2) ? [`--${name}=${value}`] : [`--${name}`, value];
}

// ---------------------------------------------------------------- config texts

/** A small valid config with one env, written by hand (a person's file). */
const MINIMAL_CONFIG = '# my config\nenvs:\n  dev:\n    profile: dev\n';

function aliasBomb(levels: number): string {
  const names = 'abcdefghijklmnop'.slice(0, levels).split('');
  const lines = [`  ${names[0]}: &${names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < names.length; i++)
    lines.push(
      `  ${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

/** Every path (list of keys) to a node of a plain JS tree, the root excluded. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...at, i]), paths(v, [...at, i], out)));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push([...at, k]), paths(v, [...at, k], out);
  return out;
}

/** A value of any type, for a field that wants another. */
function garbageValue(r: Rng, depth = 0): unknown {
  const kind = r.weighted({ string: 5, number: 3, bool: 1, null: 1, list: 2, map: 2, deep: depth === 0 ? 1 : 0 });
  switch (kind) {
    case 'string':
      return garbageString(r);
    case 'number':
      return r.pick([0, -1, 1.5, 2 ** 53 + 2, 1e308, -0, Infinity, NaN, 4, 16, 17]);
    case 'bool':
      return r.chance(0.5);
    case 'null':
      return null;
    case 'list':
      return depth > 2 ? [] : Array.from({ length: r.int(4) }, () => garbageValue(r, depth + 1));
    case 'map':
      return depth > 2
        ? {}
        : Object.fromEntries(
            Array.from({ length: r.int(4) }, () => [
              r.pick(['a', 'profile', 'replicas', '', ' ', 'ü', '__proto__', 'constructor', '0']),
              garbageValue(r, depth + 1),
            ]),
          );
    default: {
      let v: unknown = 'bottom';
      for (let i = 0; i < r.pick([20, 200]); i++) v = r.chance(0.5) ? { a: v } : [v];
      return v;
    }
  }
}

type DocEdit = (doc: YAML.Document, js: any, r: Rng, env: string) => string;

/** Valid edits of a config document (each returns its label). */
const VALID_DOC_EDITS: Record<string, DocEdit> = {
  anchorsAndAliases: (doc, js, _r, env) => {
    const envs = Object.keys(js?.envs ?? {});
    const node = doc.getIn(['envs', envs[0] ?? env, 'resources'], true) as YAML.Node | undefined;
    if (!node || envs.length < 2) {
      const p = doc.getIn(['envs', envs[0] ?? env, 'buckets', 'flink', 'prefixes'], true) as YAML.Node | undefined;
      if (!p) return 'anchors (nothing to alias)';
      p.anchor = 'pfx';
      doc.setIn(['envs', envs[0] ?? env, 'buckets', 'flink', 'prefixes'], p);
      return 'anchor on a list (no alias)';
    }
    node.anchor = 'res';
    doc.setIn(['envs', envs[1]!, 'resources'], doc.createAlias(node as YAML.Scalar, 'res'));
    return `envs.${envs[1]}.resources is an alias of envs.${envs[0]}.resources`;
  },
  semantic: (doc, js, r, env) => {
    const e = Object.keys(js?.envs ?? {})[0] ?? env;
    const edit = r.pick([
      () => (doc.setIn(['envs', e, 'replicas'], 4), doc.setIn(['envs', e, 'storage'], 'pvc'), `${e}: replicas 4, pvc`),
      () => (doc.setIn(['envs', e, 'tls'], true), `${e}: tls true`),
      () => (
        doc.setIn(['envs', e, 'ingress'], true),
        doc.setIn(['envs', e, 'monitoring'], true),
        `${e}: ingress + monitoring`
      ),
      () => (
        doc.setIn(['envs', e, 'consumers', 'jobs'], {
          namespace: 'jobs',
          kind: 'flink-operator',
          user: 'jobs',
          buckets: ['flink'],
          checkpointInterval: '30s',
        }),
        `${e}: a flink-operator consumer`
      ),
      () => (
        doc.setIn(['envs', e, 'buckets', 'logs'], {
          prefixes: ['app/'],
          lifecycle: [{ prefix: 'app/', expireDays: 7 }],
          versioning: false,
          quota: '10GiB',
        }),
        `${e}: a bucket with lifecycle and quota`
      ),
      () => (doc.setIn(['envs', 'qa'], { profile: 'prod', namespace: 'minio-qa' }), 'a new env qa (prod profile)'),
      () => (doc.set('serviceMonitorLabels', { release: 'prometheus' }), 'serviceMonitorLabels'),
      () => (
        doc.set('gitops', 'argocd'), doc.setIn(['envs', e, 'clusters'], ['eu-1', 'us-1']), 'argocd with two clusters'
      ),
      () => (doc.set('repoURL', 'https://example.com/r.git'), 'repoURL'),
      () => (doc.setIn(['envs', e, 'remoteKey'], 'k'.repeat(200_000)), `${e}: remoteKey of 200k characters`),
      () => (doc.setIn(['envs', e, 'namespace'], null), `${e}: namespace null (default)`),
      () => {
        for (let i = 0; i < 40; i++) doc.setIn(['envs', e, 'buckets', `b-${i}`], { prefixes: [`p${i}/`] });
        return `${e}: 40 more buckets`;
      },
      () => (doc.setIn(['envs', e, 'consumerNames'], 'legacy'), `${e}: legacy consumer names`),
    ]);
    return edit();
  },
  explicitTags: (doc, js, _r, env) => {
    const e = Object.keys(js?.envs ?? {})[0] ?? env;
    const n = new YAML.Scalar(1);
    n.tag = 'tag:yaml.org,2002:int';
    doc.setIn(['envs', e, 'replicas'], n);
    return `${e}.replicas: !!int 1`;
  },
  flowStyle: (doc) => {
    YAML.visit(doc, {
      Map(_, node) {
        node.flow = true;
      },
    });
    return 'every map in flow style';
  },
};

/** Invalid (or hostile) edits of a config document. */
const INVALID_DOC_EDITS: Record<string, DocEdit> = {
  unknownTop: (doc, _js, r) => {
    const k = r.pick(['bogus', 'Image', 'envs2', 'consumerNamespaces', '']);
    doc.set(k, r.pick([1, 'x', { a: 1 }, null]));
    return `top-level key ${JSON.stringify(k)}`;
  },
  unknownEnvKey: (doc, js, r, env) => {
    const e = Object.keys(js?.envs ?? {})[0] ?? env;
    const k = r.pick(['bogus', 'Replicas', 'replica', '__proto__', 'constructor', 'toString']);
    doc.setIn(['envs', e, k], garbageValue(r));
    return `envs.${e}.${k}`;
  },
  wrongType: (doc, js, r) => {
    const all = paths(js);
    if (all.length === 0) return 'wrongType (no path)';
    const p = r.pick(all);
    const v = garbageValue(r);
    doc.setIn(p, v);
    return `${p.join('.')} = ${JSON.stringify(v)?.slice(0, 80)}`;
  },
  nestedGarbage: (doc, js, r) => {
    const maps = paths(js).filter((p) => {
      let v: any = js;
      for (const k of p) v = v?.[k];
      return v !== null && typeof v === 'object';
    });
    const p = maps.length ? r.pick(maps) : ['envs'];
    let v: unknown = { leaf: garbageValue(r) };
    for (let i = 0; i < 30; i++) v = r.chance(0.5) ? { [r.pick(['a', 'b', 'profile'])]: v } : [v, garbageValue(r, 3)];
    doc.setIn(p, v);
    return `${p.join('.')} replaced by 30 levels of garbage`;
  },
  protoKeys: (doc, js, r, env) => {
    const e = Object.keys(js?.envs ?? {})[0] ?? env;
    const where = r.pick([
      ['__proto__'],
      ['envs', '__proto__'],
      ['envs', e, 'buckets', '__proto__'],
      ['envs', e, 'consumers', '__proto__'],
      ['envs', 'constructor'],
    ]);
    doc.setIn(where, r.pick([{ polluted: true }, { profile: 'prod' }, 'x', { namespace: 'kube-system' }]));
    return `${where.join('.')} set`;
  },
  envNames: (doc, _js, r) => {
    const name = r.pick(['Dev', '1', 'a'.repeat(64), 'ünï', '', ' ', 'dev\n', 'x.y', 'true', '-a', 'null']);
    doc.setIn(['envs', name], { profile: 'dev' });
    return `an env named ${JSON.stringify(name)}`;
  },
  manyEnvs: (doc, _js, r) => {
    const n = r.pick([50, 300]);
    for (let i = 0; i < n; i++) doc.setIn(['envs', `e${i}`], { profile: r.pick(['dev', 'prod']) });
    return `${n} more envs`;
  },
  nulls: (doc, js, r) => {
    const all = paths(js);
    const p = all.length ? r.pick(all) : ['envs'];
    doc.setIn(p, null);
    return `${p.join('.')} = null`;
  },
};

/** Text-level edits (return [text, label]). */
const TEXT_EDITS: Record<string, (t: string, r: Rng, valid: boolean) => [string, string]> = {
  comments: (t, r) => {
    const lines = t.split('\n');
    const at = r.int(lines.length + 1);
    // Indented like the next line, so the comment sits inside its block.
    const indent = /^\s*/.exec(lines[at] ?? '')![0];
    lines.splice(at, 0, `${indent}# fuzz comment ünï 😀 "quoted" 'x' : - [ ] { }`);
    return [lines.join('\n'), `a comment at line ${at + 1}`];
  },
  docEnd: (t) => [`${t.replace(/\n*$/, '\n')}...\n`, 'an explicit document end (...)'],
  docStart: (t) => [`---\n${t}`, 'an explicit document start (---)'],
  yaml11: (t) => [`%YAML 1.1\n---\n${t}`, '%YAML 1.1 directive'],
  mergeKey: (t, r) => {
    if (!/^ {2}dev:\n/m.test(t)) return [t, 'mergeKey (no dev env)'];
    const out = `${t.replace(/^ {2}dev:\n/m, '  dev: &devenv\n')}\nextra:\n  <<: *devenv\n`;
    return [r.chance(0.5) ? out : `%YAML 1.1\n---\n${out}`, 'an anchor on envs.dev and a merge key (<<) using it'];
  },
  aliasBomb: (t, r) => {
    const levels = r.pick([4, 9]);
    return [
      `${t.replace(/\n*$/, '\n')}bomb:\n${aliasBomb(levels)}\n`,
      `an alias bomb (${levels} levels, 9^${levels} nodes) under bomb:`,
    ];
  },
  aliasBombInEnv: (t) => {
    if (!/^ {4}buckets:\n/m.test(t)) return [t, 'aliasBombInEnv (no buckets)'];
    return [
      t
        .replace(/^ {4}buckets:\n/m, `    buckets:\n      bomb:\n        prefixes: *i\n`)
        .replace(/^envs:\n/m, `lol:\n${aliasBomb(9)}\nenvs:\n`),
      'an alias bomb (9 levels) used as a bucket prefix list',
    ];
  },
  undefinedAlias: (t) => [`${t.replace(/\n*$/, '\n')}x: *nowhere\n`, 'an alias to no anchor'],
  deepNesting: (t, r) => {
    const n = r.pick([1000, 10_000, 100_000]);
    const flow = r.chance(0.5) ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{a: '.repeat(n)}1${'}'.repeat(n)}`;
    return [`${t.replace(/\n*$/, '\n')}deep: ${flow}\n`, `${n} levels of flow nesting under deep:`];
  },
  deepBlock: (t, r) => {
    const n = r.pick([500, 3000]);
    const lines = Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
    return [`${t.replace(/\n*$/, '\n')}deep:\n ${lines.trimStart()} 1\n`, `${n} levels of block nesting under deep:`];
  },
  hugeComment: (t, r) => {
    const n = r.pick([1e6, 5e6]);
    return [`${t.replace(/\n*$/, '\n')}# ${'x'.repeat(n)}\n`, `a ${n / 1e6} MB comment line`];
  },
  hugeValue: (t, r) => {
    const n = r.pick([1e6, 4e6]);
    return [`${t.replace(/\n*$/, '\n')}huge: "${'y'.repeat(n)}"\n`, `a ${n / 1e6} MB value under an unknown key`];
  },
  hugeList: (t) => [
    `${t.replace(/\n*$/, '\n')}list:\n${'  - item\n'.repeat(200_000)}`,
    'a list of 200k items under an unknown key',
  ],
  tabs: (t, r) => {
    const lines = t.split('\n');
    const idx = lines.map((l, i) => (/^ {2,}\S/.test(l) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) return [t, 'tabs (no indented line)'];
    const i = r.pick(idx);
    lines[i] = lines[i]!.replace(/^ {2}/, '\t');
    return [lines.join('\n'), `a tab indents line ${i + 1}`];
  },
  tabAfterValue: (t) => [t.replace(/^(\s*replicas: \d+)$/m, '$1\t\t'), 'tabs after a value'],
  dupKey: (t, r) => {
    const lines = t.split('\n');
    const idx = lines.map((l, i) => (/^\s*[A-Za-z]+: \S/.test(l) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) return [t, 'dupKey (no key)'];
    const i = r.pick(idx);
    lines.splice(i + 1, 0, lines[i]!.replace(/: .*$/, ': 4'));
    return [lines.join('\n'), `line ${i + 1}'s key twice`];
  },
  multiDoc: (t, r) => [`${t.replace(/\n*$/, '\n')}---\n${r.pick(['envs: {}', 'x: 1', '', t])}\n`, 'two YAML documents'],
  truncate: (t, r) => {
    const at = r.int(t.length);
    return [t.slice(0, at), `cut after ${at} of ${t.length} characters`];
  },
  controlChars: (t) => [
    t.replace(/^(\s*)remoteKey: .*$/m, '$1remoteKey: "a\\x01b\\0c\\x1b[31m"'),
    'remoteKey with control characters and NUL (escaped in YAML)',
  ],
  tags: (t, r) => {
    const tag = r.pick([
      '!!binary aGVsbG8=',
      '!!set {a, b}',
      '!!omap [a: 1]',
      '!!timestamp 2001-12-14',
      '!custom x',
      '!!float 4',
      '!!str 4',
      '!!map {}',
      '!!seq []',
      '!<tag:yaml.org,2002:int> 4',
    ]);
    const field = r.pick(['replicas', 'namespace', 'buckets', 'resources', 'tls', 'clusters', 'size']);
    const re = new RegExp(`^(\\s*)${field}:.*$`, 'm');
    if (!re.test(t))
      return [`${t.replace(/\n*$/, '\n')}tagged: ${tag}\n`, `a tagged value ${tag} under an unknown key`];
    // A block value (resources:, buckets:) is replaced with its children left in place: indent breaks, or not.
    return [t.replace(re, `$1${field}: ${tag}`), `${field}: ${tag}`];
  },
  complexKey: (t) => [`${t.replace(/\n*$/, '\n')}? [a, b]\n: 1\n`, 'a complex (list) key'],
  garbageText: (_t, r) => [
    r.pick([
      '{{{{',
      ']]',
      ': : :',
      '- - -',
      '"unterminated',
      "'",
      '*',
      '&',
      '!',
      '|',
      '>',
      '%TAG',
      '@',
      '`',
      'key: [1, 2',
      'a: b: c',
    ]),
    'garbage text',
  ],
  scalarDoc: (_t, r) => {
    const s = r.pick([
      '42',
      '"a string"',
      '[]',
      '[1, 2]',
      'null',
      '~',
      'true',
      '',
      '   \n\n',
      '# only a comment\n',
      '---\n',
      '...\n',
      '{}',
    ]);
    return [s, `the whole file is ${JSON.stringify(s)}`];
  },
  envsNull: (t) => [t.replace(/^envs:\n[\s\S]*?(?=^\S|(?![\s\S]))/m, 'envs:\n'), 'envs: with nothing under it'],
};

/** Byte-level edits: invalid UTF-8, a BOM, CRLF, NUL bytes. */
const BYTE_EDITS: Record<string, (b: Buffer, r: Rng) => [Buffer, string]> = {
  crlf: (b) => [Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'), 'CRLF line ends'],
  crOnly: (b) => [Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r'), 'latin1'), 'CR-only line ends'],
  bom: (b) => [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]), 'a UTF-8 BOM'],
  utf16: (b) => [
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b.toString('utf8'), 'utf16le')]),
    'the file in UTF-16LE with BOM',
  ],
  invalidUtf8InComment: (b, r) => {
    const bad = Buffer.from(
      r.pick([
        [0xff, 0xfe],
        [0xc3, 0x28],
        [0xe2, 0x82],
        [0xed, 0xa0, 0x80],
        [0xc0, 0xaf],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ]),
    );
    return [
      Buffer.concat([Buffer.from('# comment with bad bytes: '), bad, Buffer.from('\n'), b]),
      `invalid UTF-8 (${bad.toString('hex')}) in a leading comment`,
    ];
  },
  invalidUtf8InValue: (b, r) => {
    const s = b.toString('latin1');
    const m = /^(\s*(?:remoteKey|namespace|image|apiHost): )/m.exec(s);
    const bad = r.pick(['\xff\xfe', '\xc3\x28', '\x80']);
    if (!m) return [Buffer.concat([b, Buffer.from('x: \xff\n', 'latin1')]), 'invalid UTF-8 in an unknown key'];
    return [Buffer.from(s.replace(m[1]!, `${m[1]}${bad}`), 'latin1'), `invalid UTF-8 at the start of ${m[1]!.trim()}`];
  },
  nulByte: (b, r) => {
    const at = r.int(b.length + 1);
    return [Buffer.concat([b.subarray(0, at), Buffer.from([0]), b.subarray(at)]), `a NUL byte at offset ${at}`];
  },
};

/** A config text for the case: a fixture's (or the minimal one), edited. */
function configContent(
  r: Rng,
  base: 'fixture' | 'devFixture' | 'multiFixture' | 'minimal',
  valid: boolean,
  env: string,
  labels: string[],
): (c: Ctx) => Buffer {
  // Choices first (so the case is fixed by the seed), applied to the text later.
  const docEdits = valid
    ? r.shuffle(Object.keys(VALID_DOC_EDITS)).slice(0, r.range(0, 2))
    : r.shuffle(Object.keys(INVALID_DOC_EDITS)).slice(0, r.range(0, 1));
  const textEditNames = valid
    ? r.shuffle(['comments', 'docEnd', 'docStart', 'comments', 'yaml11']).slice(0, r.range(0, 2))
    : r
        .shuffle(Object.keys(TEXT_EDITS).filter((k) => !['comments', 'docEnd', 'docStart'].includes(k)))
        .slice(0, docEdits.length === 0 ? 1 : r.range(0, 1));
  const byteEditNames = valid
    ? r.shuffle(['crlf', 'bom', 'invalidUtf8InComment']).slice(0, r.chance(0.4) ? 1 : 0)
    : r.chance(0.35)
      ? [r.pick(Object.keys(BYTE_EDITS))]
      : [];
  const seed = r.int(2 ** 31);
  labels.push(`config from ${base}${valid ? '' : ' (invalid edits)'}`);
  return (c) => {
    const rr = new Rng(seed);
    const source =
      base === 'minimal' ? MINIMAL_CONFIG : (c.fixtureFile('scaffold.config.yaml')?.toString('utf8') ?? MINIMAL_CONFIG);
    let text = source;
    if (docEdits.length > 0) {
      const doc = YAML.parseDocument(text);
      const js = doc.toJS();
      for (const name of docEdits)
        c.note(`config doc: ${(valid ? VALID_DOC_EDITS : INVALID_DOC_EDITS)[name]!(doc, js, rr, env)}`);
      text = doc.toString({ lineWidth: 0 });
    }
    for (const name of textEditNames) {
      const [t, label] = TEXT_EDITS[name]!(text, rr, valid);
      text = t;
      c.note(`config text: ${label}`);
    }
    let bytes: Buffer = Buffer.from(text);
    for (const name of byteEditNames) {
      const [b, label] = BYTE_EDITS[name]!(bytes, rr);
      bytes = b;
      c.note(`config bytes: ${label}`);
    }
    return bytes;
  };
}

// ---------------------------------------------------------------- lock, .sops.yaml, sealed files

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
export const VICTIM = 'victim.txt';
export const VICTIM_CONTENT = 'I live outside the output directory and must survive every run.\n';

function lockContent(r: Rng, env: string, labels: string[]): (c: Ctx) => Buffer {
  const kind = r.weighted({
    hostileRelative: 4,
    hostileAbsolute: 2,
    hostileDeep: 2,
    pendingHostile: 1,
    damaged: 3,
    editedHash: 2,
    empty: 1,
    aliasBomb: 1,
    invalidUtf8: 1,
    huge: 1,
    crlf: 1,
  });
  const prefix = r.pick([`overlays/${env}/`, 'base/', 'scripts/', `sealed/${env}/`, `clusters/${env}/`]);
  const ups = prefix.split('/').length - 1; // segments to climb back to the output
  labels.push(`lock: ${kind}${kind.startsWith('hostile') ? ` via ${prefix}` : ''}`);
  const damaged = r.pick([
    'files: []\n',
    'files:\n  a: notahash\n',
    `files:\n  a: ${'A'.repeat(64)}\n`,
    'files: {}\npending: x\n',
    'files: {}\nsealed: {x: 1}\n',
    'files: {}\nsealed: []\n',
    '{{{\n',
    '42\n',
    '- a\n- b\n',
    'files: {}\npending: [1]\n',
    'files:\n  overlays/dev/kustomization.yaml: 0\n',
  ]);
  const editedIndex = r.int(1000);
  return (c) => {
    const own =
      c.fixtureFile('scaffold.lock.yaml')?.toString('utf8') ?? '# Files that minio-gitops generated\nfiles: {}\n';
    const victimSha = sha(VICTIM_CONTENT);
    const addFile = (text: string, path: string, hash: string) => {
      const doc = YAML.parseDocument(text);
      if (!YAML.isMap(doc.get('files'))) doc.set('files', doc.createNode({}));
      doc.setIn(['files', path], hash);
      return doc.toString({ lineWidth: 0 });
    };
    switch (kind) {
      case 'hostileRelative':
        return Buffer.from(addFile(own, `${prefix}${'../'.repeat(ups + 1)}${VICTIM}`, victimSha));
      case 'hostileAbsolute':
        return Buffer.from(
          addFile(addFile(own, `${c.dir}/${VICTIM}`, victimSha), `${prefix}${c.dir}/${VICTIM}`, victimSha),
        );
      case 'hostileDeep':
        return Buffer.from(
          addFile(own, `${prefix}${'../'.repeat(ups + 12)}${c.dir.replace(/^\//, '')}/${VICTIM}`, victimSha),
        );
      case 'pendingHostile': {
        const doc = YAML.parseDocument(own);
        doc.set('pending', [`${prefix}${'../'.repeat(ups + 1)}${VICTIM}`, `${c.dir}/${VICTIM}`]);
        return Buffer.from(doc.toString({ lineWidth: 0 }));
      }
      case 'damaged':
        return Buffer.from(damaged);
      case 'editedHash': {
        const doc = YAML.parseDocument(own);
        const files = doc.get('files');
        if (YAML.isMap(files) && files.items.length > 0) {
          const item = files.items[editedIndex % files.items.length]!;
          item.value = doc.createNode('0'.repeat(64));
        }
        return Buffer.from(doc.toString({ lineWidth: 0 }));
      }
      case 'empty':
        return Buffer.from('');
      case 'aliasBomb':
        return Buffer.from(`${own.replace(/\n*$/, '\n')}bomb:\n${aliasBomb(9)}\n`);
      case 'invalidUtf8':
        return Buffer.concat([
          Buffer.from(own.slice(0, 120)),
          Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
          Buffer.from(own.slice(120)),
        ]);
      case 'huge':
        return Buffer.from(`${own.replace(/\n*$/, '\n')}${'# padding\n'.repeat(300_000)}`);
      default:
        return Buffer.from(own.replace(/\n/g, '\r\n'));
    }
  };
}

function sopsContent(r: Rng, labels: string[]): (c: Ctx) => Buffer {
  const variants: [string, string][] = [
    ['creation_rules: [\n', 'not YAML'],
    ['creation_rules: 5\n', 'creation_rules is a number'],
    ['creation_rules: []\n', 'no rules'],
    [`creation_rules:\n  - path_regex: other/.*\n    age: ${KEY.recipient}\n`, 'no rule covers sealed/'],
    [`creation_rules:\n  - path_regex: "("\n    age: ${KEY.recipient}\n`, 'path_regex is not a regex'],
    [
      `creation_rules:\n  - path_regex: "^(a+)+$"\n  - path_regex: sealed/\n    age: ${KEY.recipient}\n`,
      'a nested-quantifier regex first',
    ],
    [
      'creation_rules:\n  - path_regex: "(?i)SEALED/.*"\n    encrypted_regex: ^(data|stringData)$\n    age: ' +
        KEY.recipient +
        '\n',
      '(?i) regex',
    ],
    [`creation_rules:\n  - path_regex: "(?<=x)sealed"\n    age: ${KEY.recipient}\n`, 'lookbehind regex (not RE2)'],
    [
      'creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    encrypted_regex: ^data$\n    age: ' +
        KEY.recipient +
        '\n',
      'another encrypted_regex',
    ],
    [
      'creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ' +
        OTHER_KEY.recipient +
        '\n',
      'another (valid) recipient',
    ],
    [
      'creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age:\n      - ' +
        KEY.recipient +
        '\n      - ' +
        OTHER_KEY.recipient +
        '\n',
      'two recipients as a list',
    ],
    ['creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    age: "age1garbage"\n', 'a bad recipient'],
    ['creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    age: ""\n', 'no recipient'],
    ['creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    age: [1, {a: b}, null]\n', 'recipients of wrong types'],
    ['creation_rules:\n  - 42\n  - null\n', 'rules that are not maps'],
    [`creation_rules:\n  - path_regex: [a]\n    age: ${KEY.recipient}\n`, 'path_regex is a list'],
    [`bomb:\n${aliasBomb(9)}\ncreation_rules:\n  - path_regex: sealed/\n    age: ${KEY.recipient}\n`, 'an alias bomb'],
    ['\xff\xfe\x00c', 'binary garbage'],
    ['', 'an empty file'],
    [
      'creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ' +
        KEY.recipient +
        '\n' +
        'x: '.repeat(1) +
        '"' +
        'z'.repeat(3e6) +
        '"\n',
      'a 3 MB value',
    ],
  ];
  const [text, label] = r.pick(variants);
  labels.push(`.sops.yaml: ${label}`);
  return () => Buffer.from(text, 'latin1');
}

function sealedContent(r: Rng, labels: string[]): { path: string; content?: (c: Ctx) => Buffer; remove?: boolean } {
  const file = r.pick([
    'sealed/prod/minio-root-credentials.yaml',
    'sealed/prod/bootstrap/minio-consumer-flink.yaml',
    'sealed/prod/consumers/minio-s3-credentials-spark.yaml',
    'sealed/prod/minio-console-basic-auth.yaml',
  ]);
  const kind = r.pick([
    'truncate',
    'garbage',
    'noSops',
    'badMac',
    'remove',
    'invalidUtf8',
    'valueEdited',
    'aliasBomb',
    'recipientRemoved',
  ]);
  labels.push(`${file}: ${kind}`);
  if (kind === 'remove') return { path: file, remove: true };
  return {
    path: file,
    content: (c) => {
      const own = c.fixtureFile(file)?.toString('utf8') ?? '';
      switch (kind) {
        case 'truncate':
          return Buffer.from(own.slice(0, Math.floor(own.length / 2)));
        case 'garbage':
          return Buffer.from('{{{ not yaml');
        case 'noSops':
          return Buffer.from(own.replace(/^sops:[\s\S]*$/m, ''));
        case 'badMac':
          return Buffer.from(
            own.replace(
              /mac: ENC\[AES256_GCM,data:([A-Za-z0-9+/])/,
              (_m, ch: string) => `mac: ENC[AES256_GCM,data:${ch === 'A' ? 'B' : 'A'}`,
            ),
          );
        case 'invalidUtf8':
          return Buffer.concat([Buffer.from(own), Buffer.from('# \xff\xfe\n', 'latin1')]);
        case 'valueEdited':
          return Buffer.from(own.replace(/ENC\[AES256_GCM,data:[^,]*/, 'ENC[AES256_GCM,data:AAAA'));
        case 'aliasBomb':
          return Buffer.from(`${own.replace(/\n*$/, '\n')}bomb:\n${aliasBomb(9)}\n`);
        default:
          return Buffer.from(own.replace(/^ {8}- recipient: [\s\S]*?(?=^ {4}\S)/m, ''));
      }
    },
  };
}

// ---------------------------------------------------------------- the case generator

function pickEnv(r: Rng, fixture: Fixture): string {
  const rendered = FIXTURE_INFO[fixture].envs;
  return r.weighted({ rendered: rendered.length ? 6 : 0, dev: 3, prod: 3, staging: 1 }) === 'rendered'
    ? r.pick(rendered)
    : r.pick(['dev', 'prod', 'staging', 'qa']);
}

export function generateCase(seed: number, index: number): FuzzCase {
  const r = new Rng(caseSeed(seed, index));
  const theme = r.weighted<Theme>({
    'flags-valid': 3,
    'flags-invalid': 1.5,
    'flags-conflict': 1,
    'config-valid': 3,
    'config-invalid': 2,
    lock: 1.5,
    sops: 1,
    sealed: 1,
    symlink: 1,
    way: 1,
    git: 1.5,
  });
  const fixture: Fixture =
    theme === 'lock' || theme === 'symlink'
      ? r.pick(['devGit', 'multiGit', 'devPlain', 'prodPlain', 'fresh'])
      : theme === 'sealed'
        ? r.pick(['multiGit', 'prodPlain'])
        : theme === 'git'
          ? r.pick(['devGit', 'multiGit', 'devPlain', 'fresh'])
          : r.weighted({ fresh: 4, missing: 1, devPlain: 3, devGit: 4, multiGit: 4, prodPlain: 2 });
  const info = FIXTURE_INFO[fixture];
  const labels: string[] = [`theme ${theme}`, `fixture ${fixture}`];
  const ops: Op[] = [];
  let env = pickEnv(r, fixture);
  // Themes about files: mostly the env the fixture rendered, so that the files are read.
  if (!theme.startsWith('flags') && info.envs.length > 0 && r.chance(0.7)) env = r.pick(info.envs);
  if (theme === 'sealed') env = 'prod';
  const args: string[] = [];
  const out = '@CASE@/out';

  // --- flags
  // Good values: a coherent preset (settings that go together) and flags that stand alone;
  // any flag with a good value, in combinations that may still be refused; bad values.
  const settingFlags = (n: number, good: boolean) => {
    if (good && r.chance(0.75)) {
      if (n > 0 && r.chance(0.6)) args.push(...r.pick(PRESETS));
      for (const name of r.shuffle([...SAFE_FLAGS]).slice(0, Math.max(0, n - 1)))
        args.push(...flagWith(r, name, r.pick(GOOD[name]!)));
      return;
    }
    for (const name of r.shuffle([...SETTING_FLAG_NAMES]).slice(0, n)) {
      const value = good ? r.pick(GOOD[name]!) : r.chance(0.6) ? r.pick(BAD[name]!) : garbageString(r);
      args.push(...flagWith(r, name, value));
    }
  };
  const envArg =
    theme === 'flags-invalid' && r.chance(0.3)
      ? r.pick(['Dev', '', 'a'.repeat(64), 'dev\n', 'dév', '../x', '.', '-', 'kube-system', 'x_y'])
      : env;
  args.push(...flagWith(r, 'env', envArg));
  if (
    env !== 'dev' &&
    env !== 'prod' &&
    !(fixture === 'multiGit' && env === 'prod') &&
    (!theme.startsWith('flags') || r.chance(0.8))
  )
    args.push(...flagWith(r, 'profile', r.pick(['dev', 'prod'])));
  let outArg =
    theme === 'flags-invalid' && r.chance(0.25)
      ? r.pick([
          '@CASE@/afile',
          '@CASE@/afile/sub',
          '@CASE@/out/',
          '@CASE@/out/./',
          '@CASE@/new/deep/dir',
          '@CASE@/out/overlays',
        ])
      : out;
  if (outArg.startsWith('@CASE@/afile'))
    ops.push({
      op: 'write',
      at: 'afile',
      content: () => Buffer.from('a file, not a directory\n'),
      what: 'a file at @CASE@/afile',
    });
  if (r.chance(0.3) && (env === 'prod' || fixture === 'multiGit'))
    args.push(...flagWith(r, 'repo-url', r.pick(GOOD['repo-url']!)));

  switch (theme) {
    case 'flags-valid':
      settingFlags(r.range(1, 5), true);
      for (const b of r.shuffle([...BOOLEAN_FLAGS]).slice(0, r.range(0, 2)))
        if ((b !== 'check' && b !== 'dry-run') || r.chance(0.5)) args.push(`--${b}`);
      if (r.chance(0.3)) args.push(...flagWith(r, 'branch', r.pick(GOOD.branch!)));
      if (r.chance(0.25)) args.push(...flagWith(r, 'age-recipient', r.pick(GOOD['age-recipient']!)));
      if (r.chance(0.2)) args.push(...flagWith(r, 'rotate', r.pick(GOOD.rotate!)));
      break;
    case 'flags-invalid': {
      settingFlags(r.range(0, 2), true);
      settingFlags(r.range(1, 3), false);
      const extra = r.pick([
        ['--bogus'],
        ['--bogus', 'x'],
        ['positional'],
        ['-x'],
        ['-hx'],
        ['--'],
        ['--', '--env', 'dev'],
        ['--dry-run=yes'],
        ['--no-commit=true'],
        ['--env'],
        ['--replicas'],
        ['--json', '--help'],
        ['-h'],
        ['--help=1'],
        ['--Env', 'dev'],
        ['--env', '--dry-run'],
        ['---env', 'dev'],
        ['--\u00e9nv', 'dev'],
        [...flagWith(r, 'branch', r.pick(BAD.branch!))],
        [...flagWith(r, 'age-recipient', r.pick(BAD['age-recipient']!))],
        [...flagWith(r, 'rotate', r.pick(BAD.rotate!))],
        [],
        [],
        [],
      ]);
      args.splice(r.int(args.length + 1), 0, ...extra);
      break;
    }
    case 'flags-conflict': {
      settingFlags(r.range(0, 2), true);
      const combo = r.pick([
        ['--push', '--no-commit'],
        ['--check', '--dry-run'],
        ['--check', '--force'],
        ['--dry-run', '--push'],
        ['--check', '--rotate', 'all'],
        ['--dry-run', '--rotate', 'root'],
        ['--no-commit', '--branch', 'x'],
        ['--check', '--no-commit'],
        ['--json', '--dry-run'],
        ['--check', '--json'],
        ['--tls', 'off', '--truststore', 'none'],
        ['--tls', 'off', '--ca-secret', 'x'],
        ['--secrets', 'plain', '--profile', 'prod'],
        ['--secrets', 'plain', '--rotate', 'root'],
        ['--storage', 'hostpath', '--replicas', '4'],
        ['--ingress', 'on', '--api-host', 'a.b', '--console-host', 'a.b'],
        ['--issuer', 'my-ca', '--tls', 'on'],
        ['--secrets', 'external', '--age-recipient', KEY.recipient],
        ['--spark-version', '4.0', '--iceberg-version', '1.9.2'],
        ['--namespace', 'monitoring'],
        ['--clusters', 'a', '--gitops', 'flux'],
        ['--env', 'dev', '--env', 'prod'],
        ['--replicas', '4', '--replicas', '1'],
        ['--rotate', 'root', '--rotate', 'root'],
        ['--age-recipient', KEY.recipient, '--age-recipient', KEY.recipient],
        ['--profile', 'prod', '--env', 'dev'],
        ['--force', '--dry-run'],
      ]);
      args.push(...combo);
      break;
    }
    case 'config-valid':
    case 'config-invalid': {
      const base =
        info.exists && info.envs.length > 0 && r.chance(0.7)
          ? 'fixture'
          : r.pick(['devFixture', 'multiFixture', 'minimal'] as const);
      const valid = theme === 'config-valid';
      const content = configContent(r, base, valid, env, labels);
      ops.push({
        op: 'write',
        at: 'out/scaffold.config.yaml',
        content: (c) => {
          // A fresh dir takes its text from the named fixture (the case's fixture has none).
          const from = base === 'devFixture' ? 'devGit' : base === 'multiFixture' ? 'multiGit' : null;
          return content(from ? { ...c, fixtureFile: (p) => c.otherFixtureFile(from, p) } : c);
        },
        what: 'scaffold.config.yaml',
      });
      if (r.chance(0.3)) settingFlags(r.range(1, 2), true);
      break;
    }
    case 'lock':
      ops.push({
        op: 'write',
        at: 'out/scaffold.lock.yaml',
        content: lockContent(r, env, labels),
        what: 'scaffold.lock.yaml',
      });
      if (r.chance(0.4)) settingFlags(1, true);
      if (r.chance(0.2)) args.push('--force');
      break;
    case 'sops':
      if (env !== 'prod' && !args.includes('--secrets')) args.push('--secrets', 'sops');
      ops.push({ op: 'write', at: 'out/.sops.yaml', content: sopsContent(r, labels), what: '.sops.yaml' });
      if (r.chance(0.3))
        args.push(...flagWith(r, 'age-recipient', r.pick([...GOOD['age-recipient']!, ...BAD['age-recipient']!])));
      break;
    case 'sealed': {
      const s = sealedContent(r, labels);
      ops.push(
        s.remove
          ? { op: 'remove', at: `out/${s.path}`, what: s.path }
          : { op: 'write', at: `out/${s.path}`, content: s.content!, what: s.path },
      );
      if (r.chance(0.3)) args.push(...flagWith(r, 'rotate', r.pick(GOOD.rotate!)));
      if (r.chance(0.3)) settingFlags(1, true);
      break;
    }
    case 'symlink': {
      const e = info.envs[0] ?? 'dev';
      const kind = r.pick([
        'dirOut',
        'configLink',
        'lockLink',
        'sopsLink',
        'fileLink',
        'loop',
        'dangling',
        'outLink',
        'generatedToVictim',
      ]);
      labels.push(`symlink: ${kind}`);
      if (kind === 'dirOut' && info.envs.length)
        ops.push({
          op: 'moveAndLink',
          at: `out/overlays/${e}/bootstrap`,
          to: 'victimdir/bootstrap',
          what: `overlays/${e}/bootstrap is a symlink to a directory outside the output`,
        });
      if (kind === 'configLink')
        ops.push(
          {
            op: 'write',
            at: 'victim-config.yaml',
            content: (c) => c.fixtureFile('scaffold.config.yaml') ?? Buffer.from(MINIMAL_CONFIG),
            what: 'a config outside',
          },
          { op: 'remove', at: 'out/scaffold.config.yaml', what: '' },
          {
            op: 'symlink',
            at: 'out/scaffold.config.yaml',
            target: '../victim-config.yaml',
            what: 'scaffold.config.yaml -> ../victim-config.yaml',
          },
        );
      if (kind === 'lockLink')
        ops.push(
          {
            op: 'write',
            at: 'victim-lock.yaml',
            content: (c) => c.fixtureFile('scaffold.lock.yaml') ?? Buffer.from('files: {}\n'),
            what: 'a lock outside',
          },
          { op: 'remove', at: 'out/scaffold.lock.yaml', what: '' },
          {
            op: 'symlink',
            at: 'out/scaffold.lock.yaml',
            target: '@CASE@/victim-lock.yaml',
            what: 'scaffold.lock.yaml -> @CASE@/victim-lock.yaml (absolute)',
          },
        );
      if (kind === 'sopsLink')
        ops.push(
          {
            op: 'write',
            at: 'victim-sops.yaml',
            content: () =>
              Buffer.from(
                `creation_rules:\n  - path_regex: sealed/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${KEY.recipient}\n`,
              ),
            what: 'a .sops.yaml outside',
          },
          { op: 'remove', at: 'out/.sops.yaml', what: '' },
          {
            op: 'symlink',
            at: 'out/.sops.yaml',
            target: '../victim-sops.yaml',
            what: '.sops.yaml -> ../victim-sops.yaml',
          },
        );
      if (kind === 'fileLink' && info.envs.length)
        ops.push({
          op: 'moveAndLink',
          at: `out/overlays/${e}/kustomization.yaml`,
          to: 'victim-kustomization.yaml',
          what: `overlays/${e}/kustomization.yaml is a symlink to a file outside`,
        });
      if (kind === 'loop')
        ops.push(
          { op: 'remove', at: `out/overlays/${e}/kustomization.yaml`, what: '' },
          { op: 'mkdir', at: `out/overlays/${e}`, what: '' },
          {
            op: 'symlink',
            at: `out/overlays/${e}/kustomization.yaml`,
            target: 'kustomization.yaml',
            what: `overlays/${e}/kustomization.yaml is a symlink to itself`,
          },
        );
      if (kind === 'dangling')
        ops.push(
          { op: 'remove', at: `out/overlays/${e}/kustomization.yaml`, what: '' },
          { op: 'mkdir', at: `out/overlays/${e}`, what: '' },
          {
            op: 'symlink',
            at: `out/overlays/${e}/kustomization.yaml`,
            target: '@CASE@/nowhere/k.yaml',
            what: `overlays/${e}/kustomization.yaml is a dangling symlink`,
          },
        );
      if (kind === 'outLink') {
        ops.push({ op: 'symlink', at: 'outlink', target: 'out', what: '@CASE@/outlink -> out, used as --out' });
        outArg = '@CASE@/outlink';
      }
      if (kind === 'generatedToVictim')
        ops.push(
          { op: 'remove', at: `out/overlays/${e}/README.md`, what: '' },
          { op: 'mkdir', at: `out/overlays/${e}`, what: '' },
          {
            op: 'symlink',
            at: `out/overlays/${e}/README.md`,
            target: `../../../${VICTIM}`,
            what: `overlays/${e}/README.md -> the victim file outside`,
          },
        );
      if (r.chance(0.5)) settingFlags(1, true);
      if (r.chance(0.3)) args.push('--force');
      break;
    }
    case 'way': {
      const e = info.envs[0] ?? env;
      const kind = r.pick([
        'configDir',
        'lockDir',
        'sopsDir',
        'overlaysFile',
        'minioFile',
        'gitFile',
        'keyDir',
        'generatedDir',
        'staleTemp',
        'strayFile',
      ]);
      labels.push(`in the way: ${kind}`);
      const swap = (at: string, as: 'dir' | 'file'): Op[] => [
        { op: 'remove', at, what: '' },
        as === 'dir'
          ? { op: 'mkdir', at: `${at}/inside`, what: `${at} is a directory` }
          : { op: 'write', at, content: () => Buffer.from('a file\n'), what: `${at} is a file` },
      ];
      if (kind === 'configDir') ops.push(...swap('out/scaffold.config.yaml', 'dir'));
      if (kind === 'lockDir') ops.push(...swap('out/scaffold.lock.yaml', 'dir'));
      if (kind === 'sopsDir') ops.push(...swap('out/.sops.yaml', 'dir'));
      if (kind === 'overlaysFile') ops.push(...swap('out/overlays', 'file'));
      if (kind === 'minioFile') ops.push(...swap(`out/overlays/${e}/minio`, 'file'));
      if (kind === 'gitFile') ops.push(...swap('out/.git', 'file'));
      if (kind === 'keyDir')
        ops.push(
          { op: 'remove', at: 'keys.txt', what: '' },
          { op: 'mkdir', at: 'keys.txt/inside', what: 'SOPS_AGE_KEY_FILE is a directory' },
        );
      if (kind === 'generatedDir') ops.push(...swap(`out/overlays/${e}/kustomization.yaml`, 'dir'));
      if (kind === 'staleTemp')
        ops.push({
          op: 'write',
          at: `out/overlays/${e}/kustomization.yaml.tmp-12345`,
          content: () => Buffer.from('stale\n'),
          what: 'a stale temp file of a killed run',
        });
      if (kind === 'strayFile')
        ops.push({
          op: 'write',
          at: `out/overlays/${e}/minio/mine.yaml`,
          content: () => Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n'),
          what: 'a file of the user in a generated directory',
        });
      if (r.chance(0.5)) settingFlags(1, true);
      break;
    }
    case 'git': {
      const kind = r.pick([
        'dirty',
        'staged',
        'detached',
        'onMain',
        'branchExists',
        'failingHook',
        'indexLock',
        'nested',
        'pushBare',
        'pushUnreachable',
        'emptyRepo',
      ]);
      labels.push(`git: ${kind}`);
      const e = info.envs[0] ?? 'dev';
      if (kind === 'dirty' && info.envs.length)
        ops.push({
          op: 'write',
          at: `out/overlays/${e}/README.md`,
          content: (c) =>
            Buffer.concat([
              c.fixtureFile(`overlays/${e}/README.md`) ?? Buffer.from(''),
              Buffer.from('my uncommitted note\n'),
            ]),
          what: 'an uncommitted edit',
        });
      if (kind === 'staged')
        ops.push(
          { op: 'write', at: 'out/notes.txt', content: () => Buffer.from('mine\n'), what: 'a staged file of the user' },
          { op: 'git', args: ['add', 'notes.txt'], what: 'git add notes.txt' },
        );
      if (kind === 'detached') ops.push({ op: 'git', args: ['checkout', '-q', '--detach'], what: 'detached HEAD' });
      if (kind === 'onMain') ops.push({ op: 'git', args: ['checkout', '-q', 'main'], what: 'HEAD on main' });
      if (kind === 'branchExists')
        ops.push(
          {
            op: 'git',
            args: ['branch', '-f', `scaffold/${env}`, 'main'],
            what: `branch scaffold/${env} exists at main`,
          },
          { op: 'git', args: ['checkout', '-q', 'main'], what: 'HEAD on main' },
        );
      if (kind === 'failingHook')
        ops.push(
          {
            op: 'write',
            at: 'out/.git/hooks/pre-commit',
            content: () => Buffer.from('#!/bin/sh\necho hook refuses >&2\nexit 1\n'),
            what: 'a pre-commit hook that refuses',
          },
          { op: 'git', args: ['config', 'core.hooksPath', '.git/hooks'], what: '' },
        );
      if (kind === 'indexLock')
        ops.push({
          op: 'write',
          at: 'out/.git/index.lock',
          content: () => Buffer.from(''),
          what: 'a stale .git/index.lock',
        });
      if (kind === 'nested') outArg = '@CASE@/out/deploy/minio';
      if (kind === 'emptyRepo')
        ops.push({
          op: 'git',
          args: ['init', '-q', '--initial-branch=trunk'],
          what: 'an empty repository (no commit) on branch trunk',
        });
      const origin = kind === 'pushBare' ? 'bare' : kind === 'pushUnreachable' ? 'unreachable' : 'none';
      if (origin !== 'none') args.push('--push');
      if (r.chance(0.5)) settingFlags(1, true);
      return finish({ seed, index, fixture, theme, args, ops, key: keyFor(r, env, fixture), origin, labels });
    }
  }
  // Noise on top of the theme: a flag more, a duplicate.
  if (r.chance(0.15) && args.length > 2) {
    const i = r.int(args.length);
    if (args[i]!.startsWith('--') && !args[i]!.includes('='))
      args.push(args[i]!, ...(args[i + 1] && !args[i + 1]!.startsWith('--') ? [args[i + 1]!] : []));
  }
  const origin = info.git && r.chance(0.2) ? r.pick(['bare', 'unreachable'] as const) : 'none';
  if (origin !== 'none' && r.chance(0.5)) args.push('--push');
  return finish({ seed, index, fixture, theme, args, ops, key: keyFor(r, env, fixture), origin, labels });

  function finish(c: FuzzCase): FuzzCase {
    c.args.push(...flagWith(r, 'out', outArg));
    return c;
  }
}

function keyFor(r: Rng, env: string, fixture: Fixture): FuzzCase['key'] {
  // A sealed fixture needs its key to re-run; sometimes it is missing or another one.
  const sealed = fixture === 'multiGit' || fixture === 'prodPlain' || env === 'prod';
  if (!sealed) return r.chance(0.9) ? 'fixture' : 'none';
  return r.weighted({ fixture: 7, none: 1, other: 1, garbage: 0.5, both: 0.5 });
}
