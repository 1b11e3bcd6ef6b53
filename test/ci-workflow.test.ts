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
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { crdSchemaDir, kubeSchemaLocation, needKubeconform, runActionlint, validateGitlabCi } from './ci-tools.ts';
import { expectRefused, git, run, scaffoldedTrees, snapshot } from './run.ts';
import { needTool, REPO, tempDir, unavailable } from './tools.ts';
import { helpText } from '../src/args.ts';
import { ACTIONS, CI_TOOLS, COMMENT_MARKER, GITHUB_WORKFLOW, GITLAB_CI, GITLAB_IMAGE, renderCi } from '../src/render/ci.ts';

type Ctx = { skip: (note?: string) => void };
type Step = { name: string; uses?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string>; run?: string };
type Workflow = { on: unknown; permissions: unknown; concurrency: { group: string; 'cancel-in-progress': boolean }; jobs: Record<string, { permissions: unknown; env: Record<string, string>; steps: Step[] }> };

const github = () => renderCi({ repoPath: '', global: { ci: 'github' } })[0]!.content;
const gitlab = () => renderCi({ repoPath: '', global: { ci: 'gitlab' } })[0]!.content;
const URL_REPO = 'https://git.example.com/team/storage.git';
const FORK_CONDITION = 'github.event.pull_request.head.repo.full_name == github.repository';

/** Every `uses:` line: a full 40-hex commit SHA and the release tag it is, in a comment. Returns the offending lines. */
function unpinned(text: string): string[] {
  return text.split('\n').filter((line) => /^\s*(-\s+)?uses:/.test(line) && !/^\s*(-\s+)?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/.test(line));
}

/** The pinned shellcheck's findings on one bash script (for GitLab's scripts, which actionlint does not see). */
function shellcheck(ctx: Ctx, script: string): string {
  const r = spawnSync(needTool(ctx, 'shellcheck'), ['-s', 'bash', '-f', 'gcc', '-'], { input: script, encoding: 'utf8' });
  return r.stdout;
}

