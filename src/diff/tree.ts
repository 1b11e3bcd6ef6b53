// The repository as a commit has it, written out to a temporary directory so that it can
// be built as the engine builds it. Read with `git ls-tree` and `git cat-file --batch`
// rather than `git archive`: the commit's own .gitattributes (export-ignore,
// export-subst) must not decide what the build sees.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fail, UsageError } from '../errors.ts';
import { makeTempDir, removeTempDir } from '../temp.ts';

export function git(
  cwd: string,
  args: string[],
  input?: Buffer,
): { status: number | null; stdout: Buffer; stderr: string } {
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

/** The paths whose checkout converts their content: core.autocrlf, or an attribute that says so. */
function converted(top: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  const config = (key: string) => git(top, ['config', '--get', key]).stdout.toString().trim();
  if (config('core.autocrlf') === 'true') return paths;
  const crlf = config('core.eol') === 'crlf';
  const r = git(
    top,
    ['check-attr', '-z', '--stdin', 'text', 'eol', 'filter', 'ident', 'working-tree-encoding'],
    Buffer.from(paths.join('\0')),
  );
  const fields = r.stdout.toString('utf8').split('\0');
  const attributes = new Map<string, Record<string, string>>();
  for (let i = 0; i + 2 < fields.length; i += 3)
    attributes.set(fields[i]!, { ...attributes.get(fields[i]!), [fields[i + 1]!]: fields[i + 2]! });
  const set = (v: string | undefined) => v !== undefined && v !== 'unspecified' && v !== 'unset';
  // What changes bytes on checkout on this machine: a filter, ident, an encoding, CRLF line ends.
  return [...attributes]
    .filter(
      ([, a]) =>
        set(a.filter) || set(a.ident) || set(a['working-tree-encoding']) || a.eol === 'crlf' || (crlf && set(a.text)),
    )
    .map(([path]) => path);
}

/** A file larger than this is no kustomize input (an object holds at most about 1.5 MiB): left out. */
const MAX_BLOB = 16 << 20;

/**
 * Writes the files under `prefix` (the output's directory in the repository, '' for its
 * top) of `commit` into a new temporary directory and returns it; the caller removes it.
 * Contents pass through the working tree's filters and line-end conversion (git cat-file
 * --filters), as the files of the working tree did, so that both sides compare alike.
 * Submodules are left out (an empty directory), as a build of a fresh clone sees them, and
 * so are files over 16 MiB. Symbolic links are made last, and a path under one is refused:
 * nothing is ever written through a link.
 */
export function checkoutTree(top: string, commit: string, prefix: string): string {
  const listed = git(top, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit, ...(prefix ? ['--', prefix] : [])]);
  if (listed.status !== 0) fail(`git ls-tree ${commit} failed: ${listed.stderr}; check the commit`);
  const shortCommit = commit.slice(0, 12);
  const entries = listed.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)];
      const [mode, type, object, size] = meta.split(/ +/) as [string, string, string, string];
      if (!path.split('/').every(SAFE_PART))
        fail(
          `commit ${shortCommit} holds the path ${JSON.stringify(path)}, which git does not check out; compare with another commit`,
        );
      return {
        mode,
        type,
        object,
        size: Number(size),
        repoPath: path,
        path: prefix ? path.slice(prefix.length) : path,
      };
    });
  const links = entries.filter((e) => e.mode === '120000').map((e) => e.path);
  const under = entries.find((e) => links.some((l) => e.path.startsWith(`${l}/`)));
  if (under)
    fail(
      `commit ${shortCommit} holds ${JSON.stringify(under.path)} under the symbolic link ${JSON.stringify(links.find((l) => under.path.startsWith(`${l}/`)))} (a damaged tree; git fsck names it); compare with another commit`,
    );
  const blobs = entries.filter((e) => e.type === 'blob' && e.mode !== '120000' && e.size <= MAX_BLOB);
  const read = git(top, ['cat-file', '--batch'], Buffer.from(blobs.map((b) => `${b.object}\n`).join('')));
  if (read.status !== 0) fail(`git cat-file failed: ${read.stderr}; check the repository (git fsck)`);
  const contents = new Map<string, Buffer>();
  let at = 0;
  for (const blob of blobs) {
    const eol = read.stdout.indexOf(0x0a, at);
    const header = read.stdout.subarray(at, eol).toString();
    const size = Number(header.split(' ')[2]);
    if (!Number.isFinite(size))
      fail(
        `git cat-file could not read ${JSON.stringify(blob.repoPath)} of commit ${shortCommit} (${header}); check the repository (git fsck)`,
      );
    contents.set(blob.path, read.stdout.subarray(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  // Files the working tree's attributes or core.autocrlf convert on checkout (line ends, a
  // filter): converted the same way, one by one (git's --batch --filters misreports sizes).
  for (const blob of converted(
    top,
    blobs.map((b) => b.repoPath),
  )) {
    const b = blobs.find((x) => x.repoPath === blob)!;
    const r = git(top, ['cat-file', '--filters', `--path=${b.repoPath}`, b.object]);
    if (r.status !== 0)
      fail(
        `git cat-file --filters could not read ${JSON.stringify(b.repoPath)} of commit ${shortCommit}: ${r.stderr}; check the repository's filters`,
      );
    contents.set(b.path, r.stdout);
  }
  const modes = new Map(entries.map((e) => [e.path, e.mode]));
  const dir = makeTempDir('minio-gitops-diff-');
  try {
    for (const [path, content] of contents) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content, { flag: 'wx', mode: modes.get(path) === '100755' ? 0o755 : 0o644 });
    }
    for (const e of entries.filter((e) => e.type === 'commit')) mkdirSync(join(dir, e.path), { recursive: true });
    const targets = entries.filter((e) => e.mode === '120000');
    if (targets.length > 0) {
      const read = git(top, ['cat-file', '--batch'], Buffer.from(targets.map((t) => `${t.object}\n`).join('')));
      let at = 0;
      for (const link of targets) {
        const eol = read.stdout.indexOf(0x0a, at);
        const size = Number(read.stdout.subarray(at, eol).toString().split(' ')[2]);
        const path = join(dir, link.path);
        mkdirSync(dirname(path), { recursive: true });
        symlinkSync(read.stdout.subarray(eol + 1, eol + 1 + size).toString('utf8'), path);
        at = eol + 1 + size + 1;
      }
    }
  } catch (error) {
    removeTempDir(dir);
    if (error instanceof UsageError) throw error;
    // Two entries for one path, a file where a directory goes: a damaged tree.
    fail(
      `commit ${shortCommit} cannot be written out (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}: a damaged tree, git fsck names it); compare with another commit`,
    );
  }
  return dir;
}
