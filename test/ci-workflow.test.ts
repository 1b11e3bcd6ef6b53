// The pull-request workflow the scaffolder writes for the GitOps repository (`--ci`,
// src/render/ci.ts): the GitHub workflow passes actionlint (with shellcheck on its scripts)
// and pins every action by commit SHA with least-privilege permissions; the GitLab pipeline
// passes GitLab's CI schema; the flag writes, switches and removes them through the plan
// (a file of the user's is refused); and the workflow's own shell steps run, in order, in a
// real repository whose base and head commits the scaffolder made: --check, a real kubectl
// kustomize build, kubeconform on local schemas, the real `diff`, and the comment step with
// a stand-in `gh` (GitHub itself cannot run here) that keeps the comments in a JSON file.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { crdSchemaDir, kubeSchemaLocation, needKubeconform, runActionlint, validateGitlabCi } from './ci-tools.ts';
import { expectRefused, git, run, scaffoldedTrees, snapshot, teamRepo as sharedTeamRepo } from './run.ts';
import { needTool, REPO, tempDir, unavailable } from './tools.ts';
import { helpText } from '../src/args.ts';
import {
  ACTIONS,
  CI_TOOLS,
  COMMENT_BUDGET,
  COMMENT_MARKER,
  FORK_CONDITION,
  GITHUB_WORKFLOW,
  GITLAB_AFTER_SCRIPT,
  GITLAB_CI,
  GITLAB_IMAGE,
  GITLAB_SCRIPT,
  KUBERNETES_SCHEMA_VERSION,
  NODE_VERSION,
  renderCi,
} from '../src/render/ci.ts';

type Ctx = { skip: (note?: string) => void };
type Step = {
  name: string;
  uses?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  run?: string;
};
type Workflow = {
  on: unknown;
  permissions: unknown;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, { permissions: unknown; env: Record<string, string>; steps: Step[] }>;
};

const github = () => renderCi({ repoPath: '', global: { ci: 'github' } })[0]!.content;
const gitlab = () => renderCi({ repoPath: '', global: { ci: 'gitlab' } })[0]!.content;
const URL_REPO = 'https://git.example.com/team/storage.git';

/** Every `uses:` line: a full 40-hex commit SHA and the release tag it is, in a comment. Returns the offending lines. */
function unpinned(text: string): string[] {
  return text
    .split('\n')
    .filter(
      (line) =>
        /^\s*(-\s+)?uses:/.test(line) && !/^\s*(-\s+)?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.test(line),
    );
}

/** The pinned shellcheck's findings on one bash script (for GitLab's scripts, which actionlint does not see). */
function shellcheck(ctx: Ctx, script: string): string {
  const r = spawnSync(needTool(ctx, 'shellcheck'), ['-s', 'bash', '-f', 'gcc', '-'], {
    input: script,
    encoding: 'utf8',
  });
  return r.stdout;
}

