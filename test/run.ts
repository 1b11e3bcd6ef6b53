// Running the command as a person does (`zx scaffold.ts ...`, a real process) and taking
// snapshots of a tree, for before/after comparisons.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './tools.ts';

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

