// The live-cluster commands: flags, the env's recorded settings (never written here), the
// kubeconfig, then verify, apply --server-dry-run or console. Loaded by cli.ts only for
// these commands.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readText } from '../apply.ts';
import { helpText, parseFlags } from '../args.ts';
import { CONFIG_FILE, resolveOptions } from '../config.ts';
import { fail, UsageError } from '../errors.ts';
import type { Options } from '../options.ts';
import type { Io } from '../report.ts';
import { yamlLib } from '../yaml-lib.ts';
import { consoleForward } from './console.ts';
import { printDryRun, serverDryRun } from './dry-run.ts';
import { builtObjects } from './build.ts';
import { loadKubeConfig, makeApi } from './kube.ts';
import { printChecks, runChecks, type CheckResult } from './verify.ts';

export const CLUSTER_COMMANDS = ['verify', 'apply', 'console'] as const;

const COMMON = {
  env: { type: 'string' },
  out: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAGS = {
  verify: { ...COMMON, wait: { type: 'string' } },
  apply: { ...COMMON, 'server-dry-run': { type: 'boolean' } },
  console: { ...COMMON, port: { type: 'string' } },
} as const;

type Parsed = Record<string, string | boolean | undefined>;

function parse(command: (typeof CLUSTER_COMMANDS)[number], argv: string[]): Parsed {
  try {
    return parseArgs({ args: argv, options: FLAGS[command], strict: true, allowPositionals: false }).values as Parsed;
  } catch (error) {
    const m = /'(--?[^' ]+)'/.exec((error as Error).message);
    return fail(
      `${command}: ${m ? `unknown option or missing value at ${m[1]}` : (error as Error).message.split('\n')[0]}; run with --help`,
    );
  }
}

/** The env as recorded in scaffold.config.yaml: these commands check what was rendered. */
function recordedOptions(root: string, env: string): Options {
  const text = readText(join(root, CONFIG_FILE));
  const envs = text === null ? undefined : (yamlLib().parse(text) as { envs?: Record<string, unknown> } | null)?.envs;
  if (!envs || !(env in envs))
    fail(
      `env ${env} is not in ${join(root, CONFIG_FILE)}; scaffold it first (npx zx scaffold.ts --env ${env}), or pass --out with the repository that has it`,
    );
  return resolveOptions(text, parseFlags(['--env', env])).options;
}

/** "90s", "5m", "1h" or seconds as a number: milliseconds. */
function duration(raw: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(raw);
  if (!m || Number(m[1]) === 0) fail(`--wait ${JSON.stringify(raw)} is not a duration; use e.g. 90s, 5m or 1h`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] ?? 1) * 1000;
}

async function verifyUntil(run: () => Promise<CheckResult[]>, waitMs: number, io: Io): Promise<CheckResult[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let results: CheckResult[] | undefined;
    let why: string;
    try {
      results = await run();
      const failing = results.filter((r) => r.status === 'fail');
      if (failing.length === 0) return results;
      why = `${results.length - failing.length}/${results.length} checks pass; first failing: ${failing[0]!.check} (${failing[0]!.detail})`;
    } catch (error) {
      // An API server that is away for a moment (a restart, a network blip) is waited for too.
      if (!(error instanceof UsageError) || Date.now() >= deadline) throw error;
      why = error.message;
    }
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (left === 0 && results) return results;
    io.err(`waiting: ${why}; ${left}s left\n`);
    await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(left, 1) * 1000)));
  }
}

export async function runClusterCommand(
  command: (typeof CLUSTER_COMMANDS)[number],
  argv: string[],
  defaultOut: string,
  io: Io,
): Promise<number> {
  const flags = parse(command, argv);
  if (flags.help) {
    io.out(helpText());
    return 0;
  }
  if (!flags.env) fail(`${command} needs --env NAME, e.g. npx zx scaffold.ts ${command} --env prod`);
  if (command === 'apply' && !flags['server-dry-run']) {
    fail(
      "apply is the GitOps engine's job (Argo CD or Flux syncs this repository; see clusters/ENV/); use apply --server-dry-run to check what the API server would accept",
    );
  }
  const port = command === 'console' ? Number(flags.port ?? 9090) : 0;
  if (command === 'console' && !(Number.isInteger(port) && port > 0 && port < 65536))
    fail(`--port ${JSON.stringify(flags.port)} is not a port; use 1 to 65535, e.g. 9090`);
  const waitMs = command === 'verify' && typeof flags.wait === 'string' ? duration(flags.wait) : 0;
  const root = resolve(typeof flags.out === 'string' ? flags.out : defaultOut);
  const options = recordedOptions(root, String(flags.env));
  const kc = loadKubeConfig(flags.kubeconfig as string | undefined, flags.context as string | undefined);
  const api = await makeApi(kc);

  if (command === 'console') return consoleForward(kc, api, options, port, io);
  // Only the dry run sends Secrets, so only it needs them decrypted (and the age key).
  const objects = await builtObjects(root, options.env, command === 'apply');
  if (command === 'apply')
    return printDryRun(io, options.env, api.server, await serverDryRun(api, objects), Boolean(flags.json));
  const results = await verifyUntil(() => runChecks(api, options, objects), waitMs, io);
  return printChecks(io, options.env, results, Boolean(flags.json));
}
