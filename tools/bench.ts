// npm run bench: how much a full `--env prod` scaffold costs over `npx zx` running an
// empty script, measured in the same run, alternating the two so load affects both.
// Target: at most 1.3x for the scaffold itself (render, seal, write: --no-commit into a
// fresh directory). Exits 1 when the median ratio is above it. The run that also commits
// (git init, branch, add, commit: separate git processes) is timed too, for information.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const TARGET = 1.3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'minio-gitops-bench-'));
const empty = join(work, 'empty.mjs');
writeFileSync(empty, '');

// The prod profile seals its credentials: a key of the benchmark's own, never the user's.
const env = { ...process.env, SOPS_AGE_KEY_FILE: join(work, 'keys.txt') };

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  execFileSync('npx', ['--no-install', 'zx', ...args], { cwd: repo, stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  time([empty]); // warm the file cache
  time(['scaffold.ts', '--env', 'prod', '--out', join(work, 'warm')]);
  const baseline: number[] = [];
  const scaffold: number[] = [];
  const committing: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(time([empty]));
    scaffold.push(time(['scaffold.ts', '--env', 'prod', '--no-commit', '--out', join(work, `run-${i}`)]));
    committing.push(time(['scaffold.ts', '--env', 'prod', '--out', join(work, `git-${i}`)]));
  }
  const ratio = median(scaffold) / median(baseline);
  console.log(`npx zx empty script:          median ${median(baseline).toFixed(0)} ms (${ROUNDS} runs)`);
  console.log(`npx zx scaffold.ts --env prod: median ${median(scaffold).toFixed(0)} ms (${ROUNDS} runs, --no-commit, fresh output dir each: new credentials sealed each time)`);
  console.log(`  ... and committing it:       median ${median(committing).toFixed(0)} ms (git init, branch, commit; ${(median(committing) / median(baseline)).toFixed(2)}x, not gated)`);
  console.log(`ratio ${ratio.toFixed(2)}x (target <= ${TARGET}x): ${ratio <= TARGET ? 'ok' : 'OVER TARGET'}`);
  process.exitCode = ratio <= TARGET ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
