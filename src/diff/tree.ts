// The repository as a commit has it, written out to a temporary directory so that it can
// be built as the engine builds it. Read with `git ls-tree` and `git cat-file --batch`
// rather than `git archive`: the commit's own .gitattributes (export-ignore,
// export-subst) must not decide what the build sees.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fail } from '../errors.ts';

export function git(cwd: string, args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('git', ['-C', cwd, ...args], { input, maxBuffer: 1 << 30 });
  if (r.error) fail(`git is needed to compare with another commit (${r.error.message}); install git`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString().trim().split('\n').pop() ?? '' };
}

/** A commit name as git resolves it, or null. */
export function resolveCommit(cwd: string, ref: string): string | null {
  if (ref.startsWith('-')) return null;
  const r = git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  return r.status === 0 ? r.stdout.toString().trim() : null;
}

const SAFE_PART = (part: string) => part !== '' && part !== '.' && part !== '..' && part.toLowerCase() !== '.git';

/**
 * Writes the files under `prefix` (the output's directory in the repository, '' for its
 * top) of `commit` into a new temporary directory and returns it; the caller removes it.
 * Submodules are left out (an empty directory), as a build of a fresh clone sees them.
 */
export function checkoutTree(top: string, commit: string, prefix: string): string {
  const listed = git(top, ['ls-tree', '-r', '-z', '--full-tree', commit, ...(prefix ? ['--', prefix] : [])]);
  if (listed.status !== 0) fail(`git ls-tree ${commit} failed: ${listed.stderr}`);
  const entries = listed.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)];
      const [mode, type, object] = meta.split(' ') as [string, string, string];
      if (!path.split('/').every(SAFE_PART)) fail(`commit ${commit.slice(0, 12)} holds the path ${JSON.stringify(path)}, which git does not check out; compare with another commit`);
      return { mode, type, object, path: prefix ? path.slice(prefix.length) : path };
    });
  const blobs = entries.filter((e) => e.type === 'blob');
  const read = git(top, ['cat-file', '--batch'], Buffer.from(blobs.map((b) => `${b.object}\n`).join('')));
  if (read.status !== 0) fail(`git cat-file failed: ${read.stderr}`);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'minio-gitops-diff-')));
  try {
    let at = 0;
    for (const blob of blobs) {
      const eol = read.stdout.indexOf(0x0a, at);
      const size = Number(read.stdout.subarray(at, eol).toString().split(' ')[2]);
      const content = read.stdout.subarray(eol + 1, eol + 1 + size);
      at = eol + 1 + size + 1;
      const path = join(dir, blob.path);
      mkdirSync(dirname(path), { recursive: true });
      if (blob.mode === '120000') symlinkSync(content.toString('utf8'), path);
      else {
        writeFileSync(path, content);
        if (blob.mode === '100755') chmodSync(path, 0o755);
      }
    }
    for (const e of entries.filter((e) => e.type === 'commit')) mkdirSync(join(dir, e.path), { recursive: true });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return dir;
}
