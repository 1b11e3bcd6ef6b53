// The pull-request workflow in real git repositories: the branch and commit a run makes,
// no commit when nothing changed, --no-commit, --push to a real (bare) remote, --check,
// the summary (--json, NO_COLOR), and a run killed in the middle of its writes.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { run, snapshot, teamRepo } from './run.ts';
import { REPO, tempDir } from './tools.ts';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
const files = (text: string) => text.split('\n').filter(Boolean).sort();

describe.each(['flux', 'argocd'])('the review cycle with %s', (engine) => {
  it('scaffold prod, review the branch diff, change one option, re-scaffold, review the second diff', () => {
    const { work } = teamRepo();
    // The bare origin is a local path, which no engine can fetch: name the team's URL once.
    const first = run([
      '--env',
      'prod',
      '--gitops',
      engine,
      '--repo-url',
      'https://git.example.com/team/storage.git',
      '--out',
      work,
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(git(work, 'branch', '--show-current')).toBe('scaffold/prod');
    expect(first.stdout).toMatch(/^committed [0-9a-f]{7,} on branch scaffold\/prod \(from main\)$/m);
    expect(first.stdout).toContain(
      'git push -u origin scaffold/prod    # then open a pull request from scaffold/prod into main',
    );
    expect(first.stdout).toContain('git checkout main    # to return to where you were');
    expect(first.stdout).toContain(`kubectl apply -k clusters/prod`);
    const firstDiff = files(git(work, 'diff', '--name-only', 'main...scaffold/prod'));
    expect(firstDiff).toContain('overlays/prod/kustomization.yaml');
    expect(firstDiff).toContain('sealed/prod/minio-root-credentials.yaml');
    expect(firstDiff).toContain(
      engine === 'flux' ? 'clusters/prod/kustomization-minio.yaml' : 'clusters/prod/application.yaml',
    );
    expect(git(work, 'log', '-1', '--format=%s')).toMatch(/^scaffold\(prod\): \d+ created, 0 updated, 0 deleted$/);
    expect(git(work, 'status', '--porcelain')).toBe('');

    const unchanged = run(['--env', 'prod', '--out', work]);
    expect(unchanged.stdout).toMatch(/nothing changed: no commit/);
    expect(git(work, 'rev-list', '--count', 'HEAD')).toBe('2');

    const second = run(['--env', 'prod', '--size', '20Gi', '--out', work]);
    expect(second.code, second.stderr).toBe(0);
    // Larger volumes: the claims themselves (the claim template cannot change); Argo CD's project admits them.
    expect(files(git(work, 'show', '--name-only', '--format=', 'HEAD'))).toEqual([
      ...(engine === 'argocd' ? ['clusters/prod/appproject.yaml'] : []),
      'overlays/prod/README.md',
      'overlays/prod/minio/kustomization.yaml',
      'overlays/prod/minio/persistentvolumeclaims-minio.yaml',
      'scaffold.config.yaml',
      'scaffold.lock.yaml',
    ]);
    expect(git(work, 'show', 'HEAD', '--', 'overlays/prod/minio/persistentvolumeclaims-minio.yaml')).toMatch(
      /^\+\s+name: data-minio-0$[\s\S]*^\+\s+storage: 20Gi$/m,
    );
    expect(git(work, 'log', '-1', '--format=%B')).toMatch(
      new RegExp(
        `scaffold\\(prod\\): 1 created, ${engine === 'argocd' ? 5 : 4} updated, 0 deleted\\n\\nenv prod \\(profile prod\\): replicas=4 storage=pvc size=20Gi`,
      ),
    );
  });
});

describe('git', () => {
  it('initialises a repository where there is none, with main to branch from, making --out if needed', () => {
    const out = join(tempDir(), 'new', 'repo');
    expect(run(['--env', 'dev', '--out', out]).code).toBe(0);
    expect(git(out, 'branch', '--list', '--format=%(refname:short)').split('\n').sort()).toEqual([
      'main',
      'scaffold/dev',
    ]);
    expect(git(out, 'status', '--porcelain')).toBe('');
  });

  it('--no-commit leaves the changes uncommitted on the current branch', () => {
    const { work } = teamRepo();
    const r = run(['--env', 'dev', '--no-commit', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    expect(git(work, 'branch', '--show-current')).toBe('main');
    expect(git(work, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(work, 'status', '--porcelain')).toMatch(/^\?\? base\//m);
    expect(r.stdout).toContain('review the changes (git diff), commit them, and open a pull request');
  });

  it('--push pushes the branch to origin; without --push nothing is pushed', () => {
    const { work, origin } = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    expect(git(origin, 'branch', '--list', 'scaffold/dev')).toBe('');
    expect(
      run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--push', '--out', work]).code,
    ).toBe(0);
    expect(git(origin, 'rev-parse', 'scaffold/dev')).toBe(git(work, 'rev-parse', 'HEAD'));
  });

  it('refuses to start when a file it would change has uncommitted work, and says which', () => {
    const { work } = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    git(work, 'checkout', '-q', 'main');
    git(work, 'merge', '-q', 'scaffold/dev');
    git(work, 'branch', '-q', '-D', 'scaffold/dev');
    writeFileSync(
      join(work, 'overlays/dev/minio/patch-storage.yaml'),
      `${readFileSync(join(work, 'overlays/dev/minio/patch-storage.yaml'), 'utf8')}# mine\n`,
    );
    git(work, 'add', 'overlays/dev/minio/patch-storage.yaml');
    git(work, 'commit', '-qm', 'a hand edit'); // committed: only --force would take it
    writeFileSync(join(work, 'notes.txt'), 'untracked, not ours\n');
    const before = snapshot(work);
    const r = run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--out', work]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /edited by hand or not written by minio-gitops: overlays\/dev\/minio\/patch-storage\.yaml/,
    );
    writeFileSync(
      join(work, 'overlays/dev/minio/patch-storage.yaml'),
      `${readFileSync(join(work, 'overlays/dev/minio/patch-storage.yaml'), 'utf8')}# more\n`,
    );
    const dirty = run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--force', '--out', work]);
    expect(dirty.code).toBe(2);
    expect(dirty.stderr).toMatch(
      /^error: uncommitted changes in files this run would change: overlays\/dev\/minio\/patch-storage\.yaml; commit or stash them first/,
    );
    expect(snapshot(work)['notes.txt']).toEqual(before['notes.txt']);
    expect(git(work, 'branch', '--list', 'scaffold/dev')).toBe(''); // no branch made either
  });

  it('refuses to switch to another existing branch', () => {
    const { work } = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    git(work, 'checkout', '-q', 'main');
    const r = run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--out', work]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: branch scaffold\/dev already exists with 1 commit\(s\) whose changes are not in HEAD; check it out to add to it \(git checkout scaffold\/dev\), merge its pull request first, or pass --branch NAME\n$/,
    );
    expect(
      run([
        '--env',
        'dev',
        '--host-path',
        '/srv/minio',
        '--leave-data-behind',
        '--branch',
        'scaffold/dev-hostpath',
        '--out',
        work,
      ]).code,
    ).toBe(0);
    expect(git(work, 'branch', '--show-current')).toBe('scaffold/dev-hostpath');
  });
});

describe('--check', () => {
  it('exits 0 when the tree matches the config, 1 with a diff when it does not, 2 on error; writes nothing', () => {
    const out = tempDir();
    expect(run(['--env', 'prod', '--out', out]).code).toBe(0);
    const ok = run(['--env', 'prod', '--check', '--out', out]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/is up to date/);

    // A person changes the config but does not re-run: the tree no longer matches.
    const config = join(out, 'scaffold.config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('size: 8Gi', 'size: 9Gi'));
    const before = snapshot(out);
    const drift = run(['--env', 'prod', '--check', '--out', out]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(/^create overlays\/prod\/minio\/persistentvolumeclaims-minio\.yaml$/m);
    expect(drift.stdout).toMatch(/^\+\s+storage: 9Gi$/m);
    expect(drift.stdout).toMatch(
      /is not what scaffold\.config\.yaml renders: .*; run `npx zx scaffold\.ts --env prod` and commit/,
    );
    expect(snapshot(out)).toEqual(before);

    expect(run(['--env', 'prod', '--check', '--size', 'huge', '--out', out]).code).toBe(2);
    expect(run(['--env', 'prod', '--check', '--dry-run', '--out', out]).code).toBe(2);
  });
});

describe('the summary', () => {
  it('--json prints one JSON object with the counts, branch, commit and next steps', () => {
    const { work } = teamRepo();
    const r = run(['--env', 'dev', '--json', '--out', work]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(summary).toMatchObject({
      env: 'dev',
      branch: 'scaffold/dev',
      previousBranch: 'main',
      pushed: false,
      updated: [],
      deleted: [],
    });
    expect(summary.created).toContain('overlays/dev/kustomization.yaml');
    expect(summary.commit).toBe(git(work, 'rev-parse', '--short', 'HEAD'));
    expect(summary.warnings.join()).toMatch(/development only/);
    expect(summary.next[0]).toMatch(/^git push -u origin scaffold\/dev/);
  });

  it('colours the changes for a terminal, and not with NO_COLOR', () => {
    const coloured = run(['--env', 'dev', '--out', tempDir()], { FORCE_COLOR: '1' });
    expect(coloured.stdout).toContain('\x1b[32m+ base/common/kustomization.yaml\x1b[0m');
    const plain = run(['--env', 'dev', '--out', tempDir()], { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(plain.stdout).not.toContain('\x1b[');
    expect(plain.stdout).toContain('+ base/common/kustomization.yaml');
  });
});

describe('a run killed in the middle of its writes', () => {
  it('leaves every file old or new (no half-written file), and a re-run completes it', async () => {
    // The finished run, for comparison: the same change made without interruption.
    const reference = tempDir();
    expect(run(['--env', 'dev', '--out', reference]).code).toBe(0);
    expect(
      run(['--env', 'dev', '--storage', 'pvc', '--tls', 'on', '--leave-data-behind', '--out', reference]).code,
    ).toBe(0);

    const out = tempDir();
    expect(run(['--env', 'dev', '--out', out]).code).toBe(0);
    const before = snapshot(out);
    const child = spawn(
      join(REPO, 'node_modules/.bin/zx'),
      ['scaffold.ts', '--env', 'dev', '--storage', 'pvc', '--tls', 'on', '--leave-data-behind', '--out', out],
      {
        cwd: REPO,
        env: { ...process.env, MINIO_GITOPS_TEST_PAUSE_AFTER: '4' },
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('paused for test')) resolve();
      });
      child.on('exit', () => reject(new Error('the run ended before it paused')));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));

    const middle = snapshot(out);
    const after = snapshot(reference);
    const paths = new Set([...Object.keys(before), ...Object.keys(middle), ...Object.keys(after)]);
    paths.delete('scaffold.lock.yaml'); // checked below
    let changed = 0;
    for (const p of paths) {
      const now = middle[p]?.content;
      expect([before[p]?.content, after[p]?.content], `${p} is neither the old nor the new version`).toContain(now);
      if (now !== before[p]?.content) changed++;
    }
    expect(changed).toBe(4); // stopped after four changes: the rest not yet written
    expect(Object.keys(middle).filter((p) => /\.tmp-\d+(-[0-9a-f]+)?$/.test(p))).toEqual([]);
    // The record: the old hashes, plus the paths this run was changing (pending).
    const recordBefore = YAML.parse(before['scaffold.lock.yaml']!.content);
    const recordMiddle = YAML.parse(middle['scaffold.lock.yaml']!.content);
    expect(recordMiddle.files).toEqual(recordBefore.files);
    expect(Object.keys(recordMiddle.pending)).toContain('overlays/dev/minio/patch-tls.yaml');
    expect(recordBefore.pending).toBeUndefined();

    const rerun = run(['--env', 'dev', '--storage', 'pvc', '--tls', 'on', '--leave-data-behind', '--out', out]);
    expect(rerun.code, rerun.stderr).toBe(0);
    const done = snapshot(out);
    expect(Object.fromEntries(Object.entries(done).map(([p, v]) => [p, v.content]))).toEqual(
      Object.fromEntries(Object.entries(after).map(([p, v]) => [p, v.content])),
    );
    expect(git(out, 'status', '--porcelain')).toBe('');
    expect(existsSync(join(out, 'overlays/dev/minio/patch-tls.yaml'))).toBe(true);
    expect(YAML.parse(done['scaffold.lock.yaml']!.content).pending).toBeUndefined();
  });
});

describe('review findings, kept fixed', () => {
  it('staged work of a person stays out of the scaffold commit, and stays staged', () => {
    const { work } = teamRepo();
    writeFileSync(join(work, 'notes.txt'), 'mine\n');
    git(work, 'add', 'notes.txt');
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    expect(files(git(work, 'show', '--name-only', '--format=', 'HEAD'))).not.toContain('notes.txt');
    expect(git(work, 'diff', '--cached', '--name-only')).toBe('notes.txt');
  });

  it('an output in a subdirectory of a repository: the engines sync that subdirectory', () => {
    const { work } = teamRepo();
    const sub = join(work, 'deploy', 'minio');
    expect(
      run([
        '--env',
        'prod',
        '--secrets',
        'external',
        '--repo-url',
        'https://git.example.com/team/infra.git',
        '--out',
        sub,
      ]).code,
    ).toBe(0);
    expect(YAML.parse(readFileSync(join(sub, 'clusters/prod/kustomization-minio.yaml'), 'utf8')).spec.path).toBe(
      './deploy/minio/overlays/prod/minio',
    );
    expect(run(['--env', 'prod', '--gitops', 'argocd', '--out', sub]).code).toBe(0);
    expect(YAML.parse(readFileSync(join(sub, 'clusters/prod/application.yaml'), 'utf8')).spec.source.path).toBe(
      'deploy/minio/overlays/prod',
    );
    expect(
      files(git(work, 'show', '--name-only', '--format=', 'HEAD')).every((p) => p.startsWith('deploy/minio/')),
    ).toBe(true);
  });

  it('Flux gets the deploy-key Secret for an ssh repository', () => {
    const out = tempDir();
    expect(run(['--env', 'dev', '--repo-url', 'git@github.com:acme/storage.git', '--out', out]).code).toBe(0);
    expect(YAML.parse(readFileSync(join(out, 'clusters/dev/gitrepository.yaml'), 'utf8')).spec).toMatchObject({
      url: 'ssh://git@github.com/acme/storage.git',
      secretRef: { name: 'flux-system' },
    });
  });

  it('git refusals are one line with exit 2: a bad branch name (before any git change), a failing hook', () => {
    const fresh = tempDir();
    const bad = run(['--env', 'dev', '--branch', 'feature/x.lock', '--out', fresh]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --branch "feature\/x\.lock" is not a branch name git accepts/);
    expect(existsSync(join(fresh, '.git'))).toBe(false);

    const { work } = teamRepo();
    writeFileSync(join(work, '.git/hooks/pre-commit'), '#!/bin/sh\necho "lint says no" >&2\nexit 1\n', { mode: 0o755 });
    const hook = run(['--env', 'dev', '--out', work]);
    expect(hook.code).toBe(4); // the files are written, the commit refused
    expect(hook.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(hook.stderr).toBe(
      'error: the commit on branch scaffold/dev failed: lint says no; the files are written and uncommitted: fix that, then re-run `npx zx scaffold.ts --env dev` (it commits them), or commit them yourself\n',
    );
  });

  it('--no-commit in a repository without commits makes none', () => {
    const out = tempDir();
    git(out, 'init', '-q', '--initial-branch=main');
    expect(run(['--env', 'dev', '--no-commit', '--out', out]).code).toBe(0);
    expect(() => git(out, 'rev-parse', '--verify', '-q', 'HEAD')).toThrow();
  });

  it('a re-run on the branch points at its pull request, not at itself', () => {
    const { work } = teamRepo();
    expect(run(['--env', 'dev', '--out', work]).code).toBe(0);
    const again = run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--out', work]);
    expect(again.stdout).toContain(
      'git push -u origin scaffold/dev    # then open or update the pull request of scaffold/dev',
    );
    expect(again.stdout).not.toContain('into scaffold/dev');
  });
});
