// The git edge (simple-git): make the output a repository, refuse to mix a person's
// uncommitted work into a run, put the run on its own branch, commit it, push on request.
// Loaded only by runs that write.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { pauseForTest } from './apply.ts';
import { fail, redactCredentials } from './errors.ts';
import { realPathOf } from './paths.ts';
import { parseRecord, RECORD_FILE, type PlanEntry } from './plan.ts';

export interface GitRun {
  git: SimpleGit;
  root: string;
  /** Where the output sits in the repository ("" or "deploy/minio/"). */
  prefix: string;
  /** Uncommitted paths that hold the tool's own writes (a stopped or failed run's): committed with this run. */
  leftovers: string[];
  /** The branch the repository was on before the run (null: detached HEAD). */
  previousBranch: string | null;
  /** The commit HEAD was at (null: none yet). */
  head: string | null;
  /** Notes for the person: the fallback author, a detached HEAD. */
  notes: string[];
  /** Whether this run made the repository (`git init`): an early refusal removes it again. */
  created: boolean;
}

/** A commit identity for machines without one (CI); a person's own config wins. */
const FALLBACK_IDENTITY = ['user.name=minio-gitops', 'user.email=minio-gitops@localhost'];

/**
 * git at `root`, in the person's environment: simple-git drops GIT_* variables unless
 * allowed, and a person's GIT_SSH_COMMAND, GIT_CONFIG_GLOBAL or GIT_AUTHOR_NAME is theirs to set.
 */
function gitAt(root: string, config: string[] = []): SimpleGit {
  // A push to a remote that wants a password fails at once instead of waiting for a prompt.
  process.env.GIT_TERMINAL_PROMPT ??= '0';
  // No automatic maintenance after each of the run's commits (a process each): the person's
  // next git command does it.
  return simpleGit({
    baseDir: root,
    config: ['maintenance.auto=false', ...config],
    allowEnvironment: Object.keys(process.env),
  } as Parameters<typeof simpleGit>[0]);
}

async function withIdentity(root: string, notes: string[]): Promise<SimpleGit> {
  const probe = gitAt(root);
  const found = await probe.raw(['config', '--get-regexp', '^user\\.(name|email)$']).catch(() => '');
  const has = (key: string) =>
    new RegExp(`^user\\.${key} \\S`, 'm').test(found) ||
    Boolean(process.env[`GIT_AUTHOR_${key.toUpperCase()}`] && process.env[`GIT_COMMITTER_${key.toUpperCase()}`]);
  if (has('name') && has('email')) return probe;
  notes.push(
    'git has no user.name and user.email configured here: where no GIT_AUTHOR_*/GIT_COMMITTER_* variable says otherwise, the commit carries minio-gitops <minio-gitops@localhost>; set yours (git config --global user.name NAME; git config --global user.email EMAIL) and, to take it over, git commit --amend --reset-author',
  );
  return gitAt(root, FALLBACK_IDENTITY);
}

export interface RepositoryInput {
  root: string;
  /** The repository top the tool found (findRepository), for git to agree with. */
  top: string;
  /** Whether `root` is in a git work tree already (else one is made). */
  isRepo: boolean;
  /** Where `root` sits in its repository ("" or "deploy/minio/"): git status paths carry it. */
  prefix: string;
  entries: PlanEntry[];
  /** Files the run merges with a person's edits (the config, .sops.yaml, the record, sealed files). */
  merged: string[];
  /** Paths whose content on disk is what the tool wrote (record or pending), or that it deleted. */
  toolWrites: string[];
  /** Files whose uncommitted state always goes into the commit: the config, .sops.yaml, the record. */
  managed: string[];
  /** false with --no-commit: a repository without commits gets none. */
  committing: boolean;
  /** `root` was made by this run: nothing in it for git status to list. */
  empty?: boolean;
}

/**
 * Opens (or creates) the repository and checks that the paths this run changes hold no
 * uncommitted work of a person (the merged files excepted: their edits are the run's input).
 */
