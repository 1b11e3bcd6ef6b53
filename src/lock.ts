// One run at a time per output repository. Two runs on one repository (dev and prod, or
// prod twice) would interleave their writes, branches and commits; the second waits for
// the first (briefly), then refuses in one line. The lock is a file created atomically in
// the temp directory, named after the repository's real path (the same name whether or
// not the repository exists yet), holding the owner's pid: a lock whose process is gone
// (a killed run) is taken over.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail } from './errors.ts';
import { realPathOf } from './paths.ts';

interface Holder {
  pid: number;
  host: string;
  root: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // someone else's live process
  }
}

function holderOf(path: string): Holder | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return null; // gone, or being written this instant
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes the lock of the repository whose real top is `top` (the output itself when it is
 * in no repository): a file in the temp directory, named after that path (so it exists
 * before the repository does), and, when the repository exists, one in its git directory
 * (shared by runs whose TMPDIR differs). Waits up to `waitMs` for each. Returns the release.
 * A reader (`readOnly`) that cannot create a lock file (a read-only directory) reads without it.
 */
export function lockRepository(
  top: string,
  gitDir: string | null,
  readOnly = false,
  waitMs = Number(process.env.MINIO_GITOPS_LOCK_WAIT_MS ?? 15_000),
): () => void {
  const name = `minio-gitops-${createHash('sha256').update(top).digest('hex').slice(0, 16)}.lock`;
  // /tmp as well as TMPDIR: runs whose TMPDIR differs (sudo, a CI step) meet there even
  // before the repository (and its git directory) exists.
  const dirs = [...new Set([tmpdir(), ...(existsSync('/tmp') ? ['/tmp'] : [])].map((d) => realPathOf(d)))];
  const paths = [...dirs.map((d) => join(d, name)), ...(gitDir ? [join(gitDir, 'minio-gitops.lock')] : [])];
  const releases: (() => void)[] = [];
  try {
    for (const path of paths) releases.push(takeLock(path, top, readOnly, waitMs));
  } catch (error) {
    for (const release of releases.reverse()) release();
    throw error;
  }
  return () => {
    for (const release of releases.reverse()) release();
  };
}

function takeLock(path: string, top: string, readOnly: boolean, waitMs: number): () => void {
  const me: Holder = { pid: process.pid, host: hostname(), root: top, since: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      return () => {
        if (holderOf(path)?.pid === me.pid) unlinkSync(path);
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && readOnly) return () => {};
      if (code !== 'EEXIST')
        return fail(`cannot take the lock ${path} for ${top} (${code}); check that its directory is writable`);
      // Something else at the lock's name (a directory, a link): never this tool's lock.
      if (!lstatSync(path, { throwIfNoEntry: false })?.isFile())
        return fail(
          `${path} is in the way of this tool's lock for ${top} and is not a lock file it made; remove it and re-run`,
        );
    }
    const holder = holderOf(path);
    // A killed run's lock: its process is gone (on this host; another host's cannot be
    // checked), or it died between creating the file and writing its pid.
    const gone = holder ? holder.host === me.host && !alive(holder.pid) : ageOf(path) > 10_000;
    if (gone && holderOf(path)?.pid === holder?.pid) {
      try {
        unlinkSync(path);
        continue;
      } catch {
        // another run took it over first, or it cannot be removed: wait, bounded below
      }
    }
    if (Date.now() >= deadline) {
      const who = holder
        ? `pid ${holder.pid}${holder.host === me.host ? '' : ` on ${holder.host}`}, since ${holder.since}`
        : 'starting';
      return fail(
        `another minio-gitops run (${who}) is working on ${top}; wait for it to finish and re-run (if no run is left, delete ${path})`,
      );
    }
    sleep(Math.min(100 + attempt * 10, 250));
  }
}

/** Milliseconds since the file was last modified (0 when it is gone). */
function ageOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? Date.now() - stat.mtimeMs : 0;
}
