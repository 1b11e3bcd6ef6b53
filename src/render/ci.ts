// The pull-request workflow of the GitOps repository (`ci`: github, gitlab or none): on every
// pull (merge) request it runs `--check` for each env, builds each env as its engine does and
// validates the objects offline (kubeconform), and posts the markdown `diff` of each env as
// one comment, updated on every push (after a failed step too: then a note that the checks
// failed, above the diff of an earlier push). The envs are those of scaffold.config.yaml and
// of overlays/ and clusters/, at the head and at the base. No secret is needed: the age key
// never goes to CI.
//   github  .github/workflows/minio-gitops.yaml: every action pinned by commit SHA, the job's
//           token may read the repository and write pull-request comments, nothing else
//   gitlab  .gitlab-ci.yml: one job on merge request pipelines, the image pinned by version,
//           the note written in after_script with a token from a CI/CD variable
//           (MINIO_GITOPS_NOTE_TOKEN)
// Written only when the output is the top of its git repository: CI files are read there
// only. The steps' shell scripts are in ci-steps.sh (shared by both), docs/ci.md says more.
import { readFileSync } from 'node:fs';
import type { GlobalSettings, Options } from '../options.ts';
import { toYaml } from '../yaml.ts';
import type { GeneratedFile } from './files.ts';
import { generatedHeader } from './names.ts';
import { template } from './template.ts';

export const GITHUB_WORKFLOW = '.github/workflows/minio-gitops.yaml';
export const GITLAB_CI = '.gitlab-ci.yml';
/** Every path a `ci` setting may write (the run owns them: a switch removes the old one). */
export const CI_FILES = [GITHUB_WORKFLOW, GITLAB_CI];
/** The first line of the pull-request comment, by which a later run finds it to update. */
export const COMMENT_MARKER = '<!-- minio-gitops diff -->';

/**
 * The actions, each by the full commit SHA of a release tag (a tag can be moved, a commit
 * cannot). To update one: docs/ci.md, The pins, and updating them.
 */
export const ACTIONS = {
  checkout: { action: 'actions/checkout', sha: 'df4cb1c069e1874edd31b4311f1884172cec0e10', tag: 'v6.0.3' },
  setupNode: { action: 'actions/setup-node', sha: '48b55a011bda9f5d6aeb4c2d9c7362e8dae4041e', tag: 'v6.4.0' },
} as const;

/** The tools the job downloads, each checked against its sha256 (linux/amd64) before it runs. */
export const CI_TOOLS = {
  kubectl: { version: 'v1.35.0', sha256: 'a2e984a18a0c063279d692533031c1eff93a262afcc0afdc517375432d060989' },
  kubeconform: { version: 'v0.7.0', sha256: 'c31518ddd122663b3f3aa874cfe8178cb0988de944f29c74a0b9260920d115d3' },
} as const;

/** The Node.js release the job runs (setup-node, GitLab's image), exact. */
export const NODE_VERSION = '24.21.0';

/** GitLab's job image: Node.js for the scaffolder, Debian's curl, git and tar for the steps. */
export const GITLAB_IMAGE = `node:${NODE_VERSION}-bookworm`;

/**
 * The Kubernetes release whose schemas kubeconform's default location serves
 * (yannh/kubernetes-json-schema, v1.33.0-standalone-strict/): pinned, so that a run next
 * month validates against the same schemas. The CRD catalog has no versions (docs/ci.md).
 */
export const KUBERNETES_SCHEMA_VERSION = '1.33.0';

/** The comment's budget, shared by the envs (each gets diff --max-chars budget/envs); GitHub takes 65536. */
export const COMMENT_BUDGET = 60_000;

/**
 * Where kubeconform finds schemas, one location a line: its default (the Kubernetes kinds),
 * then the community CRD catalog (cert-manager, trust-manager, Prometheus Operator, External
 * Secrets, Flux, Argo CD, Flink). A custom resource it lacks is listed, not validated.
 */
export const SCHEMA_LOCATIONS = [
  'default',
  'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json',
];

