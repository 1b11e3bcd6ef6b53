// Flags and values, run as a person runs them (`zx scaffold.ts ...`, a real process): a
// single-valued flag given twice, run flags that contradict each other, values no cluster
// can have (sizes, Kubernetes' own namespaces, system directories), and secrets or unsafe
// characters in what the tool writes into YAML files and shell commands. Each is refused
// as promised: one line on stderr, exit 2, nothing changed on disk (a fresh --out is not
// even made), the secret never echoed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { expectRefused as refusedAsPromised, git, run, scaffoldedTrees, snapshot } from './run.ts';
import { tempDir } from './tools.ts';

// The secrets the URL cases carry: none of them may appear in any output.
const TOKEN = 'ghp_Fl4gsT0kenAbc123';
const PASSWORD = 'pw-Secr3t-987';

// One scaffold with both envs, copied for each case.
const scaffolded = scaffoldedTrees('minio-gitops-flags-');

/** Sets `path` (e.g. envs.prod.size) in the config file to `value`. */
function config(path: string, value: unknown) {
  return (out: string) => {
    const file = join(out, 'scaffold.config.yaml');
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(path.split('.'), value);
    writeFileSync(file, doc.toString());
  };
}

/** The promise for bad input (test/run.ts), and no secret of the URL cases in the message. */
function expectRefused(r: ReturnType<typeof run>, message: RegExp) {
  refusedAsPromised(r, message);
  for (const secret of [TOKEN, PASSWORD]) expect(r.stderr).not.toContain(secret);
}

type Case = [name: string, args: string[], message: RegExp];

/** Flag cases: refused in a fresh --out (which is not made) and in a scaffolded tree (unchanged). */
function refusedFlags(cases: Case[]) {
  it.for(cases)('%s', ([, args, message]) => {
    const fresh = join(tempDir(), 'new');
    expectRefused(run([...args, '--out', fresh]), message);
    expect(existsSync(fresh)).toBe(false);

    const out = scaffolded();
    const before = snapshot(out);
    const head = git(out, 'rev-parse', 'HEAD');
    expectRefused(run([...args, '--out', out]), message);
    expect(snapshot(out)).toEqual(before);
    expect(git(out, 'rev-parse', 'HEAD')).toBe(head);
  });
}

/** Config cases: the scaffolded tree with the file edited is refused and left as it was. */
function refusedConfig(cases: [...Case, (out: string) => void][]) {
  it.for(cases)('%s', ([, args, message, prepare]) => {
    const out = scaffolded();
    prepare(out);
    const before = snapshot(out);
    expectRefused(run([...args, '--out', out]), message);
    expect(snapshot(out)).toEqual(before);
  });
}

