// `diff --env NAME [--base REF] [--format text|markdown|json]`: what the cluster will
// receive from a change, offline. The env's objects (clusters/<env> and what it points the
// engine at, else overlays/<env>) are built at the base commit and in the working tree as
// the engine builds them, sealed Secrets as they are (no key is used), and compared object
// by object.
// Exit codes as --check: 0 no change, 1 changes, 2 an error. Loaded by cli.ts only for it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readText } from '../apply.ts';
import { builtObjects } from '../cluster/build.ts';
import { id, type Obj } from '../cluster/objects.ts';
import { CONFIG_FILE } from '../config.ts';
import { fail, UsageError } from '../errors.ts';
import type { Io } from '../report.ts';
import { findRepository } from '../repo-state.ts';
import { removeTempDir, removeTempDirsOnSignal } from '../temp.ts';
import { parseUntrusted } from '../yaml-lib.ts';
import { compareBuilds, identity } from './compare.ts';
import { FORMATS, formatReport, type Format } from './format.ts';
import { highlights } from './highlights.ts';
import { checkoutTree, git, resolveCommit } from './tree.ts';

const FLAGS = {
  env: { type: 'string' },
  base: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  'max-chars': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DIFF_HELP = `npx zx scaffold.ts diff --env NAME [--base REF] [--format text|markdown|json]
                          [--max-chars N] [--out DIR]

Builds env NAME at REF and in the working tree as the GitOps engine builds it (clusters/NAME
and the directories it points the engine at; without it, overlays/NAME), and prints what
changes object by object: objects added, removed and changed, each changed field with its
old and new value, and at the top what a reviewer must not miss (prune deletions, immutable
fields, volume sizes, server sets, Pod Security, NetworkPolicy openings, RBAC and AppProject
widening, the engine's own sources). Secret values are never printed: sealed values are
compared by ciphertext (no key is used), plain ones by hash.

  --base REF      the commit to compare with (default: the merge base of HEAD and the branch
                  the engine syncs, \`revision\` in ${CONFIG_FILE}: origin's, else the local one)
  --format F      text (default), markdown (a pull-request comment) or json
  --max-chars N   markdown: stay within N characters (default 40000); the headline and the
                  highlights always, then the summary table and each object's details
  --out DIR       the repository (default: beside scaffold.ts)

Exit codes: 0 no change, 1 changes, 2 an error.
`;

type Parsed = { env?: string; base?: string; format?: string; out?: string; 'max-chars'?: string; help?: boolean };

function parse(argv: string[]): Parsed {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values as Parsed;
  } catch (error) {
    const m = /'(--?[^' ]+)'/.exec((error as Error).message);
    return fail(
      `diff: ${m ? `unknown option or missing value at ${m[1]}` : (error as Error).message.split('\n')[0]}; run diff --help`,
    );
  }
}

const ENV_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The branch the engine syncs, as the working tree's config records it (main by default). */
function syncedBranch(root: string): string {
  const text = readText(join(root, CONFIG_FILE));
  if (text === null) return 'main';
  const { value } = parseUntrusted(text, CONFIG_FILE, `fix it, or pass --base REF`);
  const revision = (value as { revision?: unknown } | null)?.revision;
  if (revision === undefined) return 'main';
  const checked =
    typeof revision === 'string'
      ? spawnSync('git', ['check-ref-format', '--branch', revision], { stdio: 'ignore' })
      : undefined;
  if (checked?.error) fail(`git is needed to compare with another commit (${checked.error.message}); install git`);
  const ok = checked?.status === 0 && !(revision as string).startsWith('-');
  if (!ok)
    fail(
      `${CONFIG_FILE} names revision ${JSON.stringify(revision)}, which is not a branch name; fix it, or pass --base REF`,
    );
  return revision as string;
}

