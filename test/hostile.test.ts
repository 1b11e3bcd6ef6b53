// Issue 12: safe under hostile input, git in any state, overlapping runs and interruption.
// Every case runs the real command against a real git repository and compares the bytes,
// modification times, refs, HEAD, index and stash before and after a refusal.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { run, snapshot } from './run.ts';
import { REPO, tempDir } from './tools.ts';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
const tryGit = (dir: string, ...args: string[]) => {
  try {
    return git(dir, ...args);
  } catch {
    return '';
  }
};
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Every file and link under dir (links not followed), with content and modification time. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.name === '.git') continue;
      const rel = p.slice(dir.length + 1);
      if (entry.isSymbolicLink()) out[rel] = `link to ${readlinkSync(p)}`;
      else if (entry.isDirectory()) walk(p);
      else out[rel] = `${sha(readFileSync(p))} ${statSync(p, { bigint: true }).mtimeNs}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The tree, and the repository's refs, HEAD, index and stash: everything a refusal must leave alone. */
function state(dir: string) {
  const gitDir = join(dir, '.git');
  return {
    files: tree(dir),
    git: existsSync(join(gitDir, 'HEAD'))
      ? {
          refs: tryGit(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
          head: readFileSync(join(gitDir, 'HEAD'), 'utf8'),
          index: existsSync(join(gitDir, 'index')) ? sha(readFileSync(join(gitDir, 'index'))) : null,
          stash: tryGit(dir, 'stash', 'list'),
        }
      : null,
  };
}

/** A refusal: exit 2, one line on stderr naming the problem, and nothing changed. */
function refused(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^error: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

function teamRepo(): string {
  const work = tempDir();
  git(work, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(work, 'README.md'), '# storage\n');
  git(work, 'add', 'README.md');
  git(work, 'commit', '-qm', 'start');
  return work;
}

/** A repository whose main holds a rendered env (its pull request merged). */
function renderedRepo(env = 'dev', ...flags: string[]): string {
  const work = teamRepo();
  const r = run(['--env', env, ...flags, '--out', work]);
  expect(r.code, r.stderr).toBe(0);
  git(work, 'checkout', '-q', 'main');
  git(work, 'merge', '-q', '--ff-only', `scaffold/${env}`);
  return work;
}

describe('untrusted files in the repository', () => {
  it('a record entry that leads out of the output (.., absolute, .git) is refused; the victim survives', () => {
    const outside = tempDir();
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const work = renderedRepo();
    const record = join(work, 'scaffold.lock.yaml');
    const original = readFileSync(record, 'utf8');
    const rel = join('..', outside.split('/').pop()!, 'victim.txt');
    for (const path of [
      `overlays/dev/../${rel}`,
      `overlays/dev/../../${outside.slice(1)}/victim.txt`,
      victim,
      'overlays/dev/./x.yaml',
      '.git/hooks/pre-commit',
      'overlays//dev/x.yaml',
    ]) {
      const doc = YAML.parse(original);
      doc.files[path] = sha('precious\n');
      writeFileSync(record, YAML.stringify(doc));
      git(work, 'commit', '-qam', 'a pull request');
      const before = state(work);
      for (const mode of [[], ['--check'], ['--dry-run'], ['--leave-data-behind', '--host-path', '/srv/minio']]) {
        refused(
          run(['--env', 'dev', ...mode, '--out', work]),
          /scaffold\.lock\.yaml names .* not a path inside the output/,
        );
      }
      expect(state(work)).toEqual(before);
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    }
  });

  it('a symbolic link that leads out of the output is never followed: not for reading, writing or deleting', () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'kustomization.yaml'), 'outside\n');
    const work = renderedRepo();
    // A pull request replaces the env's minio directory with a link to a directory elsewhere.
    rmSync(join(work, 'overlays/dev/minio'), { recursive: true });
    symlinkSync(outside, join(work, 'overlays/dev/minio'));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const before = state(work);
    for (const mode of [[], ['--check'], ['--force']])
      refused(run(['--env', 'dev', ...mode, '--out', work]), /symbolic link that leads out of the output directory/);
    expect(state(work)).toEqual(before);
    expect(readFileSync(join(outside, 'kustomization.yaml'), 'utf8')).toBe('outside\n');

    // The config as a link out (to a file of the person's): refused, the target untouched.
    const work2 = renderedRepo();
    const target = join(outside, 'bashrc');
    writeFileSync(target, 'export A=1\n');
    rmSync(join(work2, 'scaffold.config.yaml'));
    symlinkSync(target, join(work2, 'scaffold.config.yaml'));
    git(work2, 'add', '-A');
    git(work2, 'commit', '-qm', 'a pull request');
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', work2]),
      /scaffold\.config\.yaml: .* leads out of the output directory/,
    );
    expect(readFileSync(target, 'utf8')).toBe('export A=1\n');
  });

  it('a config that is a link inside the output stays a link; a CRLF config stays CRLF', () => {
    const work = renderedRepo();
    mkdirSync(join(work, 'config'));
    renameSync(join(work, 'scaffold.config.yaml'), join(work, 'config/scaffold.yaml'));
    symlinkSync('config/scaffold.yaml', join(work, 'scaffold.config.yaml'));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'config elsewhere');
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(work, 'scaffold.config.yaml'))).toBe('config/scaffold.yaml');
    expect(readFileSync(join(work, 'config/scaffold.yaml'), 'utf8')).toMatch(/hostPath: \/srv\/minio/);

    const crlf = renderedRepo();
    const config = join(crlf, 'scaffold.config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/\n/g, '\r\n'));
    git(crlf, 'commit', '-qam', 'CRLF');
    const again = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', crlf]);
    expect(again.code, again.stderr).toBe(0);
    const text = readFileSync(config, 'utf8');
    expect(text).toMatch(/hostPath: \/srv\/minio\r\n/);
    expect(text.split('\n').length - 1).toBe(text.split('\r\n').length - 1);
  });

  it('YAML that is hostile or broken (alias bomb, deep nesting, duplicate keys, many documents, huge, not UTF-8) is one line, exit 2, in every mode', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`),
    ].join('\n');
    const cases: [string, string | Buffer, RegExp][] = [
      ['scaffold.config.yaml', bomb, /scaffold\.config\.yaml cannot be read as YAML \(too many aliases\)/],
      [
        'scaffold.config.yaml',
        `envs: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
        /scaffold\.config\.yaml (cannot be read as YAML|is not valid YAML|nests deeper)/,
      ],
      ['scaffold.config.yaml', 'envs: {}\nenvs: {}\n', /scaffold\.config\.yaml is not valid YAML/],
      ['scaffold.config.yaml', 'envs: {}\n---\nenvs: {}\n', /holds 2 YAML documents/],
      ['scaffold.config.yaml', `# ${'x'.repeat(2 << 20)}\n`, /larger than 1 MiB/],
      [
        'scaffold.config.yaml',
        Buffer.from([0x65, 0x6e, 0x76, 0x73, 0x3a, 0x20, 0xff, 0xfe, 0x0a]),
        /is not UTF-8 text/,
      ],
      ['scaffold.lock.yaml', bomb, /scaffold\.lock\.yaml cannot be read as YAML/],
      ['.sops.yaml', bomb, /\.sops\.yaml cannot be read as YAML/],
    ];
    const work = renderedRepo('prod');
    for (const [file, content, pattern] of cases) {
      const path = join(work, file);
      const original = readFileSync(path);
      writeFileSync(path, content);
      const before = state(work);
      for (const mode of [[], ['--check'], ['--dry-run']])
        refused(run(['--env', 'prod', ...mode, '--out', work]), pattern);
      expect(state(work)).toEqual(before);
      writeFileSync(path, original);
    }
    // A sealed file is parsed with the same limits.
    const sealed = join(work, 'sealed/prod/minio-root-credentials.yaml');
    writeFileSync(sealed, bomb);
    refused(
      run(['--env', 'prod', '--check', '--out', work]),
      /sealed\/prod\/minio-root-credentials\.yaml cannot be read as YAML/,
    );
  });

  it('a .sops.yaml path_regex that would backtrack for hours is refused at once', () => {
    const work = renderedRepo('prod');
    const file = join(work, '.sops.yaml');
    const doc = YAML.parse(readFileSync(file, 'utf8'));
    for (const pattern of ['((s|[a-z/.-])+)+X$', '([)a-z/.-]+)+X$', '(([a-z/.-]|e)*)*Z$']) {
      doc.creation_rules[0].path_regex = pattern;
      writeFileSync(file, YAML.stringify(doc));
      for (const mode of [[], ['--check']]) {
        const started = Date.now();
        refused(run(['--env', 'prod', ...mode, '--out', work]), /path_regex .* takes too long to evaluate/);
        expect(Date.now() - started).toBeLessThan(20_000);
      }
    }
  });
});