describe('the rendered workflow files', () => {
  it('GitHub: actionlint with shellcheck finds nothing; every action is pinned by commit SHA and tag; the token may read the repository and write pull-request comments, no more', (ctx) => {
    const text = github();
    const lint = runActionlint(ctx, text, 'minio-gitops.yaml');
    expect(lint.errors, lint.stdout).toEqual([]);
    expect(lint.code).toBe(0);

    expect(unpinned(text)).toEqual([]);
    const pins = [...text.matchAll(/uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)/g)].map(
      (m) => `${m[1]}@${m[2]} ${m[3]}`,
    );
    expect(new Set(pins)).toEqual(new Set(Object.values(ACTIONS).map((a) => `${a.action}@${a.sha} ${a.tag}`)));

    const wf = YAML.parse(text) as Workflow;
    // edited: a pull request whose base branch changes is compared with its new base.
    expect(wf.on).toEqual({ pull_request: { types: ['opened', 'synchronize', 'reopened', 'edited'] } });
    expect(wf.permissions).toEqual({});
    expect(Object.keys(wf.jobs)).toEqual(['review']);
    const job = wf.jobs.review!;
    expect(job.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(wf.concurrency).toEqual({
      group: '${{ github.workflow }}-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true,
    });
    // Both checkouts: full history (the merge base), and no token left in .git/config.
    const checkouts = job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkouts).toHaveLength(2);
    for (const c of checkouts) expect(c.with?.['persist-credentials']).toBe(false);
    expect(checkouts[0]!.with?.['fetch-depth']).toBe(0);
    expect(checkouts[1]!.with).toMatchObject({
      repository: '${{ vars.MINIO_GITOPS_REPOSITORY }}',
      ref: '${{ vars.MINIO_GITOPS_REF }}',
      path: '.minio-gitops',
    });
    // The scaffolder the variables name is used even where scaffold.ts is at the top; never with an empty ref.
    expect(checkouts[1]!.if).toBe(CHECKOUT_CONDITION);
    // Node.js exact, and no package-manager cache (npm ci installs from the lock file alone).
    const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!;
    expect(setupNode.with).toEqual({ 'node-version': NODE_VERSION, 'package-manager-cache': false });
    expect(NODE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    // The schemas of one Kubernetes release, which the default location serves (not master, which moves).
    expect(job.env.KUBECONFORM_KUBERNETES_VERSION).toBe(KUBERNETES_SCHEMA_VERSION);
    expect(KUBERNETES_SCHEMA_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(job.env.MINIO_GITOPS_COMMENT_BUDGET).toBe(String(COMMENT_BUDGET));
    // Expressions reach the scripts through env: only, never inline; the head commit is the pull request's own.
    for (const s of job.steps) expect(s.run ?? '', s.name).not.toContain('${{');
    expect(job.env.MINIO_GITOPS_HEAD_SHA).toBe('${{ github.event.pull_request.head.sha }}');
    // No secret anywhere: the token is the job's own, for the comment step only.
    expect(text).not.toMatch(/secrets\./);
    expect(job.steps.filter((s) => JSON.stringify(s).includes('github.token')).map((s) => s.name)).toEqual([
      'Comment the diff on the pull request',
    ]);
    // The comment step runs after a failed step too (not when cancelled), for a pull request of this repository.
    expect(job.steps.at(-1)!.if).toBe(COMMENT_CONDITION);
  });

  it('GitHub: a broken variant is caught: a typo in an expression, a shell mistake, an unknown permission (actionlint), an action pinned by tag (the pin check)', (ctx) => {
    const text = github();
    const kinds = (variant: string) =>
      runActionlint(ctx, variant, 'minio-gitops.yaml').errors.map((e) => `${e.kind}: ${e.message}`);
    expect(kinds(text.replace('${{ github.base_ref }}', '${{ github.base_reff }}'))).toEqual([
      expect.stringMatching(/^expression: property "base_reff" is not defined/),
    ]);
    expect(kinds(text.replace('echo "scaffolder: $SCAFFOLD"', 'echo scaffolder: $SCAFFOLD'))).toEqual([
      expect.stringMatching(/^shellcheck: .*SC2086/),
    ]);
    expect(kinds(text.replace('pull-requests: write', 'pull-request: write'))).toEqual([
      expect.stringMatching(/^permissions: unknown permission scope "pull-request"/),
    ]);
    const byTag = text.replace(/uses: actions\/checkout@[0-9a-f]{40} # v[\d.]+/, 'uses: actions/checkout@v6');
    expect(unpinned(byTag)).toEqual(['        uses: actions/checkout@v6']);
  });

  it("GitLab: valid against GitLab's CI schema, the image pinned by version, shellcheck-clean; an invalid variant is not valid", (ctx) => {
    const text = gitlab();
    expect(validateGitlabCi(ctx, text)).toEqual([]);
    const doc = YAML.parse(text) as Record<
      string,
      { image: string; rules: unknown; variables: Record<string, string>; script: string[]; after_script: string[] }
    >;
    const job = doc['minio-gitops']!;
    expect(job.image).toBe(GITLAB_IMAGE);
    expect(job.image).toMatch(/^node:24\.\d+\.\d+-bookworm$/);
    expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(job.variables).toMatchObject({
      GIT_DEPTH: '0',
      KUBECTL_SHA256: CI_TOOLS.kubectl.sha256,
      KUBECONFORM_SHA256: CI_TOOLS.kubeconform.sha256,
      KUBECONFORM_KUBERNETES_VERSION: KUBERNETES_SCHEMA_VERSION,
    });
    // The base is chosen in the script (merged results: the target branch's commit), not by a variable.
    expect(Object.keys(job.variables)).not.toContain('MINIO_GITOPS_DIFF_BASE');
    // The note is written in after_script, which runs when the script failed too.
    expect(job.script).toHaveLength(GITLAB_SCRIPT.length);
    expect(job.after_script).toHaveLength(GITLAB_AFTER_SCRIPT.length);
    expect(job.after_script.join('\n')).toContain('MINIO_GITOPS_NOTE_TOKEN');
    expect(text).toContain('MINIO_GITOPS_NOTE_TOKEN');
    expect(text).not.toContain('CI_JOB_TOKEN');
    // GitLab runs the script lines in one bash, with -e and pipefail.
    const script = `set -eo pipefail\n${job.script.join('\n')}`;
    expect(shellcheck(ctx, script)).toBe('');
    // after_script: a new bash, with -e.
    expect(shellcheck(ctx, `set -e\n${job.after_script.join('\n')}`)).toBe('');
    expect(
      shellcheck(
        ctx,
        script.replace(
          '"$MINIO_GITOPS_REPOSITORY" "$MINIO_GITOPS_REF"',
          '$MINIO_GITOPS_REPOSITORY "$MINIO_GITOPS_REF"',
        ),
      ),
    ).toMatch(/SC2086/);

    const invalid = [
      text.replace('interruptible: true', 'interruptible: sometimes'),
      text.replace('  rules:\n    - if:', '  rules:\n    - iff:'),
      text.replace('timeout: 20 minutes', 'timeout:\n    minutes: 20'),
    ];
    for (const variant of invalid) {
      expect(variant).not.toBe(text);
      expect(validateGitlabCi(ctx, variant).length, variant.slice(0, 400)).toBeGreaterThan(0);
    }
  });

  it('rendered only for an output at the top of its repository, and not for ci none', () => {
    expect(renderCi({ repoPath: 'deploy/minio/', global: { ci: 'github' } })).toEqual([]);
    expect(renderCi({ repoPath: 'deploy/minio/', global: { ci: 'gitlab' } })).toEqual([]);
    expect(renderCi({ repoPath: '', global: { ci: 'none' } })).toEqual([]);
    expect(renderCi({ repoPath: '', global: { ci: 'github' } }).map((f) => f.path)).toEqual([GITHUB_WORKFLOW]);
    expect(renderCi({ repoPath: '', global: { ci: 'gitlab' } }).map((f) => f.path)).toEqual([GITLAB_CI]);
    expect(helpText()).toMatch(/^ {2}--ci github\|gitlab\|none {2,}pull-request workflow/m);
  });
});

describe('--ci', () => {
  const scaffolded = scaffoldedTrees('minio-gitops-ci-');
  const head = (out: string) => git(out, 'rev-parse', 'HEAD').trim();
  const config = (out: string) =>
    YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8')) as Record<string, unknown>;
  const record = (out: string) =>
    Object.keys(
      (YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8')) as { files: Record<string, string> }).files,
    );
  const ok = (r: ReturnType<typeof run>) => {
    expect(r.code, r.stderr).toBe(0);
    return r;
  };

  it('github by default: the workflow is written, recorded and committed, and a re-run changes nothing (no commit)', () => {
    const out = scaffolded();
    expect(readFileSync(join(out, GITHUB_WORKFLOW), 'utf8')).toBe(github());
    expect(existsSync(join(out, GITLAB_CI))).toBe(false);
    expect(config(out).ci).toBe('github');
    expect(record(out)).toContain(GITHUB_WORKFLOW);
    expect(git(out, 'ls-files', GITHUB_WORKFLOW).trim()).toBe(GITHUB_WORKFLOW);
    const before = snapshot(out);
    const at = head(out);
    for (const env of ['dev', 'prod'])
      expect(ok(run(['--env', env, '--out', out])).stdout).toMatch(/nothing changed: no commit/);
    expect(head(out)).toBe(at);
    expect(snapshot(out)).toEqual(before);
  });

  it('--ci gitlab replaces the workflow with .gitlab-ci.yml, --ci none removes it, --ci github brings the workflow back; each a commit, the tree clean', () => {
    const out = scaffolded();
    const r = ok(run(['--env', 'dev', '--ci', 'gitlab', '--out', out]));
    expect(r.stdout).toMatch(/: 1 created, 2 updated, 1 deleted/);
    expect(readFileSync(join(out, GITLAB_CI), 'utf8')).toBe(gitlab());
    expect(existsSync(join(out, GITHUB_WORKFLOW))).toBe(false);
    expect(config(out).ci).toBe('gitlab');
    expect(record(out)).toContain(GITLAB_CI);
    expect(record(out)).not.toContain(GITHUB_WORKFLOW);
    expect(git(out, 'show', '--name-status', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([
      `A\t${GITLAB_CI}`,
      `D\t${GITHUB_WORKFLOW}`,
      'M\tscaffold.config.yaml',
      'M\tscaffold.lock.yaml',
    ]);
    // The setting is shared: another env's run keeps it.
    expect(ok(run(['--env', 'prod', '--out', out])).stdout).toMatch(/nothing changed: no commit/);

    ok(run(['--env', 'prod', '--ci', 'none', '--out', out]));
    expect(existsSync(join(out, GITLAB_CI))).toBe(false);
    expect(existsSync(join(out, GITHUB_WORKFLOW))).toBe(false);
    expect(config(out).ci).toBe('none');
    expect(record(out).filter((p) => p === GITLAB_CI || p === GITHUB_WORKFLOW)).toEqual([]);

    ok(run(['--env', 'dev', '--ci', 'github', '--out', out]));
    expect(readFileSync(join(out, GITHUB_WORKFLOW), 'utf8')).toBe(github());
    expect(git(out, 'status', '--porcelain')).toBe('');
  });

  it('a bad value: one line, exit 2, nothing written', () => {
    const out = scaffolded();
    const before = snapshot(out);
    const at = head(out);
    expectRefused(
      run(['--env', 'dev', '--ci', 'jenkins', '--out', out]),
      /^error: --ci "jenkins" is not allowed; use one of: github, gitlab, none\n$/,
    );
    expectRefused(run(['--env', 'dev', '--ci', 'GitHub', '--out', out]), /--ci "GitHub" is not allowed/);
    expect(snapshot(out)).toEqual(before);
    expect(head(out)).toBe(at);
  });

  it('a config of an earlier version, without ci, keeps the default github (and records it); ci: gitlab in the config file is taken like the flag', () => {
    const out = scaffolded();
    const file = join(out, 'scaffold.config.yaml');
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.delete('ci');
    writeFileSync(file, doc.toString());
    git(out, 'commit', '-qam', 'a config from before ci');
    ok(run(['--env', 'dev', '--out', out]));
    expect(readFileSync(join(out, GITHUB_WORKFLOW), 'utf8')).toBe(github());
    expect(config(out).ci).toBe('github');
    expect(git(out, 'show', '--name-only', '--format=', 'HEAD').trim()).toBe('scaffold.config.yaml');

    const edited = YAML.parseDocument(readFileSync(file, 'utf8'));
    edited.set('ci', 'gitlab');
    writeFileSync(file, edited.toString());
    git(out, 'commit', '-qam', 'gitlab');
    ok(run(['--env', 'prod', '--out', out]));
    expect(existsSync(join(out, GITLAB_CI))).toBe(true);
    expect(existsSync(join(out, GITHUB_WORKFLOW))).toBe(false);

    edited.set('ci', 'travis');
    writeFileSync(file, edited.toString());
    git(out, 'commit', '-qam', 'travis');
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'prod', '--out', out]),
      /scaffold\.config\.yaml: ci "travis" is not allowed; use one of: github, gitlab, none/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it("a .gitlab-ci.yml of the user's is left alone with ci github, refused by --ci gitlab without --force and left as it is; with --force it is replaced", () => {
    const out = scaffolded();
    const own = 'test:\n  script:\n    - make test\n';
    writeFileSync(join(out, GITLAB_CI), own);
    git(out, 'add', GITLAB_CI);
    git(out, 'commit', '-qm', 'our own pipeline');
    // With ci github it is none of the run's business.
    expect(ok(run(['--env', 'prod', '--out', out])).stdout).toMatch(/nothing changed: no commit/);
    const before = snapshot(out);
    const at = head(out);
    expectRefused(
      run(['--env', 'dev', '--ci', 'gitlab', '--out', out]),
      /not written by minio-gitops: \.gitlab-ci\.yml; .*--force/,
    );
    expect(snapshot(out)).toEqual(before);
    expect(readFileSync(join(out, GITLAB_CI), 'utf8')).toBe(own);
    expect(head(out)).toBe(at);
    ok(run(['--env', 'dev', '--ci', 'gitlab', '--force', '--out', out]));
    expect(readFileSync(join(out, GITLAB_CI), 'utf8')).toBe(gitlab());
  });

  it('a hand edit of the generated workflow is a conflict: switching to none does not delete it, nor does a re-run overwrite it, without --force', () => {
    const out = scaffolded();
    const file = join(out, GITHUB_WORKFLOW);
    writeFileSync(file, readFileSync(file, 'utf8').replace('timeout-minutes: 20', 'timeout-minutes: 45'));
    git(out, 'commit', '-qam', 'longer timeout');
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'dev', '--ci', 'none', '--out', out]),
      /edited by hand or not written by minio-gitops: \.github\/workflows\/minio-gitops\.yaml/,
    );
    expectRefused(
      run(['--env', 'prod', '--out', out]),
      /edited by hand or not written by minio-gitops: \.github\/workflows\/minio-gitops\.yaml/,
    );
    expect(snapshot(out)).toEqual(before);
    ok(run(['--env', 'dev', '--ci', 'none', '--force', '--out', out]));
    expect(existsSync(file)).toBe(false);
  });

  it('an output below the top of its repository gets no CI file (CI reads them at the top only)', () => {
    const top = tempDir();
    git(top, 'init', '-q', '--initial-branch=main');
    writeFileSync(join(top, 'README.md'), '# platform\n');
    git(top, 'add', 'README.md');
    git(top, 'commit', '-qm', 'start');
    const out = join(top, 'deploy', 'minio');
    ok(run(['--env', 'dev', '--ci', 'gitlab', '--out', out]));
    expect(existsSync(join(out, 'overlays', 'dev', 'kustomization.yaml'))).toBe(true);
    const files = git(top, 'ls-files').split('\n');
    expect(files.filter((f) => /(^|\/)\.git(lab-ci\.yml|hub\/)/.test(f))).toEqual([]);
    expect(config(out).ci).toBe('gitlab');
  });
});

// ---- the workflow's steps, run as GitHub's runner runs them -----------------------------

/** A team's repository: main with a README, pushed to a bare origin. */
const teamRepo = () => sharedTeamRepo().work;

function scaffold(args: string[]) {
  const r = run(args);
  if (r.code !== 0) throw new Error(`scaffold ${args.join(' ')} failed: ${r.stderr}`);
}

/** The base: envs (dev and prod by default) made by the scaffolder, merged into main and pushed; main checked out. */
function baseRepo(engine: 'flux' | 'argocd', opts: { envs?: string[]; args?: string[] } = {}): string {
  const work = teamRepo();
  for (const env of opts.envs ?? ['dev', 'prod']) {
    const profile = env === 'dev' || env === 'prod' ? [] : ['--profile', 'dev'];
    scaffold([
      '--env',
      env,
      ...profile,
      '--gitops',
      engine,
      '--repo-url',
      URL_REPO,
      ...(opts.args ?? []),
      '--branch',
      'scaffold/envs',
      '--out',
      work,
    ]);
  }
  git(work, 'checkout', '-q', 'main');
  git(work, 'merge', '-q', '--ff-only', 'scaffold/envs');
  git(work, 'push', '-q', 'origin', 'main');
  return work;
}

/**
 * An env removed by hand, as the scaffolder asks (it has no command for it): its files, its
 * settings in scaffold.config.yaml and its lines in scaffold.lock.yaml. Not committed.
 */
function removeEnv(work: string, env: string) {
  git(work, 'rm', '-r', '-q', '--ignore-unmatch', `overlays/${env}`, `clusters/${env}`, `sealed/${env}`);
  const config = YAML.parseDocument(readFileSync(join(work, 'scaffold.config.yaml'), 'utf8'));
  config.deleteIn(['envs', env]);
  writeFileSync(join(work, 'scaffold.config.yaml'), config.toString());
  const record = YAML.parseDocument(readFileSync(join(work, 'scaffold.lock.yaml'), 'utf8'));
  const mine = new RegExp(`^(overlays|clusters|sealed)/${env}/`);
  for (const section of ['files', 'sealed']) {
    const map = record.get(section) as YAML.YAMLMap<YAML.Scalar<string>> | undefined;
    for (const item of [...(map?.items ?? [])])
      if (mine.test(String(item.key.value))) record.deleteIn([section, item.key.value]);
  }
  record.deleteIn(['layouts', env]);
  writeFileSync(join(work, 'scaffold.lock.yaml'), record.toString());
}

/**
 * A pull request as the scaffolder makes it: the base (dev and prod, made by the scaffolder,
 * merged into main and pushed), then a head commit on branch pr/tls-off with prod's TLS off.
 */
function pullRequest(engine: 'flux' | 'argocd'): string {
  const work = baseRepo(engine);
  scaffold(['--env', 'prod', '--tls', 'off', '--branch', 'pr/tls-off', '--out', work]);
  expect(git(work, 'rev-list', '--count', 'origin/main..HEAD').trim()).toBe('1');
  return work;
}

/**
 * The checkout GitHub's runner makes of a pull request: a clone of the team's repository at
 * GitHub's merge of the branch into main (refs/pull/N/merge), not at the branch's own head.
 * Returns the clone and the branch's head commit (github.event.pull_request.head.sha).
 */
function mergeCheckout(work: string, branch: string): { dir: string; headSha: string } {
  const dir = tempDir();
  execFileSync('git', ['clone', '-q', work, dir]);
  git(dir, 'checkout', '-q', '--detach', 'origin/main');
  git(dir, 'merge', '-q', '--no-ff', '--no-edit', `origin/${branch}`);
  return { dir, headSha: git(dir, 'rev-parse', `origin/${branch}`).trim() };
}

/**
 * A stand-in for `gh api` as the comment step calls it (GitHub's REST API cannot be reached
 * here): the issue comments of a pull request, kept in the JSON file $GH_STANDIN_STATE, with
 * GitHub's pagination (30 a page) and --jq run by the real jq on each page, as gh does.
 */
const GH_STANDIN = String.raw`#!/usr/bin/env node
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const fail = (message, code = 1) => { process.stderr.write(message + '\n'); process.exit(code); };
const args = process.argv.slice(2);
if (args[0] !== 'api') fail('stand-in gh: only gh api is emulated');
if (!process.env.GH_TOKEN) fail('gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.', 4);
const db = JSON.parse(fs.readFileSync(process.env.GH_STANDIN_STATE, 'utf8'));
let method, paginate = false, jq, path;
const fields = {};
for (let i = 1; i < args.length; i++) {
  const a = args[i];
  if (a === '--method' || a === '-X') method = args[++i];
  else if (a === '--paginate') paginate = true;
  else if (a === '--jq' || a === '-q') jq = args[++i];
  else if (a === '-F' || a === '--field' || a === '-f' || a === '--raw-field') {
    const [key, ...rest] = args[++i].split('=');
    const value = rest.join('=');
    fields[key] = (a === '-F' || a === '--field') && value.startsWith('@') ? fs.readFileSync(value.slice(1), 'utf8') : value;
  } else if (a.startsWith('-')) fail('stand-in gh: unknown flag ' + a);
  else path = a;
}
method = method || (Object.keys(fields).length > 0 ? 'POST' : 'GET');
db.calls.push(method + ' ' + path);
const print = (pages) => {
  for (const page of pages) {
    if (!jq) { process.stdout.write(JSON.stringify(page)); continue; }
    const r = spawnSync('jq', ['-r', jq], { input: JSON.stringify(page), encoding: 'utf8' });
    if (r.status !== 0) fail('gh: ' + r.stderr);
    process.stdout.write(r.stdout);
  }
};
const [route, query] = path.split('?');
const view = ({ repo, issue, ...c }) => c;
let m;
if ((m = /^repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(route)) && method === 'GET') {
  const all = db.comments.filter((c) => c.repo === m[1] && c.issue === Number(m[2])).map(view);
  const per = Number(new URLSearchParams(query || '').get('per_page') || 30);
  const pages = [];
  for (let i = 0; i === 0 || i < all.length; i += per) pages.push(all.slice(i, i + per));
  print(paginate ? pages : pages.slice(0, 1));
} else if (m && method === 'POST') {
  const c = { id: db.next++, repo: m[1], issue: Number(m[2]), body: fields.body, user: { login: 'github-actions[bot]', type: 'Bot' } };
  db.comments.push(c);
  print([view(c)]);
} else if ((m = /^repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(route)) && method === 'GET') {
  const c = db.comments.find((x) => x.repo === m[1] && x.id === Number(m[2]));
  if (!c) fail('gh: Not Found (HTTP 404)');
  print([view(c)]);
} else if ((m = /^repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(route)) && method === 'PATCH') {
  const c = db.comments.find((x) => x.repo === m[1] && x.id === Number(m[2]));
  if (!c) fail('gh: Not Found (HTTP 404)');
  c.body = fields.body;
  print([view(c)]);
} else fail('stand-in gh: no such endpoint: ' + method + ' ' + path);
fs.writeFileSync(process.env.GH_STANDIN_STATE, JSON.stringify(db, null, 1));
`;

/** A stand-in curl that serves the URLs of $CURL_STANDIN_MAP ("URL FILE" lines) from local files, and logs each URL asked for. */
const CURL_STANDIN = `#!/bin/sh
out= url=
while [ $# -gt 0 ]; do
  case $1 in
    -o) out=$2; shift 2 ;;
    --retry) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
echo "$url" >>"$CURL_STANDIN_LOG"
file=$(awk -v u="$url" '$1 == u { print $2 }' "$CURL_STANDIN_MAP")
if [ -z "$file" ]; then echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; fi
cp "$file" "$out"
`;

interface GhState {
  next: number;
  comments: { id: number; repo: string; issue: number; body: string; user: { login: string; type: string } }[];
  calls: string[];
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** What a run of the job needs around it: the stand-ins, the local tools to serve, the schemas. */
function runnerKit(ctx: Ctx) {
  const kubectl = needTool(ctx, 'kubectl');
  const kubeconform = needKubeconform(ctx);
  needTool(ctx, 'kustomize');
  if (spawnSync('sh', ['-c', 'command -v jq'], { encoding: 'utf8' }).status !== 0)
    unavailable(ctx, 'jq is not on the PATH (the stand-in gh runs --jq with it, as gh does)');
  const kube = kubeSchemaLocation(ctx);
  const dir = tempDir('minio-gitops-runner-kit-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'gh'), GH_STANDIN);
  writeFileSync(join(bin, 'curl'), CURL_STANDIN);
  chmodSync(join(bin, 'gh'), 0o755);
  chmodSync(join(bin, 'curl'), 0o755);
  // The downloads the install step makes, served from the local tools (their own sha256 pinned for the run).
  const served = join(dir, 'served');
  mkdirSync(join(served, 'kc'), { recursive: true });
  copyFileSync(kubectl, join(served, 'kubectl'));
  copyFileSync(kubeconform, join(served, 'kc', 'kubeconform'));
  execFileSync('tar', ['-czf', join(served, 'kubeconform.tar.gz'), '-C', join(served, 'kc'), 'kubeconform']);
  const urls = {
    kubectl: `https://dl.k8s.io/release/${CI_TOOLS.kubectl.version}/bin/linux/amd64/kubectl`,
    kubeconform: `https://github.com/yannh/kubeconform/releases/download/${CI_TOOLS.kubeconform.version}/kubeconform-linux-amd64.tar.gz`,
  };
  writeFileSync(
    join(dir, 'curl-map'),
    `${urls.kubectl} ${join(served, 'kubectl')}\n${urls.kubeconform} ${join(served, 'kubeconform.tar.gz')}\n`,
  );
  const crds = crdSchemaDir(join(dir, 'crd-schemas'));
  const closed = 'http://127.0.0.1:9';
  return {
    bin,
    urls,
    curlLog: join(dir, 'curl-log'),
    /** The job's environment as this test changes it: local schemas, the served tools' hashes, no network. */
    env: {
      KUBECONFORM_SCHEMA_LOCATIONS: `${kube.location}\n${crds}\n`,
      KUBECONFORM_KUBERNETES_VERSION: kube.kubernetesVersion,
      KUBECTL_SHA256: sha256(join(served, 'kubectl')),
      KUBECONFORM_SHA256: sha256(join(served, 'kubeconform.tar.gz')),
      CURL_STANDIN_MAP: join(dir, 'curl-map'),
      CURL_STANDIN_LOG: join(dir, 'curl-log'),
      HTTP_PROXY: closed,
      HTTPS_PROXY: closed,
      http_proxy: closed,
      https_proxy: closed,
    },
    kubeSchema: kube.location,
    crdSchema: crds,
  };
}

interface StepRun {
  name: string;
  code: number;
  out: string;
  ms: number;
}

/** The repository variables as a repository that names its scaffolder sets them. */
const VARS = { MINIO_GITOPS_REPOSITORY: 'acme/minio-gitops', MINIO_GITOPS_REF: 'v1.0.0' };
const CHECKOUT_CONDITION = "vars.MINIO_GITOPS_REPOSITORY != '' && vars.MINIO_GITOPS_REF != ''";
const COMMENT_CONDITION = `!cancelled() && ${FORK_CONDITION}`;

interface JobOpts {
  skip?: string[];
  only?: string[];
  env?: Record<string, string>;
  ghState: string;
  /** The repository variables the job gets (a fork's pull request gets none). */
  vars?: { MINIO_GITOPS_REPOSITORY: string; MINIO_GITOPS_REF: string };
  /** A pull request from a fork. */
  fork?: boolean;
  /** github.event.pull_request.head.sha (default: HEAD). */
  headSha?: string;
}

/** Every process environment variable of a CI platform (when the tests run in CI), which the emulated job must not see. */
function hostEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env as Record<string, string>).filter(([k]) => !/^(GITHUB_|RUNNER_|CI_|GITLAB_)/.test(k)),
  );
}

/**
 * Runs the job's steps in order as GitHub's runner does: each `run:` as a script of
 * `bash --noprofile --norc -eo pipefail` in the checkout, with the job's and the step's env
 * (expressions filled in from `expressions`), GITHUB_ENV and GITHUB_PATH carried to the next
 * steps, and `if:` conditions from `conditions`. After a step fails, only the steps whose
 * `if:` runs after a failure (`!cancelled()`, `always()`) run. `uses:` steps are emulated:
 * the pull request's checkout is `repo` itself, the scaffolder's checkout is this checkout of
 * the scaffolder (a link to it as .minio-gitops/), setup-node is its pinned node
 * (node_modules/.bin). `skip` names `run:` steps not run (npm ci: the scaffolder's modules are
 * installed here already, and this checkout's must not be touched); `only`, the ones run.
 */
function runJob(repo: string, kit: ReturnType<typeof runnerKit>, opts: JobOpts) {
  const wf = YAML.parse(readFileSync(join(repo, GITHUB_WORKFLOW), 'utf8')) as Workflow;
  const job = wf.jobs.review!;
  const temp = tempDir('minio-gitops-runner-');
  const files = {
    GITHUB_ENV: join(temp, 'env'),
    GITHUB_PATH: join(temp, 'path'),
    GITHUB_STEP_SUMMARY: join(temp, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const vars = opts.vars ?? (opts.fork ? { MINIO_GITOPS_REPOSITORY: '', MINIO_GITOPS_REF: '' } : VARS);
  const expressions: Record<string, string> = {
    'github.base_ref': 'main',
    'github.token': 'ghs_stand-in-token',
    'github.event.pull_request.number': '7',
    'github.event.pull_request.head.sha': opts.headSha ?? git(repo, 'rev-parse', 'HEAD').trim(),
    'github.event.pull_request.head.repo.full_name != github.repository': opts.fork ? 'true' : 'false',
    'github.workflow': 'minio-gitops',
    'vars.MINIO_GITOPS_REPOSITORY': vars.MINIO_GITOPS_REPOSITORY,
    'vars.MINIO_GITOPS_REF': vars.MINIO_GITOPS_REF,
  };
  const conditions: Record<string, boolean> = {
    [CHECKOUT_CONDITION]: vars.MINIO_GITOPS_REPOSITORY !== '' && vars.MINIO_GITOPS_REF !== '',
    // After a failure too (not when cancelled); a pull request from a branch of this repository.
    [COMMENT_CONDITION]: !opts.fork,
    [FORK_CONDITION]: !opts.fork,
  };
  const fill = (value: string) =>
    value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, e: string) => {
      if (!(e in expressions)) throw new Error(`the test knows no value for \${{ ${e} }}`);
      return expressions[e]!;
    });
  const env: Record<string, string> = {
    ...hostEnv(),
    ...Object.fromEntries(Object.entries(job.env).map(([k, v]) => [k, fill(v)])),
    ...kit.env,
    ...files,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: repo,
    GITHUB_REPOSITORY: 'acme/storage',
    GITHUB_BASE_REF: 'main',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '1234',
    RUNNER_TEMP: temp,
    GH_STANDIN_STATE: opts.ghState,
    // No age key in CI: a path where none is (and where none may appear).
    SOPS_AGE_KEY_FILE: join(temp, 'no-key', 'keys.txt'),
    PATH: `${kit.bin}:${process.env.PATH}`,
    ...opts.env,
  };
  delete env.NO_PROXY;
  delete env.no_proxy;
  delete env.SOPS_AGE_KEY;
  const steps: StepRun[] = [];
  let failed = false;
  for (const [i, step] of job.steps.entries()) {
    if (failed && !/(^|\W)(always|!cancelled|failure)\(\)/.test(step.if ?? '')) continue;
    if (step.if !== undefined) {
      if (!(step.if in conditions)) throw new Error(`the test knows no value for if: ${step.if}`);
      if (!conditions[step.if]) continue;
    }
    if (step.uses) {
      if (
        step.uses.startsWith('actions/checkout@') &&
        step.with?.path === '.minio-gitops' &&
        !existsSync(join(repo, '.minio-gitops'))
      )
        symlinkSync(REPO, join(repo, '.minio-gitops'));
      continue;
    }
    if (opts.skip?.includes(step.name) || (opts.only && !opts.only.includes(step.name))) continue;
    const script = join(temp, `step-${i}.sh`);
    writeFileSync(script, step.run!);
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const t0 = Date.now();
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: repo,
      env: { ...env, ...stepEnv },
      encoding: 'utf8',
      timeout: 120_000,
    });
    steps.push({ name: step.name, code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 });
    if (r.status !== 0) failed = true;
    for (const line of readFileSync(files.GITHUB_ENV, 'utf8').split('\n').filter(Boolean)) {
      const at = line.indexOf('=');
      env[line.slice(0, at)] = line.slice(at + 1);
    }
    for (const dir of readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean))
      env.PATH = `${dir}:${env.PATH}`;
    writeFileSync(files.GITHUB_ENV, '');
    writeFileSync(files.GITHUB_PATH, '');
  }
  return {
    steps,
    temp,
    env,
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    work: env.MINIO_GITOPS_WORK ?? join(temp, 'minio-gitops'),
  };
}

