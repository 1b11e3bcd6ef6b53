// Where the output is and what state its repository is in, read from the disk (no git
// process, no git module): the run refuses places it must never write to and git states
// it must not commit into, before anything is written.
import { existsSync, lstatSync, readFileSync, type Stats, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fail } from './errors.ts';
import { SYSTEM_DIRS } from './options.ts';
import { isWithin, realPathOf } from './paths.ts';

/**
 * Variables that point git at another repository, work tree or index than the one at
 * --out (git sets GIT_DIR for hooks, `rebase -x`, `submodule foreach`): the run's git
 * is always the repository the output is in, so they are dropped at the start.
 */
export const GIT_LOCATION_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  // and those that change how the run's pathspecs (`:(literal)path`) read
  'GIT_LITERAL_PATHSPECS',
  'GIT_GLOB_PATHSPECS',
  'GIT_NOGLOB_PATHSPECS',
  'GIT_ICASE_PATHSPECS',
];

export interface Repository {
  /** The top of the work tree (the directory holding `.git`). */
  top: string;
  /** The git directory (`.git`, or where a worktree's or submodule's `.git` file points). */
  gitDir: string;
}

/** The repository `dir` is in (a `.git` in it or above it, as git looks), or null. */
export function findRepository(dir: string): Repository | null {
  for (let d = dir; ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    let stat: Stats | undefined;
    try {
      stat = statSync(dotGit, { throwIfNoEntry: false });
    } catch {
      stat = undefined; // a file where a directory would be, no permission: no repository there
    }
    if (stat?.isDirectory()) return { top: d, gitDir: dotGit };
    if (stat?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
      if (m) return { top: d, gitDir: isAbsolute(m[1]!) ? m[1]! : resolve(d, m[1]!) };
    }
    if (dirname(d) === d) return null;
  }
}

/** The directory git keeps the shared state of all worktrees in (the main `.git`). */
export function commonGitDir(repo: Repository): string {
  try {
    return resolve(repo.gitDir, readFileSync(join(repo.gitDir, 'commondir'), 'utf8').trim());
  } catch {
    return repo.gitDir;
  }
}

/** A directory that is itself a git directory: a bare repository, or inside some `.git`. */
function bareRepository(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (d.split('/').includes('.git')) return d;
    if (
      existsSync(join(d, 'HEAD')) &&
      existsSync(join(d, 'objects')) &&
      existsSync(join(d, 'refs')) &&
      !existsSync(join(d, '.git'))
    )
      return d;
    if (dirname(d) === d) return null;
  }
}

// Operations git leaves half done, by the file that marks each, and how to finish one.
const BUSY: [string, string][] = [
  ['MERGE_HEAD', 'a merge is in progress; finish it (git commit) or abort it (git merge --abort)'],
  ['rebase-merge', 'a rebase is in progress; finish it (git rebase --continue) or abort it (git rebase --abort)'],
  [
    'rebase-apply',
    'a rebase or git am is in progress; finish it (git rebase --continue, git am --continue) or abort it (--abort)',
  ],
  [
    'CHERRY_PICK_HEAD',
    'a cherry-pick is in progress; finish it (git cherry-pick --continue) or abort it (git cherry-pick --abort)',
  ],
  ['REVERT_HEAD', 'a revert is in progress; finish it (git revert --continue) or abort it (git revert --abort)'],
  [
    'sequencer',
    'a cherry-pick or revert of several commits is in progress; finish it (--continue) or abort it (--abort)',
  ],
  ['BISECT_LOG', 'a bisect is in progress; end it (git bisect reset)'],
  [
    'index.lock',
    'another git command is running, or one was stopped and left .git/index.lock; wait for it, or if no git is running delete that file',
  ],
  [
    'HEAD.lock',
    'another git command is running, or one was stopped and left .git/HEAD.lock; wait for it, or if no git is running delete that file',
  ],
];

/** Refuses a run that would write into a repository in the middle of an operation (or a bare one). */
export function checkRepositoryState(root: string, repo: Repository | null): void {
  // A `.git` git cannot open (a file without `gitdir:`, say): neither a repository nor free for one.
  const dotGit = join(root, '.git');
  const there = (() => {
    try {
      return lstatSync(dotGit, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false; // a part of the path is a file: the writability check says so
    }
  })();
  if ((!repo || repo.top !== root) && there) {
    fail(`${dotGit} exists but is not a git directory or link git can open; move it away (or repair it) and re-run`);
  }
  if (!repo || root.split('/').includes('.git')) {
    const bare = bareRepository(root);
    if (bare)
      fail(
        `${root} is inside a git directory or bare repository (${bare}), which has no work tree to write files into; choose a directory in a clone (git clone ${bare} DIR) as --out`,
      );
    return;
  }
  for (const [marker, what] of BUSY) {
    if (existsSync(join(repo.gitDir, marker)))
      fail(`the repository ${repo.top}: ${what}, then re-run (nothing was written)`);
  }
}

// The filesystem root and the directories that hold a system or many people's files: a
// generated tree (and a `git init`) there would mix with what is not the tool's.
const EXACT = [
  '/',
  '/home',
  '/root',
  '/usr',
  '/usr/local',
  '/var',
  '/var/lib',
  '/tmp',
  '/var/tmp',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
  '/snap',
  '/Users',
  '/Volumes',
];
const TREES = [
  '/etc',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
  '/dev',
  '/proc',
  '/sys',
  '/run',
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib',
  '/usr/lib32',
  '/usr/lib64',
  '/usr/libexec',
  '/usr/include',
  '/usr/share',
  '/var/run',
  '/var/log',
  '/var/cache',
  '/var/spool',
  '/var/lib/kubelet',
  '/var/lib/dpkg',
  '/var/lib/apt',
  '/System',
  '/Library',
];

/** Refuses an output at the filesystem root, the home directory itself, or a system directory. */
export function checkOutputLocation(root: string, home = homedir()): void {
  const real = realPathOf(root);
  const homes = [home, realPathOf(home)];
  const secretTrees = ['.ssh', '.gnupg', '.config', '.kube', '.aws', '.local', '.cache'].flatMap((d) =>
    homes.map((h) => join(h, d)),
  );
  const trees = [...TREES, ...SYSTEM_DIRS.filter((d) => d !== '/root')];
  const refused =
    EXACT.includes(real) ||
    homes.includes(real) ||
    [root, real].some((p) => trees.some((t) => isWithin(t, p)) || secretTrees.some((t) => isWithin(t, p)));
  if (refused)
    fail(
      `--out ${root} is ${real === '/' ? 'the filesystem root' : homes.includes(real) ? 'your home directory itself' : "a system directory or one that holds others' files"}; give the generated repository a directory of its own (e.g. --out ~/src/storage-gitops)`,
    );
}
