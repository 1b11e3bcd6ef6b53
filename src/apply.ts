// The edge that touches the disk: reading what a plan needs, checking the output is
// writable before anything is written, and carrying out a plan with atomic writes.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from './errors.ts';
import type { OutputRoot } from './paths.ts';
import type { PlanEntry } from './plan.ts';

// Fatal on a byte that is not UTF-8: text read here may be written back, and a decoder
// that replaced such bytes would write back something the person never wrote.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function readText(path: string): string | null {
  try {
    // A missing file is the common case on a first run: no exception for it.
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return null;
    if (stat.isDirectory()) fail(`${path} is a directory where a file belongs; move it away and re-run`);
    if (!stat.isFile()) fail(`${path} is not a regular file (a device, socket or pipe); move it away and re-run`);
    const bytes = readFileSync(path);
    try {
      return utf8.decode(bytes);
    } catch {
      return fail(`${path} is not UTF-8 text; restore it with git (git checkout -- FILE), or move it away and re-run`);
    }
  } catch (error) {
    if ((error as Error).name === 'UsageError') throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'EISDIR') fail(`${path} is a directory where a file belongs; move it away and re-run`);
    if (code === 'ENOTDIR')
      fail(`a part of ${path} is a file where a directory belongs; move that file away and re-run`);
    if (code === 'EACCES' || code === 'EPERM') fail(`${path} cannot be read (${code}); fix its permissions and re-run`);
    throw error;
  }
}

/**
 * A generated file as the tool wrote it: git may check files out with CRLF line ends
 * (core.autocrlf, eol=crlf) while it keeps them LF, and that is no edit.
 */
export function readGenerated(path: string): string | null {
  const text = readText(path);
  return text?.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text;
}

/** The directory itself if it exists, else its nearest existing ancestor. */
function nearestExisting(dir: string, what: string): string {
  for (;;) {
    let stat: Stats;
    try {
      stat = statSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR')
        fail(`${what} is not usable: a part of that path is a file; move it away or choose another directory`);
      if (code !== 'ENOENT') fail(`${what} is not usable (${code}); choose a directory you can write to`);
      const parent = dirname(dir);
      if (parent === dir) fail(`${what} is not usable; choose a directory you can write to`);
      dir = parent;
      continue;
    }
    if (!stat.isDirectory()) fail(`${what} is not usable: ${dir} is a file; move it away or choose another directory`);
    return dir;
  }
}

/** Tries for real, with a file removed at once: permission bits do not tell all (root, read-only mounts). */
function probeWrite(dir: string, what: string): void {
  const probe = join(dir, `.minio-gitops-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (error) {
    fail(
      `${what} is not writable (${(error as NodeJS.ErrnoException).code}); choose a directory you can write to, or fix its permissions`,
    );
  }
}

/** Fails unless files can be created in `root` (or where it will be created). */
export function checkWritable(root: string): void {
  probeWrite(nearestExisting(root, `--out ${root}`), `--out ${root}`);
}

/**
 * Fails unless every directory the entries write into (or delete from) can be written,
 * so that a plan either runs whole or is refused before its first write.
 */
export function checkPlanWritable(root: string, entries: PlanEntry[]): void {
  const dirs = new Set(entries.filter((e) => e.action !== 'unchanged').map((e) => dirname(join(root, e.path))));
  const checked = new Set<string>();
  for (const dir of dirs) {
    const existing = nearestExisting(dir, relativeTo(root, dir));
    if (checked.has(existing)) continue;
    checked.add(existing);
    probeWrite(existing, relativeTo(root, existing));
  }
}

function relativeTo(root: string, dir: string): string {
  return dir === root ? root : `${dir.slice(root.length + 1)}/ in ${root}`;
}

/** Writes a file so that readers see the old or the new content, never a half. */
export function writeAtomic(path: string, content: string, madeDirs = new Set<string>()): void {
  const dir = dirname(path);
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  // An exclusive create under a name nobody can guess: a link planted at the temp name
  // (it arrives with a pull request like any file) is never written through.
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(temp, content, { flag: 'wx' });
  renameSync(temp, path);
}

function removeEmptyParents(root: string, path: string): void {
  for (let dir = dirname(path); dir.startsWith(`${root}/`) && dir !== root; dir = dirname(dir)) {
    if (readdirSync(dir).length > 0) return;
    rmdirSync(dir);
  }
}

/**
 * Carries out the entries in order: every write and delete of generated files first, the
 * files named in `last` (the config and the record) at the end, so that a run stopped
 * midway leaves a tree the next run finishes. Returns the paths it touched.
 */
export function applyPlan(out: OutputRoot, entries: PlanEntry[], last: string[]): string[] {
  const root = out.path;
  removeStaleTemps(root, entries);
  const touched: string[] = [];
  const madeDirs = new Set<string>();
  const ordered = [
    ...entries.filter((e) => !last.includes(e.path)),
    ...last.flatMap((p) => entries.filter((e) => e.path === p)),
  ];
  for (const e of ordered) {
    if (e.action === 'unchanged') continue;
    // Checked again right before the write: no link on the way leads out of the output.
    const path = out.at(e.path);
    if (e.after === null) {
      const link = join(root, e.path); // a link is removed, never its target
      unlinkSync(link);
      removeEmptyParents(root, link);
    } else {
      writeAtomic(path, e.after, madeDirs);
    }
    touched.push(e.path);
    if (touched.length === PAUSE_AFTER) pauseForTest();
  }
  return touched;
}

/** Temp files a killed run left beside the files this plan writes (`name.tmp-PID`). */
function removeStaleTemps(root: string, entries: PlanEntry[]): void {
  const names = new Set(entries.map((e) => join(root, e.path)));
  for (const dir of new Set([...names].map((p) => dirname(p)))) {
    let listing: string[];
    try {
      listing = readdirSync(dir);
    } catch {
      continue; // not there yet
    }
    for (const name of listing) {
      // Only this version's names (pid and random bytes), only files: a directory or a file of
      // a person's that merely looks like a temp is theirs.
      const m = /^(.*)\.tmp-\d+-[0-9a-f]{12}$/.exec(name);
      if (m && names.has(join(dir, m[1]!)) && lstatSync(join(dir, name), { throwIfNoEntry: false })?.isFile())
        unlinkSync(join(dir, name));
    }
  }
}

/**
 * Test hook (test/git.test.ts): with MINIO_GITOPS_TEST_PAUSE_AFTER=N the process stops
 * after N changes, says so on stderr, and waits to be killed, so that a test can
 * interrupt a real run at a known point and check what it leaves behind.
 */
const PAUSE_AFTER = Number(process.env.MINIO_GITOPS_TEST_PAUSE_AFTER ?? 0);

export function pauseForTest(): void {
  process.stderr.write('paused for test\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}