describe('git in any state', () => {
  /** A repository stopped in the middle of an operation by a conflict. */
  function conflicted(operation: 'merge' | 'rebase' | 'cherry-pick' | 'revert'): string {
    const work = renderedRepo();
    const readme = join(work, 'README.md');
    git(work, 'checkout', '-q', '-b', 'other');
    writeFileSync(readme, 'theirs\n');
    git(work, 'commit', '-qam', 'theirs');
    git(work, 'checkout', '-q', 'main');
    writeFileSync(readme, 'ours\n');
    git(work, 'commit', '-qam', 'ours');
    if (operation === 'revert') {
      writeFileSync(readme, 'ours again\n');
      git(work, 'commit', '-qam', 'again');
    }
    const args = {
      merge: ['merge', 'other'],
      rebase: ['rebase', 'other'],
      'cherry-pick': ['cherry-pick', 'other'],
      revert: ['revert', '--no-edit', 'HEAD~1'],
    }[operation];
    expect(() => git(work, ...args)).toThrow();
    return work;
  }

  it.for(['merge', 'rebase', 'cherry-pick', 'revert'] as const)(
    'refuses to run during a %s, and touches nothing',
    (operation) => {
      const work = conflicted(operation);
      const before = state(work);
      refused(
        run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', work]),
        new RegExp(`a ${operation === 'rebase' ? 'rebase' : operation} .*is in progress; finish it`),
      );
      refused(
        run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--no-commit', '--out', work]),
        /is in progress/,
      );
      expect(state(work)).toEqual(before);
    },
  );

  it('refuses a bisect, a bare repository and the inside of a git directory', () => {
    const work = renderedRepo();
    writeFileSync(join(work, 'README.md'), 'two\n');
    git(work, 'commit', '-qam', 'two');
    git(work, 'bisect', 'start', 'HEAD', 'HEAD~2');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', work]),
      /a bisect is in progress; end it \(git bisect reset\)/,
    );
    expect(state(work)).toEqual(before);

    const bare = tempDir();
    git(bare, 'init', '-q', '--bare');
    const bareBefore = snapshot(bare);
    refused(run(['--env', 'dev', '--out', bare]), /bare repository/);
    expect(snapshot(bare)).toEqual(bareBefore);
    refused(run(['--env', 'dev', '--out', join(work, '.git', 'x')]), /inside a git directory/);
    expect(existsSync(join(work, '.git', 'x'))).toBe(false);
    // A .git git cannot open (a file that is not a gitdir link): kept, and the run refused.
    const odd = tempDir();
    writeFileSync(join(odd, '.git'), 'not a link\n');
    const oddBefore = state(odd);
    refused(run(['--env', 'dev', '--out', odd]), /\.git exists but is not a git directory or link git can open/);
    expect(state(odd)).toEqual(oddBefore);
  });

  it('a detached HEAD gets its branch from there, with a note; a default branch other than main is the base', () => {
    const work = renderedRepo();
    git(work, 'checkout', '-q', '--detach', 'HEAD');
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/minio', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/note: HEAD was detached at [0-9a-f]{12}: the run's branch starts there/);
    expect(git(work, 'branch', '--show-current')).toBe('scaffold/dev');

    const trunk = tempDir();
    git(trunk, 'init', '-q', '--initial-branch=trunk');
    writeFileSync(join(trunk, 'README.md'), 'x\n');
    git(trunk, 'add', '-A');
    git(trunk, 'commit', '-qm', 'start');
    const t = run(['--env', 'dev', '--json', '--out', trunk]);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toMatchObject({ branch: 'scaffold/dev', previousBranch: 'trunk' });
    expect(JSON.parse(t.stdout).next.join('\n')).toMatch(/pull request from scaffold\/dev into trunk/);
    // The engine follows the repository's branch, not a main that does not exist.
    expect(JSON.parse(t.stdout).notes.join('\n')).toMatch(
      /the engine follows branch trunk, the repository's default branch/,
    );
    expect(readFileSync(join(trunk, 'scaffold.config.yaml'), 'utf8')).toMatch(/^revision: trunk$/m);
  });

  it('without a git identity the commit is made with a note that says how to take it over', () => {
    const home = tempDir();
    const work = tempDir();
    const env = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
    };
    const r = run(['--env', 'dev', '--out', work], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /note: git has no user\.name and user\.email configured here: .*the commit carries minio-gitops <minio-gitops@localhost>; set yours/,
    );
  });

  it('after its pull request is merged (merge, squash), the branch starts afresh; unmerged work is refused', () => {
    for (const how of ['merge', 'squash'] as const) {
      const work = teamRepo();
      expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
      expect(run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/a', '--out', work]).code).toBe(0); // two commits on the branch
      git(work, 'checkout', '-q', 'main');
      if (how === 'merge') git(work, 'merge', '-q', '--no-ff', '-m', 'Merge pull request', 'scaffold/dev');
      else {
        git(work, 'merge', '-q', '--squash', 'scaffold/dev');
        git(work, 'commit', '-qm', 'Squashed pull request');
      }
      const again = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/b', '--out', work]);
      expect(again.code, again.stderr).toBe(0);
      expect(git(work, 'branch', '--show-current')).toBe('scaffold/dev');
      expect(git(work, 'rev-list', '--count', 'main..scaffold/dev')).toBe('1');
      expect(git(work, 'rev-parse', 'scaffold/dev~1')).toBe(git(work, 'rev-parse', 'main'));
    }
    const work = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    git(work, 'checkout', '-q', 'main');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/b', '--out', work]),
      /branch scaffold\/dev already exists with 1 commit\(s\) whose changes are not in HEAD/,
    );
    expect(state(work)).toEqual(before);
  });
});