export async function prepareRepository(input: RepositoryInput): Promise<GitRun> {
  const { root, prefix, entries, merged, committing } = input;
  const created = !input.isRepo;
  if (created) await gitAt(root).init(['--initial-branch=main']);
  const notes: string[] = [];
  const git = await withIdentity(root, notes);
  // Only the output's own paths: a large repository's other files cost nothing.
  // git must see the repository where the tool does (core.worktree, an empty .git below the
  // real one, GIT_CEILING_DIRECTORIES can make them differ): else the commit lands elsewhere.
  if (!created) {
    const top = (await git.raw(['rev-parse', '--show-toplevel']).catch(() => '')).trim();
    if (realPathOf(top || '/nonexistent') !== realPathOf(input.top)) {
      fail(
        `git sees ${top ? `the repository at ${top}` : 'no repository'} for ${root}, where ${input.top}/.git is; repair or remove that .git (or core.worktree), then re-run`,
      );
    }
  }
  // --no-renames: a deletion git would pair with a similar new file must stay a deletion.
  const files = input.empty ? [] : (await git.status(['--untracked-files=all', '--no-renames', '--', '.'])).files;
  const dirty = new Map(files.map((f) => [f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path, f]));
  const toolWrites = new Set(input.toolWrites);
  // A deletion a run made and did not commit, after its final record (which no longer names
  // the file): the record in HEAD still does.
  const deletions = [...dirty.keys()].filter(
    (p) => (dirty.get(p)!.working_dir === 'D' || dirty.get(p)!.index === 'D') && !toolWrites.has(p),
  );
  if (deletions.length > 0) {
    const committed = await git.show([`HEAD:${prefix}${RECORD_FILE}`]).catch(() => null);
    // A damaged record in HEAD names none (the person deleted it and re-runs with --force, as told).
    const files: Record<string, string> = committed ? committedFiles(committed) : {};
    for (const p of deletions)
      if (files[p] && !entries.some((e) => e.path === p && e.after !== null)) toolWrites.add(p);
  }
  const blocking = entries
    .filter((e) => e.action !== 'unchanged' && !merged.includes(e.path) && dirty.has(e.path) && !toolWrites.has(e.path))
    .map((e) => e.path);
  if (blocking.length > 0) {
    fail(`uncommitted changes in files this run would change: ${blocking.join(', ')}; commit or stash them first`);
  }
  // Uncommitted files to commit with this run: the tool's writes, the config and record, and
  // files that already hold what this run renders (made before the repository was, or by --no-commit).
  // (A tracked sealed file the person edited with sops is theirs to commit: merged, not rendered.)
  const untracked = (p: string) => dirty.get(p)?.working_dir === '?';
  const rendered = new Set(
    entries
      .filter((e) => e.action === 'unchanged' && e.after !== null && (!merged.includes(e.path) || untracked(e.path)))
      .map((e) => e.path),
  );
  const leftovers = [...dirty.keys()]
    .filter((p) => toolWrites.has(p) || input.managed.includes(p) || rendered.has(p))
    .sort();
  // --force overwrites only what git keeps a copy of (an ignored file is not in git status).
  const forced = entries.filter((e) => e.forced).map((e) => `:(literal)${e.path}`);
  if (forced.length > 0) {
    const tracked = new Set(
      (await git.raw(['ls-files', '-z', '--full-name', '--', ...forced]))
        .split('\0')
        .filter(Boolean)
        .map((p) => p.slice(prefix.length)),
    );
    const lost = entries.filter((e) => e.forced && !tracked.has(e.path)).map((e) => e.path);
    if (lost.length > 0)
      fail(
        `--force would overwrite or delete ${lost.join(', ')}, which git has no copy of (untracked or ignored); copy ${lost.length === 1 ? 'it' : 'them'} away or commit ${lost.length === 1 ? 'it' : 'them'}, and re-run`,
      );
  }
  const changing = entries.filter((e) => e.action !== 'unchanged').map((e) => `:(literal)${e.path}`);
  if (changing.length > 0 && !created) {
    // A file git is told not to look at (skip-worktree set by hand, assume-unchanged): its
    // change would be left out of the commit. (Sparse checkout's own bits are on absent files.)
    const hidden = (await git.raw(['ls-files', '-v', '-z', '--full-name', '--', ...changing]))
      .split('\0')
      .filter((l) => /^(S|[a-z]) /.test(l))
      .map((l) => l.slice(2).slice(prefix.length))
      .filter((p) => existsSync(join(root, p)));
    if (hidden.length > 0)
      fail(
        `git is told to ignore changes to ${hidden.join(', ')} (skip-worktree or assume-unchanged), so the commit would leave them out; clear it (git update-index --no-skip-worktree --no-assume-unchanged FILE) and re-run`,
      );
  }
  if (changing.length > 0) {
    // Attributes that make git commit other bytes than the tool writes (a .gitattributes from
    // a pull request): a filter (LFS...), another encoding, $Id$ expansion.
    const attrs = (
      await git.raw([
        'check-attr',
        '-z',
        'filter',
        'working-tree-encoding',
        'ident',
        '--',
        ...changing.map((p) => p.slice(':(literal)'.length)),
      ])
    ).split('\0');
    const bent: string[] = [];
    for (let i = 0; i + 2 < attrs.length; i += 3)
      if (!['unspecified', 'unset'].includes(attrs[i + 2]!) && !bent.includes(attrs[i]!)) bent.push(attrs[i]!);
    if (bent.length > 0)
      fail(
        `git attributes (filter, working-tree-encoding or ident in .gitattributes) would change what is committed for ${bent.slice(0, 3).join(', ')}${bent.length > 3 ? ', ...' : ''}; remove those attributes for the generated files and re-run`,
      );
  }
  // A repository this run made has no commit, and is on main (git init above).
  const head = created
    ? null
    : (await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => '')).trim() || null;
  const branch = created
    ? 'main'
    : (await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
  if (!branch && head && committing)
    notes.push(
      `HEAD was detached at ${head.slice(0, 12)}: the run's branch starts there; open its pull request into the branch that commit belongs to`,
    );
  // An unborn branch (no commits yet) is still the branch to return to.
  return { git, root, prefix, leftovers, previousBranch: branch || null, head, notes, created };
}