describe('a single-valued flag given twice with different values', () => {
  refusedFlags([
    [
      '--env dev --env prod',
      ['--env', 'dev', '--env', 'prod'],
      /^error: --env is given twice with different values \("dev" and "prod"\); give it once/,
    ],
    [
      '--size 8Gi --size 9Gi',
      ['--env', 'prod', '--size', '8Gi', '--size', '9Gi'],
      /^error: --size is given twice with different values \("8Gi" and "9Gi"\)/,
    ],
    [
      '--tls on --tls off',
      ['--env', 'dev', '--tls', 'on', '--tls', 'off'],
      /^error: --tls is given twice with different values \("on" and "off"\)/,
    ],
    [
      '--host-path, once with =',
      ['--env', 'dev', '--host-path', '/srv/a', '--host-path=/srv/b'],
      /^error: --host-path is given twice with different values \("\/srv\/a" and "\/srv\/b"\)/,
    ],
    [
      'three values',
      ['--env', 'prod', '--replicas', '4', '--replicas', '6', '--replicas', '8'],
      /^error: --replicas is given 3 times with different values \("4", "6" and "8"\)/,
    ],
    [
      '--branch twice',
      ['--env', 'dev', '--branch', 'a', '--branch', 'b'],
      /^error: --branch is given twice with different values \("a" and "b"\)/,
    ],
    [
      '--repo-url twice, one with a token (masked)',
      [
        '--env',
        'dev',
        '--repo-url',
        `https://u:${TOKEN}@git.example.com/x.git`,
        '--repo-url',
        'https://git.example.com/x.git',
      ],
      /^error: --repo-url is given twice with different values \("https:\/\/\*\*\*@git\.example\.com\/x\.git" and "https:\/\/git\.example\.com\/x\.git"\)/,
    ],
  ]);

  it('the same value twice, a boolean twice and the repeatable flags are accepted', () => {
    const out = scaffolded();
    const same = run([
      '--env',
      'prod',
      '--size',
      '20Gi',
      '--size=20Gi',
      '--tls',
      'on',
      '--tls',
      'on',
      '--force',
      '--force',
      '--out',
      out,
    ]);
    expect(same.code, same.stderr).toBe(0);
    expect(YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8')).envs.prod.size).toBe('20Gi');
    const sealed = () => readFileSync(join(out, 'sealed/prod/minio-root-credentials.yaml'), 'utf8');
    const before = sealed();
    const rotate = run(['--env', 'prod', '--rotate', 'root', '--rotate', 'console', '--out', out]);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(sealed()).not.toBe(before);
  });
});

describe('run flags that contradict each other', () => {
  refusedFlags([
    [
      '--push with --no-commit',
      ['--env', 'dev', '--push', '--no-commit'],
      /^error: --push sends the commit a run makes, and --no-commit makes none; drop --push/,
    ],
    [
      '--push with --dry-run',
      ['--env', 'dev', '--push', '--dry-run'],
      /^error: --push sends the commit a run makes, and --dry-run writes and commits nothing; drop --push/,
    ],
    [
      '--push with --check',
      ['--env', 'dev', '--check', '--push'],
      /^error: --push sends the commit a run makes, and --check writes and commits nothing; drop --push/,
    ],
    [
      '--branch with --no-commit',
      ['--env', 'dev', '--branch', 'work', '--no-commit'],
      /^error: --branch names the branch to commit on, and --no-commit makes no commit; drop --branch/,
    ],
    [
      'a branch name with shell characters',
      ['--env', 'dev', '--branch', 'x$(id)'],
      /^error: --branch "x\$\(id\)" is not a branch name this tool takes; use letters, digits/,
    ],
    [
      'an empty branch name',
      ['--env', 'dev', '--branch', ''],
      /^error: --branch "" is not a branch name this tool takes/,
    ],
  ]);
});

describe('sizes beyond any disk', () => {
  refusedFlags([
    [
      '--size 5Ei',
      ['--env', 'prod', '--size', '5Ei'],
      /^error: --size "5Ei" is more than 1Pi, the most this tool takes for one volume .*; use the size of one server's volume, e.g\. 8Gi/,
    ],
    ['--size 99999999Ti', ['--env', 'prod', '--size', '99999999Ti'], /^error: --size "99999999Ti" is more than 1Pi/],
    ['--size 2P (decimal, above 1Pi)', ['--env', 'prod', '--size', '2P'], /^error: --size "2P" is more than 1Pi/],
    ['a malformed size', ['--env', 'prod', '--size', '10XB'], /^error: --size "10XB" is not a volume size/],
  ]);
  refusedConfig([
    [
      'envs.prod.size 5Ei in the file',
      ['--env', 'prod'],
      /^error: scaffold\.config\.yaml: envs\.prod\.size "5Ei" is more than 1Pi/,
      config('envs.prod.size', '5Ei'),
    ],
    [
      'a size of another env in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.prod\.size "99999999Ti" is more than 1Pi/,
      config('envs.prod.size', '99999999Ti'),
    ],
    [
      'resources beyond any node',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.resources\.limits\.memory 5Ei is more than any node has \(this tool takes at most 64Ti\)/,
      config('envs.dev.resources.limits.memory', '5Ei'),
    ],
    [
      'a CPU count beyond any node',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.resources\.limits\.cpu 100000 is more than any node has/,
      config('envs.dev.resources.limits.cpu', 100000),
    ],
  ]);

  it('ordinary sizes are kept: 8Gi, 1Ti, 500G, and 1Pi itself', () => {
    for (const size of ['8Gi', '1Ti', '500G', '1Pi']) {
      // A new env each time: an existing one's volumes never shrink (test/day2-cli.test.ts).
      const out = tempDir();
      const r = run(['--env', 'prod', '--size', size, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(out, 'overlays/prod/minio/patch-storage.yaml'), 'utf8')).toContain(`storage: ${size}`);
    }
  });
});

describe("Kubernetes' own namespaces (kube-*)", () => {
  refusedFlags([
    [
      '--namespace kube-system',
      ['--env', 'prod', '--namespace', 'kube-system'],
      /^error: --namespace: namespace kube-system belongs to Kubernetes, which reserves every name beginning kube- .*; choose another with --namespace$/m,
    ],
    [
      '--namespace kube-public',
      ['--env', 'prod', '--namespace', 'kube-public'],
      /namespace kube-public belongs to Kubernetes/,
    ],
    [
      '--namespace kube-node-lease',
      ['--env', 'dev', '--namespace', 'kube-node-lease'],
      /namespace kube-node-lease belongs to Kubernetes/,
    ],
    [
      '--namespace kube-anything',
      ['--env', 'dev', '--namespace', 'kube-minio'],
      /namespace kube-minio belongs to Kubernetes/,
    ],
  ]);
  refusedConfig([
    [
      "MinIO's namespace in the file",
      ['--env', 'prod'],
      /^error: scaffold\.config\.yaml: envs\.prod\.namespace: namespace kube-system belongs to Kubernetes.*; choose another there/,
      config('envs.prod.namespace', 'kube-system'),
    ],
    [
      "a consumer's namespace",
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.consumers\.flink\.namespace: namespace kube-system belongs to Kubernetes.*; the consumer's Secret and workloads belong in a namespace of its own/,
      config('envs.dev.consumers.flink.namespace', 'kube-system'),
    ],
    [
      "a consumer's namespace beginning kube-",
      ['--env', 'dev'],
      /envs\.dev\.consumers\.spark\.namespace: namespace kube-analytics belongs to Kubernetes/,
      config('envs.dev.consumers.spark.namespace', 'kube-analytics'),
    ],
    [
      'the trust namespace (where the private CA is made)',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: trustNamespace: namespace kube-system belongs to Kubernetes.*; the env's private CA is made in cert-manager's own namespace/,
      config('trustNamespace', 'kube-system'),
    ],
    [
      'the monitoring namespace',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: monitoringNamespace: namespace kube-public belongs to Kubernetes.*, and Prometheus does not run there; name the namespace Prometheus runs in/,
      config('monitoringNamespace', 'kube-public'),
    ],
    [
      'the ingress namespace',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: ingressNamespace: namespace kube-node-lease belongs to Kubernetes.*, and the ingress controller does not run there/,
      config('ingressNamespace', 'kube-node-lease'),
    ],
  ]);

  it('kube-system may be the ingress or monitoring namespace (k3s, RKE2 and AKS run them there): only let in, nothing made there', () => {
    const out = scaffolded();
    config('ingressNamespace', 'kube-system')(out);
    config('monitoringNamespace', 'kube-system')(out);
    const r = run(['--env', 'prod', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const file of ['networkpolicy-ingress-controller.yaml', 'networkpolicy-s3-clients.yaml']) {
      const policy = YAML.parse(readFileSync(join(out, 'overlays/prod/minio', file), 'utf8'));
      expect(policy.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values, file).toContain(
        'kube-system',
      );
    }
  });
});

describe('repository URLs with credentials', () => {
  refusedFlags([
    [
      'user and token over https',
      ['--env', 'dev', '--repo-url', `https://user:${TOKEN}@git.example.com/x.git`],
      /^error: --repo-url "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials \(before the @\), which would be written into the repository in plain text; use an ssh URL and a deploy key .*, or the https URL without credentials and give them to the engine in a Secret \(Flux: the GitRepository's secretRef; Argo CD: a repository Secret\)$/m,
    ],
    [
      'a token alone over https',
      ['--env', 'dev', '--repo-url', `https://${TOKEN}@git.example.com/x.git`],
      /^error: --repo-url "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials/,
    ],
    [
      'a password over ssh',
      ['--env', 'dev', '--repo-url', `ssh://git:${PASSWORD}@git.example.com/x.git`],
      /^error: --repo-url "ssh:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials/,
    ],
    [
      'a token in the query',
      ['--env', 'dev', '--repo-url', `https://git.example.com/x.git?private_token=${TOKEN}`],
      /^error: --repo-url "https:\/\/git\.example\.com\/x\.git\?\*\*\*" has a query or fragment/,
    ],
    [
      'credentials with a space in them (no half-masked echo)',
      ['--env', 'dev', '--repo-url', `https://u:${TOKEN} x@git.example.com/x.git`],
      /^error: --repo-url "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials/,
    ],
    [
      'credentials without a scheme',
      ['--env', 'dev', '--repo-url', `u:${TOKEN}@git.example.com/x.git`],
      /^error: --repo-url "\*\*\*@git\.example\.com\/x\.git" carries credentials/,
    ],
    [
      'a URL with shell characters',
      ['--env', 'dev', '--repo-url', 'https://git.example.com/x.git;id'],
      /^error: --repo-url "https:\/\/git\.example\.com\/x\.git;id" is not a git repository URL/,
    ],
  ]);
  refusedConfig([
    [
      'repoURL in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: repoURL "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials/,
      config('repoURL', `https://oauth2:${TOKEN}@git.example.com/x.git`),
    ],
    [
      'repoURL in the file, even with a clean --repo-url (the file would keep it)',
      ['--env', 'dev', '--repo-url', 'https://git.example.com/x.git'],
      /^error: scaffold\.config\.yaml: repoURL "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials/,
      config('repoURL', `https://${TOKEN}@git.example.com/x.git`),
    ],
  ]);

  it('ssh with a user name (ssh://git@..., git@host:path) is no credential: accepted', () => {
    const out = scaffolded();
    for (const [url, flux] of [
      ['ssh://git@git.example.com/acme/x.git', 'ssh://git@git.example.com/acme/x.git'],
      ['git@github.com:acme/x.git', 'ssh://git@github.com/acme/x.git'],
    ]) {
      const r = run(['--env', 'dev', '--repo-url', url!, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(YAML.parse(readFileSync(join(out, 'clusters/dev/gitrepository.yaml'), 'utf8')).spec.url).toBe(flux);
    }
  });

  it('an origin remote with a token is refused as the default, and not used beside a clean --repo-url', () => {
    const out = tempDir();
    git(out, 'init', '-q', '--initial-branch=main');
    git(out, 'remote', 'add', 'origin', `https://u:${TOKEN}@git.example.com/x.git`);
    const refused = run(['--env', 'dev', '--out', out]);
    expectRefused(
      refused,
      /^error: the origin remote \(the default for --repo-url\) "https:\/\/\*\*\*@git\.example\.com\/x\.git" carries credentials .*; pass --repo-url with an ssh URL and a deploy key/,
    );
    expect(snapshot(out)).toEqual({}); // no clusters/dev/, no config, no record
    expect(git(out, 'branch', '--list')).toBe('');

    const r = run(['--env', 'dev', '--repo-url', 'https://git.example.com/x.git', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const files = snapshot(out);
    expect(Object.keys(files)).toContain('clusters/dev/gitrepository.yaml');
    expect(YAML.parse(files['scaffold.config.yaml']!.content).repoURL).toBe('https://git.example.com/x.git');
    for (const [path, { content }] of Object.entries(files)) expect(content, path).not.toContain(TOKEN);
    expect(git(out, 'log', '--all', '-p')).not.toContain(TOKEN);
  });
});

describe('--host-path: a plain node directory of its own', () => {
  const bad: [string, string, RegExp][] = [
    ['the root directory', '/', /^error: --host-path "\/" is the node's root directory/],
    [
      '/etc',
      '/etc',
      /^error: --host-path "\/etc" is a directory of the node's system or of Kubernetes \(refused: \/ and \/bin, .*\/var\/lib\/kubelet.*\)/,
    ],
    [
      'inside /etc',
      '/etc/minio',
      /^error: --host-path "\/etc\/minio" is inside \/etc, a directory of the node's system/,
    ],
    ['inside /usr', '/usr/local/minio', /is inside \/usr,/],
    ['inside /proc', '/proc/1', /is inside \/proc,/],
    ['inside /root', '/root/minio', /is inside \/root,/],
    ['inside /var/run', '/var/run/minio', /is inside \/var\/run,/],
    ["inside the kubelet's directory", '/var/lib/kubelet/pods/x', /is inside \/var\/lib\/kubelet,/],
    ["etcd's directory", '/var/lib/etcd', /"\/var\/lib\/etcd" is a directory of the node's system/],
    ["containerd's directory", '/var/lib/containerd/minio', /is inside \/var\/lib\/containerd,/],
    [
      '/var as a whole',
      '/var',
      /^error: --host-path "\/var" holds much else \(refused as a whole: .*\), which MinIO's data and the README's chown would take over; use a directory of its own in it/,
    ],
    ['/mnt as a whole', '/mnt', /"\/mnt" holds much else/],
    ['.. in it', '/mnt/../etc', /^error: --host-path "\/mnt\/\.\.\/etc" is not a normalised path/],
    ['// in it', '/mnt//data', /"\/mnt\/\/data" is not a normalised path/],
    ['/./ in it', '/mnt/./data', /"\/mnt\/\.\/data" is not a normalised path/],
    ['a trailing /', '/mnt/data/', /"\/mnt\/data\/" is not a normalised path/],
    ['a space', '/mnt/my data', /"\/mnt\/my data" may hold only letters, digits, '\.', '_', '-' and '\/'/],
    ['a quote', '/mnt/"data"', /may hold only letters, digits/],
    ['a dollar sign', '/mnt/$HOME', /may hold only letters, digits/],
    ['a backtick', '/mnt/`id`', /may hold only letters, digits/],
    ['a semicolon', '/mnt/a;rm', /may hold only letters, digits/],
    ['an ampersand', '/mnt/a&b', /may hold only letters, digits/],
    ['a pipe', '/mnt/a|b', /may hold only letters, digits/],
    ['a newline', '/mnt/a\nb', /"\/mnt\/a\\nb" may hold only letters, digits/],
    ['non-ASCII', '/mnt/dätä', /may hold only letters, digits/],
    ['a relative path', 'data', /^error: --host-path "data" is not an absolute path/],
  ];
  refusedFlags(bad.map(([name, path, message]): Case => [name, ['--env', 'dev', '--host-path', path], message]));
  refusedConfig([
    [
      'a system directory in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.hostPath "\/etc\/minio" is inside \/etc/,
      config('envs.dev.hostPath', '/etc/minio'),
    ],
    [
      'a newline in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.hostPath "\/mnt\/a\\nb" may hold only/,
      config('envs.dev.hostPath', '/mnt/a\nb'),
    ],
    [
      'a NUL byte in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.hostPath "\/mnt\/a\\u0000b" may hold only/,
      config('envs.dev.hostPath', '/mnt/a\0b'),
    ],
    [
      '/ in the file',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.hostPath "\/" is the node's root directory/,
      config('envs.dev.hostPath', '/'),
    ],
  ]);

  it('/mnt/disk1/data, /srv/minio, /data/minio and /var/lib/minio are accepted', () => {
    const out = scaffolded();
    for (const path of ['/mnt/disk1/data', '/srv/minio', '/data/minio', '/var/lib/minio']) {
      const r = run(['--env', 'dev', '--host-path', path, '--leave-data-behind', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(out, 'overlays/dev/minio/patch-storage.yaml'), 'utf8')).toContain(`path: ${path}`);
    }
  });

  it('--help names the refused directories', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--host-path PATH .*not \/ nor in \/bin, .*\/var\/lib\/kubelet/);
  });
});

describe('boolean settings: true or false in the file, on or off as a flag', () => {
  refusedFlags([
    ['--tls yes', ['--env', 'dev', '--tls', 'yes'], /^error: --tls "yes" is not allowed; use on or off$/m],
    [
      '--monitoring 1',
      ['--env', 'dev', '--monitoring', '1'],
      /^error: --monitoring "1" is not allowed; use on or off$/m,
    ],
  ]);
  refusedConfig([
    [
      'tls: yes',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.tls "yes" is not allowed; use true or false$/m,
      config('envs.dev.tls', 'yes'),
    ],
    [
      'ingress: maybe',
      ['--env', 'prod'],
      /^error: scaffold\.config\.yaml: envs\.prod\.ingress "maybe" is not allowed; use true or false$/m,
      config('envs.prod.ingress', 'maybe'),
    ],
    [
      'monitoring: 1',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.monitoring 1 is not allowed; use true or false$/m,
      config('envs.dev.monitoring', 1),
    ],
  ]);

  it('the file records them as true and false', () => {
    const file = join(scaffolded(), 'scaffold.config.yaml');
    const env = YAML.parse(readFileSync(file, 'utf8')).envs.prod;
    expect([env.tls, env.ingress, env.monitoring]).toEqual([true, true, true]);
    expect(readFileSync(file, 'utf8')).toMatch(/^ {4}tls: true$/m);
  });
});

describe('other impossible or unsafe values', () => {
  refusedFlags([
    [
      'replicas beyond any number',
      ['--env', 'prod', '--replicas', '99999999999999999999'],
      /^error: --replicas 99999999999999999999: one erasure set holds at most 16 servers/,
    ],
    ['replicas 0', ['--env', 'prod', '--replicas', '0'], /^error: --replicas "0" is not a server count/],
    ['an empty API host', ['--env', 'prod', '--api-host', ''], /^error: --api-host "" is not a valid host name/],
    [
      'an API host with a label over 63 characters',
      ['--env', 'prod', '--api-host', `${'a'.repeat(64)}.example.com`],
      /^error: --api-host "a{64}\.example\.com" is not a valid host name; .*at most 63 between dots/,
    ],
    [
      'a console host with a newline',
      ['--env', 'prod', '--console-host', 'console.example.com\nx: y'],
      /^error: --console-host "console\.example\.com\\nx: y" is not a valid host name/,
    ],
    [
      'a storage class with a space',
      ['--env', 'prod', '--storage-class', 'fast ssd'],
      /^error: --storage-class "fast ssd" is not a valid DNS name/,
    ],
    [
      'an image with shell characters',
      ['--env', 'dev', '--image', 'quay.io/minio/minio:x;id'],
      /^error: --image "quay\.io\/minio\/minio:x;id" must be an image pinned by tag or digest/,
    ],
    [
      'an empty image',
      ['--env', 'dev', '--mc-image', ''],
      /^error: --mc-image "" must be an image pinned by tag or digest \(not latest\); use e\.g\. quay\.io\/minio\/mc:/,
    ],
    [
      'a remote key with a space',
      ['--env', 'prod', '--secrets', 'external', '--remote-key', 'prod minio'],
      /^error: --remote-key "prod minio" is not a key of an external secret store/,
    ],
    [
      'a remote key ending in /',
      ['--env', 'prod', '--secrets', 'external', '--remote-key', 'prod/'],
      /^error: --remote-key "prod\/" is not a key of an external secret store/,
    ],
    [
      'an empty remote key',
      ['--env', 'prod', '--secrets', 'external', '--remote-key', ''],
      /^error: --remote-key "" is not a key/,
    ],
    ['a revision with ..', ['--env', 'dev', '--revision', 'a..b'], /^error: --revision "a\.\.b" is not a branch name/],
    [
      'a revision git refuses (.lock)',
      ['--env', 'dev', '--revision', 'release.lock'],
      /^error: --revision "release\.lock" is not a branch name/,
    ],
    [
      'a revision with shell characters',
      ['--env', 'dev', '--revision', '$(id)'],
      /^error: --revision "\$\(id\)" is not a branch name/,
    ],
    ['an empty namespace', ['--env', 'dev', '--namespace', ''], /^error: --namespace "" is not a valid name/],
    ['an empty issuer', ['--env', 'prod', '--issuer', ''], /^error: --issuer "" is not a valid DNS name/],
  ]);
  refusedConfig([
    [
      'a NUL byte in the remote key',
      ['--env', 'dev'],
      /^error: scaffold\.config\.yaml: envs\.dev\.remoteKey "dev\/minio\\u0000" is not a key/,
      config('envs.dev.remoteKey', 'dev/minio\0'),
    ],
    [
      'a newline in the storage class',
      ['--env', 'prod'],
      /^error: scaffold\.config\.yaml: envs\.prod\.storageClass "fast\\nssd" is not a valid DNS name/,
      config('envs.prod.storageClass', 'fast\nssd'),
    ],
    [
      'clusters that are no list',
      ['--env', 'prod'],
      /^error: scaffold\.config\.yaml: envs\.prod\.clusters must be a list of Argo CD cluster names; write it e\.g\. as \[eu-1, us-1\]/,
      config('envs.prod.clusters', 5),
    ],
  ]);
});