describe('where it writes', () => {
  it('refuses the filesystem root, the home directory itself and system directories, before touching them', () => {
    const home = tempDir();
    for (const out of ['/', '/etc', '/etc/minio', '/usr/share/x', '/proc/x', '/var', home, join(home, '.ssh')]) {
      refused(
        run(['--env', 'dev', '--out', out], { HOME: home }),
        /--out .* is (the filesystem root|your home directory itself|a system directory)/,
      );
    }
    expect(existsSync(join(home, '.git'))).toBe(false);
    expect(existsSync(join(home, '.ssh'))).toBe(false);
  });

  it('a refusal after git init (a commit that cannot be signed) leaves nothing behind', () => {
    const home = tempDir();
    writeFileSync(
      join(home, 'gitconfig'),
      '[user]\n\tname = t\n\temail = t@t\n[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n',
    );
    const parent = tempDir();
    const out = join(parent, 'new', 'repo');
    const r = run(['--env', 'dev', '--out', out], {
      GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: git failed: .*\n$/);
    expect(snapshot(parent)).toEqual({});
    expect(existsSync(join(parent, 'new'))).toBe(false);
  });

  it('--force never overwrites a file git has no copy of: outside git, or ignored', () => {
    const plain = tempDir();
    expect(run(['--env', 'dev', '--no-commit', '--out', plain]).code).toBe(0);
    const patch = join(plain, 'overlays/dev/minio/patch-storage.yaml');
    writeFileSync(patch, `${readFileSync(patch, 'utf8')}# mine\n`);
    const before = state(plain);
    refused(
      run(['--env', 'dev', '--no-commit', '--force', '--leave-data-behind', '--host-path', '/srv/x', '--out', plain]),
      /--force would overwrite or delete overlays\/dev\/minio\/patch-storage\.yaml, and .* is not in a git repository/,
    );
    expect(state(plain)).toEqual(before);

    const work = renderedRepo();
    git(work, 'rm', '-q', '--cached', 'overlays/dev/minio/patch-storage.yaml');
    writeFileSync(join(work, '.gitignore'), 'overlays/dev/minio/patch-storage.yaml\n');
    git(work, 'add', '.gitignore');
    git(work, 'commit', '-qm', 'ignore it');
    const ignored = join(work, 'overlays/dev/minio/patch-storage.yaml');
    writeFileSync(ignored, `${readFileSync(ignored, 'utf8')}# mine\n`);
    const gitBefore = state(work);
    refused(
      run(['--env', 'dev', '--force', '--leave-data-behind', '--host-path', '/srv/x', '--out', work]),
      /which git has no copy of \(untracked or ignored\)/,
    );
    expect(state(work)).toEqual(gitBefore);
  });

  it('the age key file is never created inside the output repository, also through a link', () => {
    const work = teamRepo();
    const linked = tempDir();
    symlinkSync(work, join(linked, 'repo'));
    for (const keyFile of [join(work, 'keys.txt'), join(linked, 'repo', 'sub', 'keys.txt')]) {
      const before = state(work);
      refused(
        run(['--env', 'prod', '--out', join(work, 'deploy')], { SOPS_AGE_KEY_FILE: keyFile }),
        /the age key file .* is inside the output's repository/,
      );
      expect(state(work)).toEqual(before);
    }
  });
});

describe('secrets and key locations in messages', () => {
  it('--check works for a reader whose age key is not a recipient; errors name the real key file', async () => {
    const work = renderedRepo('prod');
    const { generateIdentity } = await import('age-encryption');
    const other = join(tempDir(), 'other.txt');
    writeFileSync(other, `${await generateIdentity()}\n`);
    const check = run(['--env', 'prod', '--check', '--out', work], { SOPS_AGE_KEY_FILE: other });
    expect(check.code, check.stderr + check.stdout).toBe(0);
    // A writing run needs the key, and says where it looked.
    refused(
      run(['--env', 'prod', '--namespace', 'minio-two', '--leave-data-behind', '--out', work], {
        SOPS_AGE_KEY_FILE: other,
      }),
      new RegExp(
        `none of the age keys here opens it \\(SOPS_AGE_KEY, or the key file ${other.replace(/[.]/g, '\\.')} \\(SOPS_AGE_KEY_FILE\\)\\)`,
      ),
    );
    // Nothing to re-encrypt: a run without a recipient's key changes nothing and succeeds.
    const same = run(['--env', 'prod', '--out', work], { SOPS_AGE_KEY_FILE: other });
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/nothing changed: no commit/);
    const xdg = tempDir();
    const withoutFile = { ...process.env, XDG_CONFIG_HOME: xdg, SOPS_AGE_KEY_FILE: '' };
    const r = run(
      ['--env', 'prod', '--namespace', 'minio-two', '--leave-data-behind', '--out', work],
      withoutFile as Record<string, string>,
    );
    refused(r, /no age key is available/);
    expect(r.stderr).toContain(`the key file ${join(xdg, 'sops/age/keys.txt')}`);
    // A relative XDG_CONFIG_HOME, which sops does not accept: said, not guessed.
    const fresh = tempDir();
    refused(
      run(['--env', 'prod', '--out', fresh], { ...withoutFile, XDG_CONFIG_HOME: 'relative/config' } as Record<
        string,
        string
      >),
      /XDG_CONFIG_HOME is a relative path \("relative\/config"\)/,
    );
    expect(snapshot(fresh)).toEqual({});
  });
});