/** A base to branch from and return to: a repository without commits gets an empty one. */
export async function ensureBase(run: GitRun): Promise<void> {
  if (run.head) return;
  await run.git.raw(['commit', '-q', '--allow-empty', '-m', 'Initialize repository (minio-gitops)']);
  run.head = 'HEAD';
}

/**
 * How the run gets onto `branch`: it is the current one, a new one from HEAD, or an
 * existing other branch whose changes are all in HEAD already (its pull request was
 * merged, also by squash or rebase), which starts afresh from HEAD. A branch that holds
 * unmerged work is refused. Reads only.
 */
export async function branchMove(run: GitRun, branch: string): Promise<'current' | 'new' | 'restart'> {
  if (run.previousBranch === branch) return 'current';
  if (run.created) return 'new'; // a repository this run made has no other branch
  const exists = (
    await run.git.raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => '')
  ).trim();
  if (!exists) return 'new';
  // Checked out in another worktree: moving it there would pull that work tree's HEAD away.
  const worktrees = (await run.git.raw(['worktree', 'list', '--porcelain']).catch(() => '')).split('\n\n');
  const elsewhere = worktrees.find((w) => w.split('\n').includes(`branch refs/heads/${branch}`));
  if (elsewhere)
    fail(
      `branch ${branch} is checked out in the worktree ${/^worktree (.*)$/m.exec(elsewhere)?.[1] ?? '?'}; run there, or pass --branch NAME`,
    );
  const base = (await run.git.raw(['merge-base', 'HEAD', branch]).catch(() => '')).trim();
  const changed = base
    ? (await run.git.raw(['diff', '--no-relative', '--name-only', base, branch])).trim()
    : 'unrelated';
  const differs = async () =>
    (
      await run.git.raw([
        'diff',
        '--no-relative',
        '--name-only',
        branch,
        'HEAD',
        '--',
        ...changed.split('\n').map((p) => `:(top,literal)${p}`),
      ])
    ).trim() !== '';
  const merged = changed === '' || (base !== '' && !(await differs()));
  if (!merged) {
    const ahead = base ? (await run.git.raw(['rev-list', '--count', `${base}..${branch}`])).trim() : '?';
    fail(
      `branch ${branch} already exists with ${ahead} commit(s) whose changes are not in HEAD; check it out to add to it (git checkout ${branch}), merge its pull request first, or pass --branch NAME`,
    );
  }
  return 'restart';
}

