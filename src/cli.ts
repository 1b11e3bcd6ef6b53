// The command: flags and config in, plan, apply (or print it), summary out. Errors a
// user can fix come back as one line and exit code 2, with nothing written.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { applyPlan, checkPlanWritable, checkWritable, readText } from './apply.ts';
import { helpText, parseFlags, type Flags } from './args.ts';
import { CONFIG_FILE, resolveOptions } from './config.ts';
import { fail, UsageError } from './errors.ts';
import type { Options } from './options.ts';
import { counts, formatRecord, makePlan, parseRecord, RECORD_FILE, type Plan, type PlanEntry } from './plan.ts';
import { combine } from './render/files.ts';
import { ownedPrefixes, renderTree } from './render/index.ts';
import type { SecretsPlan } from './sealed.ts';
import { SOPS_CONFIG_FILE } from './sops-config.ts';
import { RUN_AS } from './render/names.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Whether `dir` is inside a git work tree: a `.git` in it or above it (as git looks). */
function inRepository(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

/** The URL of the output repository's origin remote, if it has one. */
function originRemote(root: string): string | undefined {
  if (!inRepository(root)) return undefined;
  const r = spawnSync('git', ['-C', root, 'remote', 'get-url', 'origin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Everything up to the plan: no file is written here. */
export async function planRun(root: string, flags: Flags, now = new Date()) {
  const configBefore = readText(join(root, CONFIG_FILE));
  const { options, configText, notes } = resolveOptions(configBefore, flags, { repoURL: originRemote(root) });
  if (!options.global.repoURL) notes.push(`no repository URL (no --repo-url, none in ${CONFIG_FILE}, no origin remote): clusters/${options.env}/ (the ${options.global.gitops} manifests) is not rendered; pass --repo-url URL`);
  // age and sops code loads only for envs that seal secrets (or to refuse sops flags).
  const needsSealing = options.settings.secrets === 'sops' || flags.rotate.length > 0 || flags.ageRecipients.length > 0;
  const secrets: SecretsPlan = needsSealing ? await (await import('./sealed.ts')).planSecrets(root, options, flags, now) : { files: [], generated: [], recipients: [] };
  const desired = combine(renderTree(options), secrets.files);
  const recordBefore = readText(join(root, RECORD_FILE));
  const record = parseRecord(recordBefore);
  const paths = new Set([...desired.map((f) => f.path), ...Object.keys(record)]);
  const disk = new Map([...paths].map((p) => [p, readText(join(root, p))]));
  const plan = makePlan({
    desired,
    disk,
    record,
    owned: ownedPrefixes(options.env),
    managed: [
      { path: CONFIG_FILE, before: configBefore, after: configText },
      ...(secrets.sopsConfig ? [{ path: SOPS_CONFIG_FILE, ...secrets.sopsConfig }] : []),
    ],
    force: flags.force,
  });
  const recordAfter = formatRecord(plan.record);
  const recordEntry: PlanEntry = {
    path: RECORD_FILE,
    action: recordBefore === recordAfter ? 'unchanged' : recordBefore === null ? 'create' : 'update',
    before: recordBefore,
    after: recordAfter,
  };
  return { options, notes, secrets, plan: { ...plan, entries: [...plan.entries, recordEntry] } };
}

function summaryLine(plan: Plan): string {
  const c = counts(plan);
  return `${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged`;
}

function warnings(options: Options): string[] {
  const s = options.settings;
  const list: string[] = [];
  if (s.secrets === 'plain') {
    list.push(`overlays/${options.env} uses fixed development credentials in a plain Secret: for development only, never for data that matters`);
  }
  if (s.storage === 'hostpath') {
    list.push(`overlays/${options.env} stores data in the node directory ${s.hostPath}, which must belong to uid ${RUN_AS} (on the node: mkdir -p ${s.hostPath} && chown ${RUN_AS}:${RUN_AS} ${s.hostPath}); its namespace is labelled Pod Security "privileged" for that volume`);
  }
  return list;
}

/** What a person must know about keys and credentials; never a secret value. */
function secretsReport(options: Options, secrets: SecretsPlan, dryRun: boolean): string[] {
  const lines: string[] = [];
  if (secrets.generated.length > 0) {
    lines.push(`${dryRun ? 'would generate' : 'generated'} new credentials: ${secrets.generated.join(', ')} (sealed/${options.env}/, encrypted to ${secrets.recipients.length} age recipient${secrets.recipients.length === 1 ? '' : 's'})`);
  }
  const key = secrets.newKey;
  if (key) {
    lines.push(
      `${dryRun ? 'would create' : 'created'} an age key for sops: ${key.path} (mode 0600, outside the repository: back it up; whoever holds it can read the secrets)`,
      `  recipient: ${key.recipient}`,
      `  Flux:    kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${key.path}`,
      `  Argo CD: kubectl -n argocd create secret generic sops-age --from-file=keys.txt=${key.path}  (mount it into the repo-server, see overlays/${options.env}/README.md)`,
    );
  }
  return lines;
}

const MARK: Record<string, string> = { create: '+', update: '~', delete: '-' };
const COLOR: Record<string, string> = { create: '\x1b[32m', update: '\x1b[33m', delete: '\x1b[31m' };

/** Colors for a terminal, never with NO_COLOR (https://no-color.org), forced by FORCE_COLOR. */
function useColor(): boolean {
  if (process.env.NO_COLOR) return false;
  return Boolean(process.env.FORCE_COLOR) || process.stdout.isTTY === true;
}

const isSealedSecret = (path: string) => /^sealed\/[^/]+\/minio-[^/]+\.yaml$/.test(path);

/** The plan as a reviewer reads it: each change, and a unified diff of what is readable. */
async function printPlanDiff(io: Io, entries: PlanEntry[]): Promise<void> {
  const { createTwoFilesPatch } = await import('diff');
  for (const e of entries) {
    if (e.action === 'unchanged') continue;
    const sealed = isSealedSecret(e.path);
    io.out(`${e.action} ${e.path}${e.forced ? '  (hand edit)' : ''}${sealed ? '  (encrypted; no diff shown)' : ''}\n`);
    if (e.path === RECORD_FILE || sealed) continue; // hashes and ciphertext: noise in a review
    const from = e.before === null ? '/dev/null' : `a/${e.path}`;
    const to = e.after === null ? '/dev/null' : `b/${e.path}`;
    io.out(createTwoFilesPatch(from, to, e.before ?? '', e.after ?? '', '', '', { context: 3 }).split('\n').slice(1).join('\n'));
  }
}

interface Summary {
  env: string;
  root: string;
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: number;
  branch: string | null;
  previousBranch: string | null;
  commit: string | null;
  pushed: boolean;
  notes: string[];
  warnings: string[];
  secrets: string[];
  next: string[];
}

function commitMessage(options: Options, plan: Plan, leftovers: string[]): string {
  const s = options.settings;
  const c = counts(plan);
  const list = (action: string) => plan.entries.filter((e) => e.action === action).map((e) => `  ${e.path}`);
  const section = (action: string, title: string) => (c[action as keyof typeof c] > 0 ? [`${title}:`, ...list(action)] : []);
  return [
    `scaffold(${options.env}): ${c.create} created, ${c.update} updated, ${c.delete} deleted`,
    '',
    `env ${options.env} (profile ${s.profile}): replicas=${s.replicas} storage=${s.storage}${s.storage === 'pvc' ? ` size=${s.size}` : ''} secrets=${s.secrets} tls=${s.tls ? 'on' : 'off'} ingress=${s.ingress ? 'on' : 'off'} monitoring=${s.monitoring ? 'on' : 'off'} gitops=${options.global.gitops}`,
    '',
    ...section('create', 'created'),
    ...section('update', 'updated'),
    ...section('delete', 'deleted'),
    ...(leftovers.length > 0 ? ['written by an interrupted run, committed now:', ...leftovers.map((p) => `  ${p}`)] : []),
  ].join('\n');
}

function nextSteps(options: Options, summary: Omit<Summary, 'next'>): string[] {
  const steps: string[] = [];
  const changed = summary.created.length + summary.updated.length + summary.deleted.length > 0;
  if (summary.commit && summary.branch) {
    const base = summary.previousBranch ?? 'main';
    if (!summary.pushed) steps.push(`git push -u origin ${summary.branch}    # then open a pull request from ${summary.branch} into ${base}`);
    else steps.push(`open a pull request from ${summary.branch} into ${base}`);
    if (summary.previousBranch && summary.previousBranch !== summary.branch) steps.push(`git checkout ${summary.previousBranch}    # to return to where you were`);
  } else if (changed) {
    steps.push('review the changes (git diff), commit them, and open a pull request');
  }
  const clusters = `clusters/${options.env}`;
  if (options.global.repoURL) {
    steps.push(`first install only, once merged: kubectl apply -k ${clusters}    # points ${options.global.gitops === 'flux' ? 'Flux' : 'Argo CD'} at overlays/${options.env}`);
  } else {
    steps.push(`first install only: kubectl apply -k overlays/${options.env} (or pass --repo-url to get ${clusters}/ for ${options.global.gitops})`);
  }
  return steps;
}

function printSummary(io: Io, summary: Summary, entries: PlanEntry[]): void {
  const color = useColor();
  const paint = (action: string, text: string) => (color ? `${COLOR[action]}${text}\x1b[0m` : text);
  for (const e of entries) if (e.action !== 'unchanged') io.out(`${paint(e.action, `${MARK[e.action]} ${e.path}`)}${e.forced ? '  (hand edit overwritten: --force)' : ''}\n`);
  const total = `${summary.created.length} created, ${summary.updated.length} updated, ${summary.deleted.length} deleted, ${summary.unchanged} unchanged`;
  io.out(`env ${summary.env} in ${summary.root}: ${total}\n`);
  if (summary.commit) io.out(`committed ${summary.commit} on branch ${summary.branch}${summary.previousBranch && summary.previousBranch !== summary.branch ? ` (from ${summary.previousBranch})` : ''}${summary.pushed ? ', pushed to origin' : ''}\n`);
  else if (summary.branch === null && total.startsWith('0 created, 0 updated, 0 deleted')) io.out('nothing changed: no commit\n');
  for (const note of summary.notes) io.err(`note: ${note}\n`);
  for (const w of summary.warnings) io.err(`warning: ${w}\n`);
  for (const line of summary.secrets) io.out(`${line}\n`);
  io.out(`next:\n${summary.next.map((step) => `  ${step}`).join('\n')}\n`);
}

export async function main(argv: string[], defaultOut: string, io: Io = processIo): Promise<number> {
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      io.out(helpText());
      return 0;
    }
    if (flags.out === '') fail('--out needs a directory; leave it out to write beside scaffold.ts');
    if ([flags.dryRun, flags.check].filter(Boolean).length > 1) fail('--dry-run and --check do not go together; choose one');
    const root = resolve(flags.out ?? defaultOut);
    checkWritable(root);
    const now = new Date();
    // A dry run and a check show hand edits in their plan instead of refusing.
    const readOnly = flags.dryRun || flags.check;
    const { options, notes, secrets, plan } = await planRun(root, readOnly ? { ...flags, force: true } : flags, now);
    const changes = plan.entries.filter((e) => e.action !== 'unchanged');

    if (flags.check) {
      if (changes.length === 0) {
        io.out(`env ${options.env} in ${root} is up to date\n`);
        return 0;
      }
      await printPlanDiff(io, plan.entries);
      io.out(`env ${options.env} in ${root} is not what ${CONFIG_FILE} renders: ${summaryLine(plan)}; run \`npx zx scaffold.ts --env ${options.env}\` and commit\n`);
      return 1;
    }
    if (flags.dryRun) {
      await printPlanDiff(io, plan.entries);
      for (const note of notes) io.err(`note: ${note}\n`);
      io.out(`dry run for env ${options.env} in ${root}: ${summaryLine(plan)}; nothing written\n`);
      for (const line of secretsReport(options, secrets, true)) io.out(`${line}\n`);
      if (plan.conflicts.length > 0 && !flags.force) {
        io.out(`hand edits a real run would refuse to overwrite (without --force): ${plan.conflicts.join(', ')}\n`);
      }
      return 0;
    }

    checkPlanWritable(root, plan.entries);
    // Git checks come before the first write; the branch is made once they all pass.
    mkdirSync(root, { recursive: true }); // --out may name a directory to be made
    // --no-commit outside a repository: plain files, no git at all (nor its module).
    const git = flags.noCommit && !inRepository(root) ? null : await import('./git.ts');
    const repo = git ? await git.prepareRepository(root, plan.entries, (p) => readText(join(root, p)), [CONFIG_FILE, SOPS_CONFIG_FILE]) : null;
    // A run also commits what an interrupted run before it wrote but did not commit.
    const commit = repo !== null && !flags.noCommit && (changes.length > 0 || repo.leftovers.length > 0);
    const branch = commit ? flags.branch ?? `scaffold/${options.env}` : null;
    if (git && repo && branch) {
      if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-') || branch.includes('..')) fail(`--branch ${JSON.stringify(branch)} is not a branch name; use e.g. scaffold/${options.env}`);
      await git.switchToBranch(repo, branch);
    }
    // The key first: sealed files encrypted to a key that was never saved would be lost.
    if (secrets.newKey) (await import('./age-keys.ts')).saveIdentity(secrets.newKey, now);
    applyPlan(root, plan.entries, [CONFIG_FILE, SOPS_CONFIG_FILE, RECORD_FILE]);
    const sha = git && repo && branch ? await git.commitPaths(repo, [...changes.map((e) => e.path), ...repo.leftovers], commitMessage(options, plan, repo.leftovers)) : null;
    if (git && repo && branch && flags.push) await git.pushBranch(repo, branch);

    const byAction = (action: string) => changes.filter((e) => e.action === action).map((e) => e.path);
    const partial = {
      env: options.env,
      root,
      created: byAction('create'),
      updated: byAction('update'),
      deleted: byAction('delete'),
      unchanged: plan.entries.length - changes.length,
      branch,
      previousBranch: repo?.previousBranch ?? null,
      commit: sha,
      pushed: Boolean(branch && flags.push),
      notes,
      warnings: warnings(options),
      secrets: secretsReport(options, secrets, false),
    };
    const summary: Summary = { ...partial, next: nextSteps(options, partial) };
    if (flags.json) io.out(`${JSON.stringify(summary)}\n`);
    else printSummary(io, summary, plan.entries);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