/**
 * Runs GitLab's job as its runner does: the script's lines in one bash (-e, pipefail), in the
 * checkout, with the job's variables and GitLab's predefined ones (`gitlab`), then the
 * after_script's lines in a new bash with CI_JOB_STATUS. `skip` names script steps not run
 * (by their ci-steps.sh names; fetch-scaffolder and install-scaffolder by default: the
 * scaffolder is this checkout, linked as .minio-gitops/, with its modules installed).
 */
function runGitlabJob(
  repo: string,
  kit: ReturnType<typeof runnerKit>,
  gitlab: Record<string, string>,
  opts: { skip?: string[]; only?: string[]; link?: boolean } = {},
) {
  const doc = YAML.parse(readFileSync(join(repo, GITLAB_CI), 'utf8')) as Record<
    string,
    { variables: Record<string, string>; script: string[]; after_script: string[] }
  >;
  const job = doc['minio-gitops']!;
  expect(job.script).toHaveLength(GITLAB_SCRIPT.length);
  const temp = tempDir('minio-gitops-gitlab-');
  if (opts.link !== false && !existsSync(join(repo, '.minio-gitops'))) symlinkSync(REPO, join(repo, '.minio-gitops'));
  const env: Record<string, string> = {
    ...hostEnv(),
    ...job.variables,
    ...kit.env,
    CI: 'true',
    GITLAB_CI: 'true',
    CI_PIPELINE_SOURCE: 'merge_request_event',
    CI_PROJECT_DIR: repo,
    CI_COMMIT_SHA: git(repo, 'rev-parse', 'HEAD').trim(),
    CI_JOB_ID: '77',
    CI_JOB_URL: 'https://gitlab.example.com/team/storage/-/jobs/77',
    CI_MERGE_REQUEST_IID: '5',
    MINIO_GITOPS_REPOSITORY: 'https://gitlab.example.com/tools/minio-gitops.git',
    MINIO_GITOPS_REF: 'v1.0.0',
    TMPDIR: temp,
    SOPS_AGE_KEY_FILE: join(temp, 'no-key', 'keys.txt'),
    PATH: `${kit.bin}:${process.env.PATH}`,
    ...gitlab,
  };
  delete env.NO_PROXY;
  delete env.no_proxy;
  delete env.SOPS_AGE_KEY;
  const skip = opts.skip ?? (opts.only ? [] : ['fetch-scaffolder', 'install-scaffolder']);
  const lines = job.script.filter(
    (_, i) => !skip.includes(GITLAB_SCRIPT[i]!) && (!opts.only || opts.only.includes(GITLAB_SCRIPT[i]!)),
  );
  const bash = (name: string, text: string, extra: Record<string, string> = {}) => {
    const file = join(temp, name);
    writeFileSync(file, text);
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd: repo,
      env: { ...env, ...extra },
      encoding: 'utf8',
      timeout: 300_000,
    });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  const script = bash('script.sh', lines.join('\n'));
  const after = bash('after-script.sh', job.after_script.join('\n'), {
    CI_JOB_STATUS: script.code === 0 ? 'success' : 'failed',
  });
  return { script, after, work: join(temp, 'minio-gitops') };
}