/** The steps' scripts by name, from the `# @step NAME` sections of ci-steps.sh. */
export const CI_STEPS: Record<string, string> = Object.fromEntries(
  readFileSync(new URL('./ci-steps.sh', import.meta.url), 'utf8')
    .split(/^# @step /m)
    .slice(1)
    .map((section) => {
      const [name, ...body] = section.split('\n');
      return [name!.trim(), `${body.join('\n').trim()}\n`];
    }),
);

function step(name: string): string {
  const script = CI_STEPS[name];
  if (!script) throw new Error(`ci-steps.sh has no step ${name}`);
  return script;
}

/** A pull request from a branch of this repository (a fork's gets a read-only token and no vars). */
export const FORK_CONDITION = 'github.event.pull_request.head.repo.full_name == github.repository';

const uses = (a: (typeof ACTIONS)[keyof typeof ACTIONS]) => `${a.action}@${a.sha}`;

/** The tools' pins, kubeconform's settings and the comment's budget, as the steps read them from the environment. */
function toolEnv(): Record<string, string> {
  return {
    KUBECTL_VERSION: CI_TOOLS.kubectl.version,
    KUBECTL_SHA256: CI_TOOLS.kubectl.sha256,
    KUBECONFORM_VERSION: CI_TOOLS.kubeconform.version,
    KUBECONFORM_SHA256: CI_TOOLS.kubeconform.sha256,
    KUBECONFORM_KUBERNETES_VERSION: KUBERNETES_SCHEMA_VERSION,
    KUBECONFORM_SCHEMA_LOCATIONS: `${SCHEMA_LOCATIONS.join('\n')}\n`,
    MINIO_GITOPS_COMMENT_BUDGET: String(COMMENT_BUDGET),
  };
}

const headers = template('headers.txt');

const header = (what: string, request: string) =>
  headers('ci', { generated: generatedHeader(`ci: ${what}, shared by every env`), request });

function githubWorkflow(): string {
  const workflow = {
    name: 'minio-gitops',
    // edited: a changed base branch (a new base to compare with).
    on: { pull_request: { types: ['opened', 'synchronize', 'reopened', 'edited'] } },
    // Nothing for the workflow as a whole; the job asks for what it needs.
    permissions: {},
    concurrency: {
      group: '${{ github.workflow }}-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true,
    },
    jobs: {
      review: {
        name: 'check, validate and diff the envs',
        'runs-on': 'ubuntu-24.04',
        'timeout-minutes': 20,
        permissions: { contents: 'read', 'pull-requests': 'write' },
        // The pull request's head commit (not GitHub's merge of it, which the checkout is), for the comment.
        env: { ...toolEnv(), MINIO_GITOPS_HEAD_SHA: '${{ github.event.pull_request.head.sha }}' },
        steps: [
          {
            name: 'Check out the pull request',
            uses: uses(ACTIONS.checkout),
            with: { 'fetch-depth': 0, 'persist-credentials': false },
          },
          {
            // Named by the repository's variables (pinned: an empty ref is refused by locate),
            // it is used even where scaffold.ts is at the top. A fork's pull request gets no vars.
            name: 'Check out the scaffolder the repository variables name',
            if: "vars.MINIO_GITOPS_REPOSITORY != '' && vars.MINIO_GITOPS_REF != ''",
            uses: uses(ACTIONS.checkout),
            with: {
              repository: '${{ vars.MINIO_GITOPS_REPOSITORY }}',
              ref: '${{ vars.MINIO_GITOPS_REF }}',
              path: '.minio-gitops',
              'persist-credentials': false,
            },
          },
          {
            name: 'Set up Node.js',
            uses: uses(ACTIONS.setupNode),
            with: { 'node-version': NODE_VERSION, 'package-manager-cache': false },
          },
          {
            name: 'Locate the scaffolder',
            env: {
              MINIO_GITOPS_REPOSITORY: '${{ vars.MINIO_GITOPS_REPOSITORY }}',
              MINIO_GITOPS_REF: '${{ vars.MINIO_GITOPS_REF }}',
              MINIO_GITOPS_FORK: '${{ github.event.pull_request.head.repo.full_name != github.repository }}',
            },
            run: step('locate'),
          },
          { name: 'Install the scaffolder', run: step('install-scaffolder') },
          { name: 'Install kubectl and kubeconform', run: step('install-tools') },
          { name: 'Find the envs', env: { BASE_REF: '${{ github.base_ref }}' }, run: step('envs') },
          { name: 'Check each env', run: step('check') },
          { name: 'Build and validate each env', run: step('build') },
          { name: 'Diff each env', run: step('diff') },
          { name: 'Every env configured and rendered', run: step('envs-agree') },
          {
            name: 'Comment the diff on the pull request',
            // Also when a step failed (then a note that the checks failed), not when cancelled
            // (a newer push runs). A pull request from a fork gets a read-only token: its diff
            // stays in the summary.
            if: `!cancelled() && ${FORK_CONDITION}`,
            env: { GH_TOKEN: '${{ github.token }}', PR_NUMBER: '${{ github.event.pull_request.number }}' },
            run: `${step('comment-body')}${step('comment-github')}`,
          },
        ],
      },
    },
  };
  let text = toYaml(workflow, header('GitHub Actions', 'pull request'));
  // Each pinned action's release tag, as a comment beside its SHA (the one YAML writer has no comments).
  for (const a of Object.values(ACTIONS)) {
    const line = `uses: ${uses(a)}\n`;
    if (!text.includes(line)) throw new Error(`the workflow does not use ${a.action}`);
    text = text.replaceAll(line, `uses: ${uses(a)} # ${a.tag}\n`);
  }
  return text;
}

/** The steps of GitLab's job, in its script and in its after_script. */
export const GITLAB_SCRIPT = [
  'fetch-scaffolder',
  'locate',
  'install-scaffolder',
  'install-tools',
  'envs',
  'check',
  'build',
  'diff',
  'envs-agree',
];
export const GITLAB_AFTER_SCRIPT = ['comment-body', 'comment-gitlab'];

function gitlabPipeline(): string {
  const pipeline = {
    'minio-gitops': {
      image: GITLAB_IMAGE,
      rules: [{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }],
      // A newer push to the merge request cancels this one (with auto-cancel of redundant pipelines).
      interruptible: true,
      timeout: '20 minutes',
      variables: {
        // The whole history: the base commit must be in the clone.
        GIT_DEPTH: '0',
        ...toolEnv(),
      },
      script: GITLAB_SCRIPT.map(step),
      // The note is written also when the script failed (then a note that the checks failed).
      after_script: GITLAB_AFTER_SCRIPT.map(step),
    },
  };
  return toYaml(pipeline, header('GitLab CI', 'merge request'));
}

/** The CI file of `ci`, or none (ci none, or an output below its repository's top). */
export function renderCi(o: Pick<Options, 'repoPath'> & { global: Pick<GlobalSettings, 'ci'> }): GeneratedFile[] {
  if (o.repoPath !== '') return [];
  switch (o.global.ci) {
    case 'github':
      return [{ path: GITHUB_WORKFLOW, content: githubWorkflow() }];
    case 'gitlab':
      return [{ path: GITLAB_CI, content: gitlabPipeline() }];
    case 'none':
      return [];
  }
}