describe('the rendered workflow files', () => {
  it('GitHub: actionlint with shellcheck finds nothing; every action is pinned by commit SHA and tag; the token may read the repository and write pull-request comments, no more', (ctx) => {
    const text = github();
    const lint = runActionlint(ctx, text, 'minio-gitops.yaml');
    expect(lint.errors, lint.stdout).toEqual([]);
    expect(lint.code).toBe(0);

    expect(unpinned(text)).toEqual([]);
    const pins = [...text.matchAll(/uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)/g)].map((m) => `${m[1]}@${m[2]} ${m[3]}`);
    expect(new Set(pins)).toEqual(new Set(Object.values(ACTIONS).map((a) => `${a.action}@${a.sha} ${a.tag}`)));

    const wf = YAML.parse(text) as Workflow;
    expect(wf.on).toEqual({ pull_request: { types: ['opened', 'synchronize', 'reopened'] } });
    expect(wf.permissions).toEqual({});
    expect(Object.keys(wf.jobs)).toEqual(['review']);
    const job = wf.jobs.review!;
    expect(job.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(wf.concurrency).toEqual({ group: '${{ github.workflow }}-${{ github.event.pull_request.number }}', 'cancel-in-progress': true });
    // Both checkouts: full history (the merge base), and no token left in .git/config.
    const checkouts = job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkouts).toHaveLength(2);
    for (const c of checkouts) expect(c.with?.['persist-credentials']).toBe(false);
    expect(checkouts[0]!.with?.['fetch-depth']).toBe(0);
    expect(checkouts[1]!.with).toMatchObject({ repository: '${{ vars.MINIO_GITOPS_REPOSITORY }}', ref: '${{ vars.MINIO_GITOPS_REF }}', path: '.minio-gitops' });
    expect(checkouts[1]!.if).toBe("hashFiles('scaffold.ts') == '' && vars.MINIO_GITOPS_REPOSITORY != ''");
    // No secret anywhere: the token is the job's own, for the comment step only.
    expect(text).not.toMatch(/secrets\./);
    expect(job.steps.filter((s) => JSON.stringify(s).includes('github.token')).map((s) => s.name)).toEqual(['Comment the diff on the pull request']);
    expect(job.steps.at(-1)!.if).toBe(FORK_CONDITION);
  });

  it('GitHub: a broken variant is caught: a typo in an expression, a shell mistake, an unknown permission (actionlint), an action pinned by tag (the pin check)', (ctx) => {
    const text = github();
    const kinds = (variant: string) => runActionlint(ctx, variant, 'minio-gitops.yaml').errors.map((e) => `${e.kind}: ${e.message}`);
    expect(kinds(text.replace('${{ github.base_ref }}', '${{ github.base_reff }}'))).toEqual([expect.stringMatching(/^expression: property "base_reff" is not defined/)]);
    expect(kinds(text.replace('echo "scaffolder: $SCAFFOLD"', 'echo scaffolder: $SCAFFOLD'))).toEqual([expect.stringMatching(/^shellcheck: .*SC2086/)]);
    expect(kinds(text.replace('pull-requests: write', 'pull-request: write'))).toEqual([expect.stringMatching(/^permissions: unknown permission scope "pull-request"/)]);
    const byTag = text.replace(/uses: actions\/checkout@[0-9a-f]{40} # v[\d.]+/, 'uses: actions/checkout@v6');
    expect(unpinned(byTag)).toEqual(['        uses: actions/checkout@v6']);
  });

  it("GitLab: valid against GitLab's CI schema, the image pinned by version, shellcheck-clean; an invalid variant is not valid", (ctx) => {
    const text = gitlab();
    expect(validateGitlabCi(ctx, text)).toEqual([]);
    const doc = YAML.parse(text) as Record<string, { image: string; rules: unknown; variables: Record<string, string>; script: string[] }>;
    const job = doc['minio-gitops']!;
    expect(job.image).toBe(GITLAB_IMAGE);
    expect(job.image).toMatch(/^node:24\.\d+\.\d+-bookworm$/);
    expect(job.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(job.variables).toMatchObject({ GIT_DEPTH: '0', MINIO_GITOPS_DIFF_BASE: '$CI_MERGE_REQUEST_DIFF_BASE_SHA', KUBECTL_SHA256: CI_TOOLS.kubectl.sha256, KUBECONFORM_SHA256: CI_TOOLS.kubeconform.sha256 });
    expect(text).toContain('MINIO_GITOPS_NOTE_TOKEN');
    expect(text).not.toContain('CI_JOB_TOKEN');
    // GitLab runs the script lines in one bash, with -e and pipefail.
    const script = `set -eo pipefail\n${job.script.join('\n')}`;
    expect(shellcheck(ctx, script)).toBe('');
    expect(shellcheck(ctx, script.replace('"$MINIO_GITOPS_REPOSITORY" "$MINIO_GITOPS_REF"', '$MINIO_GITOPS_REPOSITORY "$MINIO_GITOPS_REF"'))).toMatch(/SC2086/);

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
  const config = (out: string) => YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8')) as Record<string, unknown>;
  const record = (out: string) => Object.keys((YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8')) as { files: Record<string, string> }).files);
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
    for (const env of ['dev', 'prod']) expect(ok(run(['--env', env, '--out', out])).stdout).toMatch(/nothing changed: no commit/);
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
    expect(git(out, 'show', '--name-status', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([`A\t${GITLAB_CI}`, `D\t${GITHUB_WORKFLOW}`, 'M\tscaffold.config.yaml', 'M\tscaffold.lock.yaml']);
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
    expectRefused(run(['--env', 'dev', '--ci', 'jenkins', '--out', out]), /^error: --ci "jenkins" is not allowed; use one of: github, gitlab, none\n$/);
    expectRefused(run(['--env', 'dev', '--ci', 'GitHub', '--out', out]), /--ci "GitHub" is not allowed/);
    expect(snapshot(out)).toEqual(before);
    expect(head(out)).toBe(at);
  });

  it("a config of an earlier version, without ci, keeps the default github (and records it); ci: gitlab in the config file is taken like the flag", () => {
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
    expectRefused(run(['--env', 'prod', '--out', out]), /scaffold\.config\.yaml: ci "travis" is not allowed; use one of: github, gitlab, none/);
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
    expectRefused(run(['--env', 'dev', '--ci', 'gitlab', '--out', out]), /not written by minio-gitops: \.gitlab-ci\.yml; .*--force/);
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
    expectRefused(run(['--env', 'dev', '--ci', 'none', '--out', out]), /edited by hand or not written by minio-gitops: \.github\/workflows\/minio-gitops\.yaml/);
    expectRefused(run(['--env', 'prod', '--out', out]), /edited by hand or not written by minio-gitops: \.github\/workflows\/minio-gitops\.yaml/);
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
function teamRepo(): string {
  const origin = tempDir();
  git(origin, 'init', '-q', '--bare', '--initial-branch=main');
  const work = tempDir();
  git(work, 'init', '-q', '--initial-branch=main');
  writeFileSync(join(work, 'README.md'), '# storage\n');
  git(work, 'add', 'README.md');
  git(work, 'commit', '-qm', 'start');
  git(work, 'remote', 'add', 'origin', origin);
  git(work, 'push', '-q', 'origin', 'main');
  return work;
}

function scaffold(args: string[]) {
  const r = run(args);
  if (r.code !== 0) throw new Error(`scaffold ${args.join(' ')} failed: ${r.stderr}`);
}

/**
 * A pull request as the scaffolder makes it: the base (dev and prod, made by the scaffolder,
 * merged into main and pushed), then a head commit on branch pr/tls-off with prod's TLS off.
 */
function pullRequest(engine: 'flux' | 'argocd'): string {
  const work = teamRepo();
  for (const env of ['dev', 'prod']) scaffold(['--env', env, '--gitops', engine, '--repo-url', URL_REPO, '--branch', 'scaffold/envs', '--out', work]);
  git(work, 'checkout', '-q', 'main');
  git(work, 'merge', '-q', '--ff-only', 'scaffold/envs');
  git(work, 'push', '-q', 'origin', 'main');
  scaffold(['--env', 'prod', '--tls', 'off', '--branch', 'pr/tls-off', '--out', work]);
  expect(git(work, 'rev-list', '--count', 'origin/main..HEAD').trim()).toBe('1');
  return work;
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
  if (spawnSync('sh', ['-c', 'command -v jq'], { encoding: 'utf8' }).status !== 0) unavailable(ctx, 'jq is not on the PATH (the stand-in gh runs --jq with it, as gh does)');
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
  writeFileSync(join(dir, 'curl-map'), `${urls.kubectl} ${join(served, 'kubectl')}\n${urls.kubeconform} ${join(served, 'kubeconform.tar.gz')}\n`);
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

/**
 * Runs the job's steps in order as GitHub's runner does: each `run:` as a script of
 * `bash --noprofile --norc -eo pipefail` in the checkout, with the job's and the step's env
 * (expressions filled in from `expressions`), GITHUB_ENV and GITHUB_PATH carried to the next
 * steps, and `if:` conditions from `conditions`. `uses:` steps are emulated: the pull
 * request's checkout is `repo` itself, the scaffolder's checkout is this checkout of the
 * scaffolder (a link to it as .minio-gitops/), setup-node is its pinned node
 * (node_modules/.bin). `skip` names `run:` steps not run (npm ci: the scaffolder's modules are
 * installed here already, and this checkout's must not be touched); `only`, the ones run. Stops at the first
 * failing step, as the runner does.
 */
function runJob(repo: string, kit: ReturnType<typeof runnerKit>, opts: { skip?: string[]; only?: string[]; env?: Record<string, string>; ghState: string }) {
  const wf = YAML.parse(readFileSync(join(repo, GITHUB_WORKFLOW), 'utf8')) as Workflow;
  const job = wf.jobs.review!;
  const temp = tempDir('minio-gitops-runner-');
  const files = { GITHUB_ENV: join(temp, 'env'), GITHUB_PATH: join(temp, 'path'), GITHUB_STEP_SUMMARY: join(temp, 'summary') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const expressions: Record<string, string> = {
    'github.base_ref': 'main',
    'github.token': 'ghs_stand-in-token',
    'github.event.pull_request.number': '7',
    'github.workflow': 'minio-gitops',
    'vars.MINIO_GITOPS_REPOSITORY': 'acme/minio-gitops',
    'vars.MINIO_GITOPS_REF': 'v1.0.0',
  };
  const conditions: Record<string, boolean> = {
    // This repository has no scaffold.ts at its top; the variables name the scaffolder.
    "hashFiles('scaffold.ts') == '' && vars.MINIO_GITOPS_REPOSITORY != ''": !existsSync(join(repo, 'scaffold.ts')),
    // A pull request from a branch of this repository (not a fork).
    [FORK_CONDITION]: true,
  };
  const fill = (value: string) =>
    value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, e: string) => {
      if (!(e in expressions)) throw new Error(`the test knows no value for \${{ ${e} }}`);
      return expressions[e]!;
    });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
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
  for (const [i, step] of job.steps.entries()) {
    if (step.if !== undefined) {
      if (!(step.if in conditions)) throw new Error(`the test knows no value for if: ${step.if}`);
      if (!conditions[step.if]) continue;
    }
    if (step.uses) {
      if (step.uses.startsWith('actions/checkout@') && step.with?.path === '.minio-gitops' && !existsSync(join(repo, '.minio-gitops'))) symlinkSync(REPO, join(repo, '.minio-gitops'));
      continue;
    }
    if (opts.skip?.includes(step.name) || (opts.only && !opts.only.includes(step.name))) continue;
    const script = join(temp, `step-${i}.sh`);
    writeFileSync(script, step.run!);
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const t0 = Date.now();
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: repo, env: { ...env, ...stepEnv }, encoding: 'utf8', timeout: 120_000 });
    steps.push({ name: step.name, code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 });
    if (r.status !== 0) break;
    for (const line of readFileSync(files.GITHUB_ENV, 'utf8').split('\n').filter(Boolean)) {
      const at = line.indexOf('=');
      env[line.slice(0, at)] = line.slice(at + 1);
    }
    for (const dir of readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean)) env.PATH = `${dir}:${env.PATH}`;
    writeFileSync(files.GITHUB_ENV, '');
    writeFileSync(files.GITHUB_PATH, '');
  }
  return { steps, temp, env, summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'), work: env.MINIO_GITOPS_WORK ?? join(temp, 'minio-gitops') };
}

const NO_NPM = ['Install the scaffolder'];

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
      else if (name.endsWith('.yaml') && name !== 'kustomization.yaml' && name !== 'secret-generator.yaml') files.push(p);
    }
  };
  walk(join(repo, 'sealed', env));
  return files.flatMap((file) => {
    const plain = JSON.parse(execFileSync(sops, ['decrypt', '--output-type', 'json', file], { encoding: 'utf8' })) as { stringData?: Record<string, string> };
    return Object.entries(plain.stringData ?? {}).flatMap(([k, v]) => (SECRET_KEY.test(k) ? [v] : []));
  });
}

/** The values of the plain Secrets an env builds (kubectl kustomize). */
function plainValues(ctx: Ctx, repo: string, env: string): string[] {
  const text = execFileSync(needTool(ctx, 'kubectl'), ['kustomize', join(repo, 'overlays', env)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as { kind: string; stringData?: Record<string, string>; data?: Record<string, string> })
    .filter((o) => o?.kind === 'Secret' && !('sops' in o))
    .flatMap((o) => [...Object.entries(o.stringData ?? {}), ...Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')] as const)])
    .flatMap(([k, v]) => (SECRET_KEY.test(k) ? [v] : []));
}

const expectPassed = (steps: StepRun[], names: string[]) => {
  for (const s of steps) expect(s.code, `${s.name}:\n${s.out}`).toBe(0);
  expect(steps.map((s) => s.name)).toEqual(names);
};

describe.each(['flux', 'argocd'] as const)("the workflow's steps in a real repository (%s)", (engine) => {
  it('check, build, validate and diff each env, post the comment, and on the next push update that comment instead of adding one', { timeout: 180_000 }, (ctx) => {
    const kit = runnerKit(ctx);
    const repo = pullRequest(engine);
    const ghState = join(tempDir(), 'gh.json');
    // The pull request's conversation so far: 35 comments of people (a page of 30 and more),
    // one of them quoting the marker, which is not the workflow's to update.
    const people = Array.from({ length: 35 }, (_, i) => ({ id: 100 + i, repo: 'acme/storage', issue: 7, body: i === 3 ? `${COMMENT_MARKER}\nquoted by a person` : `comment ${i}`, user: { login: `dev${i}`, type: 'User' } }));
    writeFileSync(ghState, JSON.stringify({ next: 1000, comments: people, calls: [] } satisfies GhState));

    const first = runJob(repo, kit, { skip: NO_NPM, ghState });
    const ran = ['Locate the scaffolder', 'Install kubectl and kubeconform', 'Find the envs', 'Check each env', 'Build and validate each env', 'Diff each env', 'Comment the diff on the pull request'];
    expectPassed(first.steps, ran);
    const out = (name: string) => first.steps.find((s) => s.name === name)!.out;
    console.log(`${engine}: ${first.steps.map((s) => `${s.name} ${s.ms} ms`).join(', ')}`);

    // Locate: the scaffolder checked out beside the repository (its real path); the tools from the official URLs, verified.
    expect(first.env.SCAFFOLD).toBe(join(REPO, 'scaffold.ts'));
    expect(readFileSync(kit.curlLog, 'utf8').trim().split('\n')).toEqual([kit.urls.kubectl, kit.urls.kubeconform]);
    expect(existsSync(join(first.work, 'bin', 'kubeconform'))).toBe(true);
    expect(first.env.MINIO_GITOPS_ENVS).toBe('dev prod');
    expect(out('Check each env')).toMatch(/env dev in .* is up to date[\s\S]*env prod in .* is up to date/);
    // Built and validated: every object against a schema (Kubernetes kinds and every CRD), none skipped.
    const built = [...out('Build and validate each env').matchAll(/^built (overlays|clusters)\/(dev|prod): (\d+) objects$/gm)];
    expect(built.map((m) => `${m[1]}/${m[2]}`)).toEqual(['overlays/dev', 'clusters/dev', 'overlays/prod', 'clusters/prod']);
    const objects = built.reduce((n, m) => n + Number(m[3]), 0);
    expect(out('Build and validate each env')).toContain(`kubeconform: ${objects} valid, 0 invalid, 0 errors, 0 skipped`);
    // The sealed Secrets were validated (encrypted values, sops metadata dropped), for Argo CD through its KSOPS generators.
    const prodBuild = readFileSync(join(first.work, 'built', 'overlays-prod.yaml'), 'utf8');
    expect(prodBuild).toMatch(/name: minio-root-credentials[\s\S]*rootPassword: ENC\[AES256_GCM,/);
    expect(prodBuild).not.toMatch(/^sops:/m);

    // The diff: one comment for both envs, also in the job's summary; dev unchanged, prod's TLS gone.
    const comment = readFileSync(join(first.work, 'comment.md'), 'utf8');
    expect(first.summary).toBe(comment);
    expect(comment.split('\n')[0]).toBe(COMMENT_MARKER);
    const base = git(repo, 'rev-parse', '--short=12', 'origin/main').trim();
    expect(comment).toContain(`Compared with the merge base \`${base}\`, at \`${git(repo, 'rev-parse', '--short=12', 'HEAD').trim()}\`.`);
    expect(comment).toMatch(/^<!-- minio-gitops diff env=dev -->\n### env `dev`: no change/m);
    expect(comment).toMatch(/^<!-- minio-gitops diff env=prod -->\n### env `prod`: \d+ changed, 0 added, \d+ removed/m);
    expect(comment).toMatch(/removed \| <code>Certificate minio\/minio-tls<\/code>/);
    expect(comment).toMatch(/"https:\/\/minio\.minio\.svc\.cluster\.local:9000"\n\+ "http:\/\/minio\.minio\.svc\.cluster\.local:9000"/);
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
    const ours = () => gh.comments.filter((c) => c.user.type === 'Bot');
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.body).toBe(comment);
    const id = ours()[0]!.id;

    // The next push: prod's volumes grow (made by the scaffolder on the same branch), and the job runs again.
    scaffold(['--env', 'prod', '--size', '16Gi', '--branch', 'pr/tls-off', '--out', repo]);
    const second = runJob(repo, kit, { skip: NO_NPM, ghState });
    expectPassed(second.steps, ran);
    gh = JSON.parse(readFileSync(ghState, 'utf8')) as GhState;
    expect(gh.calls.slice(2)).toEqual(['GET repos/acme/storage/issues/7/comments', `PATCH repos/acme/storage/issues/comments/${id}`]);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.id).toBe(id);
    expect(ours()[0]!.body).toBe(readFileSync(join(second.work, 'comment.md'), 'utf8'));
    expect(ours()[0]!.body).toMatch(/PersistentVolumeClaim minio\/data-minio-0[\s\S]*16Gi/);
    expect(gh.comments.filter((c) => c.user.type === 'User')).toEqual(people);
    expect(second.steps.at(-1)!.out).toContain(`updated comment ${id}`);
  });
});

describe("the workflow's steps fail when they must", () => {
  it('a hand-edited generated file fails the check; an invalid object fails validation; a Kubernetes kind without a schema fails it; a custom resource without one is listed; a broken sealed file fails the diff (exit 2), and the comment is not posted', { timeout: 180_000 }, (ctx) => {
    const kit = runnerKit(ctx);
    const repo = pullRequest('flux');
    const ghState = join(tempDir(), 'gh.json');
    writeFileSync(ghState, JSON.stringify({ next: 1, comments: [], calls: [] } satisfies GhState));
    const copy = () => {
      const dir = tempDir();
      cpSync(repo, dir, { recursive: true });
      return dir;
    };
    const setup = ['Locate the scaffolder', 'Install kubectl and kubeconform', 'Find the envs'];
    const failed = (r: ReturnType<typeof runJob>, name: string) => {
      const last = r.steps.at(-1)!;
      expect(last.name, last.out).toBe(name);
      expect(last.code, last.out).toBe(1);
      return last.out;
    };

    // A hand edit in a generated file, committed: --check fails with its diff; nothing after it runs.
    const edited = copy();
    const patch = join(edited, 'overlays', 'prod', 'minio', 'patch-server.yaml');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace(/^(\s+)- name: MINIO_/m, '$1- name: MINIO_API_REQUESTS_MAX\n$1  value: "1600"\n$1- name: MINIO_'));
    git(edited, 'commit', '-qam', 'more requests, by hand');
    const check = runJob(edited, kit, { skip: NO_NPM, ghState });
    expect(check.steps.map((s) => s.name)).toEqual([...setup, 'Check each env']);
    expect(failed(check, 'Check each env')).toMatch(/MINIO_API_REQUESTS_MAX[\s\S]*error: the generated files of env\(s\) prod are not what scaffold\.config\.yaml renders/);

    // An unknown field in an object (the check would fail first: run the build alone).
    const invalid = copy();
    const service = join(invalid, 'base', 'common', 'service-api.yaml');
    const doc = YAML.parseDocument(readFileSync(service, 'utf8'));
    doc.setIn(['spec', 'sessionAffinityy'], 'None');
    writeFileSync(service, doc.toString());
    git(invalid, 'commit', '-qam', 'a typo');
    const build = runJob(invalid, kit, { skip: NO_NPM, only: [...setup, 'Build and validate each env'], ghState });
    expect(failed(build, 'Build and validate each env')).toMatch(/^INVALID overlays-dev: Service minio \(v1\): .*sessionAffinityy/m);

    // Schemas: without the CRD catalog the custom resources are listed and the step passes;
    // without the Kubernetes schemas a Kubernetes kind fails it.
    const noCrds = runJob(repo, kit, { skip: NO_NPM, only: [...setup, 'Build and validate each env'], ghState, env: { KUBECONFORM_SCHEMA_LOCATIONS: `${kit.kubeSchema}\n` } });
    expectPassed(noCrds.steps, [...setup, 'Build and validate each env']);
    const listed = noCrds.steps.at(-1)!.out;
    expect(listed).toMatch(/^not validated overlays-prod: ServiceMonitor minio \(monitoring\.coreos\.com\/v1\): the CRD catalog has no schema for it$/m);
    expect(listed).toMatch(/^not validated clusters-prod: Kustomization minio-prod \(kustomize\.toolkit\.fluxcd\.io\/v1\)/m);
    expect(listed).not.toMatch(/^(not validated|NO SCHEMA) .*\((v1|apps\/v1|batch\/v1|networking\.k8s\.io\/v1)\)/m);
    const noKube = runJob(repo, kit, { skip: NO_NPM, only: [...setup, 'Build and validate each env'], ghState, env: { KUBECONFORM_SCHEMA_LOCATIONS: `${kit.crdSchema}\n` } });
    expect(failed(noKube, 'Build and validate each env')).toMatch(/^NO SCHEMA overlays-dev: Deployment minio \(apps\/v1\): a Kubernetes kind must validate$/m);

    // A sealed file whose MAC is gone: diff exits 2 for prod; dev's diff is still in the comment; no comment posted.
    const broken = copy();
    const sealed = join(broken, 'sealed', 'prod', 'minio-root-credentials.yaml');
    writeFileSync(sealed, readFileSync(sealed, 'utf8').replace(/^ {2}mac: .*\n/m, ''));
    git(broken, 'commit', '-qam', 'a broken sealed file');
    const diff = runJob(broken, kit, { skip: [...NO_NPM, 'Check each env'], ghState });
    expect(failed(diff, 'Diff each env')).toMatch(/sealed but has no encrypted MAC[\s\S]*error: diff failed for env\(s\) prod/);
    const comment = readFileSync(join(diff.work, 'comment.md'), 'utf8');
    expect(comment).toMatch(/^<!-- minio-gitops diff env=dev -->$/m);
    expect(comment).toContain('**env prod**: the diff failed (exit 2)');
    expect((JSON.parse(readFileSync(ghState, 'utf8')) as GhState).calls).toEqual([]);
  });

  it('the install step refuses a download whose sha256 is not the pinned one', (ctx) => {
    const kit = runnerKit(ctx);
    const repo = teamRepo();
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    writeFileSync(join(repo, GITHUB_WORKFLOW), github());
    const ghState = join(tempDir(), 'gh.json');
    writeFileSync(ghState, JSON.stringify({ next: 1, comments: [], calls: [] }));
    // The served kubectl is a local build, not the release the workflow pins.
    const r = runJob(repo, kit, { only: ['Locate the scaffolder', 'Install kubectl and kubeconform'], ghState, env: { KUBECTL_SHA256: CI_TOOLS.kubectl.sha256, KUBECONFORM_SHA256: CI_TOOLS.kubeconform.sha256 } });
    const last = r.steps.at(-1)!;
    expect(last.name).toBe('Install kubectl and kubeconform');
    expect(last.code).toBe(1);
    expect(last.out).toContain(`error: ${kit.urls.kubectl} does not have the sha256 this workflow pins (${CI_TOOLS.kubectl.sha256}); not using it`);
    expect(readdirSync(join(r.work, 'bin'))).toEqual([]);
  });
});

