// Command-line flags: a table from flag to setting, parsed strictly (an unknown flag or a
// missing value is an error, never ignored), with the help text made from the same table.
import { parseArgs } from 'node:util';
import { fail } from './errors.ts';
import { redactURL, SHARED_DIRS, SYSTEM_DIRS, type EnvSettings, type GlobalSettings } from './options.ts';

interface SettingFlag {
  /** The setting this flag overrides (and records in the config file). */
  setting: keyof EnvSettings | `global.${keyof GlobalSettings}`;
  value: string;
  help: string;
}

/** Flags that set a recorded setting. Their values are checked by options.ts. */
export const SETTING_FLAGS: Record<string, SettingFlag> = {
  profile: {
    setting: 'profile',
    value: 'dev|prod',
    help: 'defaults to use for a new env (required unless the env is dev or prod)',
  },
  namespace: { setting: 'namespace', value: 'NAME', help: 'namespace MinIO runs in (dev: minio-dev, prod: minio)' },
  replicas: {
    setting: 'replicas',
    value: 'N',
    help: '1 = standalone Deployment; 4..16 = erasure-coded StatefulSet (prod: 4); fixed once the env holds data (add capacity with --pools)',
  },
  storage: { setting: 'storage', value: 'hostpath|pvc', help: 'node directory (dev) or PersistentVolumeClaims (prod)' },
  'host-path': {
    setting: 'hostPath',
    value: 'PATH',
    help: `node directory for hostpath storage (default /mnt/disk1/data): absolute and normalised, of letters, digits, '.', '_', '-' and '/'; not / nor in ${SYSTEM_DIRS.join(', ')}, nor exactly ${SHARED_DIRS.join(', ')}`,
  },
  size: {
    setting: 'size',
    value: 'SIZE',
    help: "volume size per server for pvc storage, 1Mi to 1Pi, e.g. 8Gi (the first pool's)",
  },
  pools: {
    setting: 'pools',
    value: 'NxSIZE,...',
    help: 'every server pool, the first one first, e.g. 4x8Gi,4x20Gi: adds capacity to an erasure-coded env as a new pool (docs/operations.md)',
  },
  'storage-class': {
    setting: 'storageClass',
    value: 'NAME',
    help: "StorageClass for pvc storage (default: the cluster's default)",
  },
  secrets: {
    setting: 'secrets',
    value: 'plain|sops|external',
    help: 'fixed dev credentials in a plain Secret (dev), generated ones SOPS-encrypted in sealed/ENV (prod), or an ExternalSecret',
  },
  'secret-store': {
    setting: 'secretStore',
    value: 'NAME',
    help: 'External Secrets store to read from (default aws-secrets-manager)',
  },
  'secret-store-kind': {
    setting: 'secretStoreKind',
    value: 'KIND',
    help: 'SecretStore or ClusterSecretStore (default)',
  },
  'remote-key': {
    setting: 'remoteKey',
    value: 'KEY',
    help: 'key of the credentials in the external store (default ENV/minio)',
  },
  tls: {
    setting: 'tls',
    value: 'on|off',
    help: 'serve the S3 API and console over TLS from a cert-manager Certificate',
  },
  issuer: {
    setting: 'issuer',
    value: 'NAME',
    help: 'cert-manager CA-type issuer for in-cluster names; self-signed (default) brings a private CA',
  },
  'issuer-kind': { setting: 'issuerKind', value: 'KIND', help: 'Issuer or ClusterIssuer (default) for --issuer NAME' },
  ingress: { setting: 'ingress', value: 'on|off', help: 'Ingresses for the API and the console (prod: on)' },
  'ingress-issuer': {
    setting: 'ingressIssuer',
    value: 'NAME',
    help: "issuer of the ingress hosts' certificate, e.g. an ACME ClusterIssuer (default: --issuer)",
  },
  'ingress-issuer-kind': {
    setting: 'ingressIssuerKind',
    value: 'KIND',
    help: 'Issuer or ClusterIssuer (default) for --ingress-issuer',
  },
  'ingress-class': {
    setting: 'ingressClass',
    value: 'NAME',
    help: 'IngressClass (default nginx; basic auth needs ingress-nginx)',
  },
  'api-host': { setting: 'apiHost', value: 'HOST', help: 'external host name of the S3 API' },
  'console-host': { setting: 'consoleHost', value: 'HOST', help: 'external host name of the console' },
  truststore: {
    setting: 'truststore',
    value: 'trust-manager|none',
    help: "with TLS: a trust-manager Bundle gives the consumers' JVMs the servers' CA (default), or none",
  },
  'ca-secret': {
    setting: 'caSecret',
    value: 'NAME',
    help: 'with TLS and your own --issuer: the Secret in the trust namespace holding its CA (tls.crt)',
  },
  monitoring: { setting: 'monitoring', value: 'on|off', help: 'ServiceMonitor for the Prometheus Operator (prod: on)' },
  kms: {
    setting: 'kms',
    value: 'static|none',
    help: "encryption at rest: a generated key for MinIO's built-in KMS, and buckets encrypted by default (prod: static)",
  },
  'audit-webhook': {
    setting: 'auditWebhook',
    value: 'URL',
    help: 'send the audit log (one event per API call) to this http(s) receiver, with a generated bearer token (docs/hardening.md); "" for none',
  },
  'metrics-auth': {
    setting: 'metricsAuth',
    value: 'jwt|public',
    help: 'metrics endpoints need a bearer token, which the ServiceMonitor gets (default jwt), or answer anyone in reach (public)',
  },
  spread: {
    setting: 'spread',
    value: 'host|zone|none',
    help: "erasure-coded envs: each pool's servers on distinct nodes, enforced (default host), also evenly over zones (zone), or only preferred (none, for fewer nodes than servers)",
  },
  'repo-url': {
    setting: 'global.repoURL',
    value: 'URL',
    help: "repository the engine syncs, without credentials: ssh (deploy key) or https with the engine's Secret (default: the output's origin remote)",
  },
  revision: { setting: 'global.revision', value: 'BRANCH', help: 'branch the engine follows (default main)' },
  'consumer-names': {
    setting: 'consumerNames',
    value: 'per-env|legacy',
    help: "names in the consumers' namespaces: per-env (default) carry MinIO's namespace; legacy, kept by envs rendered before, the consumer's alone (docs/consumers.md, Names)",
  },
  clusters: {
    setting: 'clusters',
    value: 'A,B',
    help: 'Argo CD clusters to deploy to; two or more render an ApplicationSet',
  },
  gitops: {
    setting: 'global.gitops',
    value: 'flux|argocd',
    help: 'engine that syncs the repository; decides how sealed secrets are decrypted (default flux)',
  },
  ci: {
    setting: 'global.ci',
    value: 'github|gitlab|none',
    help: "pull-request workflow for the repository: checks, validates and comments the diff of every env (default github; docs/ci.md); written only when the output is the repository's top",
  },
  'flink-version': {
    setting: 'global.flinkVersion',
    value: 'X.Y.Z',
    help: 'Flink version of the consumers: checkpoint key names and S3 plugin jar (default 1.20.0)',
  },
  'spark-version': {
    setting: 'global.sparkVersion',
    value: 'X.Y',
    help: 'Spark line of the iceberg-spark consumers: the Iceberg runtime jar (default 3.5)',
  },
  'iceberg-version': {
    setting: 'global.icebergVersion',
    value: 'X.Y.Z',
    help: 'Iceberg release of the iceberg-spark consumers (default 1.10.1)',
  },
  'catalog-image': {
    setting: 'global.catalogImage',
    value: 'IMAGE',
    help: "image of the env's Iceberg REST catalog servers (default: Iceberg's own for --iceberg-version)",
  },
  'mc-image': {
    setting: 'global.mcImage',
    value: 'IMAGE',
    help: 'mc image of the bucket bootstrap Job, pinned by tag or digest',
  },
  'kubectl-image': {
    setting: 'global.kubectlImage',
    value: 'IMAGE',
    help: 'kubectl image of the restarter Job of erasure-coded envs, pinned by tag or digest',
  },
  image: {
    setting: 'global.image',
    value: 'IMAGE',
    help: 'MinIO server image, pinned by tag or digest (shared by all envs)',
  },
};

