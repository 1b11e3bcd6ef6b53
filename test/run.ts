// Running the command as a person does (`zx scaffold.ts ...`, a real process) and taking
// snapshots of a tree, for before/after comparisons.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { REPO, tempDir } from './tools.ts';

const ZX = join(REPO, 'node_modules', '.bin', 'zx');

export function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(ZX, ['scaffold.ts', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under dir with its content and modification time, for before/after checks. */
export function snapshot(dir: string): Record<string, { content: string; mtimeNs: bigint }> {
  const out: Record<string, { content: string; mtimeNs: bigint }> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.name === '.git') continue;
      if (entry.isDirectory()) walk(p);
      else out[relative(dir, p)] = { content: readFileSync(p, 'utf8'), mtimeNs: statSync(p, { bigint: true }).mtimeNs };
    }
  };
  walk(dir);
  return out;
}

/** git in `dir`, as a test's person (name and email set). */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
}

/**
 * One scaffold with the dev and prod envs for a whole test file, made once; the function it
 * returns gives each case its own copy (a real tree, so "nothing changed" covers existing
 * files, the config and the record).
 */
export function scaffoldedTrees(prefix: string): () => string {
  let base = '';
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), prefix));
    for (const env of ['dev', 'prod']) {
      const r = run(['--env', env, '--out', base]);
      if (r.code !== 0) throw new Error(`scaffolding ${env} failed: ${r.stderr}`);
    }
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  return () => {
    const out = tempDir();
    cpSync(base, out, { recursive: true });
    return out;
  };
}

/** The promise for bad input: exit 2, nothing on stdout, one line `error: ...; fix`, no stack. */
export function expectRefused(r: ReturnType<typeof run>, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: [^\n]+; [^\n]+\n$/);
  expect(r.stderr).not.toMatch(/\bat .*:\d+:\d+/);
  expect(r.stderr).toMatch(message);
}

/** A repository with a first commit on main and a bare origin, as a team's would be. */
export function teamRepo(): { work: string; origin: string } {
  const origin = tempDir();
  git(origin, 'init', '-q', '--bare', '--initial-branch=main');
  const work = tempDir();
  git(work, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(work, 'README.md'), '# storage\n');
  git(work, 'add', 'README.md');
  git(work, 'commit', '-qm', 'start');
  git(work, 'remote', 'add', 'origin', origin);
  git(work, 'push', '-q', 'origin', 'main');
  return { work, origin };
}