/** --base, or the merge base of HEAD with the synced branch (local, else origin's). */
function baseCommit(top: string, root: string, given: string | undefined): { ref: string; commit: string } {
  if (given !== undefined) {
    const commit = given === '' ? null : resolveCommit(top, given);
    if (!commit)
      fail(
        `--base ${JSON.stringify(given)} is not a commit in ${top}; pass a branch, tag or commit (git fetch it first if it is remote)`,
      );
    return { ref: given, commit };
  }
  const branch = syncedBranch(root);
  const head = resolveCommit(top, 'HEAD');
  if (!head) fail(`${top} has no commit yet, so there is nothing to compare with; commit first, or pass --base REF`);
  // origin's first: a local branch is often behind it, and would show others' merged work as this change.
  for (const ref of [`refs/remotes/origin/${branch}`, `refs/heads/${branch}`]) {
    if (!resolveCommit(top, ref)) continue;
    const r = git(top, ['merge-base', head, ref]);
    if (r.status !== 0) fail(`HEAD and ${ref} have no common commit; pass --base REF`);
    return {
      ref: `merge base with ${ref.replace(/^refs\/(heads|remotes)\//, '')}`,
      commit: r.stdout.toString().trim(),
    };
  }
  return fail(
    `diff compares with the branch the engine syncs (${branch}), and ${top} has neither ${branch} nor origin/${branch}; fetch it, or pass --base REF`,
  );
}

/**
 * What can be checked of a sealed object without its key: it names recipients, carries a
 * MAC, and every value it should encrypt is encrypted. The values it holds are never shown.
 */
function checkSealedShape(o: Obj): void {
  const sops = o.sops as
    | {
        age?: { recipient?: unknown; enc?: unknown }[];
        mac?: unknown;
        lastmodified?: unknown;
        encrypted_regex?: unknown;
      }
    | undefined;
  if (!sops) return;
  const broken = (why: string) =>
    fail(
      `${id(o)} is sealed but ${why}: sops, KSOPS and Flux refuse it; restore its file with git, or edit it only with sops`,
    );
  if (
    !Array.isArray(sops.age) ||
    sops.age.length === 0 ||
    !sops.age.every(
      (a) =>
        typeof a?.recipient === 'string' &&
        /^age1[a-z0-9]+$/.test(a.recipient) &&
        typeof a.enc === 'string' &&
        a.enc.includes('BEGIN AGE ENCRYPTED FILE'),
    )
  ) {
    broken('names no age recipient with its wrapped key');
  }
  if (typeof sops.mac !== 'string' || !sops.mac.startsWith('ENC[AES256_GCM,') || typeof sops.lastmodified !== 'string')
    broken('has no encrypted MAC (sops.mac, sops.lastmodified)');
  let regex: RegExp | null = null;
  try {
    regex = typeof sops.encrypted_regex === 'string' ? new RegExp(sops.encrypted_regex) : null;
  } catch {
    broken('has an encrypted_regex that is not a regular expression');
  }
  const fields = Object.keys(o).filter(
    (k) => k !== 'sops' && (regex ? regex.test(k) : k === 'data' || k === 'stringData'),
  );
  const plain = (v: unknown, at: string): string | undefined => {
    if (Array.isArray(v)) return v.map((x, i) => plain(x, `${at}[${i}]`)).find(Boolean);
    if (typeof v === 'object' && v !== null)
      return Object.entries(v)
        .map(([k, x]) => plain(x, `${at}.${k}`))
        .find(Boolean);
    return v === '' || (typeof v === 'string' && v.startsWith('ENC[AES256_GCM,')) ? undefined : at;
  };
  for (const f of fields) {
    const at = plain((o as Record<string, unknown>)[f], f);
    if (at)
      fail(
        `${id(o)} is sealed but its ${at} is not encrypted: the value is in the repository in plain text (not shown here); rotate it (npx zx scaffold.ts --env ENV --rotate ...) and seal it again`,
      );
  }
}

interface Build {
  objects: Obj[];
  /** The directories built, as the repository names them. */
  sources: string[];
  engine?: Engine;
}

type Engine = 'flux' | 'argocd';
const is = (o: Obj, group: string, kind: string) => o.kind === kind && (o.apiVersion ?? '').split('/')[0] === group;

