// `diff --env NAME [--base REF] [--format text|markdown|json]`: what the cluster will
// receive from a change, offline. The env's objects (overlays/<env>, and clusters/<env>
// when it exists) are built at the base commit and in the working tree as the engine
// builds them, sealed Secrets as they are (no key is used), and compared object by object.
// Exit codes as --check: 0 no change, 1 changes, 2 an error. Loaded by cli.ts only for it.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readText } from '../apply.ts';
import { builtObjects } from '../cluster/build.ts';
import { id, type Obj } from '../cluster/objects.ts';
import { CONFIG_FILE } from '../config.ts';
import { fail, UsageError } from '../errors.ts';
import type { Io } from '../report.ts';
import { findRepository } from '../repo-state.ts';
import { parseUntrusted } from '../yaml-lib.ts';
import { compareBuilds } from './compare.ts';
import { FORMATS, formatReport, type Format } from './format.ts';
import { highlights } from './highlights.ts';
import { checkoutTree, git, resolveCommit } from './tree.ts';

const FLAGS = {
  env: { type: 'string' },
  base: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const DIFF_HELP = `npx zx scaffold.ts diff --env NAME [--base REF] [--format text|markdown|json] [--out DIR]

Builds env NAME (overlays/NAME, and clusters/NAME when present) at REF and in the working
tree, as the GitOps engine builds them, and prints what changes object by object: objects
added, removed and changed, each changed field with its old and new value, and at the top
what a reviewer must not miss (prune deletions, immutable fields, volume sizes, server sets,
Pod Security, NetworkPolicy openings, RBAC and AppProject widening). Secret values are never
printed: sealed values are compared by ciphertext (no key is used), plain ones by hash.

  --base REF      the commit to compare with (default: the merge base of HEAD and the branch
                  the engine syncs, \`revision\` in ${CONFIG_FILE}, or origin/ of it)
  --format F      text (default), markdown (a pull-request comment) or json
  --out DIR       the repository (default: beside scaffold.ts)

Exit codes: 0 no change, 1 changes, 2 an error.
`;

type Parsed = { env?: string; base?: string; format?: string; out?: string; help?: boolean };

function parse(argv: string[]): Parsed {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values as Parsed;
  } catch (error) {
    const m = /'(--?[^' ]+)'/.exec((error as Error).message);
    return fail(`diff: ${m ? `unknown option or missing value at ${m[1]}` : (error as Error).message.split('\n')[0]}; run diff --help`);
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
  const ok = typeof revision === 'string' && spawnSync('git', ['check-ref-format', '--branch', revision], { stdio: 'ignore' }).status === 0 && !revision.startsWith('-');
  if (!ok) fail(`${CONFIG_FILE} names revision ${JSON.stringify(revision)}, which is not a branch name; fix it, or pass --base REF`);
  return revision as string;
}

/** --base, or the merge base of HEAD with the synced branch (local, else origin's). */
function baseCommit(top: string, root: string, given: string | undefined): { ref: string; commit: string } {
  if (given !== undefined) {
    const commit = given === '' ? null : resolveCommit(top, given);
    if (!commit) fail(`--base ${JSON.stringify(given)} is not a commit in ${top}; pass a branch, tag or commit (git fetch it first if it is remote)`);
    return { ref: given, commit };
  }
  const branch = syncedBranch(root);
  const head = resolveCommit(top, 'HEAD');
  if (!head) fail(`${top} has no commit yet, so there is nothing to compare with; commit first, or pass --base REF`);
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    if (!resolveCommit(top, ref)) continue;
    const r = git(top, ['merge-base', head, ref]);
    if (r.status !== 0) fail(`HEAD and ${ref} have no common commit; pass --base REF`);
    return { ref: `merge base with ${ref.replace(/^refs\/(heads|remotes)\//, '')}`, commit: r.stdout.toString().trim() };
  }
  return fail(`diff compares with the branch the engine syncs (${branch}), and ${top} has neither ${branch} nor origin/${branch}; fetch it, or pass --base REF`);
}

/**
 * What can be checked of a sealed object without its key: it names recipients, carries a
 * MAC, and every value it should encrypt is encrypted. The values it holds are never shown.
 */
