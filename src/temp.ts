// Temporary directories a command makes (a build's copy of the tree, diff's base commit
// written out): removed by the command, and on Ctrl-C or SIGTERM too, when it stops early.
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

export function makeTempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** On SIGINT, SIGTERM or SIGHUP: remove what is left, then exit as the signal would. */
export function removeTempDirsOnSignal(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    });
  }
}