/**
 * The directories the engine builds, as clusters/<env> points it at them: each Flux
 * Kustomization's path (Flux builds each on its own, so a kustomization above them is
 * not applied), each Argo CD Application's (or ApplicationSet template's) source path.
 * Paths are the repository's; they must lie in the output directory (`prefix`).
 */
function engineDirs(manifests: Obj[], prefix: string, where: string): { engine?: Engine; dirs: string[] } {
  const flux = manifests.filter((o) => is(o, 'kustomize.toolkit.fluxcd.io', 'Kustomization'));
  const argo = manifests.filter((o) => is(o, 'argoproj.io', 'Application') || is(o, 'argoproj.io', 'ApplicationSet'));
  const paths =
    flux.length > 0
      ? flux.map((k) => k.spec?.path)
      : argo.flatMap((a) => {
          const spec = is(a, 'argoproj.io', 'ApplicationSet') ? a.spec?.template?.spec : a.spec;
          return [spec?.source?.path, ...((spec?.sources ?? []) as { path?: unknown }[]).map((x) => x?.path)].filter(
            (p) => p !== undefined,
          );
        });
  const dirs = paths.map((raw) => {
    const path = typeof raw === 'string' ? raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '') : '';
    if (
      typeof raw !== 'string' ||
      path.includes('{{') ||
      path.split('/').includes('..') ||
      !`${path}/`.startsWith(prefix)
    ) {
      fail(
        `${where}: clusters/ points the engine at ${JSON.stringify(raw)}, which is not a directory of this output (${prefix || "the repository's top"}); fix the path in clusters/`,
      );
    }
    return path.slice(prefix.length);
  });
  return { engine: flux.length > 0 ? 'flux' : argo.length > 0 ? 'argocd' : undefined, dirs: [...new Set(dirs)] };
}

/**
 * The env's objects in `root` as its engine applies them: clusters/<env> and the
 * directories it points the engine at; without clusters/<env>, overlays/<env> as a whole
 * (kubectl apply -k). Null when the env is not rendered there. An object built twice is
 * refused: the engine would apply it twice, and one copy would hide the other.
 */
async function build(root: string, env: string, prefix: string, where: string): Promise<Build | null> {
  const clusters = `clusters/${env}`;
  const hasClusters = existsSync(join(root, clusters, 'kustomization.yaml'));
  if (!hasClusters && !existsSync(join(root, 'overlays', env, 'kustomization.yaml'))) return null;
  const manifests = hasClusters ? await builtObjects(root, env, false, clusters) : [];
  const { engine, dirs } = hasClusters
    ? engineDirs(manifests, prefix, where)
    : { engine: undefined, dirs: [`overlays/${env}`] };
  const seen = new Map<string, string>(manifests.map((o) => [identity(o), clusters]));
  const objects = [...manifests];
  for (const dir of dirs) {
    if (!existsSync(join(root, dir, 'kustomization.yaml')))
      fail(
        `${where}: the engine builds ${dir} (as clusters/${env} says), which has no kustomization.yaml; the sync would fail; restore it, or fix clusters/${env}`,
      );
    for (const o of await builtObjects(root, env, false, dir)) {
      const other = seen.get(identity(o));
      if (other)
        fail(
          `${where}: ${id(o)} is built by both ${other} and ${dir}: the engine would apply it twice, and one copy hides the other; keep it in one place`,
        );
      seen.set(identity(o), dir);
      objects.push(o);
    }
  }
  return { objects, sources: [...(hasClusters ? [clusters] : []), ...dirs], engine };
}

/** A Secret sealed at the base and in plain text now: its values were decrypted into the repository. */
function refuseUnsealed(before: Obj[], after: Obj[]): void {
  const sealed = new Set(before.filter((o) => o.sops).map(identity));
  const opened = after.find(
    (o) =>
      !o.sops &&
      sealed.has(identity(o)) &&
      (Object.keys(o.data ?? {}).length > 0 || Object.keys(o.stringData ?? {}).length > 0),
  );
  if (opened)
    fail(
      `${id(opened)} was sealed and is in plain text now: its values are in the repository in plain text (not shown here); rotate them (npx zx scaffold.ts --env ENV --rotate ...) and never commit a decrypted file`,
    );
}

