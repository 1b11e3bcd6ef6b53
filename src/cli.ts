// The command: flags and config in, plan, apply (or print it), summary out. Errors a
// user can fix come back as one line and exit code 2, with nothing written.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyPlan, checkPlanWritable, checkWritable, writeAtomic } from './apply.ts';
import { helpText, parseFlags } from './args.ts';
import { CONFIG_FILE, SOPS_CONFIG_FILE } from './config.ts';
import { fail, UsageError } from './errors.ts';
import { formatRecord, RECORD_FILE } from './plan.ts';
import { planRun } from './plan-run.ts';
import { commitMessage, nextSteps, printPlanDiff, printSummary, secretsReport, summaryLine, warnings, type Io, type Summary } from './report.ts';

export type { Io } from './report.ts';

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** A branch name git accepts (git check-ref-format), checked before git is touched. */
function checkBranchName(branch: string): string {
  const r = spawnSync('git', ['check-ref-format', '--branch', branch], { stdio: 'ignore' });
  if (r.status !== 0 || branch.startsWith('-')) fail(`--branch ${JSON.stringify(branch)} is not a branch name git accepts; use e.g. scaffold/prod`);
  return branch;
}

export async function main(argv: string[], defaultOut: string, io: Io = processIo): Promise<number> {
  try {
    // verify, apply and console talk to a cluster: their code (and the Kubernetes client)
    // loads only for them.
    if (['verify', 'apply', 'console'].includes(argv[0] ?? '')) {
      const { runClusterCommand } = await import('./cluster/command.ts');
      return await runClusterCommand(argv[0] as 'verify', argv.slice(1), defaultOut, io);
    }
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
    const { options, notes, secrets, plan, record, pending, sealedRecord, merged, isRepo } = await planRun(root, readOnly ? { ...flags, force: true } : flags, now);
    const changes = plan.entries.filter((e) => e.action !== 'unchanged');

    if (flags.check) {
      // The record is bookkeeping: a sealed file edited with sops changes only its hash.
      if (changes.every((e) => e.path === RECORD_FILE)) {
        io.out(`env ${options.env} in ${root} is up to date\n`);
        return 0;
      }
      await printPlanDiff(io, plan.entries);
      for (const note of notes) io.err(`note: ${note}\n`);
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
    const branch = !flags.noCommit && changes.length > 0 ? checkBranchName(flags.branch ?? `scaffold/${options.env}`) : null;
    mkdirSync(root, { recursive: true }); // --out may name a directory to be made
    // --no-commit outside a repository: plain files, no git at all (nor its module).
    const git = flags.noCommit && !isRepo ? null : await import('./git.ts');
    const repo = git ? await git.prepareRepository({ root, isRepo, prefix: options.repoPath, entries: plan.entries, merged, pending, committing: !flags.noCommit }) : null;
    if (git && repo && branch) await git.switchToBranch(repo, branch);
    // The key first: sealed files encrypted to a key that was never saved would be lost.
    if (secrets.newKey) (await import('./age-keys.ts')).saveIdentity(secrets.newKey, now);
    // The paths about to change go into the record first, so that if this run is stopped
    // the next one knows which uncommitted files are its writes; the final record clears them.
    if (changes.length > 0) {
      const recordEntry = plan.entries.find((e) => e.path === RECORD_FILE)!;
      writeAtomic(join(root, RECORD_FILE), formatRecord(record, [...new Set([...pending, ...changes.filter((e) => e !== recordEntry).map((e) => e.path)])], sealedRecord));
      applyPlan(root, plan.entries.filter((e) => e !== recordEntry), [CONFIG_FILE, SOPS_CONFIG_FILE]);
      writeAtomic(join(root, RECORD_FILE), recordEntry.after!);
    }
    // The commit also takes what an interrupted run before it wrote but did not commit.
    const sha = git && repo && branch ? await git.commitPaths(repo, [...changes.map((e) => e.path), ...repo.leftovers], commitMessage(options, plan, repo.leftovers, notes)) : null;
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
    // simple-git's errors: git refused something (a hook, a push, a ref); say what, in one line.
    if ((error as Error)?.constructor?.name === 'GitError' || (error as { task?: unknown })?.task !== undefined) {
      const said = String((error as Error).message).split('\n').map((l) => l.trim()).filter(Boolean);
      io.err(`error: git failed: ${said.find((l) => /^(fatal|error|hint)?:?\s*\S/.test(l)) ?? said[0] ?? 'unknown error'}; see git status\n`);
      return 2;
    }
    throw error;
  }
}
