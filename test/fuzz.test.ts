// Property/fuzz test (issue 12): random valid and invalid inputs (flags, scaffold.config.yaml,
// scaffold.lock.yaml, .sops.yaml, sealed files, symlinks, files in the way, git states) in a
// fresh directory and in directories that already hold rendered envs, each run as a real
// process. For every input the promises hold:
//   exit 0: the env builds with kustomize (overlays/<env>, clusters/<env> and each directory
//           its kustomizations name), nothing outside the output changed, and a re-run with
//           the same flags changes nothing (exit 0, no new commit, same bytes and mtimes);
//   exit 2: exactly one line on stderr, starting `error: `, and nothing changed on disk
//           (bytes, mtimes, modes, symlinks, directories, git HEAD/refs/index/config);
//   exit 1: only with --check, which (like --dry-run and --help) changes nothing;
//   exit 3: only with --push: committed, and the push was refused (the line says why);
//   exit 4: written, and git refused the commit (the line says why; the next run commits);
//   never a stack trace, never a hang (each run is bounded).
// Seeded (FUZZ_SEED, printed), bounded (FUZZ_CASES, default 60; FUZZ_BUDGET_S, default 150 s
// for all cases together). A failing case prints how to replay it alone: FUZZ_SEED=s
// FUZZ_ONLY=i (FUZZ_KEEP=1 keeps its directory for inspection).
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import YAML from 'yaml';
import { parseFlags } from '../src/args.ts';
import {
  FIXTURE_INFO,
  FIXTURES,
  generateCase,
  KEY,
  OTHER_KEY,
  VICTIM,
  VICTIM_CONTENT,
  type Ctx,
  type Fixture,
  type FuzzCase,
} from './fuzz-gen.ts';
import { findTool, REPO, unavailable } from './tools.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 1207);
const CASES = Number(process.env.FUZZ_CASES ?? 60);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_S ?? 150) * 1000;
const ONLY = process.env.FUZZ_ONLY?.split(',').map(Number);
const KEEP = Boolean(process.env.FUZZ_KEEP);
/** FUZZ_VERBOSE=1: print every case's report, passing ones too. */
const VERBOSE = Boolean(process.env.FUZZ_VERBOSE);
/** One scaffolder run; a run that takes longer hangs (and is a failure). */
const RUN_TIMEOUT_MS = 30_000;
const ZX = join(REPO, 'node_modules', '.bin', 'zx');
const execFileP = promisify(execFile);

/** FUZZ_THEME=lock,sops: only the cases of these themes (exploring one family), still FUZZ_CASES of them. */
const THEME_FILTER = process.env.FUZZ_THEME?.split(',');
const indices =
  ONLY ??
  (THEME_FILTER
    ? Array.from({ length: CASES * 40 }, (_, i) => i)
        .filter((i) => THEME_FILTER.includes(generateCase(SEED, i).theme))
        .slice(0, CASES)
    : Array.from({ length: CASES }, (_, i) => i));
console.log(
  `fuzz: FUZZ_SEED=${SEED} FUZZ_CASES=${CASES}${THEME_FILTER ? ` FUZZ_THEME=${THEME_FILTER.join(',')}` : ''}${ONLY ? ` FUZZ_ONLY=${ONLY.join(',')}` : ''} (replay a case: FUZZ_SEED=${SEED} FUZZ_ONLY=<i> npx vitest run test/fuzz.test.ts)`,
);

/**
 * test/run.ts's run(), with a time limit (spawnSync cannot be interrupted from the test,
 * and a hostile input may hang the process) and room for a large output.
 */
