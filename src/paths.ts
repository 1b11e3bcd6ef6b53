// Paths inside the output. The repository's own files (the record, the config, .sops.yaml,
// the sealed files) arrive through pull requests, and so do symbolic links: every path the
// run reads, writes or deletes is relative, normalised, and proven to stay inside the
// output root before it is touched.
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fail } from './errors.ts';

// Segments of the characters generated paths use; `.`, `..` and git's own directory are refused below.
const SEGMENT = /^[A-Za-z0-9._@+=,-]+$/;
const REFUSED = new Set(['.', '..', '.git']);

/** Whether `path` is a relative path the tool could have written: `a/b.yaml`, no `..`, no `/x`, no `a//b`. */
export function isSafeRelative(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    path.length > 0 &&
    path.length <= 1024 &&
    path.split('/').every((s) => s.length <= 255 && SEGMENT.test(s) && !REFUSED.has(s.toLowerCase()))
  );
}

/** The real path of `dir`, or of its nearest existing ancestor joined with the rest. */
export function realPathOf(dir: string): string {
  const rest: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      return join(realpathSync(d), ...rest.reverse());
    } catch {
      if (dirname(d) === d) return dir;
      rest.push(d.slice(dirname(d).length).replace(/^\//, ''));
    }
  }
}

/** Whether `path` is `dir` or below it (both absolute and real). */
export function isWithin(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
}

/**
 * The output root as a guard: `at(rel)` gives the absolute path of a relative one after
 * checking that no part of it is a symbolic link leading out of the root (or to nothing).
 * A link inside the root is followed: a symlinked config stays a link (writes go to its target).
 */
export class OutputRoot {
  readonly path: string;
  readonly real: string;
  /** Absolute paths proven not to lead out. */
  private readonly checked = new Set<string>();

  /** Real paths of the repository's git directories (a separate git dir has no `.git` in its name). */
  private readonly gitDirs: string[];

  constructor(path: string, gitDirs: string[] = []) {
    this.path = path;
    this.real = realPathOf(path);
    this.gitDirs = gitDirs.map(realPathOf);
  }

  /** The absolute path of `rel`, or of the target when `rel` itself is a link (inside). */
  at(rel: string): string {
    if (!isSafeRelative(rel))
      fail(
        `${JSON.stringify(rel)} is not a path inside the output (relative, no .. or .git); restore the file that names it with git`,
      );
    let current = this.path;
    let final = join(this.path, rel);
    for (const segment of rel.split('/')) {
      current = join(current, segment);
      if (this.checked.has(current)) continue;
      let stat: Stats | undefined;
      try {
        stat = lstatSync(current, { throwIfNoEntry: false });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOTDIR')
          fail(`a part of ${join(this.path, rel)} is a file where a directory belongs; move that file away and re-run`);
        if (code === 'EACCES' || code === 'EPERM')
          fail(`${current} cannot be read (${code}); fix its permissions and re-run`);
        if (code === 'ENAMETOOLONG' || code === 'ELOOP')
          fail(`${join(this.path, rel)} cannot be used (${code}); restore the output with git`);
        throw error;
      }
      if (!stat) break; // the rest does not exist yet: nothing to follow
      if (stat.isSymbolicLink()) {
        const real = this.target(current, rel);
        if (current === final) final = real;
        else this.checked.add(current);
      } else this.checked.add(current);
    }
    return final;
  }

  /** Where a symbolic link inside the output leads: inside the output, or refused. */
  target(link: string, rel: string): string {
    let real: string;
    try {
      real = realpathSync(link);
    } catch {
      return fail(`${rel}: ${link} is a symbolic link to nothing (or a loop); remove the link and re-run`);
    }
    // Inside a git directory is out too: the repository's own files are never the tool's.
    if (!isWithin(this.real, real) || real.split(sep).includes('.git') || this.gitDirs.some((d) => isWithin(d, real)))
      fail(
        `${rel}: ${link} is a symbolic link that leads out of the output directory (to ${real}); remove the link and re-run`,
      );
    return real;
  }
}