/** A run started in the background (for runs at the same time): its exit code and stderr. */
function runAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(REPO, 'node_modules/.bin/zx'), ['scaffold.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** Starts a run and kills it with SIGKILL after `ms` (or when it pauses at the test hook). */
async function killedRun(args: string[], ms: number, env: Record<string, string> = {}): Promise<void> {
  const child = spawn(join(REPO, 'node_modules/.bin/zx'), ['scaffold.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('paused for test')) child.kill('SIGKILL');
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The promises after any run: a clean output, --check up to date, the committed tree what a fresh run of the config renders. */
function consistent(work: string, env: string) {
  expect(git(work, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  const check = run(['--env', env, '--check', '--out', work]);
  expect(check.code, check.stdout + check.stderr).toBe(0);
}

describe('overlapping runs and interruption', () => {
  it('parallel runs on one repository take turns: every run lands whole, the repository stays consistent', async () => {
    for (let round = 0; round < 2; round++) {
      const work = teamRepo();
      const runs = [
        ['--env', 'dev'],
        ['--env', 'prod', '--secrets', 'external'],
        ['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/b'],
      ].map((args) => runAsync([...args, '--out', work]));
      const results = await Promise.all(runs);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      consistent(work, 'dev');
      consistent(work, 'prod');
      // Every commit holds a config and a record that match its files.
      for (const branch of ['scaffold/dev', 'scaffold/prod'])
        expect(git(work, 'rev-parse', '--verify', branch)).toMatch(/^[0-9a-f]{40}$/);
    }
  }, 180_000);

  it('two first runs with no age key make one key between them, and both use it', async () => {
    const keyDir = tempDir();
    const keyFile = join(keyDir, 'keys.txt');
    const outs = [tempDir(), tempDir()];
    const results = await Promise.all(
      outs.map((out) => runAsync(['--env', 'prod', '--out', out], { SOPS_AGE_KEY_FILE: keyFile })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const recipient = /# public key: (age1\S+)/.exec(readFileSync(keyFile, 'utf8'))![1];
    for (const out of outs) expect(readFileSync(join(out, '.sops.yaml'), 'utf8')).toContain(recipient);
  }, 120_000);

  it('a run killed at random points is recovered by the next run with other flags', async () => {
    // Seeded, bounded: a few kill points between writes and a few by time (git add, commit).
    let seed = Number(process.env.KILL_SEED ?? 12);
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const flagSets = [
      ['--leave-data-behind', '--host-path', '/srv/a'],
      ['--storage', 'pvc', '--tls', 'on', '--leave-data-behind'],
      ['--tls', 'off', '--storage', 'hostpath', '--leave-data-behind'],
      ['--ingress', 'on'],
    ];
    const work = renderedRepo();
    const deadline = Date.now() + 150_000;
    for (let i = 0; i < 8 && Date.now() < deadline; i++) {
      const killed = flagSets[Math.floor(random() * flagSets.length)]!;
      const byPause = i % 2 === 0;
      await killedRun(
        ['--env', 'dev', ...killed, '--out', work],
        byPause ? 60_000 : 300 + Math.floor(random() * 1500),
        byPause ? { MINIO_GITOPS_TEST_PAUSE_AFTER: String(1 + Math.floor(random() * 6)) } : {},
      );
      const recovery = flagSets[Math.floor(random() * flagSets.length)]!;
      const r = run(['--env', 'dev', ...recovery, '--out', work]);
      expect(r.code, `after a kill with ${killed.join(' ')}, recovery with ${recovery.join(' ')}: ${r.stderr}`).toBe(0);
      consistent(work, 'dev');
      // What HEAD holds is what its config renders: a fresh render of the committed config agrees.
      const fresh = tempDir();
      execFileSync('sh', ['-c', `git -C ${work} archive HEAD | tar -x -C ${fresh}`]);
      const c = run(['--env', 'dev', '--check', '--out', fresh]);
      expect(c.code, c.stdout).toBe(0);
    }
  }, 240_000);

  it('a run killed between git add and git commit (deletions staged) is committed by the next run with other flags; --check says so meanwhile', async () => {
    const work = renderedRepo('dev', '--tls', 'on');
    await killedRun(['--env', 'dev', '--tls', 'off', '--out', work], 60_000, { MINIO_GITOPS_TEST_PAUSE_AFTER: 'add' });
    expect(git(work, 'diff', '--cached', '--name-only')).toMatch(/overlays\/dev\/minio\/patch-tls\.yaml/);
    const check = run(['--env', 'dev', '--check', '--out', work]);
    expect(check.code, check.stdout).toBe(1);
    expect(check.stdout).toMatch(/file\(s\) the tool wrote are not committed/);
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/other', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    consistent(work, 'dev');
    expect(git(work, 'ls-files', 'overlays/dev/minio/patch-tls.yaml')).toBe('');
    expect(git(work, 'show', '--name-status', '--format=', 'HEAD')).toMatch(
      /^D\toverlays\/dev\/minio\/patch-tls\.yaml$/m,
    );
  });

  it('a commit that fails (a hook) is committed by the next run with other flags, deletions included; --check says so meanwhile', () => {
    const work = renderedRepo('dev', '--tls', 'on');
    writeFileSync(join(work, '.git/hooks/pre-commit'), '#!/bin/sh\necho "lint says no" >&2\nexit 1\n', { mode: 0o755 });
    const failed = run(['--env', 'dev', '--tls', 'off', '--out', work]);
    expect(failed.code).toBe(4); // written, not committed (2 would say nothing changed)
    expect(failed.stderr).toMatch(
      /^error: the commit on branch scaffold\/dev failed: lint says no; the files are written and uncommitted/,
    );
    const check = run(['--env', 'dev', '--check', '--out', work]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/a run stopped before it finished/);
    rmSync(join(work, '.git/hooks/pre-commit'));
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/other', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    consistent(work, 'dev');
    expect(existsSync(join(work, 'overlays/dev/minio/patch-tls.yaml'))).toBe(false);
    expect(git(work, 'ls-files', 'overlays/dev/minio/patch-tls.yaml')).toBe('');
  });

  it("a rejected --push shows the remote's reason; a re-run with --push pushes the commit", () => {
    const origin = tempDir();
    git(origin, 'init', '-q', '--bare', '--initial-branch=main');
    writeFileSync(
      join(origin, 'hooks/pre-receive'),
      '#!/bin/sh\necho "denied by policy: branch protection" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const work = teamRepo();
    git(work, 'remote', 'add', 'origin', origin);
    // Exit 3: committed, not pushed (2 would say nothing changed).
    const r = run(['--env', 'dev', '--push', '--out', work]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^error: the push of scaffold\/dev to origin was refused: .*denied by policy: branch protection.*; the commit [0-9a-f]+ is made: fix that and re-run with --push/m,
    );
    expect(r.stdout).not.toMatch(/pushed to origin/);
    // No origin at all: refused before anything is written.
    const lone = teamRepo();
    const before = state(lone);
    refused(run(['--env', 'dev', '--push', '--out', lone]), /--push needs an origin remote/);
    expect(state(lone)).toEqual(before);
    rmSync(join(origin, 'hooks/pre-receive'));
    const again = run(['--env', 'dev', '--push', '--out', work]);
    expect(again.code, again.stderr).toBe(0);
    expect(git(origin, 'rev-parse', 'scaffold/dev')).toBe(git(work, 'rev-parse', 'scaffold/dev'));
  });
});

describe('review findings (issue 12), kept fixed', () => {
  it('GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE in the environment never send the run to another repository', () => {
    const victim = teamRepo();
    const victimBefore = state(victim);
    const empty = tempDir();
    for (const env of [
      { GIT_DIR: join(victim, '.git') },
      { GIT_WORK_TREE: empty },
      { GIT_INDEX_FILE: join(tempDir(), 'index') },
    ] as Record<string, string>[]) {
      const work = renderedRepo();
      const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/gw', '--out', work], env);
      expect(r.code, r.stderr).toBe(0);
      consistent(work, 'dev');
      expect(git(work, 'ls-files').split('\n').length).toBeGreaterThan(40);
    }
    expect(state(victim)).toEqual(victimBefore);
    expect(snapshot(empty)).toEqual({});
  });

  it("a link into .git (to delete or overwrite the repository's own files) is refused", () => {
    const work = renderedRepo();
    symlinkSync('../../.git', join(work, 'overlays/dev/g'));
    const record = join(work, 'scaffold.lock.yaml');
    const doc = YAML.parse(readFileSync(record, 'utf8'));
    doc.files['overlays/dev/g/HEAD'] = sha(readFileSync(join(work, '.git/HEAD')));
    writeFileSync(record, YAML.stringify(doc));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/q', '--out', work]),
      /symbolic link that leads out of the output directory/,
    );
    expect(state(work)).toEqual(before);
  });

  it('links planted at temp-file names are never written through', () => {
    const outside = tempDir();
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const work = renderedRepo();
    // The names a run of the earlier versions used (PID only): plant many.
    for (let pid = process.pid; pid < process.pid + 300; pid++)
      symlinkSync(victim, join(work, `scaffold.lock.yaml.tmp-${pid}`));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/y', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('generated files an ignore rule matches are committed all the same (the branch builds)', () => {
    const home = tempDir();
    writeFileSync(join(home, 'excludes'), '*secret*\n');
    writeFileSync(
      join(home, 'gitconfig'),
      `[user]\n\tname = t\n\temail = t@t\n[core]\n\texcludesFile = ${join(home, 'excludes')}\n`,
    );
    const work = tempDir();
    const env = { GIT_CONFIG_GLOBAL: join(home, 'gitconfig') };
    const r = run(['--env', 'dev', '--out', work], env);
    expect(r.code, r.stderr).toBe(0);
    expect(git(work, 'ls-files')).toContain('overlays/dev/minio/secret-root-credentials.yaml');
    const again = run(['--env', 'dev', '--out', work], env);
    expect(again.stdout).toMatch(/nothing changed: no commit/);
  });

  it("another env's stopped run is finished by a run of that env; a run of another env says so first", async () => {
    const work = renderedRepo('dev');
    git(work, 'merge', '-q', '--ff-only', 'scaffold/dev');
    await killedRun(['--env', 'prod', '--secrets', 'external', '--out', work], 60_000, {
      MINIO_GITOPS_TEST_PAUSE_AFTER: '12',
    });
    const before = state(work);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/x', '--out', work]),
      /a run for env prod stopped before it finished \(12 file\(s\) written and not committed/,
    );
    expect(state(work)).toEqual(before);
    const finish = run([
      '--env',
      'prod',
      '--secrets',
      'external',
      '--namespace',
      'minio-p2',
      '--leave-data-behind',
      '--out',
      work,
    ]);
    expect(finish.code, finish.stderr).toBe(0);
    consistent(work, 'prod');
    const dev = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/x', '--out', work]);
    expect(dev.code, dev.stderr).toBe(0);
    consistent(work, 'dev');
    consistent(work, 'prod');
  });

  it('runs whose TMPDIR differs still take turns (a lock in the git directory too)', async () => {
    const work = renderedRepo();
    const tmp = tempDir();
    const results = await Promise.all([
      runAsync(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/a', '--out', work], { TMPDIR: tmp }),
      runAsync(['--env', 'dev', '--tls', 'on', '--out', work]),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    consistent(work, 'dev');
  }, 120_000);

  it('refuses a branch checked out in another worktree, and a stale .git/index.lock, touching nothing', () => {
    const work = renderedRepo(); // scaffold/dev exists, merged
    const other = join(tempDir(), 'other');
    git(work, 'worktree', 'add', '-q', other, 'scaffold/dev');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/w', '--out', work]),
      /branch scaffold\/dev is checked out in the worktree .*other; run there, or pass --branch NAME/,
    );
    expect(state(work)).toEqual(before);

    const locked = renderedRepo();
    writeFileSync(join(locked, '.git/index.lock'), '');
    const lockedBefore = state(locked);
    refused(
      run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/w', '--out', locked]),
      /another git command is running, or one was stopped and left \.git\/index\.lock/,
    );
    expect(state(locked)).toEqual(lockedBefore);
  });

  it('names too long for the filesystem are one line, also under --check', () => {
    const work = renderedRepo();
    const record = join(work, 'scaffold.lock.yaml');
    const doc = YAML.parse(readFileSync(record, 'utf8'));
    doc.files[`overlays/dev/${'a'.repeat(300)}.yaml`] = sha('x');
    writeFileSync(record, YAML.stringify(doc));
    for (const mode of [[], ['--check']])
      refused(run(['--env', 'dev', ...mode, '--out', work]), /not a path inside the output/);
    refused(
      run(['--env', 'dev', '--check', '--out', join(tempDir(), 'b'.repeat(300))]),
      /--out is longer than a filesystem takes/,
    );
  });

  it('a config with a byte order mark keeps it; a key file that is a dangling link is named', () => {
    const work = renderedRepo();
    const config = join(work, 'scaffold.config.yaml');
    writeFileSync(config, `\uFEFF${readFileSync(config, 'utf8')}`);
    git(work, 'commit', '-qam', 'BOM');
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/bom', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(config, 'utf8').startsWith('\uFEFF')).toBe(true);

    const keyDir = tempDir();
    symlinkSync(join(keyDir, 'nowhere', 'keys.txt'), join(keyDir, 'keys.txt'));
    const fresh = tempDir();
    refused(
      run(['--env', 'prod', '--out', fresh], { SOPS_AGE_KEY_FILE: join(keyDir, 'keys.txt') }),
      /the age key file .* is a symbolic link to nothing/,
    );
    expect(snapshot(fresh)).toEqual({});
  });
});

describe('second review findings (issue 12), kept fixed', () => {
  it('a deletion git would pair with a similar new file (a rename) is committed as a deletion', () => {
    const work = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    const r = run(['--env', 'dev', '--tls', 'on', '--secrets', 'sops', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    consistent(work, 'dev');
    expect(git(work, 'ls-files', 'overlays/dev/minio/secret-root-credentials.yaml')).toBe('');
  });

  it('.gitattributes that would commit other bytes (a filter, an encoding) is refused before anything is written', () => {
    const work = renderedRepo();
    writeFileSync(join(work, '.gitattributes'), 'overlays/** working-tree-encoding=UTF-16LE\n');
    git(work, 'add', '.gitattributes');
    git(work, 'commit', '-qm', 'a pull request');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--replicas', '4', '--storage', 'pvc', '--leave-data-behind', '--out', work]),
      /git attributes \(filter, working-tree-encoding or ident in \.gitattributes\) would change what is committed/,
    );
    expect(state(work)).toEqual(before);
  });

  it('a clone with CRLF line ends (core.autocrlf, eol=crlf) is up to date, and re-runs change nothing', () => {
    const work = renderedRepo();
    const clone = join(tempDir(), 'clone');
    execFileSync('git', ['-c', 'core.autocrlf=true', 'clone', '-q', work, clone]);
    git(clone, 'config', 'core.autocrlf', 'true');
    expect(readFileSync(join(clone, 'overlays/dev/kustomization.yaml'), 'utf8')).toContain('\r\n');
    const check = run(['--env', 'dev', '--check', '--out', clone]);
    expect(check.code, check.stdout).toBe(0);
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/crlf', '--out', clone]);
    expect(r.code, r.stderr).toBe(0);
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(run(['--env', 'dev', '--check', '--out', clone]).code).toBe(0);
  });

  it('a file git is told to ignore changes to (skip-worktree, assume-unchanged) is refused, not silently left out', () => {
    for (const flag of ['--skip-worktree', '--assume-unchanged']) {
      const work = renderedRepo();
      git(work, 'update-index', flag, 'overlays/dev/minio/kustomization.yaml');
      const before = state(work);
      refused(
        run(['--env', 'dev', '--replicas', '4', '--storage', 'pvc', '--leave-data-behind', '--out', work]),
        /git is told to ignore changes to overlays\/dev\/minio\/kustomization\.yaml/,
      );
      expect(state(work)).toEqual(before);
    }
  });

  it('--force never writes through a link; a link into a separate git directory is refused', () => {
    const work = renderedRepo();
    mkdirSync(join(work, 'private'));
    writeFileSync(join(work, 'private/notes.txt'), 'only copy\n');
    writeFileSync(join(work, '.gitignore'), 'private/\n');
    rmSync(join(work, 'overlays/dev/minio/patch-server.yaml'), { force: true });
    symlinkSync('../../../private/notes.txt', join(work, 'overlays/dev/minio/patch-server.yaml'));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--force', '--replicas', '4', '--storage', 'pvc', '--leave-data-behind', '--out', work]),
      /--force would write through the symbolic link overlays\/dev\/minio\/patch-server\.yaml/,
    );
    expect(state(work)).toEqual(before);
    expect(readFileSync(join(work, 'private/notes.txt'), 'utf8')).toBe('only copy\n');

    const separate = tempDir();
    git(separate, 'init', '-q', '-b', 'main', `--separate-git-dir=${join(separate, 'gitmeta')}`);
    writeFileSync(join(separate, 'README.md'), 'x\n');
    git(separate, 'add', 'README.md');
    git(separate, 'commit', '-qm', 'start');
    expect(run(['--env', 'dev', '--out', separate]).code).toBe(0);
    git(separate, 'checkout', '-q', 'main');
    git(separate, 'merge', '-q', 'scaffold/dev');
    rmSync(join(separate, 'overlays/dev/README.md'));
    symlinkSync('../../gitmeta/description', join(separate, 'overlays/dev/README.md'));
    git(separate, 'add', '-A');
    git(separate, 'commit', '-qm', 'a pull request');
    const description = readFileSync(join(separate, 'gitmeta/description'), 'utf8');
    refused(
      run(['--env', 'dev', '--force', '--leave-data-behind', '--host-path', '/srv/s', '--out', separate]),
      /symbolic link that leads out of the output directory/,
    );
    expect(readFileSync(join(separate, 'gitmeta/description'), 'utf8')).toBe(description);
  });

  it("names that look like temp files are a person's: kept, and a directory of such a name is no crash", () => {
    const work = renderedRepo();
    writeFileSync(join(work, 'overlays/dev/README.md.tmp-42'), 'mine\n');
    mkdirSync(join(work, 'overlays/dev/kustomization.yaml.tmp-1'));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const r = run(['--env', 'dev', '--leave-data-behind', '--host-path', '/srv/t', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(work, 'overlays/dev/README.md.tmp-42'), 'utf8')).toBe('mine\n');
    consistent(work, 'dev');
  });

  it("something else at the lock's name is one line, never a hang", () => {
    const work = renderedRepo();
    const lock = join(
      '/tmp',
      `minio-gitops-${createHash('sha256').update(realpathSync(work)).digest('hex').slice(0, 16)}.lock`,
    );
    mkdirSync(lock);
    try {
      const started = Date.now();
      refused(
        run(['--env', 'dev', '--check', '--out', work], { MINIO_GITOPS_LOCK_WAIT_MS: '1000' }),
        /is in the way of this tool's lock/,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  });

  it('an empty .git below the real repository (git uses the parent) is refused before anything is written', () => {
    const work = teamRepo();
    mkdirSync(join(work, 'deploy', '.git'), { recursive: true });
    const before = state(work);
    refused(
      run(['--env', 'dev', '--out', join(work, 'deploy')]),
      /git sees the repository at .* for .*deploy, where .*deploy\/\.git is/,
    );
    expect(state(work)).toEqual(before);
  });

  it('first runs whose TMPDIR differs on an output that is no repository yet take turns', async () => {
    for (let round = 0; round < 3; round++) {
      const out = join(tempDir(), 'new');
      const results = await Promise.all([
        runAsync(['--env', 'dev', '--out', out], { TMPDIR: tempDir() }),
        runAsync(['--env', 'prod', '--secrets', 'external', '--out', out], { TMPDIR: tempDir() }),
      ]);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const config = YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
      expect(Object.keys(config.envs).sort()).toEqual(['dev', 'prod']);
      consistent(out, 'dev');
      consistent(out, 'prod');
    }
  }, 120_000);
});

describe('third review findings (issue 12), kept fixed', () => {
  /** The command run from another working directory (where a relative --out resolves). */
  const runIn = (cwd: string, args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(join(REPO, 'node_modules/.bin/zx'), [join(REPO, 'scaffold.ts'), ...args], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("an --out that is blank, starts with an unexpanded ~ or with -, or holds a line break is refused (it would land in the working directory's repository)", () => {
    const work = renderedRepo();
    const before = state(work);
    for (const out of [' ', '~/x', '-x', 'a\nb'])
      refused(
        runIn(work, ['--env', 'dev', `--out=${out}`]),
        /^error: --out .* is (blank|a path starting with ~|a name that starts with -|a path with a control character)/,
      );
    expect(state(work)).toEqual(before);
  });

  it("refuses ~/.config, ~/.local and container runtimes' directories as --out; a dangling link is one line", () => {
    const home = tempDir();
    for (const out of [join(home, '.config'), join(home, '.local', 'share', 'x'), '/var/lib/docker/x']) {
      refused(
        run(['--env', 'dev', '--out', out], { HOME: home }),
        /is a system directory or one that holds others' files/,
      );
    }
    expect(existsSync(join(home, '.config'))).toBe(false);
    const dir = tempDir();
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    refused(run(['--env', 'dev', '--out', join(dir, 'dangling')]), /--out .* is a symbolic link to nothing/);
  });

  it('a repository URL that is not a plain URL is never shown in the message (a token may hide anywhere)', () => {
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), 'repoURL: ["https://u:TOKEN42@github.com/x.git"]\n');
    const r = run(['--env', 'dev', '--out', out]);
    refused(r, /repoURL \(not shown\) is not a git repository URL/);
    expect(r.stderr).not.toContain('TOKEN42');
    for (const url of ['https://u:TOKEN42＠github.com/x.git', 'https://github.com%40TOKEN42/x.git']) {
      const f = run(['--env', 'dev', '--repo-url', url, '--out', tempDir()]);
      expect(f.code).toBe(2);
      expect(f.stderr).not.toContain('TOKEN42');
    }
  });

  it('a config whose envs lost an env the record lists is refused, not rewritten without it', () => {
    const work = renderedRepo('dev');
    expect(run(['--env', 'prod', '--secrets', 'external', '--out', work]).code).toBe(0);
    const config = join(work, 'scaffold.config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^envs:[\s\S]*$/m, 'envs: null\n'));
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'a pull request');
    const before = state(work);
    refused(
      run(['--env', 'dev', '--out', work]),
      /scaffold\.config\.yaml has no settings for env prod, whose files scaffold\.lock\.yaml lists/,
    );
    expect(state(work)).toEqual(before);
  });

  it('values the cluster or the engine would reject: an IP address as ingress host, HEAD or refs/... as revision', () => {
    refused(
      run(['--env', 'prod', '--api-host', '10.0.0.1', '--out', tempDir()]),
      /--api-host "10\.0\.0\.1" is not a valid host name/,
    );
    refused(run(['--env', 'dev', '--revision', 'HEAD', '--out', tempDir()]), /--revision "HEAD" is not a branch name/);
    refused(
      run(['--env', 'dev', '--revision', 'refs/heads/main', '--out', tempDir()]),
      /--revision "refs\/heads\/main" is not a branch name/,
    );
  });
});
