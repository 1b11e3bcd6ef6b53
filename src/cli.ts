// The command: flags and config in, plan, apply (or print it), summary out. Errors a
// user can fix come back as one line and exit code 2, with nothing written.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyPlan, checkPlanWritable, checkWritable, writeAtomic } from './apply.ts';
import { helpText, parseFlags, type Flags } from './args.ts';
import { CONFIG_FILE, SOPS_CONFIG_FILE } from './config.ts';
import { fail, redactCredentials, UsageError } from './errors.ts';
import { lockRepository } from './lock.ts';
import { realPathOf } from './paths.ts';
import { DELETED, formatRecord, RECORD_FILE, sha256, type PendingWrites, type PlanEntry } from './plan.ts';
import type { Options } from './options.ts';
import { planRun } from './plan-run.ts';
import {
  checkOutputLocation,
  checkRepositoryState,
  commonGitDir,
  findRepository,
  GIT_LOCATION_VARIABLES,
  type Repository,
} from './repo-state.ts';
import {
  commitMessage,
  nextSteps,
  printPlanDiff,
  printSummary,
  secretsReport,
  summaryLine,
  warnings,
  type Io,
  type Summary,
} from './report.ts';

export type { Io } from './report.ts';

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** A branch name git accepts (git check-ref-format), checked before git is touched. */
function checkBranchName(branch: string): string {
  const r = spawnSync('git', ['check-ref-format', '--branch', branch], { stdio: 'ignore' });
  if (r.status !== 0 || branch.startsWith('-'))
    fail(`--branch ${JSON.stringify(branch)} is not a branch name git accepts; use e.g. scaffold/prod`);
  return branch;
}

/** A run that lost the race to create the age key file: planned again with that key. */
const RETRY = Symbol('retry');

