// What a run prints: the plan as a diff, the summary (text or JSON), the next steps and
// the commit message. Never a secret value.
import type { Options } from './options.ts';
import { counts, RECORD_FILE, type Plan, type PlanEntry } from './plan.ts';
import { RUN_AS } from './render/names.ts';
import { shellQuote as q } from './render/shell.ts';
import { hasTrustStep } from './render/trust.ts';
import type { SecretsPlan } from './sealed.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export function summaryLine(plan: Plan): string {
  const c = counts(plan);
  return `${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged`;
}

export function warnings(options: Options): string[] {
  const s = options.settings;
  const list: string[] = [];
  if (s.secrets === 'plain') {
    list.push(
      `overlays/${options.env} uses fixed development credentials in a plain Secret: for development only, never for data that matters`,
    );
  }
  if (s.storage === 'hostpath') {
    list.push(
      `overlays/${options.env} stores data in the node directory ${s.hostPath}, which must belong to uid ${RUN_AS} (on the node: mkdir -p ${q(s.hostPath)} && chown ${RUN_AS}:${RUN_AS} ${q(s.hostPath)}); its namespace is labelled Pod Security "privileged" for that volume`,
    );
  }
  return list;
}

/** What a person must know about keys and credentials; never a secret value. */
export function secretsReport(options: Options, secrets: SecretsPlan, dryRun: boolean): string[] {
  const lines: string[] = [];
  if (secrets.generated.length > 0) {
    lines.push(
      `${dryRun ? 'would generate' : 'generated'} new credentials: ${secrets.generated.join(', ')} (sealed/${options.env}/, encrypted to ${secrets.recipients.length} age recipient${secrets.recipients.length === 1 ? '' : 's'})`,
    );
  }
  const key = secrets.newKey;
  if (key) {
    lines.push(
      `${dryRun ? 'would create' : 'created'} an age key for sops: ${key.path} (mode 0600, outside the repository: back it up; whoever holds it can read the secrets)`,
      `  recipient: ${key.recipient}`,
      `  Flux:    kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${q(key.path)}`,
      `  Argo CD: kubectl -n argocd create secret generic sops-age --from-file=keys.txt=${q(key.path)}    # then mount it into the repo-server, see overlays/${options.env}/README.md`,
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
export async function printPlanDiff(io: Io, entries: PlanEntry[]): Promise<void> {
  const { createTwoFilesPatch } = await import('diff');
  for (const e of entries) {
    if (e.action === 'unchanged') continue;
    const sealed = isSealedSecret(e.path);
    io.out(`${e.action} ${e.path}${e.forced ? '  (hand edit)' : ''}${sealed ? '  (encrypted; no diff shown)' : ''}\n`);
    if (e.path === RECORD_FILE || sealed) continue; // hashes and ciphertext: noise in a review
    const from = e.before === null ? '/dev/null' : `a/${e.path}`;
    const to = e.after === null ? '/dev/null' : `b/${e.path}`;
    io.out(
      createTwoFilesPatch(from, to, e.before ?? '', e.after ?? '', '', '', { context: 3 })
        .split('\n')
        .slice(1)
        .join('\n'),
    );
  }
}

export interface Summary {
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

export function commitMessage(options: Options, plan: Plan, leftovers: string[], notes: string[] = []): string {
  const s = options.settings;
  const c = counts(plan);
  const list = (action: string) => plan.entries.filter((e) => e.action === action).map((e) => `  ${e.path}`);
  const section = (action: string, title: string) =>
    c[action as keyof typeof c] > 0 ? [`${title}:`, ...list(action)] : [];
  return [
    `scaffold(${options.env}): ${c.create} created, ${c.update} updated, ${c.delete} deleted`,
    '',
    `env ${options.env} (profile ${s.profile}): replicas=${s.replicas} storage=${s.storage}${s.storage === 'pvc' ? ` size=${s.size}` : ''} secrets=${s.secrets} tls=${s.tls ? 'on' : 'off'} ingress=${s.ingress ? 'on' : 'off'} monitoring=${s.monitoring ? 'on' : 'off'} gitops=${options.global.gitops}`,
    '',
    ...section('create', 'created'),
    ...section('update', 'updated'),
    ...section('delete', 'deleted'),
    ...(leftovers.length > 0
      ? [
          'uncommitted before this run (a stopped run, --no-commit or a failed commit), committed now:',
          ...leftovers.map((p) => `  ${p}`),
        ]
      : []),
    // What the run said on the terminal, for whoever reviews the pull request.
    ...(notes.length > 0 ? ['', 'notes:', ...notes.map((n) => `  ${n}`)] : []),
  ].join('\n');
}

export function nextSteps(options: Options, summary: Omit<Summary, 'next'>): string[] {
  const steps: string[] = [];
  const changed = summary.created.length + summary.updated.length + summary.deleted.length > 0;
  if (summary.commit && summary.branch) {
    // Started on the branch itself: the pull request exists or targets the default branch.
    const pr =
      summary.previousBranch && summary.previousBranch !== summary.branch
        ? `open a pull request from ${summary.branch} into ${summary.previousBranch}`
        : `open or update the pull request of ${summary.branch}`;
    steps.push(summary.pushed ? pr : `git push -u origin ${q(summary.branch)}    # then ${pr}`);
    if (summary.previousBranch && summary.previousBranch !== summary.branch)
      steps.push(`git checkout ${q(summary.previousBranch)}    # to return to where you were`);
  } else if (changed) {
    steps.push('review the changes (git diff), commit them, and open a pull request');
  }
  const clusters = `clusters/${options.env}`;
  if (options.global.repoURL) {
    const engine = options.global.gitops === 'flux' ? 'Flux' : 'Argo CD';
    const touchedClusters = [...summary.created, ...summary.updated, ...summary.deleted].some((p) =>
      p.startsWith(`${clusters}/`),
    );
    steps.push(
      `${touchedClusters ? 'once merged, apply' : 'first install only: apply'} ${clusters} (kubectl apply -k ${q(clusters)}): it points ${engine} at overlays/${options.env}${options.global.gitops === 'flux' ? `; or let Flux manage it (flux bootstrap ... --path=${q(`${options.repoPath}${clusters}`)})` : ''}`,
    );
    // `kubectl apply -k` leaves behind what clusters/<env> no longer lists: a removed Flux step.
    for (const path of summary.deleted) {
      const step = new RegExp(`^${clusters}/kustomization-minio(-[a-z]+)?\\.yaml$`).exec(path);
      if (step && options.global.gitops === 'flux')
        steps.push(
          `once merged: kubectl -n flux-system delete kustomization ${q(`minio-${options.env}${step[1] ?? ''}`)}    # a step the env no longer has (${path})`,
        );
    }
  } else {
    steps.push(
      `first install only: apply overlays/${options.env}/${hasTrustStep(options) ? 'trust, then minio' : 'minio'}, then bootstrap, then consumers (kubectl apply -k each; see overlays/${options.env}/README.md), or pass --repo-url to get ${clusters}/ for ${options.global.gitops}`,
    );
  }
  return steps;
}

export function printSummary(io: Io, summary: Summary, entries: PlanEntry[]): void {
  const color = useColor();
  const paint = (action: string, text: string) => (color ? `${COLOR[action]}${text}\x1b[0m` : text);
  for (const e of entries)
    if (e.action !== 'unchanged')
      io.out(
        `${paint(e.action, `${MARK[e.action]} ${e.path}`)}${e.forced ? '  (hand edit overwritten: --force)' : ''}\n`,
      );
  const total = `${summary.created.length} created, ${summary.updated.length} updated, ${summary.deleted.length} deleted, ${summary.unchanged} unchanged`;
  io.out(`env ${summary.env} in ${summary.root}: ${total}\n`);
  if (summary.commit)
    io.out(
      `committed ${summary.commit} on branch ${summary.branch}${summary.previousBranch && summary.previousBranch !== summary.branch ? ` (from ${summary.previousBranch})` : ''}${summary.pushed ? ', pushed to origin' : ''}\n`,
    );
  else if (summary.branch === null && total.startsWith('0 created, 0 updated, 0 deleted'))
    io.out('nothing changed: no commit\n');
  for (const note of summary.notes) io.err(`note: ${note}\n`);
  for (const w of summary.warnings) io.err(`warning: ${w}\n`);
  for (const line of summary.secrets) io.out(`${line}\n`);
  io.out(`next:\n${summary.next.map((step) => `  ${step}`).join('\n')}\n`);
}