/** Puts the repository on `branch` the way branchMove said. */
export async function switchToBranch(run: GitRun, branch: string, move: 'current' | 'new' | 'restart'): Promise<void> {
  // -B: a restarted branch now starts at HEAD; its old commits are all merged.
  if (move === 'restart') await run.git.raw(['checkout', '-q', '-B', branch]);
  if (move === 'new') await run.git.checkoutLocalBranch(branch);
}

/** Commits the paths (-A: deletions too); anything else a person had staged stays staged, out of this commit. */
export async function commitPaths(run: GitRun, paths: string[], message: string): Promise<string | null> {
  const git = run.git;
  const unique = [...new Set(paths)].map((p) => `:(literal)${p}`);
  // git add matches pathspecs against the work tree and the index: a deletion staged by an
  // earlier, failed commit is in neither, and is committed as it is.
  // (Asked of git only when some path is missing from the work tree.)
  const missing = [...new Set(paths)].filter((p) => !existsSync(join(run.root, p)));
  const indexed =
    missing.length === 0
      ? new Set<string>()
      : new Set(
          (await git.raw(['ls-files', '-z', '--full-name', '--', ...missing.map((p) => `:(literal)${p}`)]))
            .split('\0')
            .filter(Boolean),
        );
  const present = [...new Set(paths)]
    .filter((p) => !missing.includes(p) || indexed.has(run.prefix + p))
    .map((p) => `:(literal)${p}`);
  // -f: a generated file is committed even if an ignore rule (a .gitignore from a pull
  // request, a global excludes file) matches it, else the branch would not build;
  // --sparse: even outside a sparse checkout's cone.
  if (present.length > 0) await git.raw(['add', '-A', '-f', '--sparse', '--', ...present]);
  if (process.env.MINIO_GITOPS_TEST_PAUSE_AFTER === 'add') pauseForTest(); // test/hostile.test.ts: a run killed between add and commit
  // Only what differs from HEAD: a file an interrupted run made and this run removed is in neither.
  // (In a repository this run made, everything added is new.)
  const staged = run.created
    ? present.map((p) => run.prefix + p.slice(':(literal)'.length))
    : (await git.raw(['diff', '--no-relative', '--no-renames', '--cached', '--name-only', '-z', '--', ...unique]))
        .split('\0')
        .filter(Boolean);
  if (staged.length === 0) return null;
  // Its summary's first line names the commit ("[branch abc1234] subject", "[main (root-commit)
  // abc1234] subject"): no rev-parse after it.
  const said = await git.raw(['commit', '-m', message, '--', ...staged.map((p) => `:(top,literal)${p}`)]);
  return /^\[[^\]\n]* ([0-9a-f]{7,})\] /m.exec(said)?.[1] ?? (await git.revparse(['--short', 'HEAD'])).trim();
}

/** Whether `branch` has commits its origin counterpart lacks (or origin has no such branch). */
export async function unpushed(run: GitRun, branch: string): Promise<boolean> {
  const local = (
    await run.git.raw(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => '')
  ).trim();
  const remote = (
    await run.git.raw(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`]).catch(() => '')
  ).trim();
  return local !== '' && local !== remote;
}

export async function hasOrigin(run: GitRun): Promise<boolean> {
  return (await run.git.getRemotes()).some((r) => r.name === 'origin');
}

/** Pushes `branch` to origin; returns why it failed (the remote's reason), or null. */
export async function pushBranch(run: GitRun, branch: string): Promise<string | null> {
  try {
    await run.git.push(['-u', 'origin', branch]);
    return null;
  } catch (error) {
    // The remote's reason: a rejected ref ("! [rejected] ... (fetch first)"), a hook's "remote:" lines, or git's fatal line.
    const lines = String((error as Error).message)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const reason = [
      ...lines.filter((l) => /^!\s*\[(remote )?rejected\]/.test(l)),
      ...lines.filter(
        (l) => /^remote:\s*\S/.test(l) && !/^remote:\s*(Enumerating|Counting|Compressing|Total|Resolving)/.test(l),
      ),
      ...lines.filter((l) => /^fatal:/.test(l)),
    ].slice(0, 3);
    return redactCredentials((reason.length > 0 ? reason : lines.slice(0, 1)).join(' / '));
  }
}

/** The files a committed record names, or none when it is damaged. */
function committedFiles(text: string): Record<string, string> {
  try {
    return parseRecord(text).files;
  } catch {
    return {};
  }
}