export async function main(argv: string[], defaultOut: string, io: Io = processIo): Promise<number> {
  try {
    // verify, apply and console talk to a cluster: their code (and the Kubernetes client)
    // loads only for them.
    if (['verify', 'apply', 'console'].includes(argv[0] ?? '')) {
      const { runClusterCommand } = await import('./cluster/command.ts');
      return await runClusterCommand(argv[0] as 'verify', argv.slice(1), defaultOut, io);
    }
    for (const name of GIT_LOCATION_VARIABLES) delete process.env[name];
    // diff builds two commits of the env and compares them: its code loads only for it. Its
    // exit code 1 means "changes", so anything unforeseen must end in 2, never in 1.
    if (argv[0] === 'diff') {
      const { runDiff } = await import('./diff/command.ts');
      try {
        return await runDiff(argv.slice(1), defaultOut, io);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        io.err(
          `error: diff failed unexpectedly (${redactCredentials(String((error as Error)?.message ?? error).split('\n')[0]!)}); report it with the command you ran\n`,
        );
        return 2;
      }
    }
    const flags = parseFlags(argv);
    if (flags.help) {
      io.out(helpText());
      return 0;
    }
    if (flags.out === '') fail('--out needs a directory; leave it out to write beside scaffold.ts');
    if ([flags.dryRun, flags.check].filter(Boolean).length > 1)
      fail('--dry-run and --check do not go together; choose one');
    // A shell that did not expand ~, a value of spaces, a line break: typed by mistake, and
    // resolved against the working directory they would land in someone's repository.
    if (
      flags.out !== undefined &&
      (flags.out.trim() === '' ||
        /^~/.test(flags.out) ||
        flags.out.startsWith('-') ||
        /[\x00-\x1f\x7f]/.test(flags.out))
    ) {
      fail(
        `--out ${JSON.stringify(flags.out)} is ${flags.out.startsWith('~') ? 'a path starting with ~ that no shell expanded' : flags.out.trim() === '' ? 'blank' : flags.out.startsWith('-') ? 'a name that starts with -' : 'a path with a control character'}; give the directory as a plain path (e.g. --out "$HOME/src/storage-gitops")`,
      );
    }
    const root = resolve(flags.out ?? defaultOut);
    if (root.length > 3000 || root.split('/').some((part) => Buffer.byteLength(part) > 255))
      fail(
        `--out is longer than a filesystem takes (a part over 255 bytes, or over 3000 in all); choose a shorter path`,
      );
    // A dry run and a check only read: anyone with read access may run them, anywhere.
    const readOnly = flags.dryRun || flags.check;
    if (!readOnly) {
      if (isDanglingLink(root))
        fail(`--out ${root} is a symbolic link to nothing; point it at a directory, or remove the link`);
      checkOutputLocation(root);
    }
    // One run at a time per repository: a second one waits, then refuses.
    const seen = findRepository(root);
    const release = lockRepository(realPathOf(seen?.top ?? root), seen ? commonGitDir(seen) : null, readOnly);
    try {
      for (let attempt = 0; ; attempt++) {
        // Looked at under the lock (a run before may have made the repository meanwhile), and
        // again on a retry (the first attempt may have made it).
        const repository = findRepository(root);
        if (!readOnly && attempt === 0) {
          checkRepositoryState(root, repository);
          checkWritable(root);
        }
        const code = await run(flags, root, readOnly, io, repository);
        if (code !== RETRY) return code;
        if (attempt > 0) fail('another run keeps creating the age key file at the same time as this one; re-run');
      }
    } finally {
      release();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n`);
      return 2;
    }
    // simple-git's errors: git refused something (a hook, a push, a ref); say what, in one line.
    if (isGitError(error)) {
      io.err(`error: git failed: ${gitReason(error)}; see git status\n`);
      return 2;
    }
    throw error;
  }
}

function isGitError(error: unknown): boolean {
  return (error as Error)?.constructor?.name === 'GitError' || (error as { task?: unknown })?.task !== undefined;
}

/** git's own words, in one line and without credentials. */
function gitReason(error: unknown): string {
  const said = String((error as Error).message)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return redactCredentials(
    said.find((l) => /^(fatal|error):/.test(l)) ?? said.find((l) => /^hint:/.test(l)) ?? said.at(-1) ?? 'unknown error',
  );
}

async function run(
  flags: Flags,
  root: string,
  readOnly: boolean,
  io: Io,
  found: Repository | null,
): Promise<number | typeof RETRY> {
  const now = new Date();
  // The one git status a re-run or a check needs, started now: git works on the other core
  // while the env renders (read-only: it takes no lock the run's own git commands wait for).
  const status = found && !flags.dryRun ? statusOf(root) : null;
  // A dry run and a check show hand edits in their plan instead of refusing.
  const {
    out,
    options,
    notes,
    secrets,
    plan,
    record,
    pending,
    toolWrites,
    finalRecord,
    layoutsBefore,
    merged,
    isRepo,
    repository,
  } = await planRun(root, readOnly ? { ...flags, force: true } : flags, now, found);
  const changes = plan.entries.filter((e) => e.action !== 'unchanged');

  if (flags.check) {
    const stopped = Object.keys(pending);
    if (stopped.length > 0) {
      io.out(
        `env ${options.env} in ${root}: a run stopped before it finished (${RECORD_FILE} lists ${stopped.length} file(s) it was writing, uncommitted); run \`npx zx scaffold.ts --env ${options.env}\` to finish and commit it\n`,
      );
      return 1;
    }
    // The record is bookkeeping: a sealed file edited with sops changes only its hash.
    if (changes.every((e) => e.path === RECORD_FILE)) {
      // Written by the tool and not committed (a run killed before its commit, or
      // --no-commit): the tree matches the config, the repository does not yet.
      const uncommitted = isRepo ? await uncommittedOf(status, options.repoPath, new Set(toolWrites)) : [];
      if (uncommitted.length > 0) {
        io.out(
          `env ${options.env} in ${root}: ${uncommitted.length} file(s) the tool wrote are not committed (${uncommitted.slice(0, 3).join(', ')}${uncommitted.length > 3 ? ', ...' : ''}); run \`npx zx scaffold.ts --env ${options.env}\` to commit them, or commit them yourself\n`,
        );
        return 1;
      }
      io.out(`env ${options.env} in ${root} is up to date\n`);
      return 0;
    }
    await printPlanDiff(io, plan.entries);
    for (const note of notes) io.err(`note: ${note}\n`);
    io.out(
      `env ${options.env} in ${root} is not what ${CONFIG_FILE} renders: ${summaryLine(plan)}; run \`npx zx scaffold.ts --env ${options.env}\` and commit\n`,
    );
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

  // Nothing to write, nothing a run before left uncommitted, nothing to push: done, with
  // one git status and without loading the git module (a re-run is the common case).
  const candidates = new Set([...plan.entries.map((e) => e.path), CONFIG_FILE, SOPS_CONFIG_FILE, RECORD_FILE]);
  if (
    isRepo &&
    changes.length === 0 &&
    Object.keys(pending).length === 0 &&
    !flags.push &&
    (await uncommittedOf(status, options.repoPath, candidates)).length === 0
  ) {
    summarize(io, flags, options, plan.entries, {
      env: options.env,
      root,
      created: [],
      updated: [],
      deleted: [],
      unchanged: plan.entries.length,
      branch: null,
      previousBranch: null,
      commit: null,
      pushed: false,
      notes,
      warnings: warnings(options),
      secrets: secretsReport(options, secrets, false),
    });
    return 0;
  }

  checkPlanWritable(root, plan.entries);
  // Outside git, nothing keeps the old version of a file --force overwrites or deletes.
  if (!isRepo && plan.conflicts.length > 0) {
    fail(
      `--force would overwrite or delete ${plan.conflicts.join(', ')}, and ${root} is not in a git repository, so nothing keeps the old version; copy ${plan.conflicts.length === 1 ? 'it' : 'them'} away (or commit the output to git) and re-run`,
    );
  }
  // --force replaces what a generated path holds; through a link it would write another file.
  const forcedLinks = plan.entries
    .filter((e) => e.forced && lstatSync(join(root, e.path), { throwIfNoEntry: false })?.isSymbolicLink())
    .map((e) => e.path);
  if (forcedLinks.length > 0)
    fail(
      `--force would write through the symbolic link${forcedLinks.length > 1 ? 's' : ''} ${forcedLinks.join(', ')} to another file; remove the link${forcedLinks.length > 1 ? 's' : ''} (git keeps them) and re-run`,
    );
  // Git checks come before the first write; the branch is made once they all pass.
  // The default, scaffold/<a DNS label>, is one by construction: git is asked about a given name only.
  const branchName = flags.noCommit
    ? null
    : flags.branch !== undefined
      ? checkBranchName(flags.branch)
      : `scaffold/${options.env}`;
  // --no-commit outside a repository: plain files, no git at all (nor its module).
  const git = flags.noCommit && !isRepo ? null : await import('./git.ts');
  const madeDir = mkdirSync(root, { recursive: true }); // --out may name a directory to be made
  let repo: Awaited<ReturnType<NonNullable<typeof git>['prepareRepository']>> | null = null;
  let branch: string | null = null;
  try {
    repo = git
      ? await git.prepareRepository({
          root,
          top: repository?.top ?? root,
          isRepo,
          prefix: options.repoPath,
          entries: plan.entries,
          merged,
          toolWrites,
          managed: [CONFIG_FILE, SOPS_CONFIG_FILE, RECORD_FILE],
          committing: !flags.noCommit,
          empty: madeDir !== undefined,
        })
      : null;
    if (git && repo && flags.push && !(await git.hasOrigin(repo)))
      fail('--push needs an origin remote; add one (git remote add origin URL), or leave out --push');
    branch = git && repo && branchName && (changes.length > 0 || repo.leftovers.length > 0) ? branchName : null;
    const move = git && repo && branch ? await git.branchMove(repo, branch) : null;
    if (branch && repository && existsSync(join(commonGitDir(repository), 'refs', 'heads', `${branch}.lock`))) {
      fail(
        `another git command is changing branch ${branch}, or one was stopped and left ${join(commonGitDir(repository), 'refs', 'heads', `${branch}.lock`)}; wait for it, or if no git is running delete that file`,
      );
    }
    // The key before any change: sealed files encrypted to a key that was never saved would
    // be lost. Another run may have made the key file meanwhile: then plan again with that key.
    if (secrets.newKey && !(await import('./age-keys.ts')).saveIdentity(secrets.newKey, now)) {
      undoCreation(root, madeDir, repo?.created ?? false);
      return RETRY;
    }
    if (git && repo && branch && move) {
      await git.ensureBase(repo);
      await git.switchToBranch(repo, branch, move);
    }
  } catch (error) {
    // Nothing is written yet: a repository or directory this run made goes again.
    undoCreation(root, madeDir, repo?.created ?? (git !== null && !isRepo));
    throw error;
  }
  notes.push(...(repo?.notes ?? []));
  const leftovers = repo?.leftovers ?? [];
  // What this run changes goes into the record first (path -> what it writes), so that if
  // the run is stopped the next one knows which uncommitted files are its writes.
  const writing: PendingWrites = {
    ...pending,
    ...Object.fromEntries(
      changes.filter((e) => e.path !== RECORD_FILE).map((e) => [e.path, e.after === null ? DELETED : sha256(e.after)]),
    ),
  };
  if (changes.length > 0) {
    const recordEntry = plan.entries.find((e) => e.path === RECORD_FILE)!;
    writeAtomic(out.at(RECORD_FILE), formatRecord(record, writing, finalRecord.sealed, layoutsBefore));
    applyPlan(
      out,
      plan.entries.filter((e) => e !== recordEntry),
      [CONFIG_FILE, SOPS_CONFIG_FILE],
    );
    writeAtomic(out.at(RECORD_FILE), recordEntry.after!);
  }
  let sha: string | null = null;
  if (git && repo && branch) {
    try {
      // The commit also takes what an interrupted run before it wrote but did not commit.
      sha = await git.commitPaths(
        repo,
        [...changes.map((e) => e.path), ...leftovers],
        commitMessage(
          options,
          plan,
          leftovers.filter((p) => !changes.some((e) => e.path === p)),
          notes,
        ),
      );
    } catch (error) {
      if (!isGitError(error)) throw error;
      // Written, not committed: the record says so, for the next run (with any flags) to commit.
      writeAtomic(
        out.at(RECORD_FILE),
        formatRecord(finalRecord.files, writing, finalRecord.sealed, finalRecord.layouts),
      );
      // Exit 4, not 2: the files are written (2 says nothing changed).
      io.err(
        `error: the commit on branch ${branch} failed: ${gitReason(error)}; the files are written and uncommitted: fix that, then re-run \`npx zx scaffold.ts --env ${options.env}\` (it commits them), or commit them yourself\n`,
      );
      return COMMIT_FAILED;
    }
  }
  // A re-run with --push pushes what an earlier run committed and did not push.
  const pushBranch =
    git && repo && branchName && flags.push
      ? sha
        ? branchName
        : (await git.unpushed(repo, branchName))
          ? branchName
          : null
      : null;
  // A refused push leaves the commit made: exit 3 (not 2, which means nothing changed).
  const pushRefused = git && repo && pushBranch ? await git.pushBranch(repo, pushBranch) : null;

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
    pushed: Boolean(pushBranch) && !pushRefused,
    notes,
    warnings: warnings(options),
    secrets: secretsReport(options, secrets, false),
  };
  summarize(io, flags, options, plan.entries, partial);
  if (pushRefused) {
    io.err(
      `error: the push of ${pushBranch} to origin was refused: ${pushRefused}; ${sha ? `the commit ${sha} is made: ` : ''}fix that and re-run with --push (it pushes what is not pushed)\n`,
    );
    return PUSH_REFUSED;
  }
  return 0;
}

