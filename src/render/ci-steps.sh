# The shell steps of the pull-request workflow that render/ci.ts writes (GitHub Actions and
# GitLab CI), one section per step, each beginning with a line `# @step NAME`. Not a script
# to run: each section is a step's whole script, run by bash with -e and pipefail (GitHub's
# `run:`; GitLab runs a job's script lines in one bash with the same options). A value that
# later steps need goes to $GITHUB_ENV / $GITHUB_PATH on GitHub, and is exported for the
# next script lines on GitLab. test/ci-workflow.test.ts runs these steps in a real repository.
# Lines before the first section (this comment) are not rendered.

# @step locate
# The scaffolder: the one the repository variables name (MINIO_GITOPS_REPOSITORY at the
# release or commit MINIO_GITOPS_REF, checked out into .minio-gitops/), else this
# repository's own (scaffold.ts at its top), by its real path (scaffold.ts finds its
# arguments by it). Its node_modules/.bin gives zx and the node it pins. An empty
# MINIO_GITOPS_REF is refused: never an unpinned default branch.
if [ -n "${MINIO_GITOPS_REPOSITORY:-}" ]; then
  if [ -z "${MINIO_GITOPS_REF:-}" ]; then
    echo "error: MINIO_GITOPS_REPOSITORY is set but MINIO_GITOPS_REF is empty; set MINIO_GITOPS_REF to the scaffolder's release tag or commit you render with (an unpinned default branch is never used; docs/ci.md in minio-gitops)" >&2
    exit 1
  fi
  if [ ! -f .minio-gitops/scaffold.ts ]; then
    echo "error: MINIO_GITOPS_REPOSITORY names the scaffolder, but .minio-gitops/scaffold.ts is not there: its checkout at $MINIO_GITOPS_REF failed (see above)" >&2
    exit 1
  fi
  scaffolder=$(cd .minio-gitops && pwd -P)
elif [ -f scaffold.ts ]; then
  scaffolder=$(pwd -P)
elif [ "${MINIO_GITOPS_FORK:-}" = true ]; then
  echo "error: this pull request comes from a fork, and GitHub does not give a fork's pull request the repository's variables (vars.MINIO_GITOPS_REPOSITORY, vars.MINIO_GITOPS_REF), so the scaffolder this repository names cannot be checked out; nothing is checked for it: a maintainer reviews it by running diff and --check locally, or pushes its branch to this repository (docs/ci.md in minio-gitops, Pull requests from forks)" >&2
  exit 1
else
  echo "error: no scaffold.ts at the top of this repository, and MINIO_GITOPS_REPOSITORY is not set; set MINIO_GITOPS_REPOSITORY and MINIO_GITOPS_REF to the scaffolder's repository and release (docs/ci.md in minio-gitops)" >&2
  exit 1