/** The engine that syncs the env as the working tree's config names it, for an env without clusters/. */
function configuredEngine(root: string): Engine | undefined {
  const text = readText(join(root, CONFIG_FILE));
  if (text === null) return undefined;
  const gitops = (parseUntrusted(text, CONFIG_FILE, 'fix it, or pass --base REF').value as { gitops?: unknown } | null)
    ?.gitops;
  return gitops === 'argocd' ? 'argocd' : gitops === 'flux' || gitops === undefined ? 'flux' : undefined;
}

export async function runDiff(argv: string[], defaultOut: string, io: Io): Promise<number> {
  const flags = parse(argv);
  if (flags.help) {
    io.out(DIFF_HELP);
    return 0;
  }
  if (!flags.env) fail('diff needs --env NAME; e.g. npx zx scaffold.ts diff --env prod');
  if (!ENV_NAME.test(flags.env))
    fail(
      `--env ${JSON.stringify(flags.env)} is not an env name; use a DNS label (lower-case letters, digits and -), as in scaffold.config.yaml`,
    );
  const format = (flags.format ?? 'text') as Format;
  if (!FORMATS.includes(format))
    fail(`--format ${JSON.stringify(flags.format)} is not one of ${FORMATS.join(', ')}; choose one of them`);
  const maxChars = flags['max-chars'] === undefined ? undefined : Number(flags['max-chars']);
  if (maxChars !== undefined && !(Number.isInteger(maxChars) && maxChars >= 1000))
    fail(
      `--max-chars ${JSON.stringify(flags['max-chars'])} is not a whole number of at least 1000; e.g. --max-chars 30000`,
    );
  const env = flags.env;
  const root = resolve(flags.out ?? defaultOut);
  if (!existsSync(root)) fail(`--out ${root} does not exist; pass the repository's directory`);
  const repository = findRepository(root);
  if (!repository)
    fail(
      `${root} is not in a git repository, so there is no commit to compare with; run diff in the GitOps repository`,
    );
  removeTempDirsOnSignal();
  const top = repository.top;
  const prefix = relative(top, root) ? `${relative(top, root).split('\\').join('/')}/` : '';
  const base = baseCommit(top, root, flags.base);

  const after = await build(root, env, prefix, 'in the working tree');
  after?.objects.forEach(checkSealedShape);
  const tree = checkoutTree(top, base.commit, prefix);
  let before: Build | null;
  const at = `at ${base.ref} (${base.commit.slice(0, 12)})`;
  try {
    before = await build(tree, env, prefix, at);
  } catch (error) {
    // The base's own files are at fault: say so, with the paths as the repository has them.
    if (error instanceof UsageError)
      fail(`${error.message.startsWith(at) ? '' : `${at}: `}${error.message.split(tree).join(root)}`);
    throw error;
  } finally {
    removeTempDir(tree);
  }
  if (!before && !after)
    fail(
      `env ${env} is rendered neither at ${base.ref} nor in the working tree of ${root}; check --env, or run \`npx zx scaffold.ts --env ${env}\``,
    );
  refuseUnsealed(before?.objects ?? [], after?.objects ?? []);
  const notes = [
    ...(before ? [] : [`env ${env} is not rendered at ${base.ref}: every object is new`]),
    ...(after ? [] : [`env ${env} is not rendered in the working tree: every object goes`]),
  ];
  const comparison = compareBuilds(before?.objects ?? [], after?.objects ?? []);
  const engine = after?.engine ?? before?.engine ?? configuredEngine(root);
  const context = { before: before?.objects ?? [], after: after?.objects ?? [], ...(engine ? { engine } : {}) };
  const report = {
    env,
    base,
    sources: (after ?? before)!.sources,
    comparison,
    highlights: highlights(comparison.changes, context),
    notes,
  };
  io.out(formatReport(report, format, maxChars));
  return comparison.changes.length === 0 ? 0 : 1;
}
