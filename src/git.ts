// The git edge (simple-git): make the output a repository, refuse to mix a person's
// uncommitted work into a run, put the run on its own branch, commit it, push on request.
// Loaded only by runs that write.
import { simpleGit, type SimpleGit } from 'simple-git';
import { fail } from './errors.ts';
import type { PlanEntry } from './plan.ts';

export interface GitRun {
  git: SimpleGit;
  /** Plan paths that are uncommitted but already hold the rendered content (an interrupted run's writes). */
  leftovers: string[];
  /** The branch the repository was on before the run (null: detached HEAD). */
  previousBranch: string | null;
}

/** A commit identity for machines without one (CI); a person's own config wins. */
const FALLBACK_IDENTITY = ['user.name=minio-gitops', 'user.email=minio-gitops@localhost'];

async function withIdentity(root: string): Promise<SimpleGit> {
  const probe = simpleGit(root);
  const found = await probe.raw(['config', '--get-regexp', '^user\\.(name|email)$']).catch(() => '');
  const has = (key: string) => new RegExp(`^user\\.${key} \\S`, 'm').test(found);
  return has('name') && has('email') ? probe : simpleGit({ baseDir: root, config: FALLBACK_IDENTITY });
}

export interface RepositoryInput {
  root: string;
  /** Whether `root` is in a git work tree already (else one is made). */
  isRepo: boolean;
  /** Where `root` sits in its repository ("" or "deploy/minio/"): git status paths carry it. */
  prefix: string;
  entries: PlanEntry[];
  /** Files the run merges with a person's edits (the config, .sops.yaml, the record, sealed files). */
  merged: string[];
  /** Paths the record lists as pending: what an interrupted run was writing. */
  pending: string[];
  /** false with --no-commit: a repository without commits gets none. */
  committing: boolean;
}

/**
 * Opens (or creates) the repository and checks that the paths this run changes hold no
 * uncommitted work of a person (the merged files excepted: their edits are the run's input).
 */
export async function prepareRepository(input: RepositoryInput): Promise<GitRun> {
  const { root, prefix, entries, merged, pending, committing } = input;
  if (!input.isRepo) await simpleGit(root).init(['--initial-branch=main']);
  const git = await withIdentity(root);
  const status = await git.status(['--untracked-files=all']);
  const dirty = new Set(status.files.map((f) => f.path));
  const blocking = entries.filter((e) => e.action !== 'unchanged' && !merged.includes(e.path) && dirty.has(prefix + e.path)).map((e) => e.path);
  if (blocking.length > 0) {
    fail(`uncommitted changes in files this run would change: ${blocking.join(', ')}; commit or stash them first`);
  }
  // An interrupted run's writes: listed as pending in the record, uncommitted, and already
  // what this run renders. A person's uncommitted edit is never among them.
  const leftovers = entries.filter((e) => e.action === 'unchanged' && pending.includes(e.path) && dirty.has(prefix + e.path)).map((e) => e.path);
  // A base to branch from and return to: a repository without commits gets an empty one.
  const head = await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => '');
  const hasCommit = head.trim() !== '';
  if (!hasCommit && committing) await git.commit('Initialize repository (minio-gitops)', [], { '--allow-empty': null });
  const current = hasCommit || committing ? (await git.revparse(['--abbrev-ref', 'HEAD'])).trim() : 'HEAD';
  return { git, leftovers, previousBranch: current === 'HEAD' ? null : current };
}

/** Switches to `branch`: the current one, or a new one from HEAD; an existing other branch is refused. */
export async function switchToBranch(run: GitRun, branch: string): Promise<void> {
  if (run.previousBranch === branch) return;
  try {
    await run.git.checkoutLocalBranch(branch);
  } catch (error) {
    if (/already exists/.test(String(error))) fail(`branch ${branch} already exists; check it out to add to it (git checkout ${branch}), or pass --branch NAME`);
    throw error;
  }
}

export async function commitPaths(run: GitRun, paths: string[], message: string): Promise<string> {
  const git = run.git;
  // -A records deletions too; the pathspecs keep the commit to this run's files.
  await git.raw(['add', '-A', '--', ...paths]);
  // The pathspecs make the commit hold these paths only: anything else the person had
  // staged stays staged, out of this commit.
  await git.commit(message, paths, {});
  return (await git.revparse(['--short', 'HEAD'])).trim();
}

export async function pushBranch(run: GitRun, branch: string): Promise<void> {
  const remotes = await run.git.getRemotes();
  if (!remotes.some((r) => r.name === 'origin')) fail('--push needs an origin remote; add one with git remote add origin URL (nothing was pushed, the commit is made)');
  await run.git.push(['-u', 'origin', branch]);
}