fi
work=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/minio-gitops
rm -rf "$work"
mkdir -p "$work/bin"
keep() {
  export "$1=$2"
  if [ -n "${GITHUB_ENV:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_ENV"; fi
}
keep SCAFFOLD "$scaffolder/scaffold.ts"
keep MINIO_GITOPS_WORK "$work"
export PATH="$work/bin:$scaffolder/node_modules/.bin:$PATH"
if [ -n "${GITHUB_PATH:-}" ]; then printf '%s\n' "$scaffolder/node_modules/.bin" "$work/bin" >>"$GITHUB_PATH"; fi
echo "scaffolder: $SCAFFOLD"

# @step fetch-scaffolder
# GitLab: when the CI/CD variables name the scaffolder, it is fetched (a release tag or a
# commit) into .minio-gitops/, from MINIO_GITOPS_REPOSITORY (a clone URL) at
# MINIO_GITOPS_REF; an empty MINIO_GITOPS_REF is refused (never an unpinned default
# branch). Else the repository's own scaffold.ts is used.
if [ -n "${MINIO_GITOPS_REPOSITORY:-}" ]; then
  if [ -z "${MINIO_GITOPS_REF:-}" ]; then
    echo "error: MINIO_GITOPS_REPOSITORY is set but MINIO_GITOPS_REF is empty; set the CI/CD variable MINIO_GITOPS_REF to the scaffolder's release tag or commit you render with (an unpinned default branch is never used; docs/ci.md in minio-gitops)" >&2
    exit 1
  fi
  rm -rf .minio-gitops
  git init --quiet .minio-gitops
  git -C .minio-gitops fetch --quiet --depth 1 "$MINIO_GITOPS_REPOSITORY" "$MINIO_GITOPS_REF"
  git -C .minio-gitops checkout --quiet --detach FETCH_HEAD
elif [ ! -f scaffold.ts ]; then
  echo "error: this repository has no scaffold.ts at its top, and the CI/CD variable MINIO_GITOPS_REPOSITORY is not set (a merge request from a fork runs in the fork's project, without this project's variables); set MINIO_GITOPS_REPOSITORY (the scaffolder's clone URL) and MINIO_GITOPS_REF (a release tag or commit) (docs/ci.md in minio-gitops)" >&2
  exit 1
fi

# @step install-scaffolder
# Exactly the scaffolder's locked dependencies (package-lock.json).
(cd "$(dirname "$SCAFFOLD")" && npm ci --no-audit --no-fund)

# @step install-tools
# kubectl and kubeconform, pinned, each checked against its sha256 before it runs.
fetch() {
  curl -fsSL --retry 3 -o "$2.part" "$1"
  if ! printf '%s  %s\n' "$3" "$2.part" | sha256sum -c --status -; then
    echo "error: $1 does not have the sha256 this workflow pins ($3); not using it" >&2
    rm -f "$2.part"
    exit 1
  fi
  mv "$2.part" "$2"
}
bin=$MINIO_GITOPS_WORK/bin
fetch "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/amd64/kubectl" "$bin/kubectl" "$KUBECTL_SHA256"
chmod +x "$bin/kubectl"
fetch "https://github.com/yannh/kubeconform/releases/download/$KUBECONFORM_VERSION/kubeconform-linux-amd64.tar.gz" "$MINIO_GITOPS_WORK/kubeconform.tar.gz" "$KUBECONFORM_SHA256"
tar -xzf "$MINIO_GITOPS_WORK/kubeconform.tar.gz" -C "$bin" kubeconform
kubectl version --client
kubeconform -v

# @step envs
# The envs to review, and the commit to compare with: the base branch's commit (GitLab's
# merged results: the target branch's commit the merge was made on; else the merge base).
# The names are those of scaffold.config.yaml's envs (read with the scaffolder's own YAML
# parser) and the directories under overlays/ and clusters/, at HEAD and at the base, each
# a DNS label. Every env in HEAD's config that is rendered here is checked; every env
# rendered here is built; every env rendered here or at the base is diffed (an env gone in
# this change: every object goes). An env rendered here but not configured, or configured
# but not rendered, fails the job after the comment is written (the last step).
keep() {
  export "$1=$2"
  if [ -n "${GITHUB_ENV:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_ENV"; fi
}
if [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
  base=${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:-${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}}
else
  base=$(git merge-base "origin/$BASE_REF" HEAD)
fi
if ! base=$(git rev-parse --verify --quiet "${base:-none}^{commit}"); then
  echo "error: the base commit to compare with is not in this clone; fetch the whole history (GitHub: fetch-depth 0; GitLab: GIT_DEPTH 0)" >&2
  exit 1
fi
keep MINIO_GITOPS_BASE "$base"
keep MINIO_GITOPS_HEAD_SHA "${MINIO_GITOPS_HEAD_SHA:-${CI_MERGE_REQUEST_SOURCE_BRANCH_SHA:-${CI_COMMIT_SHA:-$(git rev-parse HEAD)}}}"
lists=$(BASE=$base node <<'EOF'
// The env names at HEAD and at the base, as three lists (check, build, diff); the envs that
// are configured but not rendered, or rendered but not configured, to problems.txt.
const { spawnSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const YAML = createRequire(process.env.SCAFFOLD)('yaml');
const CONFIG = 'scaffold.config.yaml';
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const fail = (message) => {
  console.error('error: ' + message);
  process.exit(1);
};
const git = (...args) => spawnSync('git', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const exists = (commit, path) => git('cat-file', '-e', commit + ':' + path).status === 0;
const at = (commit) => (commit === 'HEAD' ? 'HEAD' : 'the base ' + commit.slice(0, 12));
function configured(commit) {
  if (!exists(commit, CONFIG)) return [];
  const shown = git('show', commit + ':' + CONFIG);
  if (shown.status !== 0) fail('git show ' + commit + ':' + CONFIG + ' failed: ' + shown.stderr.trim());
  const doc = YAML.parseDocument(shown.stdout, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) fail(CONFIG + ' at ' + at(commit) + ' is not valid YAML: ' + doc.errors[0].message.split('\n')[0]);
  const value = doc.toJS({ maxAliasCount: 50 });
  const envs = value && typeof value === 'object' ? value.envs : undefined;
  if (envs === undefined || envs === null) return [];
  if (typeof envs !== 'object' || Array.isArray(envs)) fail(CONFIG + ' at ' + at(commit) + ': envs is not a map from env name to its settings');
  return Object.keys(envs).map((name) => ({ name, where: CONFIG + ' at ' + at(commit) }));
}
function directories(commit, dir) {
  if (!exists(commit, dir)) return [];
  const r = git('ls-tree', '-z', '-d', '--name-only', commit + ':' + dir);
  if (r.status !== 0) fail('git ls-tree ' + commit + ':' + dir + ' failed: ' + r.stderr.trim());
  return r.stdout.split('\0').filter(Boolean).map((name) => ({ name, where: dir + '/ at ' + at(commit) }));
}
const base = process.env.BASE;
const headConfig = configured('HEAD');
const found = [...headConfig, ...configured(base)];
for (const commit of ['HEAD', base]) for (const dir of ['overlays', 'clusters']) found.push(...directories(commit, dir));
for (const { name, where } of found) {
  if (!LABEL.test(name)) fail('env name ' + JSON.stringify(name) + ' (in ' + where + ') is not a DNS label (lower-case letters, digits and -, at most 63, starting and ending with a letter or digit); rename it');
}
const names = [...new Set(found.map((f) => f.name))].sort();
const inConfig = new Set(headConfig.map((f) => f.name));
const rendered = (commit, env) => exists(commit, 'overlays/' + env + '/kustomization.yaml');
const problems = [];
for (const env of names) {
  if (inConfig.has(env) && !rendered('HEAD', env)) problems.push('env ' + env + ' is in scaffold.config.yaml but not rendered here (no overlays/' + env + '/kustomization.yaml): run npx zx scaffold.ts --env ' + env + ' and commit the result, or remove envs.' + env + ' from scaffold.config.yaml');
  for (const dir of ['overlays', 'clusters']) {
    if (!inConfig.has(env) && exists('HEAD', dir + '/' + env)) problems.push(dir + '/' + env + '/ is here but env ' + env + ' is not in scaffold.config.yaml: remove ' + dir + '/' + env + '/ (and sealed/' + env + '/), or put envs.' + env + ' back');
  }
}
writeFileSync(process.env.MINIO_GITOPS_WORK + '/problems.txt', problems.map((p) => p + '\n').join(''));
console.log(names.filter((env) => inConfig.has(env) && rendered('HEAD', env)).join(' '));
console.log(names.filter((env) => rendered('HEAD', env)).join(' '));
console.log(names.filter((env) => rendered('HEAD', env) || rendered(base, env)).join(' '));
EOF
)
{
  read -r check_envs
  read -r build_envs
  read -r diff_envs
} <<<"$lists"
if [ -z "$diff_envs" ]; then
  echo "error: no env is rendered here nor at the base (overlays/ENV/kustomization.yaml); run npx zx scaffold.ts --env ENV" >&2
  exit 1
fi
keep MINIO_GITOPS_CHECK_ENVS "$check_envs"
keep MINIO_GITOPS_BUILD_ENVS "$build_envs"
keep MINIO_GITOPS_DIFF_ENVS "$diff_envs"
echo "base: $base"
echo "check: ${check_envs:-(none)}"
echo "build and validate: ${build_envs:-(none)}"
echo "diff: $diff_envs"
if [ -s "$MINIO_GITOPS_WORK/problems.txt" ]; then sed 's/^/problem (fails the job after the diff): /' "$MINIO_GITOPS_WORK/problems.txt"; fi

# @step check
# Each env's generated files are what scaffold.config.yaml renders: no hand edit, no config
# change left without its re-run. No key is needed (sealed files are compared, not opened).
failed=""
for env in $MINIO_GITOPS_CHECK_ENVS; do
  echo "--- env $env: scaffold.ts --check"
  if ! zx "$SCAFFOLD" --env "$env" --check --out "$PWD"; then failed="$failed $env"; fi
done
if [ -n "$failed" ]; then
  echo "error: the generated files of env(s)${failed} are not what scaffold.config.yaml renders (see above); run npx zx scaffold.ts --env ENV for each and commit the result" >&2
  exit 1
fi

# @step build
# Each env built as its engine builds it (kubectl kustomize overlays/ENV, and clusters/ENV),
# in a copy of the tracked files where Argo CD's KSOPS generators become plain resources and
# every Secret's sops metadata is dropped: the objects as the API server gets them, the
# sealed values still encrypted (no key is used). Then kubeconform validates them offline:
# strict (no unknown field), every Kubernetes kind against its schema; a custom resource
# whose kind the CRD catalog lacks is listed, not validated.
set -o pipefail
if [ -z "$MINIO_GITOPS_BUILD_ENVS" ]; then
  echo "no env is rendered here: nothing to build"
  exit 0
fi
tree=$MINIO_GITOPS_WORK/tree
built=$MINIO_GITOPS_WORK/built
rm -rf "$tree" "$built"
mkdir -p "$tree" "$built"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tree"
if [ -d "$tree/sealed" ]; then
  find "$tree/sealed" -name secret-generator.yaml | while read -r generator; do
    {
      printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
      sed -n 's|^  - \./|  - |p' "$generator"
    } >"$(dirname "$generator")/kustomization.yaml"
  done
fi
for env in $MINIO_GITOPS_BUILD_ENVS; do
  for dir in overlays clusters; do
    if [ ! -f "$tree/$dir/$env/kustomization.yaml" ]; then continue; fi
    kubectl kustomize "$tree/$dir/$env" | awk '/^sops:/ { skip = 1; next } skip && /^[^ ]/ { skip = 0 } !skip' >"$built/$dir-$env.yaml"
    echo "built $dir/$env: $(grep -c '^kind:' "$built/$dir-$env.yaml") objects"
  done
done
args=(-strict -summary -output json -verbose -ignore-missing-schemas -kubernetes-version "$KUBECONFORM_KUBERNETES_VERSION")
while IFS= read -r location; do
  if [ -n "$location" ]; then args+=(-schema-location "$location"); fi
done <<<"$KUBECONFORM_SCHEMA_LOCATIONS"
status=0
(cd "$built" && kubeconform "${args[@]}" ./*.yaml) >"$MINIO_GITOPS_WORK/kubeconform.json" || status=$?
if [ "$status" -gt 1 ]; then
  echo "error: kubeconform failed (exit $status)" >&2
  exit 1
fi
REPORT=$MINIO_GITOPS_WORK/kubeconform.json node <<'EOF'
// kubeconform's report: invalid objects and errors fail the step, and so does a skipped
// object of a Kubernetes API group (only custom resources may lack a schema).
const report = JSON.parse(require('node:fs').readFileSync(process.env.REPORT, 'utf8'));
const custom = (apiVersion) => /^[^/]+\.[^/]+\//.test(apiVersion) && !/\.k8s\.io\//.test(apiVersion);
let failed = 0;
for (const r of report.resources) {
  const what = r.filename.replace(/^\.\//, '').replace(/\.yaml$/, '') + ': ' + r.kind + ' ' + r.name + ' (' + r.version + ')';
  if (r.status === 'statusInvalid' || r.status === 'statusError') {
    failed++;
    console.log('INVALID ' + what + ': ' + r.msg);
  } else if (r.status === 'statusSkipped' && !custom(r.version)) {
    failed++;
    console.log('NO SCHEMA ' + what + ': a Kubernetes kind must validate');
  } else if (r.status === 'statusSkipped') {
    console.log('not validated ' + what + ': the CRD catalog has no schema for it');
  }
}
const s = report.summary;
console.log('kubeconform: ' + s.valid + ' valid, ' + s.invalid + ' invalid, ' + s.errors + ' errors, ' + s.skipped + ' skipped');
process.exit(failed > 0 ? 1 : 0);
EOF

# @step diff
# What each env's change does to the built objects, as markdown: the comment, and the job's
# summary. The comment's budget (MINIO_GITOPS_COMMENT_BUDGET, 60000 characters: within
# GitHub's 65536 with the lines around the envs' diffs) is shared by the
# envs: diff --max-chars keeps each env's headline, highlights and table, and drops the
# per-object details first. Exit 1 of diff means changes (not a failure); 2 is an error
# (a broken sealed file among them), which fails the step after the other envs are done:
# the comment says which env's diff failed. The comment is marked done (diff-done) for
# this head: the comment step posts it (else a note that the checks failed).
base=$MINIO_GITOPS_BASE
work=$MINIO_GITOPS_WORK
comment=$work/comment.md
count=$(wc -w <<<"$MINIO_GITOPS_DIFF_ENVS")
budget=$((${MINIO_GITOPS_COMMENT_BUDGET:-60000} / count))
# diff takes no less (with so many envs, a comment too long leaves a link to the summary).
if [ "$budget" -lt 1000 ]; then budget=1000; fi
# The scaffolder's code or this workflow changed by this change: the comment says so first.
changed=$(git diff --name-only "$base" HEAD -- .github/workflows/minio-gitops.yaml .gitlab-ci.yml)
if [ "$(dirname "$SCAFFOLD")" = "$(pwd -P)" ]; then
  changed="$changed$(git diff --name-only "$base" HEAD -- scaffold.ts scaffold.mjs src package.json package-lock.json)"
fi
{
  echo '<!-- minio-gitops diff -->'
  if [ -n "$changed" ]; then
    echo '> [!WARNING]'
    echo '> This pull request changes the scaffolder or this workflow: the diff below is made by the changed code.'
    echo
  fi
  echo '## minio-gitops: what the cluster will receive'
  echo
  echo "Compared with \`$(git rev-parse --short=12 "$base")\`, at \`$(printf '%.12s' "$MINIO_GITOPS_HEAD_SHA")\`."
  if [ -s "$work/problems.txt" ]; then
    echo
    echo '> [!CAUTION]'
    echo '> The envs of scaffold.config.yaml and the rendered ones do not agree (this fails the job):'
    sed 's/^/> - /' "$work/problems.txt"
  fi
} >"$comment"
failed=""
for env in $MINIO_GITOPS_DIFF_ENVS; do
  code=0
  zx "$SCAFFOLD" diff --env "$env" --base "$base" --format markdown --max-chars "$budget" --out "$PWD" >"$work/diff-$env.md" || code=$?
  echo >>"$comment"
  if [ "$code" -le 1 ]; then
    cat "$work/diff-$env.md" >>"$comment"
  else
    failed="$failed $env"
    echo "**env $env**: the diff failed (exit $code); the job log says why." >>"$comment"
  fi
done
cat "$comment"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$comment" >>"$GITHUB_STEP_SUMMARY"; fi
printf '%s\n' "$MINIO_GITOPS_HEAD_SHA ${GITHUB_RUN_ID:-${CI_JOB_ID:-}}" >"$work/diff-done"
if [ -n "$failed" ]; then
  echo "error: diff failed for env(s)${failed} (see above)" >&2
  exit 1
fi

# @step envs-agree
# The last check: every env of scaffold.config.yaml is rendered here and every rendered
# env is in it (found by the envs step; the comment already says which do not agree).
if [ -s "$MINIO_GITOPS_WORK/problems.txt" ]; then
  sed 's/^/error: /' "$MINIO_GITOPS_WORK/problems.txt" >&2
  exit 1
fi
echo "every env of scaffold.config.yaml is rendered here, and every rendered env is in it"

# @step comment-body
# (The start of both comment steps.) What to post: the diff when the diff step made it for
# this head in this run; else (a step before it failed) a note that the checks failed, with
# a link to the run, above the diff of an earlier push (from the comment posted before:
# `earlier`, a file the platform's step fills) or no diff.
marker='<!-- minio-gitops diff -->'
stale='<!-- minio-gitops earlier diff -->'
work=${MINIO_GITOPS_WORK:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/minio-gitops}
mkdir -p "$work"
head_sha=${MINIO_GITOPS_HEAD_SHA:-${CI_MERGE_REQUEST_SOURCE_BRANCH_SHA:-${CI_COMMIT_SHA:-$(git rev-parse HEAD)}}}
run_url=${CI_JOB_URL:-${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}}
body=$work/post.md
earlier=$work/earlier.md
: >"$earlier"
compose() {
  if [ -f "$work/comment.md" ] && [ "$(cat "$work/diff-done" 2>/dev/null)" = "$head_sha ${GITHUB_RUN_ID:-${CI_JOB_ID:-}}" ]; then
    cp "$work/comment.md" "$body"
    return
  fi
  # The earlier comment without its marker and without an earlier note of this kind.
  awk -v stale="$stale" 'NR == 1 { next } $0 == stale { kept = ""; next } { kept = kept $0 "\n" } END { sub(/\n+$/, "\n", kept); printf "%s", kept }' "$earlier" >"$work/earlier-diff.md"
  {
    echo "$marker"
    echo '> [!CAUTION]'
    if grep -q . "$work/earlier-diff.md"; then
      echo "> The checks failed at \`$head_sha\`; the diff below is from an earlier push. Why: $run_url"
    else
      echo "> The checks failed at \`$head_sha\`, before the diff was made: no diff. Why: $run_url"
    fi
    echo "$stale"
    cat "$work/earlier-diff.md"
  } >"$body"
}

# @step comment-github
# The comment on the pull request: the one this workflow posted before (the marker on its
# first line, posted by github-actions[bot], the job token's user) is updated, else one is
# posted. GitHub's comments take at most 65536 characters: a longer one leaves a pointer to
# the job's summary instead.
id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --jq '.[] | select(.user.login == "github-actions[bot]" and (.body | startswith("<!-- minio-gitops diff -->"))) | .id' | sed -n 1p)
if [ -n "$id" ]; then gh api "repos/$GITHUB_REPOSITORY/issues/comments/$id" --jq .body >"$earlier"; fi
compose
if [ "$(wc -c <"$body")" -gt 65000 ]; then
  {
    echo "$marker"
    echo '## minio-gitops: what the cluster will receive'
    echo
    echo "The diff is too long for a comment; read it in the summary of the workflow run: $run_url"
  } >"$body"
fi
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body" >/dev/null
  echo "updated comment $id"
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$body" >/dev/null
  echo "posted the diff as a new comment"
fi

# @step comment-gitlab
# The note on the merge request (after_script: it runs when the script failed too), through
# GitLab's API with MINIO_GITOPS_NOTE_TOKEN (the job token cannot write notes): the note this
# job posted before (the marker on its first line, by the token's user) is updated, else one
# is posted. Without the token (not set, or a merge request from a fork, whose pipelines do
# not get it) the diff stays in the job log. A cancelled job posts nothing.
set -o pipefail
if [ "${CI_JOB_STATUS:-}" = canceled ]; then
  echo "the job was cancelled: the note is left as it is"
  exit 0
fi
if [ -z "${MINIO_GITOPS_NOTE_TOKEN:-}" ]; then
  echo "MINIO_GITOPS_NOTE_TOKEN is not available to this pipeline: the diff is in the log above, not posted (docs/ci.md in minio-gitops)"
  exit 0
fi
notes="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
api() { curl -fsS --retry 3 -H "PRIVATE-TOKEN: $MINIO_GITOPS_NOTE_TOKEN" "$@"; }
me=$(api "$CI_API_V4_URL/user" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).username))')
id=""
page=1
while [ -z "$id" ] && [ "$page" -le 50 ]; do
  list=$(api "$notes?per_page=100&page=$page&sort=asc&order_by=created_at")
  if [ "$list" = "[]" ]; then break; fi
  printf '%s' "$list" | ME=$me EARLIER=$earlier node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const n = JSON.parse(s).find((x) => x.author.username === process.env.ME && x.body.startsWith("<!-- minio-gitops diff -->")); if (n) require("node:fs").writeFileSync(process.env.EARLIER, n.body); console.log(n ? n.id : ""); })' >"$work/note-id"
  id=$(cat "$work/note-id")
  page=$((page + 1))
done
compose
node -e 'const fs = require("node:fs"); fs.writeFileSync(process.argv[2], JSON.stringify({ body: fs.readFileSync(process.argv[1], "utf8") }))' "$body" "$work/note.json"
if [ -n "$id" ]; then
  api -X PUT -H 'Content-Type: application/json' --data-binary "@$work/note.json" "$notes/$id" >/dev/null
  echo "updated note $id"
else
  api -X POST -H 'Content-Type: application/json' --data-binary "@$work/note.json" "$notes" >/dev/null
  echo "posted the diff as a new note"
fi