const NO_NPM = ['Install the scaffolder'];

/** The line between the note of a failed run and the diff of an earlier push, in the comment. */
const STALE_MARKER = '<!-- minio-gitops earlier diff -->';

/** A pull request's comments for the stand-in gh, none yet. */
function newGh(comments: GhState['comments'] = []): string {
  const file = join(tempDir(), 'gh.json');
  writeFileSync(file, JSON.stringify({ next: 1000, comments, calls: [] } satisfies GhState));
  return file;
}
const readGh = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as GhState;

/** The one step that failed (by name), and its output. */
function failed(r: { steps: StepRun[] }, name: string): string {
  const bad = r.steps.filter((s) => s.code !== 0);
  expect(
    bad.map((s) => s.name),
    bad.map((s) => s.out).join('\n'),
  ).toEqual([name]);
  expect(bad[0]!.code, bad[0]!.out).toBe(1);
  return bad[0]!.out;
}

/** Keys of Secrets that hold a secret (not an endpoint or a bucket name, which the diff may show). */
const SECRET_KEY = /(user|password|access-key|secret-key|token|auth|key)$/i;

/** Every secret value the env's sealed files hold, decrypted with the test's age key (the scaffolder made it). */
function sealedValues(ctx: Ctx, repo: string, env: string): string[] {
  const sops = needTool(ctx, 'sops');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') && name !== 'kustomization.yaml' && name !== 'secret-generator.yaml')
        files.push(p);
    }
  };
  walk(join(repo, 'sealed', env));
  return files.flatMap((file) => {
    const plain = JSON.parse(execFileSync(sops, ['decrypt', '--output-type', 'json', file], { encoding: 'utf8' })) as {
      stringData?: Record<string, string>;
    };
    return Object.entries(plain.stringData ?? {}).flatMap(([k, v]) => (SECRET_KEY.test(k) ? [v] : []));
  });
}