export interface Flags {
  env?: string;
  /** --age-recipient, repeatable: the age recipients sealed secrets are encrypted to. */
  ageRecipients: string[];
  /** --rotate, repeatable: credentials to generate anew ("all" for every one). */
  rotate: string[];
  out?: string;
  dryRun: boolean;
  check: boolean;
  force: boolean;
  /** The branch to commit on (default scaffold/<env>). */
  branch?: string;
  noCommit: boolean;
  /** --leave-data-behind: the person knows a layout change leaves the env's data in its old volumes. */
  leaveDataBehind: boolean;
  push: boolean;
  json: boolean;
  help: boolean;
  /** Setting overrides by setting key: the raw string as typed and the flag it came from. */
  settings: Record<string, { flag: string; raw: string }>;
}

const RUN_FLAGS = {
  env: { type: 'string' },
  'age-recipient': { type: 'string', multiple: true },
  rotate: { type: 'string', multiple: true },
  out: { type: 'string' },
  'dry-run': { type: 'boolean' },
  check: { type: 'boolean' },
  force: { type: 'boolean' },
  branch: { type: 'string' },
  'no-commit': { type: 'boolean' },
  'leave-data-behind': { type: 'boolean' },
  push: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseFlags(argv: string[]): Flags {
  const settingOptions = Object.fromEntries(
    Object.keys(SETTING_FLAGS).map((name) => [name, { type: 'string' as const }]),
  );
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    ...RUN_FLAGS,
    ...settingOptions,
  };
  const parsed = (() => {
    try {
      return parseArgs({
        args: argv,
        options: { ...RUN_FLAGS, ...settingOptions },
        strict: true,
        allowPositionals: false,
        tokens: true,
      });
    } catch (error) {
      return fail(describeParseError(error as Error & { code?: string }));
    }
  })();
  // parseArgs keeps the last of a repeated flag: a single-valued flag given twice with
  // different values is refused, since only the person knows which one was meant.
  const given = new Map<string, string[]>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || typeof token.value !== 'string' || options[token.name]?.multiple) continue;
    const values = given.get(token.name) ?? [];
    if (!values.includes(token.value)) values.push(token.value);
    given.set(token.name, values);
  }
  for (const [name, values] of given) {
    if (values.length < 2) continue;
    const shown = values.map((v) => JSON.stringify(name === 'repo-url' ? redactURL(v) : v));
    const list = `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
    fail(
      `--${name} is given ${values.length === 2 ? 'twice' : `${values.length} times`} with different values (${list}); give it once, with the value you mean`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const settings: Flags['settings'] = {};
  for (const [name, flag] of Object.entries(SETTING_FLAGS)) {
    const value = values[name];
    if (typeof value === 'string') settings[flag.setting] = { flag: `--${name}`, raw: value };
  }
  const flags: Flags = {
    env: values.env as string | undefined,
    ageRecipients: (values['age-recipient'] as unknown as string[] | undefined) ?? [],
    rotate: (values.rotate as unknown as string[] | undefined) ?? [],
    out: values.out as string | undefined,
    dryRun: values['dry-run'] === true,
    check: values.check === true,
    force: values.force === true,
    branch: values.branch as string | undefined,
    noCommit: values['no-commit'] === true,
    leaveDataBehind: values['leave-data-behind'] === true,
    push: values.push === true,
    json: values.json === true,
    help: values.help === true,
    settings,
  };
  checkRunFlags(flags);
  return flags;
}

/** Run flags that contradict each other, and the branch name (it is printed in a git command). */
function checkRunFlags(flags: Flags): void {
  if (flags.help) return;
  // A push sends the commit the run makes: a run that makes none has nothing to push.
  const noCommit = flags.noCommit ? '--no-commit' : flags.dryRun ? '--dry-run' : flags.check ? '--check' : undefined;
  if (flags.push && noCommit) {
    fail(
      `--push sends the commit a run makes, and ${noCommit} ${noCommit === '--no-commit' ? 'makes none' : 'writes and commits nothing'}; drop --push (or ${noCommit}${noCommit === '--no-commit' ? ', to commit and push' : ', to write, commit and push'})`,
    );
  }
  if (flags.branch !== undefined) {
    if (flags.noCommit)
      fail(
        '--branch names the branch to commit on, and --no-commit makes no commit; drop --branch (or --no-commit, to commit on that branch)',
      );
    // git takes more (cli.ts asks git check-ref-format); the name is also printed in the
    // `git push -u origin BRANCH` the summary suggests, so it keeps to a shell-safe set.
    if (!/^[A-Za-z0-9._/-]{1,200}$/.test(flags.branch)) {
      fail(
        `--branch ${JSON.stringify(flags.branch)} is not a branch name this tool takes; use letters, digits, '.', '_', '-' and '/' (at most 200), e.g. scaffold/prod`,
      );
    }
  }
}

function describeParseError(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}; run with --help to see the options`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `option ${quoted.split(' ')[0]} needs a value (or takes none); a value that starts with '-' is written ${quoted.split(' ')[0]}=VALUE; run with --help to see the options`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted)}; options are written --name value, see --help`;
    default:
      return `${error.message.split('\n')[0]}; run with --help to see the options`;
  }
}

export function helpText(): string {
  const rows: [string, string][] = [
    ['--env NAME', 'the environment to render (required): dev, prod or any DNS label'],
    ['--out DIR', 'output directory (default: beside scaffold.ts)'],
    ['--dry-run', 'print what would change, with a diff, and write nothing'],
    ['--check', 'exit 0 if the tree matches what the config renders, 1 (with a diff) if not; writes nothing'],
    ['--force', 'overwrite generated files that were edited by hand'],
    ['--branch NAME', 'commit on this branch (default scaffold/ENV, created from HEAD)'],
    ['--no-commit', 'leave the changes uncommitted on the current branch'],
    ['--push', 'push the branch to origin after committing'],
    [
      '--leave-data-behind',
      'allow a change that points an existing env at new, empty volumes (namespace, storage, standalone/erasure coded); the old data stays where it is (docs/operations.md)',
    ],
    ['--json', 'print the summary as one JSON object'],
    ['--age-recipient AGE1...', 'encrypt sealed secrets to this age recipient (repeatable; recorded in .sops.yaml)'],
    [
      '--rotate NAME|all',
      "generate new values for a sealed credential: root, console, metrics, audit, a consumer's name, or all (repeatable; never the KMS key, kms)",
    ],
    ...Object.entries(SETTING_FLAGS).map(([name, f]): [string, string] => [`--${name} ${f.value}`, f.help]),
    ['-h, --help', 'this text'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    'Usage: npx zx scaffold.ts --env NAME [options]',
    '',
    'Renders MinIO as a Kustomize base and an overlay per env, and records every choice in',
    'scaffold.config.yaml so that `--env NAME` alone reproduces the last run.',
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    'Exit codes: 0 done, 1 --check found drift, 2 bad input or refused (nothing written), 3 committed but the push was refused, 4 written but git refused the commit (re-run to commit).',
    '',
    'Live-cluster commands (kubeconfig: --kubeconfig FILE, else KUBECONFIG, else ~/.kube/config; --context CTX):',
    '  verify --env NAME [--wait 5m] [--json]      check the env in the cluster; exit 0 all pass, 1 a check failed',
    '  apply --env NAME --server-dry-run [--json]  server-side dry run of everything the env builds; exit 1 if rejected',
    '  console --env NAME [--port 9090]           port-forward to the MinIO console until Ctrl-C',
    '',
    'Review (offline, for pull requests; diff --help says more):',
    '  diff --env NAME [--base REF] [--format text|markdown|json]  what the change does to the built objects; exit 0 none, 1 changes',
    '',
  ].join('\n');
}