function runBounded(args: string[], env: Record<string, string>) {
  const r = spawnSync(ZX, ['scaffold.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

// ---------------------------------------------------------------- snapshots

type Entry =
  | { type: 'file'; sha: string; size: number; mtimeNs: bigint | null; mode: number }
  | { type: 'link'; target: string }
  | { type: 'dir' };

const GIT_KEPT = (rel: string) =>
  rel === 'HEAD' ||
  rel === 'index' ||
  rel === 'packed-refs' ||
  rel === 'config' ||
  rel === 'refs' ||
  rel.startsWith('refs/');

/**
 * Every entry under dir, by relative path: files (sha256, size, mtime in ns, mode),
 * symlinks (their target, never followed), directories. In a git directory (`.git`, or the
 * bare `origin.git`): the bytes of HEAD, index, packed-refs, config and refs/ (objects may be
 * added by a refused run and are unreachable; the refs say what the repository holds).
 */
export function snapshotAll(dir: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (d: string, gitRoot: string | null) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (gitRoot !== null && !GIT_KEPT(relative(gitRoot, p))) continue;
      const st = lstatSync(p, { bigint: true });
      if (st.isSymbolicLink()) out.set(rel, { type: 'link', target: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(rel, { type: 'dir' });
        walk(p, gitRoot ?? (name === '.git' || name.endsWith('.git') ? p : null));
      } else {
        const content = readFileSync(p);
        // git's own files: their bytes (git refreshes the index's stat data at will).
        out.set(rel, {
          type: 'file',
          sha: createHash('sha256').update(content).digest('hex'),
          size: content.length,
          mtimeNs: gitRoot === null ? st.mtimeNs : null,
          mode: Number(st.mode & 0o7777n),
        });
      }
    }
  };
  walk(dir, null);
  return out;
}

/** What differs between two snapshots, one line per path. */
function diff(before: Map<string, Entry>, after: Map<string, Entry>): string[] {
  const lines: string[] = [];
  for (const [path, a] of after) {
    const b = before.get(path);
    if (!b) lines.push(`+ ${path}${a.type === 'file' ? '' : ` (${a.type})`}`);
    else if (a.type !== b.type) lines.push(`~ ${path} (${b.type} -> ${a.type})`);
    else if (a.type === 'file' && b.type === 'file') {
      const what = [
        a.sha !== b.sha ? 'content' : '',
        a.mtimeNs !== b.mtimeNs ? 'mtime' : '',
        a.mode !== b.mode ? `mode ${b.mode.toString(8)}->${a.mode.toString(8)}` : '',
      ].filter(Boolean);
      if (what.length) lines.push(`~ ${path} (${what.join(', ')})`);
    } else if (a.type === 'link' && b.type === 'link' && a.target !== b.target)
      lines.push(`~ ${path} (link ${b.target} -> ${a.target})`);
  }
  for (const path of before.keys()) if (!after.has(path)) lines.push(`- ${path}`);
  return lines;
}

// ---------------------------------------------------------------- fixtures

let FIX = '';
const fixtureDir = (f: Fixture) => join(FIX, f);
const fixtureFileOf = (f: Fixture, path: string): Buffer | null => {
  try {
    return readFileSync(join(fixtureDir(f), path));
  } catch {
    return null;
  }
};
const fixtureEnv = () => ({
  SOPS_AGE_KEY_FILE: join(FIX, 'keys.txt'),
  XDG_CONFIG_HOME: join(FIX, 'xdg'),
  NO_COLOR: '1',
});

function makeFixtures() {
  FIX = mkdtempSync(join(tmpdir(), 'minio-gitops-fuzzfix-'));
  writeFileSync(join(FIX, 'keys.txt'), `${KEY.identity}\n`, { mode: 0o600 });
  const scaffold = (out: string, ...args: string[]) => {
    const r = runBounded([...args, '--out', join(FIX, out)], fixtureEnv());
    if (r.code !== 0) throw new Error(`fixture ${out} (${args.join(' ')}) exited ${r.code}: ${r.stderr}`);
  };
  mkdirSync(join(FIX, 'fresh'));
  scaffold('devPlain', '--env', 'dev', '--no-commit');
  scaffold('devGit', '--env', 'dev');
  scaffold('multiGit', '--env', 'dev');
  scaffold('multiGit', '--env', 'prod', '--repo-url', 'https://example.com/r.git');
  scaffold('prodPlain', '--env', 'prod', '--no-commit');
}

// ---------------------------------------------------------------- one case

interface Outcome {
  violations: string[];
  report: string;
  ms: number;
  code: number | null;
}

const sub = (s: string, dir: string) => s.replaceAll('@CASE@', dir);
const git = (dir: string, ...args: string[]) =>
  spawnSync('git', ['-C', dir, '-c', 'user.name=fuzz', '-c', 'user.email=fuzz@localhost', ...args], {
    encoding: 'utf8',
  });

/** Lays out the case directory: the fixture's copy as out/, the victim, the key, the origin, the case's changes. */
function materialize(c: FuzzCase, dir: string): { labels: string[]; written: Record<string, Buffer> } {
  const labels: string[] = [];
  const written: Record<string, Buffer> = {};
  const info = FIXTURE_INFO[c.fixture];
  if (info.exists)
    cpSync(fixtureDir(c.fixture), join(dir, 'out'), {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
    });
  writeFileSync(join(dir, VICTIM), VICTIM_CONTENT);
  const key = {
    fixture: `${KEY.identity}\n`,
    other: `${OTHER_KEY.identity}\n`,
    both: `${OTHER_KEY.identity}\n${KEY.identity}\n`,
    garbage: 'AGE-SECRET-KEY-1NOTAKEY\nnot a key at all\n',
    none: null,
  }[c.key];
  if (key !== null) writeFileSync(join(dir, 'keys.txt'), key, { mode: 0o600 });
  const ctx: Ctx = {
    dir,
    fixtureFile: (p) => fixtureFileOf(c.fixture, p),
    otherFixtureFile: (f, p) => fixtureFileOf(f, p),
    note: (l) => labels.push(l),
  };
  for (const op of c.ops) {
    const at = op.op === 'git' ? '' : join(dir, op.at);
    try {
      switch (op.op) {
        case 'write': {
          const content = op.content(ctx);
          mkdirSync(dirname(at), { recursive: true });
          writeFileSync(at, content);
          written[op.at] = content;
          break;
        }
        case 'remove':
          rmSync(at, { recursive: true, force: true });
          break;
        case 'mkdir':
          mkdirSync(at, { recursive: true });
          break;
        case 'symlink':
          mkdirSync(dirname(at), { recursive: true });
          symlinkSync(sub(op.target, dir), at);
          break;
        case 'moveAndLink':
          if (!existsSync(at)) break;
          mkdirSync(dirname(join(dir, op.to)), { recursive: true });
          renameSync(at, join(dir, op.to));
          symlinkSync(join(dir, op.to), at);
          break;
        case 'git': {
          const r = git(join(dir, 'out'), ...op.args);
          if (r.status !== 0)
            labels.push(`(setup: git ${op.args.join(' ')} failed: ${r.stderr.trim().split('\n')[0]})`);
          break;
        }
      }
    } catch (error) {
      labels.push(`(setup: ${op.op} ${'at' in op ? op.at : ''} failed: ${(error as Error).message.split('\n')[0]})`);
    }
  }
  const isRepo = existsSync(join(dir, 'out', '.git'));
  if (c.origin !== 'none' && isRepo) {
    if (c.origin === 'bare') {
      spawnSync('git', ['init', '-q', '--bare', join(dir, 'origin.git')]);
      git(join(dir, 'out'), 'remote', 'add', 'origin', join(dir, 'origin.git'));
    } else git(join(dir, 'out'), 'remote', 'add', 'origin', 'http://127.0.0.1:1/r.git');
  }
  // The copy has new inodes and ctimes: let git see the files as they are before the snapshot.
  if (isRepo) git(join(dir, 'out'), 'update-index', '-q', '--refresh');
  return { labels, written };
}

/** Paths (relative to the output root) of the directories the env's GitOps manifests name. */
function namedPaths(clustersDir: string): string[] {
  const found: string[] = [];
  for (const name of existsSync(clustersDir) ? readdirSync(clustersDir) : []) {
    if (!name.endsWith('.yaml')) continue;
    for (const doc of YAML.parseAllDocuments(readFileSync(join(clustersDir, name), 'utf8'))) {
      const o = doc.toJS() as any;
      for (const p of [o?.spec?.path, o?.spec?.source?.path, o?.spec?.template?.spec?.source?.path])
        if (typeof p === 'string') found.push(p);
    }
  }
  return [...new Set(found)];
}

/** The nearest directory at or above `dir` holding a .git (git's repository top), or null. */
function repoTop(dir: string, stop: string): string | null {
  for (let d = dir; d.startsWith(stop); d = dirname(d)) if (existsSync(join(d, '.git'))) return d;
  return null;
}

async function build(kustomize: string, dir: string): Promise<string | null> {
  try {
    await execFileP(kustomize, ['build', dir], { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
    return null;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return (e.stderr || e.message).trim().split('\n')[0]!.slice(0, 300);
  }
}

const STACK =
  /^\s+at (?:.+ \()?(?:file:|node:|\/|async )|^(?:Type|Range|Reference|Syntax)?Error[: ]|Uncaught|Error \[ERR_|^\S+Error: /m;

async function runCase(c: FuzzCase, kustomize: string): Promise<Outcome> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `minio-gitops-fuzz-${c.index}-`)));
  try {
    return await runIn(c, kustomize, dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function runIn(c: FuzzCase, kustomize: string, dir: string): Promise<Outcome> {
  const started = Date.now();
  const v: string[] = [];
  const { labels, written } = materialize(c, dir);
  const args = c.args.map((a) => sub(a, dir));
  const env = { SOPS_AGE_KEY_FILE: join(dir, 'keys.txt'), XDG_CONFIG_HOME: join(dir, 'xdg'), NO_COLOR: '1' };
  const before = snapshotAll(dir);
  const r = runBounded(args, env);
  const after = snapshotAll(dir);
  const changes = diff(before, after);
  const hasFlag = (...names: string[]) =>
    args.some((a) => names.includes(a) || names.some((n) => a.startsWith(`${n}=`)));
  const help = r.code === 0 && r.stdout.startsWith('Usage:');
  const readOnly = hasFlag('--dry-run', '--check') || help;
  let rerun: ReturnType<typeof runBounded> | undefined;

  if (r.error || r.signal)
    v.push(`hang/killed: ${r.signal ?? ''} ${r.error?.message ?? ''} after ${RUN_TIMEOUT_MS} ms`);
  else if (
    r.code !== 0 &&
    r.code !== 2 &&
    !(r.code === 1 && hasFlag('--check')) &&
    !(r.code === 3 && hasFlag('--push')) &&
    !(r.code === 4 && /^error: the commit on branch .* failed: /m.test(r.stderr))
  )
    v.push(`exit ${r.code}${r.code === 1 ? ' without --check' : ''}`);
  // Exit 3: committed, the push refused: one error line naming the push, and a commit made.
  if (r.code === 3 && !/^error: the push of .* was refused: /m.test(r.stderr))
    v.push('exit 3 without the refused-push line');
  if (STACK.test(r.stderr))
    v.push(
      `stack trace on stderr: ${r.stderr
        .split('\n')
        .find((l) => STACK.test(l))
        ?.trim()
        .slice(0, 200)}`,
    );
  if (r.code === 2) {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    if (lines.length !== 1 || !lines[0]!.startsWith('error: '))
      v.push(`exit 2 with ${lines.length} stderr lines, not one 'error: ' line`);
  }
  if (((r.code !== 0 && r.code !== 3 && r.code !== 4) || readOnly) && changes.length > 0)
    v.push(
      `exit ${r.code}${readOnly ? ' (read-only run)' : ''} changed the disk: ${changes.slice(0, 8).join('; ')}${changes.length > 8 ? `; ... (${changes.length})` : ''}`,
    );

  if (r.code === 0 && !readOnly) {
    // What the run wrote: its --out and --env, as the program itself reads the flags.
    let flags: ReturnType<typeof parseFlags>;
    try {
      flags = parseFlags(args);
    } catch (error) {
      v.push(`exit 0, but the flags do not parse: ${(error as Error).message}`);
      return finish();
    }
    const out = resolve(flags.out!);
    const envName = flags.env!;
    const realOut = existsSync(out) ? realpathSync(out) : out;
    const top = repoTop(realOut, dir) ?? realOut;
    const allowed = [
      relative(dir, realOut),
      relative(dir, out),
      `${relative(dir, top)}${sep}.git`,
      'keys.txt',
      'xdg',
      'origin.git',
    ].filter((p) => p !== '' && !p.startsWith('..'));
    const outsideAll = !relative(dir, realOut) || relative(dir, realOut).startsWith('..');
    const isAncestorOfOut = (p: string) =>
      relative(dir, realOut).startsWith(`${p}${sep}`) || relative(dir, out).startsWith(`${p}${sep}`);
    const outside = outsideAll
      ? []
      : changes.filter((l) => {
          const p = l.slice(2).replace(/ \(.*$/, '');
          return !allowed.some((a) => p === a || p.startsWith(`${a}${sep}`)) && !isAncestorOfOut(p);
        });
    if (outside.length > 0) v.push(`wrote outside the output: ${outside.slice(0, 6).join('; ')}`);
    if (existsSync(join(dir, VICTIM)) && readFileSync(join(dir, VICTIM), 'utf8') !== VICTIM_CONTENT)
      v.push('the victim file outside the output was changed');
    if (!existsSync(join(dir, VICTIM))) v.push('the victim file outside the output was deleted');

    const overlay = join(realOut, 'overlays', envName);
    if (!existsSync(join(overlay, 'kustomization.yaml')))
      v.push(`exit 0 but overlays/${envName}/kustomization.yaml does not exist`);
    else {
      const clusters = join(realOut, 'clusters', envName);
      const dirs = [overlay, ...(existsSync(join(clusters, 'kustomization.yaml')) ? [clusters] : [])];
      for (const p of namedPaths(clusters)) dirs.push(resolve(top, p));
      // The other envs of the fixture must still build, unless the case changed them itself.
      for (const other of FIXTURE_INFO[c.fixture].envs) {
        if (
          other === envName ||
          c.ops.some(
            (o) =>
              'at' in o &&
              (o.at.startsWith(`out/overlays/${other}`) ||
                o.at.startsWith(`out/sealed/${other}`) ||
                o.at === 'out/overlays'),
          )
        )
          continue;
        if (
          c.ops.some((o) => 'at' in o && /^out\/(base|scripts)/.test(o.at)) ||
          c.theme === 'lock' ||
          c.theme === 'symlink' ||
          c.theme === 'way'
        )
          continue;
        if (existsSync(join(realOut, 'overlays', other))) dirs.push(join(realOut, 'overlays', other));
      }
      const results = await Promise.all([...new Set(dirs)].map(async (d) => [d, await build(kustomize, d)] as const));
      for (const [d, problem] of results) if (problem) v.push(`kustomize build ${relative(dir, d)} failed: ${problem}`);
    }

    // The re-run with the same flags (a rotation is what --rotate asks for: left out).
    const again = args.filter((a, i) => !(a === '--rotate' || a.startsWith('--rotate=') || args[i - 1] === '--rotate'));
    const mid = snapshotAll(dir);
    rerun = runBounded(again, env);
    const drift = diff(mid, snapshotAll(dir));
    if (rerun.code !== 0) v.push(`re-run exited ${rerun.code}: ${rerun.stderr.trim().split('\n')[0]?.slice(0, 200)}`);
    if (drift.length > 0)
      v.push(
        `re-run changed the disk: ${drift.slice(0, 8).join('; ')}${drift.length > 8 ? `; ... (${drift.length})` : ''}`,
      );
  }

  return finish();

  function finish(): Outcome {
    const show = (b: Buffer) => {
      const t = b.toString('utf8');
      return b.length > 1500
        ? `${JSON.stringify(t.slice(0, 700))} ... [${b.length} bytes, sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 16)}] ... ${JSON.stringify(t.slice(-300))}`
        : JSON.stringify(t);
    };
    const report = [
      `case ${c.index} (FUZZ_SEED=${c.seed} FUZZ_ONLY=${c.index}): ${[...c.labels, ...labels].join(' | ')}`,
      `  key: ${c.key}, origin: ${c.origin}, ops: ${
        c.ops
          .map((o) => o.what)
          .filter(Boolean)
          .join('; ') || '-'
      }`,
      `  cmd: SOPS_AGE_KEY_FILE=@CASE@/keys.txt npx zx scaffold.ts ${c.args.map((a) => (/^[\w@./=,:-]+$/.test(a) ? a : JSON.stringify(a.length > 200 ? `${a.slice(0, 200)}...(${a.length} chars)` : a))).join(' ')}`,
      ...Object.entries(written).map(([p, b]) => `  ${p}: ${show(b).replaceAll(dir, '@CASE@')}`),
      `  exit ${r.code}${r.signal ? ` (${r.signal})` : ''} in ${Date.now() - started} ms; stderr: ${JSON.stringify(r.stderr.replaceAll(dir, '@CASE@').slice(0, 600))}`,
      ...(rerun
        ? [
            `  re-run exit ${rerun.code}; stderr: ${JSON.stringify(rerun.stderr.replaceAll(dir, '@CASE@').slice(0, 300))}`,
          ]
        : []),
      ...v.map((x) => `  VIOLATION: ${x.replaceAll(dir, '@CASE@')}`),
      ...(KEEP && v.length > 0 ? [`  kept: ${dir}`] : []),
    ].join('\n');
    if (!(KEEP && v.length > 0)) rmSync(dir, { recursive: true, force: true });
    return { violations: v.map((x) => x.replaceAll(dir, '@CASE@')), report, ms: Date.now() - started, code: r.code };
  }
}

// ---------------------------------------------------------------- the test

/** A failure's class: its kind and message with the case's specifics taken out. */
const classOf = (violation: string) =>
  violation
    .replace(/@CASE@\S*/g, '@CASE@')
    .replace(/\b[0-9a-f]{7,64}\b/g, 'H')
    .replace(/\d+/g, 'N')
    .replace(/"[^"]*"/g, '"…"')
    .slice(0, 160);

const results: { index: number; violations: string[]; code: number | null; ms: number; theme: string }[] = [];
let firstStart = 0;

describe(`fuzz (seed ${SEED})`, () => {
  beforeAll(() => {
    if (!findTool('kustomize')) return;
    makeFixtures();
  }, 120_000);
  afterAll(() => {
    if (FIX) rmSync(FIX, { recursive: true, force: true });
    if (results.length === 0) return;
    const classes = new Map<string, number[]>();
    for (const r of results)
      for (const v of r.violations) classes.set(classOf(v), [...(classes.get(classOf(v)) ?? []), r.index]);
    const codes = results.reduce<Record<string, number>>(
      (m, r) => ((m[String(r.code)] = (m[String(r.code)] ?? 0) + 1), m),
      {},
    );
    const total = results.reduce((s, r) => s + r.ms, 0);
    const byTheme = results.reduce<Record<string, Record<string, number>>>(
      (m, r) => ((m[r.theme] ??= {}), (m[r.theme]![String(r.code)] = (m[r.theme]![String(r.code)] ?? 0) + 1), m),
      {},
    );
    console.log(
      [
        `fuzz summary: seed ${SEED}, ${results.length} cases in ${(total / 1000).toFixed(1)} s (slowest ${Math.max(...results.map((r) => r.ms))} ms); exit codes ${JSON.stringify(codes)}; ${results.filter((r) => r.violations.length).length} failing`,
        `  exit codes by theme: ${JSON.stringify(byTheme)}`,
        ...[...classes]
          .sort((a, b) => b[1].length - a[1].length)
          .map(([k, ids]) => `  ${ids.length}x ${k}  [cases ${[...new Set(ids)].join(',')}]`),
      ].join('\n'),
    );
  });

  test.for(indices)('case %i', { timeout: 4 * RUN_TIMEOUT_MS + 60_000 }, async (index, ctx) => {
    const kustomize = findTool('kustomize');
    if (!kustomize) return unavailable(ctx, 'kustomize is not available: run `bash tools/install.sh` (needs Go)');
    firstStart ||= Date.now();
    if (Date.now() - firstStart > BUDGET_MS) {
      console.warn(
        `fuzz: time budget of ${BUDGET_MS / 1000} s spent; case ${index} and later ones are skipped (raise FUZZ_BUDGET_S)`,
      );
      return ctx.skip();
    }
    const c = generateCase(SEED, index);
    const o = await runCase(c, kustomize);
    results.push({ index, violations: o.violations, code: o.code, ms: o.ms, theme: c.theme });
    if (VERBOSE) console.log(o.report);
    expect(o.violations.length, o.report).toBe(0);
  });
});

// The generator is deterministic: the same seed and index give the same case, file contents
// included (made from a stand-in fixture here); another seed gives other cases.
test('a seed gives the same cases, another seed other ones', () => {
  const standIn = (f: string, p: string) =>
    Buffer.from(
      p.endsWith('config.yaml')
        ? `# ${f}\nenvs:\n  dev:\n    profile: dev\n    replicas: 1\n`
        : `files:\n  base/x.yaml: ${'0'.repeat(64)}\n`,
    );
  const digest = (seed: number) =>
    Array.from({ length: 30 }, (_, i) => {
      const c = generateCase(seed, i);
      const notes: string[] = [];
      const ctx: Ctx = {
        dir: '/case',
        fixtureFile: (p) => standIn(c.fixture, p),
        otherFixtureFile: standIn,
        note: (l) => notes.push(l),
      };
      const contents = c.ops.map((o) =>
        o.op === 'write' ? createHash('sha256').update(o.content(ctx)).digest('hex') : JSON.stringify(o),
      );
      return JSON.stringify([c.theme, c.fixture, c.args, c.key, c.origin, c.labels, contents, notes]);
    });
  expect(digest(SEED)).toEqual(digest(SEED));
  expect(digest(SEED + 1)).not.toEqual(digest(SEED));
  expect(new Set(Array.from({ length: 200 }, (_, i) => generateCase(SEED, i).fixture))).toEqual(new Set(FIXTURES));
});