/** The values of the plain Secrets an env builds (kubectl kustomize). */
function plainValues(ctx: Ctx, repo: string, env: string): string[] {
  const text = execFileSync(needTool(ctx, 'kubectl'), ['kustomize', join(repo, 'overlays', env)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as { kind: string; stringData?: Record<string, string>; data?: Record<string, string> })
    .filter((o) => o?.kind === 'Secret' && !('sops' in o))
    .flatMap((o) => [
      ...Object.entries(o.stringData ?? {}),
      ...Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')] as const),
    ])
    .flatMap(([k, v]) => (SECRET_KEY.test(k) ? [v] : []));
}

const expectPassed = (steps: StepRun[], names: string[]) => {
  for (const s of steps) expect(s.code, `${s.name}:\n${s.out}`).toBe(0);
  expect(steps.map((s) => s.name)).toEqual(names);
};

describe.each(['flux', 'argocd'] as const)("the workflow's steps in a real repository (%s)", (engine) => {
  it('check, build, validate and diff each env, post the comment, and on the next push update that comment instead of adding one', {
    timeout: 180_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const repo = pullRequest(engine);
    const ghState = join(tempDir(), 'gh.json');
    // The pull request's conversation so far: 35 comments of people (a page of 30 and more),
    // one of them quoting the marker, and another bot's comment that starts with the marker:
    // neither is the workflow's to update.
    const people = Array.from({ length: 35 }, (_, i) => ({
      id: 100 + i,
      repo: 'acme/storage',
      issue: 7,
      body: i === 3 ? `${COMMENT_MARKER}\nquoted by a person` : `comment ${i}`,
      user: { login: `dev${i}`, type: 'User' },
    }));
    const otherBot = {
      id: 200,
      repo: 'acme/storage',
      issue: 7,
      body: `${COMMENT_MARKER}\nanother bot's copy`,
      user: { login: 'renovate[bot]', type: 'Bot' },
    };
    writeFileSync(
      ghState,
      JSON.stringify({ next: 1000, comments: [...people, otherBot], calls: [] } satisfies GhState),
    );

    // GitHub checks out its merge of the branch into main; the comment names the branch's head.
    const pr = mergeCheckout(repo, 'pr/tls-off');
    expect(pr.headSha).not.toBe(git(pr.dir, 'rev-parse', 'HEAD').trim());
    const first = runJob(pr.dir, kit, { skip: NO_NPM, ghState, headSha: pr.headSha });
    const ran = [
      'Locate the scaffolder',
      'Install kubectl and kubeconform',
      'Find the envs',
      'Check each env',
      'Build and validate each env',
      'Diff each env',
      'Every env configured and rendered',
      'Comment the diff on the pull request',
    ];
    expectPassed(first.steps, ran);
    const out = (name: string) => first.steps.find((s) => s.name === name)!.out;
    console.log(`${engine}: ${first.steps.map((s) => `${s.name} ${s.ms} ms`).join(', ')}`);

    // Locate: the scaffolder checked out beside the repository (its real path); the tools from the official URLs, verified.
    expect(first.env.SCAFFOLD).toBe(join(REPO, 'scaffold.ts'));
    expect(readFileSync(kit.curlLog, 'utf8').trim().split('\n')).toEqual([kit.urls.kubectl, kit.urls.kubeconform]);
    expect(existsSync(join(first.work, 'bin', 'kubeconform'))).toBe(true);
    for (const list of ['CHECK', 'BUILD', 'DIFF']) expect(first.env[`MINIO_GITOPS_${list}_ENVS`]).toBe('dev prod');
    expect(out('Check each env')).toMatch(/env dev in .* is up to date[\s\S]*env prod in .* is up to date/);
    // Built and validated: every object against a schema (Kubernetes kinds and every CRD), none skipped.
    const built = [
      ...out('Build and validate each env').matchAll(/^built (overlays|clusters)\/(dev|prod): (\d+) objects$/gm),
    ];
    expect(built.map((m) => `${m[1]}/${m[2]}`)).toEqual([
      'overlays/dev',
      'clusters/dev',
      'overlays/prod',
      'clusters/prod',
    ]);
    const objects = built.reduce((n, m) => n + Number(m[3]), 0);
    expect(out('Build and validate each env')).toContain(
      `kubeconform: ${objects} valid, 0 invalid, 0 errors, 0 skipped`,
    );
    // The sealed Secrets were validated (encrypted values, sops metadata dropped), for Argo CD through its KSOPS generators.
    const prodBuild = readFileSync(join(first.work, 'built', 'overlays-prod.yaml'), 'utf8');
    expect(prodBuild).toMatch(/name: minio-root-credentials[\s\S]*rootPassword: ENC\[AES256_GCM,/);
    expect(prodBuild).not.toMatch(/^sops:/m);

    // The diff: one comment for both envs, also in the job's summary; dev unchanged, prod's TLS gone.
    const comment = readFileSync(join(first.work, 'comment.md'), 'utf8');
    expect(first.summary).toBe(comment);
    expect(comment.split('\n')[0]).toBe(COMMENT_MARKER);
    const base = git(repo, 'rev-parse', '--short=12', 'origin/main').trim();
    expect(comment).toContain(`Compared with \`${base}\`, at \`${pr.headSha.slice(0, 12)}\`.`);
    expect(comment).not.toContain(git(pr.dir, 'rev-parse', '--short=12', 'HEAD').trim());
    // Neither the scaffolder (the pinned one) nor the workflow changed: no warning.
    expect(comment).not.toContain('[!WARNING]');
    expect(comment).toMatch(/^<!-- minio-gitops diff env=dev -->\n### env `dev`: no change/m);
    expect(comment).toMatch(/^<!-- minio-gitops diff env=prod -->\n### env `prod`: \d+ changed, 0 added, \d+ removed/m);
    expect(comment).toMatch(/removed \| <code>Certificate minio\/minio-tls<\/code>/);
    expect(comment).toMatch(
      /"https:\/\/minio\.minio\.svc\.cluster\.local:9000"\n\+ "http:\/\/minio\.minio\.svc\.cluster\.local:9000"/,
    );
    // No secret value in it: neither the dev env's plain credentials nor prod's sealed ones, nor their ciphertexts.
    const secrets = [...plainValues(ctx, repo, 'dev'), ...sealedValues(ctx, repo, 'prod')].filter((v) => v.length >= 8);
    expect(secrets.length).toBeGreaterThan(10);
    for (const value of secrets) expect(comment.includes(value), 'a secret value is in the comment').toBe(false);
    expect(comment).not.toContain('ENC[AES256_GCM');
    // No age key was used, nor made.
    expect(existsSync(join(first.temp, 'no-key'))).toBe(false);

    // Posted as a new comment: the people's comments read through both pages first.
    let gh = JSON.parse(readFileSync(ghState, 'utf8')) as GhState;
    expect(gh.calls).toEqual(['GET repos/acme/storage/issues/7/comments', 'POST repos/acme/storage/issues/7/comments']);
    const ours = () => gh.comments.filter((c) => c.user.login === 'github-actions[bot]');
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.body).toBe(comment);
    const id = ours()[0]!.id;

    // The next push: prod's volumes grow (made by the scaffolder on the same branch), and the job runs again.
    scaffold(['--env', 'prod', '--size', '16Gi', '--branch', 'pr/tls-off', '--out', repo]);
    const pushed = mergeCheckout(repo, 'pr/tls-off');
    const second = runJob(pushed.dir, kit, { skip: NO_NPM, ghState, headSha: pushed.headSha });
    expectPassed(second.steps, ran);
    gh = JSON.parse(readFileSync(ghState, 'utf8')) as GhState;
    expect(gh.calls.slice(2)).toEqual([
      'GET repos/acme/storage/issues/7/comments',
      `GET repos/acme/storage/issues/comments/${id}`,
      `PATCH repos/acme/storage/issues/comments/${id}`,
    ]);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.id).toBe(id);
    expect(ours()[0]!.body).toBe(readFileSync(join(second.work, 'comment.md'), 'utf8'));
    expect(ours()[0]!.body).toMatch(/PersistentVolumeClaim minio\/data-minio-0[\s\S]*16Gi/);
    expect(ours()[0]!.body).toContain(`at \`${pushed.headSha.slice(0, 12)}\`.`);
    expect(gh.comments.filter((c) => c.user.type === 'User')).toEqual(people);
    expect(gh.comments.find((c) => c.id === otherBot.id)).toEqual(otherBot);
    expect(second.steps.at(-1)!.out).toContain(`updated comment ${id}`);
  });
});

describe("the workflow's steps fail when they must", () => {
  it('a hand-edited generated file fails the check (the comment then says the checks failed, with no diff); an invalid object fails validation; a Kubernetes kind without a schema fails it; a custom resource without one is listed; a broken sealed file fails the diff (exit 2), and the comment says so for its env', {
    timeout: 180_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const repo = pullRequest('flux');
    const ghState = newGh();
    const copy = () => {
      const dir = tempDir();
      cpSync(repo, dir, { recursive: true });
      return dir;
    };
    const setup = ['Locate the scaffolder', 'Install kubectl and kubeconform', 'Find the envs'];

    // A hand edit in a generated file, committed: --check fails with its diff; nothing after it runs.
    const edited = copy();
    const patch = join(edited, 'overlays', 'prod', 'minio', 'patch-server.yaml');
    writeFileSync(
      patch,
      readFileSync(patch, 'utf8').replace(
        /^(\s+)- name: MINIO_/m,
        '$1- name: MINIO_API_REQUESTS_MAX\n$1  value: "1600"\n$1- name: MINIO_',
      ),
    );
    git(edited, 'commit', '-qam', 'more requests, by hand');
    const check = runJob(edited, kit, { skip: NO_NPM, ghState });
    expect(check.steps.map((s) => s.name)).toEqual([
      ...setup,
      'Check each env',
      'Comment the diff on the pull request',
    ]);
    expect(failed(check, 'Check each env')).toMatch(
      /MINIO_API_REQUESTS_MAX[\s\S]*error: the generated files of env\(s\) prod are not what scaffold\.config\.yaml renders/,
    );

    // An unknown field in an object (the check would fail first: run the build alone).
    const invalid = copy();
    const service = join(invalid, 'base', 'common', 'service-api.yaml');
    const doc = YAML.parseDocument(readFileSync(service, 'utf8'));
    doc.setIn(['spec', 'sessionAffinityy'], 'None');
    writeFileSync(service, doc.toString());
    git(invalid, 'commit', '-qam', 'a typo');
    const build = runJob(invalid, kit, { skip: NO_NPM, only: [...setup, 'Build and validate each env'], ghState });
    expect(failed(build, 'Build and validate each env')).toMatch(
      /^INVALID overlays-dev: Service minio \(v1\): .*sessionAffinityy/m,
    );

    // Schemas: without the CRD catalog the custom resources are listed and the step passes;
    // without the Kubernetes schemas a Kubernetes kind fails it.
    const noCrds = runJob(repo, kit, {
      skip: NO_NPM,
      only: [...setup, 'Build and validate each env'],
      ghState,
      env: { KUBECONFORM_SCHEMA_LOCATIONS: `${kit.kubeSchema}\n` },
    });
    expectPassed(noCrds.steps, [...setup, 'Build and validate each env']);
    const listed = noCrds.steps.at(-1)!.out;
    expect(listed).toMatch(
      /^not validated overlays-prod: ServiceMonitor minio \(monitoring\.coreos\.com\/v1\): the CRD catalog has no schema for it$/m,
    );
    expect(listed).toMatch(
      /^not validated clusters-prod: Kustomization minio-prod \(kustomize\.toolkit\.fluxcd\.io\/v1\)/m,
    );
    expect(listed).not.toMatch(/^(not validated|NO SCHEMA) .*\((v1|apps\/v1|batch\/v1|networking\.k8s\.io\/v1)\)/m);
    const noKube = runJob(repo, kit, {
      skip: NO_NPM,
      only: [...setup, 'Build and validate each env'],
      ghState,
      env: { KUBECONFORM_SCHEMA_LOCATIONS: `${kit.crdSchema}\n` },
    });
    expect(failed(noKube, 'Build and validate each env')).toMatch(
      /^NO SCHEMA overlays-dev: Deployment minio \(apps\/v1\): a Kubernetes kind must validate$/m,
    );

    // A sealed file whose MAC is gone: diff exits 2 for prod; dev's diff is still in the comment; no comment posted.
    const broken = copy();
    const sealed = join(broken, 'sealed', 'prod', 'minio-root-credentials.yaml');
    writeFileSync(sealed, readFileSync(sealed, 'utf8').replace(/^ {2}mac: .*\n/m, ''));
    git(broken, 'commit', '-qam', 'a broken sealed file');
    const brokenGh = newGh();
    const diff = runJob(broken, kit, { skip: [...NO_NPM, 'Check each env'], ghState: brokenGh });
    expect(failed(diff, 'Diff each env')).toMatch(
      /sealed but has no encrypted MAC[\s\S]*error: diff failed for env\(s\) prod/,
    );
    const comment = readFileSync(join(diff.work, 'comment.md'), 'utf8');
    expect(comment).toMatch(/^<!-- minio-gitops diff env=dev -->$/m);
    expect(comment).toContain('**env prod**: the diff failed (exit 2)');
    // The comment step still ran, and posted this diff: dev's, and prod's failure.
    expect(readGh(brokenGh).calls).toEqual([
      'GET repos/acme/storage/issues/7/comments',
      'POST repos/acme/storage/issues/7/comments',
    ]);
    expect(readGh(brokenGh).comments.map((c) => c.body)).toEqual([comment]);

    // A failure before the diff (the check), with no comment before: a note, and no diff under it.
    const checkGh = readGh(ghState);
    const editedHead = git(edited, 'rev-parse', 'HEAD').trim();
    expect(checkGh.calls).toEqual([
      'GET repos/acme/storage/issues/7/comments',
      'POST repos/acme/storage/issues/7/comments',
    ]);
    expect(checkGh.comments.map((c) => c.body)).toEqual([
      `${COMMENT_MARKER}\n> [!CAUTION]\n> The checks failed at \`${editedHead}\`, before the diff was made: no diff. Why: https://github.com/acme/storage/actions/runs/1234\n${STALE_MARKER}\n`,
    ]);
  });

  it('the install step refuses a download whose sha256 is not the pinned one', (ctx) => {
    const kit = runnerKit(ctx);
    const repo = teamRepo();
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    writeFileSync(join(repo, GITHUB_WORKFLOW), github());
    const ghState = join(tempDir(), 'gh.json');
    writeFileSync(ghState, JSON.stringify({ next: 1, comments: [], calls: [] }));
    // The served kubectl is a local build, not the release the workflow pins.
    const r = runJob(repo, kit, {
      only: ['Locate the scaffolder', 'Install kubectl and kubeconform'],
      ghState,
      env: { KUBECTL_SHA256: CI_TOOLS.kubectl.sha256, KUBECONFORM_SHA256: CI_TOOLS.kubeconform.sha256 },
    });
    const last = r.steps.at(-1)!;
    expect(last.name).toBe('Install kubectl and kubeconform');
    expect(last.code).toBe(1);
    expect(last.out).toContain(
      `error: ${kit.urls.kubectl} does not have the sha256 this workflow pins (${CI_TOOLS.kubectl.sha256}); not using it`,
    );
    expect(readdirSync(join(r.work, 'bin'))).toEqual([]);
  });
});

describe("the workflow's envs: every env configured, rendered or removed", () => {
  const ALL = [
    'Locate the scaffolder',
    'Install kubectl and kubeconform',
    'Find the envs',
    'Check each env',
    'Build and validate each env',
    'Diff each env',
    'Every env configured and rendered',
    'Comment the diff on the pull request',
  ];

  it('quoted names (as a person writes them, and "true" and "123" as the scaffolder writes them) are found; an env the change removes is diffed (every object goes); the comment\'s budget is shared by the envs, each keeping its headline and table', {
    timeout: 240_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = baseRepo('flux', { envs: ['dev', 'prod', 'true', '123'] });
    // The change: env 123 gets monitoring (by the scaffolder), prod goes, and a person quotes dev's name.
    scaffold(['--env', '123', '--monitoring', 'on', '--branch', 'pr/envs', '--out', work]);
    removeEnv(work, 'prod');
    const configFile = join(work, 'scaffold.config.yaml');
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(/^ {2}dev:$/m, '  "dev":'));
    git(work, 'commit', '-qam', 'prod goes; dev quoted');
    const config = readFileSync(configFile, 'utf8');
    for (const key of ['  "dev":', '  "true":', '  "123":']) expect(config).toContain(`\n${key}\n`);
    expect(config).not.toMatch(/^ {2}"?prod"?:/m);

    const gh = newGh();
    const r = runJob(work, kit, { skip: NO_NPM, ghState: gh });
    expectPassed(r.steps, ALL);
    console.log(`envs: ${r.steps.map((s) => `${s.name} ${s.ms} ms`).join(', ')}`);
    expect(r.env.MINIO_GITOPS_CHECK_ENVS).toBe('123 dev true');
    expect(r.env.MINIO_GITOPS_BUILD_ENVS).toBe('123 dev true');
    expect(r.env.MINIO_GITOPS_DIFF_ENVS).toBe('123 dev prod true');
    expect(r.steps.find((s) => s.name === 'Check each env')!.out.match(/^env \S+ in .* is up to date$/gm)).toHaveLength(
      3,
    );

    const comment = readFileSync(join(r.work, 'comment.md'), 'utf8');
    expect(readGh(gh).comments.map((c) => c.body)).toEqual([comment]);
    expect(comment).toMatch(/^### env `dev`: no change/m);
    expect(comment).toMatch(/^### env `true`: no change/m);
    expect(comment).toMatch(/^### env `123`: \d+ changed, \d+ added, 0 removed/m);
    const removed = Number(/^### env `prod`: 0 changed, 0 added, (\d+) removed$/m.exec(comment)?.[1]);
    expect(removed).toBeGreaterThan(20);
    expect(comment).toContain('env prod is not rendered in the working tree: every object goes');

    // The budget: 60000 shared by 4 envs. Prod's whole diff is longer than its share, so its
    // details are cut, but its headline, highlights and every row of its table are kept.
    const share = COMMENT_BUDGET / 4;
    const whole = run(['diff', '--env', 'prod', '--base', 'origin/main', '--format', 'markdown', '--out', work]);
    expect(whole.code, whole.stderr).toBe(1);
    expect(whole.stdout.length).toBeGreaterThan(share);
    for (const env of ['123', 'dev', 'prod', 'true'])
      expect(readFileSync(join(r.work, `diff-${env}.md`), 'utf8').length, env).toBeLessThanOrEqual(share);
    const prod = comment.slice(comment.indexOf('<!-- minio-gitops diff env=prod -->'));
    expect(prod.match(/^\| removed \| <code>/gm)).toHaveLength(removed);
    expect(prod).toContain('**Look at these first**');
    expect(prod).toMatch(/The details of \d+ objects are left out/);
    expect(comment.length).toBeLessThan(COMMENT_BUDGET + 1000);
  });

  it('an env configured but not rendered (its overlay and cluster removed) fails the job after the comment, which shows what goes; an overlay removed alone fails the diff (the engine would fail); an env rendered but not configured fails the job', {
    timeout: 240_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = baseRepo('flux');
    git(work, 'checkout', '-q', '-b', 'pr/drop');
    git(work, 'rm', '-r', '-q', 'overlays/prod', 'clusters/prod');
    git(work, 'commit', '-qm', 'prod not rendered');
    const gh = newGh();
    const r = runJob(work, kit, { skip: NO_NPM, ghState: gh });
    const problem =
      'env prod is in scaffold.config.yaml but not rendered here (no overlays/prod/kustomization.yaml): run npx zx scaffold.ts --env prod and commit the result, or remove envs.prod from scaffold.config.yaml';
    expect(failed(r, 'Every env configured and rendered')).toBe(`error: ${problem}\n`);
    expect(r.steps.map((s) => s.name)).toEqual(ALL);
    expect(r.env.MINIO_GITOPS_CHECK_ENVS).toBe('dev');
    expect(r.env.MINIO_GITOPS_BUILD_ENVS).toBe('dev');
    expect(r.env.MINIO_GITOPS_DIFF_ENVS).toBe('dev prod');
    // The comment was posted: it says what does not agree, and what the cluster loses.
    const comment = readFileSync(join(r.work, 'comment.md'), 'utf8');
    expect(readGh(gh).comments.map((c) => c.body)).toEqual([comment]);
    const caution = `> [!CAUTION]\n> The envs of scaffold.config.yaml and the rendered ones do not agree (this fails the job):\n> - ${problem}\n`;
    expect(comment).toContain(caution);
    expect(comment).toMatch(/^### env `prod`: 0 changed, 0 added, [1-9]\d* removed$/m);

    // git rm -r overlays/prod alone: clusters/prod still has the engine build it, which would
    // fail; diff says so (exit 2), and the comment, posted, says it too.
    git(work, 'checkout', '-q', '-b', 'pr/overlay', 'main');
    git(work, 'rm', '-r', '-q', 'overlays/prod');
    git(work, 'commit', '-qm', 'prod overlay gone');
    const aloneGh = newGh();
    const alone = runJob(work, kit, { skip: [...NO_NPM, 'Build and validate each env'], ghState: aloneGh });
    expect(failed(alone, 'Diff each env')).toMatch(
      /^error: in the working tree: the engine builds overlays\/prod\/minio \(as clusters\/prod says\), which has no kustomization\.yaml[\s\S]*error: diff failed for env\(s\) prod/m,
    );
    const posted = readGh(aloneGh).comments.map((c) => c.body);
    expect(posted).toEqual([readFileSync(join(alone.work, 'comment.md'), 'utf8')]);
    expect(posted[0]).toContain(caution);
    expect(posted[0]).toContain('**env prod**: the diff failed (exit 2); the job log says why.');
    expect(posted[0]).toMatch(/^### env `dev`: no change/m);

    // Another change: an overlay copied to a new name, with no settings in scaffold.config.yaml.
    git(work, 'checkout', '-q', '-b', 'pr/extra', 'main');
    cpSync(join(work, 'overlays', 'dev'), join(work, 'overlays', 'extra'), { recursive: true });
    git(work, 'add', 'overlays/extra');
    git(work, 'commit', '-qm', 'an overlay of our own');
    const extra = runJob(work, kit, {
      skip: [...NO_NPM, 'Check each env', 'Build and validate each env'],
      ghState: newGh(),
    });
    expect(failed(extra, 'Every env configured and rendered')).toBe(
      'error: overlays/extra/ is here but env extra is not in scaffold.config.yaml: remove overlays/extra/ (and sealed/extra/), or put envs.extra back\n',
    );
    expect(extra.env.MINIO_GITOPS_CHECK_ENVS).toBe('dev prod');
    expect(extra.env.MINIO_GITOPS_DIFF_ENVS).toBe('dev extra prod');
    expect(readFileSync(join(extra.work, 'comment.md'), 'utf8')).toContain('env extra is not rendered at');
  });

  it('a name that is not a DNS label (a directory, or a key of scaffold.config.yaml) fails the envs step with one line', {
    timeout: 120_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = baseRepo('flux');
    const only = ['Locate the scaffolder', 'Find the envs'];
    git(work, 'checkout', '-q', '-b', 'pr/dir');
    mkdirSync(join(work, 'overlays', 'Old_Prod'));
    writeFileSync(join(work, 'overlays', 'Old_Prod', 'README.md'), 'kept for later\n');
    git(work, 'add', 'overlays');
    git(work, 'commit', '-qm', 'an old overlay');
    const dir = runJob(work, kit, { only, ghState: newGh() });
    expect(failed(dir, 'Find the envs')).toBe(
      'error: env name "Old_Prod" (in overlays/ at HEAD) is not a DNS label (lower-case letters, digits and -, at most 63, starting and ending with a letter or digit); rename it\n',
    );

    git(work, 'checkout', '-q', '-b', 'pr/key', 'main');
    const file = join(work, 'scaffold.config.yaml');
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['envs', 'Staging'], doc.createNode({ profile: 'dev' }));
    writeFileSync(file, doc.toString());
    git(work, 'commit', '-qam', 'a new env, by hand');
    const key = runJob(work, kit, { only, ghState: newGh() });
    expect(failed(key, 'Find the envs')).toBe(
      'error: env name "Staging" (in scaffold.config.yaml at HEAD) is not a DNS label (lower-case letters, digits and -, at most 63, starting and ending with a letter or digit); rename it\n',
    );
  });
});

describe("the workflow's comment when a later push fails", () => {
  it('the comment is updated with a note (the head that failed, a link to the run) above the diff of the last push that passed; a push that passes again replaces it', {
    timeout: 240_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = pullRequest('flux');
    const gh = newGh();
    const steps = { skip: [...NO_NPM, 'Build and validate each env'], ghState: gh };
    const push = () => {
      const pr = mergeCheckout(work, 'pr/tls-off');
      return { ...runJob(pr.dir, kit, { ...steps, headSha: pr.headSha }), headSha: pr.headSha };
    };
    const body = () => {
      const comments = readGh(gh).comments;
      expect(comments).toHaveLength(1);
      return comments[0]!.body;
    };
    const note = (sha: string) =>
      `${COMMENT_MARKER}\n> [!CAUTION]\n> The checks failed at \`${sha}\`; the diff below is from an earlier push. Why: https://github.com/acme/storage/actions/runs/1234\n${STALE_MARKER}\n`;

    const first = push();
    expect(first.steps.every((s) => s.code === 0)).toBe(true);
    const passed = body();
    expect(passed).toBe(readFileSync(join(first.work, 'comment.md'), 'utf8'));

    // A hand edit pushed: the check fails, the diff is not made, the comment says so.
    const patch = join(work, 'overlays', 'prod', 'minio', 'patch-server.yaml');
    const original = readFileSync(patch, 'utf8');
    writeFileSync(
      patch,
      original.replace(
        /^(\s+)- name: MINIO_/m,
        '$1- name: MINIO_API_REQUESTS_MAX\n$1  value: "1600"\n$1- name: MINIO_',
      ),
    );
    git(work, 'commit', '-qam', 'more requests, by hand');
    const second = push();
    failed(second, 'Check each env');
    expect(second.steps.map((s) => s.name).at(-1)).toBe('Comment the diff on the pull request');
    const earlier = passed.slice(passed.indexOf('\n') + 1);
    expect(body()).toBe(`${note(second.headSha)}${earlier}`);
    // The diff under the note is the first push's (its head named in it).
    expect(body()).toContain(`at \`${first.headSha.slice(0, 12)}\`.`);

    // Another failing push: one note, for the new head, above the same earlier diff.
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('"1600"', '"3200"'));
    git(work, 'commit', '-qam', 'even more');
    const third = push();
    failed(third, 'Check each env');
    expect(body()).toBe(`${note(third.headSha)}${earlier}`);
    expect(body().split('[!CAUTION]')).toHaveLength(2);

    // Fixed: the diff of this push replaces the note.
    writeFileSync(patch, original);
    git(work, 'commit', '-qam', 'back to the rendered file');
    const fourth = push();
    expect(fourth.steps.filter((s) => s.code !== 0)).toEqual([]);
    expect(body()).toBe(readFileSync(join(fourth.work, 'comment.md'), 'utf8'));
    expect(body()).toContain(`at \`${fourth.headSha.slice(0, 12)}\`.`);
    expect(body()).not.toContain('[!CAUTION]');
    expect(readGh(gh).calls.filter((c) => c.startsWith('PATCH'))).toHaveLength(3);
  });
});

describe('GitLab: the job as its runner runs it', () => {
  it("a merged-results pipeline compares with the target branch's commit the merge was made on, not the merge base: the target branch's own changes are not in the diff; the note step runs after the script", {
    timeout: 240_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = baseRepo('flux', { args: ['--ci', 'gitlab'] });
    expect(existsSync(join(work, GITLAB_CI))).toBe(true);
    // The merge request: prod's volumes grow. Meanwhile on main: dev gets monitoring.
    scaffold(['--env', 'prod', '--size', '16Gi', '--branch', 'mr/size', '--out', work]);
    git(work, 'checkout', '-q', 'main');
    scaffold(['--env', 'dev', '--monitoring', 'on', '--no-commit', '--out', work]);
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'dev: monitoring');
    const target = git(work, 'rev-parse', 'main').trim();
    const source = git(work, 'rev-parse', 'mr/size').trim();
    const mergeBase = git(work, 'merge-base', 'main', 'mr/size').trim();
    expect(mergeBase).not.toBe(target);
    // GitLab's merged result: the merge request merged into the target branch's head.
    git(work, 'checkout', '-q', '--detach', 'main');
    git(work, 'merge', '-q', '--no-ff', '--no-edit', 'mr/size');
    const r = runGitlabJob(work, kit, {
      CI_MERGE_REQUEST_TARGET_BRANCH_SHA: target,
      CI_MERGE_REQUEST_DIFF_BASE_SHA: mergeBase,
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: source,
    });
    expect(r.script.code, r.script.out).toBe(0);
    expect(r.script.out).toContain(`base: ${target}\n`);
    const comment = readFileSync(join(r.work, 'comment.md'), 'utf8');
    expect(comment).toContain(`Compared with \`${target.slice(0, 12)}\`, at \`${source.slice(0, 12)}\`.`);
    expect(comment).toMatch(/^### env `dev`: no change/m);
    expect(comment).toMatch(/^### env `prod`: \d+ changed/m);
    expect(comment).toMatch(/PersistentVolumeClaim minio\/data-minio-0[\s\S]*16Gi/);
    expect(r.after.code, r.after.out).toBe(0);
    expect(r.after.out).toContain('MINIO_GITOPS_NOTE_TOKEN is not available to this pipeline');

    // A merge request pipeline (not merged results): the merge base.
    git(work, 'checkout', '-q', 'mr/size');
    const plain = runGitlabJob(work, kit, { CI_MERGE_REQUEST_DIFF_BASE_SHA: mergeBase }, { only: ['locate', 'envs'] });
    expect(plain.script.code, plain.script.out).toBe(0);
    expect(plain.script.out).toContain(`base: ${mergeBase}\n`);
  });
});

describe('the scaffolder the job runs', () => {
  it('GitHub: a fork pull request without the repository variables fails with that reason; an empty MINIO_GITOPS_REF is refused; the pinned scaffolder is preferred over scaffold.ts at the top', {
    timeout: 120_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = pullRequest('flux');
    const fork = runJob(work, kit, { skip: NO_NPM, ghState: newGh(), fork: true });
    expect(fork.steps.map((s) => s.name)).toEqual(['Locate the scaffolder']);
    expect(failed(fork, 'Locate the scaffolder')).toMatch(
      /^error: this pull request comes from a fork, and GitHub does not give a fork's pull request the repository's variables \(vars\.MINIO_GITOPS_REPOSITORY, vars\.MINIO_GITOPS_REF\)/,
    );

    const noRef = runJob(work, kit, {
      only: ['Locate the scaffolder'],
      ghState: newGh(),
      vars: { MINIO_GITOPS_REPOSITORY: 'acme/minio-gitops', MINIO_GITOPS_REF: '' },
    });
    expect(existsSync(join(work, '.minio-gitops'))).toBe(false);
    expect(failed(noRef, 'Locate the scaffolder')).toMatch(
      /^error: MINIO_GITOPS_REPOSITORY is set but MINIO_GITOPS_REF is empty; .*an unpinned default branch is never used/,
    );

    // A repository with a scaffold.ts of its own at the top, and the variables set: the pinned one runs.
    writeFileSync(join(work, 'scaffold.ts'), '// not the scaffolder the variables name\n');
    const pinned = runJob(work, kit, { only: ['Locate the scaffolder'], ghState: newGh() });
    expect(pinned.steps.map((s) => s.code)).toEqual([0]);
    expect(pinned.env.SCAFFOLD).toBe(join(REPO, 'scaffold.ts'));
  });

  it('GitLab: the scaffolder the variables name is fetched at its ref and preferred over scaffold.ts at the top; an empty MINIO_GITOPS_REF is refused before any fetch', {
    timeout: 120_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const tools = tempDir();
    git(tools, 'init', '-q', '--initial-branch=main');
    writeFileSync(join(tools, 'scaffold.ts'), '// the scaffolder at v9.9.9\n');
    git(tools, 'add', 'scaffold.ts');
    git(tools, 'commit', '-qm', 'release');
    git(tools, 'tag', 'v9.9.9');
    writeFileSync(join(tools, 'scaffold.ts'), '// the scaffolder after v9.9.9\n');
    git(tools, 'commit', '-qam', 'unreleased');
    const work = teamRepo();
    writeFileSync(join(work, GITLAB_CI), gitlab());
    writeFileSync(join(work, 'scaffold.ts'), "// this repository's own\n");
    const only = ['fetch-scaffolder', 'locate'];
    const r = runGitlabJob(
      work,
      kit,
      { MINIO_GITOPS_REPOSITORY: `file://${tools}`, MINIO_GITOPS_REF: 'v9.9.9' },
      { only, link: false },
    );
    expect(r.script.code, r.script.out).toBe(0);
    expect(r.script.out).toContain(`scaffolder: ${join(realpathSync(work), '.minio-gitops', 'scaffold.ts')}\n`);
    expect(readFileSync(join(work, '.minio-gitops', 'scaffold.ts'), 'utf8')).toBe('// the scaffolder at v9.9.9\n');

    rmSync(join(work, '.minio-gitops'), { recursive: true, force: true });
    const empty = runGitlabJob(
      work,
      kit,
      { MINIO_GITOPS_REPOSITORY: `file://${tools}`, MINIO_GITOPS_REF: '' },
      { only, link: false },
    );
    expect(empty.script.code).toBe(1);
    expect(empty.script.out).toMatch(
      /^error: MINIO_GITOPS_REPOSITORY is set but MINIO_GITOPS_REF is empty; .*an unpinned default branch is never used/,
    );
    expect(existsSync(join(work, '.minio-gitops'))).toBe(false);
  });

  it("the comment warns first when the change touches the scaffolder that runs (the repository's own scaffold.ts and src/) or this workflow", {
    timeout: 180_000,
  }, (ctx) => {
    const kit = runnerKit(ctx);
    const work = baseRepo('flux');
    // The default layout: the repository is the scaffolder's checkout (here scaffold.ts links to it, with its modules).
    symlinkSync(join(REPO, 'scaffold.ts'), join(work, 'scaffold.ts'));
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'));
    writeFileSync(join(work, '.git', 'info', 'exclude'), 'node_modules\n');
    git(work, 'add', 'scaffold.ts');
    git(work, 'commit', '-qm', 'the scaffolder');
    git(work, 'push', '-q', 'origin', 'main');
    git(work, 'checkout', '-q', '-b', 'pr/src');
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src', 'notes.md'), 'a change to the scaffolder\n');
    git(work, 'add', 'src');
    git(work, 'commit', '-qm', 'the scaffolder changes');
    const only = ['Locate the scaffolder', 'Install kubectl and kubeconform', 'Find the envs', 'Diff each env'];
    const warning = `${COMMENT_MARKER}\n> [!WARNING]\n> This pull request changes the scaffolder or this workflow: the diff below is made by the changed code.\n\n## minio-gitops: what the cluster will receive\n`;
    const comment = (r: ReturnType<typeof runJob>) => {
      expect(r.steps.filter((s) => s.code !== 0).map((s) => s.out)).toEqual([]);
      return readFileSync(join(r.work, 'comment.md'), 'utf8');
    };

    const own = runJob(work, kit, {
      only,
      ghState: newGh(),
      vars: { MINIO_GITOPS_REPOSITORY: '', MINIO_GITOPS_REF: '' },
    });
    expect(own.env.SCAFFOLD).toBe(join(realpathSync(work), 'scaffold.ts'));
    expect(comment(own).startsWith(warning)).toBe(true);

    // The pinned scaffolder runs instead: the repository's src/ is not what runs, no warning.
    const pinned = runJob(work, kit, { only, ghState: newGh() });
    expect(pinned.env.SCAFFOLD).toBe(join(REPO, 'scaffold.ts'));
    expect(comment(pinned)).toMatch(
      new RegExp(`^${COMMENT_MARKER}\\n## minio-gitops: what the cluster will receive\\n`),
    );

    // The workflow changed: a warning whichever scaffolder runs.
    writeFileSync(join(work, GITHUB_WORKFLOW), `${readFileSync(join(work, GITHUB_WORKFLOW), 'utf8')}# one more line\n`);
    git(work, 'commit', '-qam', 'the workflow changes');
    const workflow = runJob(work, kit, { only, ghState: newGh() });
    expect(comment(workflow).startsWith(warning)).toBe(true);
  });
});
