// npm run bench: what the scaffolder costs where people run it (in a git repository, again
// and again), as a ratio to `npx zx` running an empty script, measured in the same run,
// alternating the cases so that load affects all alike. Gates (median ratios):
//   a fresh --env prod into a new git repository, committing        <= 1.30x
//   a re-run there that changes nothing (no commit)                  <= 1.15x
//   --check there                                                    <= 1.15x
//   an env of 50 consumers and 200 buckets, a re-run                 <= 1.60x
// Exits 1 when a median ratio is over its gate. BENCH_ROUNDS sets the rounds (default 15).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'minio-gitops-bench-'));
const empty = join(work, 'empty.mjs');
writeFileSync(empty, '');

// The prod profile seals its credentials: a key of the benchmark's own, never the user's.
const env = { ...process.env, SOPS_AGE_KEY_FILE: join(work, 'keys.txt') };

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  try {
    execFileSync('npx', ['--no-install', 'zx', ...args], { cwd: repo, stdio: 'ignore', env });
  } catch (error) {
    // --check exits 1 on drift: the benchmark measures an up-to-date tree, so that is a failure too.
    throw new Error(`npx zx ${args.join(' ')} failed (${(error as Error).message.split('\n')[0]})`);
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** An env of 50 consumers (Flink, each with its bucket and prefixes) and 200 buckets, in the repository at `out`. */
function largeEnv(out: string): void {
  time(['scaffold.ts', '--env', 'large', '--profile', 'prod', '--out', out]);
  const file = join(out, 'scaffold.config.yaml');
  const text = readFileSync(file, 'utf8');
  const buckets = Array.from(
    { length: 200 },
    (_, i) =>
      `      data-${String(i).padStart(3, '0')}:\n        prefixes:\n          - raw/\n          - curated/\n        lifecycle: []\n        versioning: ${i % 2 === 0}\n        quota: ""\n`,
  ).join('');
  const consumers = Array.from(
    { length: 50 },
    (_, i) =>
      `      job-${String(i).padStart(2, '0')}:\n        namespace: team-${i % 10}\n        kind: flink-cmf\n        user: job-${String(i).padStart(2, '0')}\n        buckets:\n          - data-${String(i * 4).padStart(3, '0')}\n          - data-${String(i * 4 + 1).padStart(3, '0')}\n        checkpointInterval: 60s\n`,
  ).join('');
  const large = text.indexOf('\n  large:\n');
  const bucketsAt = text.indexOf('    buckets:\n', large) + '    buckets:\n'.length;
  let next = text.slice(0, bucketsAt) + buckets + text.slice(bucketsAt);
  const consumersAt = next.indexOf('    consumers:\n', large) + '    consumers:\n'.length;
  next = next.slice(0, consumersAt) + consumers + next.slice(consumersAt);
  writeFileSync(file, next);
  time(['scaffold.ts', '--env', 'large', '--out', out]);
}

interface Case {
  name: string;
  gate: number;
  run: (round: number) => number;
}

try {
  time([empty]); // warm the file cache
  time(['scaffold.ts', '--env', 'prod', '--out', join(work, 'warm')]);
  const settled = join(work, 'settled');
  time(['scaffold.ts', '--env', 'prod', '--out', settled]);
  const large = join(work, 'large');
  largeEnv(large);
  const cases: Case[] = [
    {
      name: 'fresh --env prod into a new git repository, committing',
      gate: 1.3,
      run: (i) => time(['scaffold.ts', '--env', 'prod', '--out', join(work, `fresh-${i}`)]),
    },
    {
      name: 'a re-run that changes nothing (prod, no commit)',
      gate: 1.15,
      run: () => time(['scaffold.ts', '--env', 'prod', '--out', settled]),
    },
    {
      name: '--check (prod, up to date)',
      gate: 1.15,
      run: () => time(['scaffold.ts', '--env', 'prod', '--check', '--out', settled]),
    },
    {
      name: 'a re-run of an env with 50 consumers and 200 buckets',
      gate: 1.6,
      run: () => time(['scaffold.ts', '--env', 'large', '--out', large]),
    },
  ];
  const baseline: number[] = [];
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < ROUNDS; i++) {
    baseline.push(time([empty]));
    for (const [k, c] of cases.entries()) samples[k]!.push(c.run(i));
  }
  const base = median(baseline);
  console.log(`npx zx on an empty script: median ${base.toFixed(0)} ms (${ROUNDS} runs)`);
  let over = 0;
  cases.forEach((c, k) => {
    const ratio = median(samples[k]!) / base;
    if (ratio > c.gate) over++;
    console.log(
      `${c.name}: median ${median(samples[k]!).toFixed(0)} ms, ${ratio.toFixed(2)}x (gate ${c.gate.toFixed(2)}x) ${ratio <= c.gate ? 'ok' : 'OVER'}`,
    );
  });
  process.exitCode = over === 0 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