function checkSealedShape(o: Obj): void {
  const sops = o.sops as { age?: { recipient?: unknown; enc?: unknown }[]; mac?: unknown; lastmodified?: unknown; encrypted_regex?: unknown } | undefined;
  if (!sops) return;
  const broken = (why: string) => fail(`${id(o)} is sealed but ${why}: sops, KSOPS and Flux refuse it; restore its file with git, or edit it only with sops`);
  if (!Array.isArray(sops.age) || sops.age.length === 0 || !sops.age.every((a) => typeof a?.recipient === 'string' && /^age1[a-z0-9]+$/.test(a.recipient) && typeof a.enc === 'string' && a.enc.includes('BEGIN AGE ENCRYPTED FILE'))) {
    broken('names no age recipient with its wrapped key');
  }
  if (typeof sops.mac !== 'string' || !sops.mac.startsWith('ENC[AES256_GCM,') || typeof sops.lastmodified !== 'string') broken('has no encrypted MAC (sops.mac, sops.lastmodified)');
  let regex: RegExp | null = null;
  try {
    regex = typeof sops.encrypted_regex === 'string' ? new RegExp(sops.encrypted_regex) : null;
  } catch {
    broken('has an encrypted_regex that is not a regular expression');
  }
  const fields = Object.keys(o).filter((k) => k !== 'sops' && (regex ? regex.test(k) : k === 'data' || k === 'stringData'));
  const plain = (v: unknown, at: string): string | undefined => {
    if (Array.isArray(v)) return v.map((x, i) => plain(x, `${at}[${i}]`)).find(Boolean);
    if (typeof v === 'object' && v !== null) return Object.entries(v).map(([k, x]) => plain(x, `${at}.${k}`)).find(Boolean);
    return v === '' || (typeof v === 'string' && v.startsWith('ENC[AES256_GCM,')) ? undefined : at;
  };
  for (const f of fields) {
    const at = plain((o as Record<string, unknown>)[f], f);
    if (at) fail(`${id(o)} is sealed but its ${at} is not encrypted: the value is in the repository in plain text (not shown here); rotate it (npx zx scaffold.ts --env ENV --rotate ...) and seal it again`);
  }
}

/** The env's objects in `root`: overlays/<env> and clusters/<env>, or null when not rendered there. */
async function build(root: string, env: string, sources: string[]): Promise<Obj[] | null> {
  if (!existsSync(join(root, 'overlays', env, 'kustomization.yaml'))) return null;
  const objects: Obj[] = [];
  for (const source of sources) {
    if (existsSync(join(root, source, 'kustomization.yaml'))) objects.push(...(await builtObjects(root, env, false, source)));
  }
  return objects;
}

export async function runDiff(argv: string[], defaultOut: string, io: Io): Promise<number> {
  const flags = parse(argv);
  if (flags.help) {
    io.out(DIFF_HELP);
    return 0;
  }
  if (!flags.env) fail('diff needs --env NAME; e.g. npx zx scaffold.ts diff --env prod');
  if (!ENV_NAME.test(flags.env)) fail(`--env ${JSON.stringify(flags.env)} is not an env name; use a DNS label (lower-case letters, digits and -), as in scaffold.config.yaml`);
  const format = (flags.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) fail(`--format ${JSON.stringify(flags.format)} is not one of ${FORMATS.join(', ')}; choose one of them`);
  const env = flags.env;
  const root = resolve(flags.out ?? defaultOut);
  if (!existsSync(root)) fail(`--out ${root} does not exist; pass the repository's directory`);
  const repository = findRepository(root);
  if (!repository) fail(`${root} is not in a git repository, so there is no commit to compare with; run diff in the GitOps repository`);
  const top = repository.top;
  const prefix = relative(top, root) ? `${relative(top, root).split('\\').join('/')}/` : '';
  const base = baseCommit(top, root, flags.base);
  const sources = [`overlays/${env}`, `clusters/${env}`];

  const after = await build(root, env, sources);
  after?.forEach(checkSealedShape);
  const tree = checkoutTree(top, base.commit, prefix);
  let before: Obj[] | null;
  try {
    before = await build(tree, env, sources);
  } catch (error) {
    // The base's own files are at fault: say so, with the paths as the repository has them.
    if (error instanceof UsageError) fail(`at ${base.ref} (${base.commit.slice(0, 12)}): ${error.message.split(tree).join(root)}`);
    throw error;
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  if (!before && !after) fail(`env ${env} is rendered neither at ${base.ref} nor in the working tree of ${root}; check --env, or run \`npx zx scaffold.ts --env ${env}\``);
  const notes = [...(before ? [] : [`env ${env} is not rendered at ${base.ref}: every object is new`]), ...(after ? [] : [`env ${env} is not rendered in the working tree: every object goes`])];
  const comparison = compareBuilds(before ?? [], after ?? []);
  const shownSources = sources.filter((s) => existsSync(join(root, s, 'kustomization.yaml')));
  const report = { env, base, sources: shownSources.length > 0 ? shownSources : [sources[0]!], comparison, highlights: highlights(comparison.changes, after ?? []), notes };
  io.out(formatReport(report, format));
  return comparison.changes.length === 0 ? 0 : 1;
}