/** The run's summary, as JSON (--json) or for a person. */
function summarize(io: Io, flags: Flags, options: Options, entries: PlanEntry[], partial: Omit<Summary, 'next'>): void {
  const summary: Summary = { ...partial, next: nextSteps(options, partial) };
  if (flags.json) io.out(`${JSON.stringify(summary)}\n`);
  else printSummary(io, summary, entries);
}

/** Exit code of a run that committed but whose push was refused. */
const PUSH_REFUSED = 3;
/** Exit code of a run that wrote its files but whose commit git refused (a hook, signing). */
const COMMIT_FAILED = 4;

/** `git status` of the paths under `root`, or null when git fails. */
function statusOf(root: string): Promise<string | null> {
  return new Promise((done) => {
    const git = spawn(
      'git',
      [
        '-C',
        root,
        '--no-optional-locks',
        'status',
        '--porcelain=v1',
        '-z',
        '--untracked-files=all',
        '--no-renames',
        '--',
        '.',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    git.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    git.on('error', () => done(null));
    git.on('close', (code) => done(code === 0 ? out : null));
  });
}

/** The paths (relative to the output) that the status lists, among `paths`. */
async function uncommittedOf(status: Promise<string | null> | null, prefix: string, paths: Set<string>) {
  const text = (await status) ?? '';
  return text
    .split('\0')
    .filter(Boolean)
    .map((line) => line.slice(3))
    .map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p))
    .filter((p) => paths.has(p))
    .sort();
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true && !existsSync(path);
  } catch {
    return false; // a part of the path is a file: the writability check says so
  }
}

/** Removes what a refused run created: the repository it initialised, the directories it made. */
function undoCreation(root: string, madeDir: string | undefined, madeRepository: boolean): void {
  if (madeDir) rmSync(madeDir, { recursive: true, force: true });
  else if (madeRepository) rmSync(join(root, '.git'), { recursive: true, force: true });
}
