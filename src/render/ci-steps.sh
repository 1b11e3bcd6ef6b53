# The shell steps of the pull-request workflow that render/ci.ts writes (GitHub Actions and
# GitLab CI), one section per step, each beginning with a line `# @step NAME`. Not a script
# to run: each section is a step's whole script, run by bash with -e and pipefail (GitHub's
# `run:`; GitLab runs a job's script lines in one bash with the same options). A value that
# later steps need goes to $GITHUB_ENV / $GITHUB_PATH on GitHub, and is exported for the
# next script lines on GitLab. test/ci-workflow.test.ts runs these steps in a real repository.
# Lines before the first section (this comment) are not rendered.

# @step locate
# The scaffolder: this repository's own (scaffold.ts at its top), else the one checked out
# into .minio-gitops/, by its real path (scaffold.ts finds its arguments by it). Its
# node_modules/.bin gives zx and the node it pins.
if [ -f scaffold.ts ]; then
  scaffolder=$(pwd -P)
elif [ -f .minio-gitops/scaffold.ts ]; then
  scaffolder=$(cd .minio-gitops && pwd -P)
else
  echo "error: no scaffold.ts at the top of this repository nor in .minio-gitops/; set MINIO_GITOPS_REPOSITORY and MINIO_GITOPS_REF to the scaffolder's repository and release (docs/ci.md in minio-gitops)" >&2
  exit 1
fi
work=${RUNNER_TEMP:-/tmp}/minio-gitops
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
# GitLab: a repository that is not the scaffolder's checkout fetches it (a release tag or a
# commit) into .minio-gitops/, from MINIO_GITOPS_REPOSITORY (a clone URL) at MINIO_GITOPS_REF.
if [ ! -f scaffold.ts ]; then
  if [ -z "${MINIO_GITOPS_REPOSITORY:-}" ] || [ -z "${MINIO_GITOPS_REF:-}" ]; then
    echo "error: this repository has no scaffold.ts at its top; set the CI/CD variables MINIO_GITOPS_REPOSITORY (the scaffolder's clone URL) and MINIO_GITOPS_REF (a release tag or commit) (docs/ci.md in minio-gitops)" >&2
    exit 1
  fi
  rm -rf .minio-gitops
  git init --quiet .minio-gitops
  git -C .minio-gitops fetch --quiet --depth 1 "$MINIO_GITOPS_REPOSITORY" "$MINIO_GITOPS_REF"
  git -C .minio-gitops checkout --quiet --detach FETCH_HEAD
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
# The envs to review: the names under envs: in scaffold.config.yaml (keys at the first
# indent below it) whose overlay is rendered in this repository.
names=$(awk '
  /^envs:/ { inside = 1; next }
  inside && /^[^ #]/ { inside = 0 }
  inside && /^ +[a-z0-9][-a-z0-9]*:/ {
    match($0, /^ +/)
    if (indent == 0) indent = RLENGTH
    if (RLENGTH == indent) { name = substr($0, RLENGTH + 1); sub(/:.*/, "", name); print name }
  }' scaffold.config.yaml)
envs=""
for env in $names; do
  if [ -f "overlays/$env/kustomization.yaml" ]; then envs="$envs $env"; fi
done
if [ -z "$envs" ]; then
  echo "error: no env of scaffold.config.yaml is rendered here (overlays/ENV/kustomization.yaml); run npx zx scaffold.ts --env ENV" >&2
  exit 1
fi
export MINIO_GITOPS_ENVS="${envs# }"
if [ -n "${GITHUB_ENV:-}" ]; then echo "MINIO_GITOPS_ENVS=$MINIO_GITOPS_ENVS" >>"$GITHUB_ENV"; fi
echo "envs: $MINIO_GITOPS_ENVS"

# @step check
# Each env's generated files are what scaffold.config.yaml renders: no hand edit, no config
# change left without its re-run. No key is needed (sealed files are compared, not opened).
failed=""
for env in $MINIO_GITOPS_ENVS; do
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
for env in $MINIO_GITOPS_ENVS; do
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
# summary. Exit 1 of diff means changes (not a failure); 2 is an error (a broken sealed file
# among them), which fails the step after the other envs are done.
base=${MINIO_GITOPS_DIFF_BASE:-}
if [ -z "$base" ]; then base=$(git merge-base "origin/$BASE_REF" HEAD); fi
comment=$MINIO_GITOPS_WORK/comment.md
{
  echo '<!-- minio-gitops diff -->'
  echo '## minio-gitops: what the cluster will receive'
  echo
  echo "Compared with the merge base \`$(git rev-parse --short=12 "$base")\`, at \`$(git rev-parse --short=12 HEAD)\`."
} >"$comment"
failed=""
for env in $MINIO_GITOPS_ENVS; do
  code=0
  zx "$SCAFFOLD" diff --env "$env" --base "$base" --format markdown --out "$PWD" >"$MINIO_GITOPS_WORK/diff-$env.md" || code=$?
  echo >>"$comment"
  if [ "$code" -le 1 ]; then
    cat "$MINIO_GITOPS_WORK/diff-$env.md" >>"$comment"
  else
    failed="$failed $env"
    echo "**env $env**: the diff failed (exit $code); the job log says why." >>"$comment"
  fi
done
cat "$comment"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$comment" >>"$GITHUB_STEP_SUMMARY"; fi
if [ -n "$failed" ]; then
  echo "error: diff failed for env(s)${failed} (see above)" >&2
  exit 1
fi

# @step comment-github
# The comment on the pull request: the one this workflow posted before (the marker on its
# first line, posted by a bot) is updated, else one is posted. GitHub's comments take at
# most 65536 characters: a longer diff leaves a pointer to the job's summary instead.
marker='<!-- minio-gitops diff -->'
body=$MINIO_GITOPS_WORK/comment.md
if [ "$(wc -c <"$body")" -gt 65000 ]; then
  body=$MINIO_GITOPS_WORK/comment-short.md
  {
    echo "$marker"
    echo '## minio-gitops: what the cluster will receive'
    echo
    echo "The diff is too long for a comment; read it in the summary of the workflow run: ${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/${GITHUB_RUN_ID:-}"
  } >"$body"
fi
id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --jq '.[] | select(.user.type == "Bot" and (.body | startswith("<!-- minio-gitops diff -->"))) | .id' | sed -n 1p)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body" >/dev/null
  echo "updated comment $id"
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$body" >/dev/null
  echo "posted the diff as a new comment"
fi

# @step comment-gitlab
# The note on the merge request, through GitLab's API with MINIO_GITOPS_NOTE_TOKEN (the job
# token cannot write notes): the note this job posted before (the marker on its first line,
# by the token's user) is updated, else one is posted. Without the token (not set, or a
# merge request from a fork, whose pipelines do not get it) the diff stays in the job log.
set -o pipefail
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
  id=$(printf '%s' "$list" | ME=$me node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const n = JSON.parse(s).find((x) => x.author.username === process.env.ME && x.body.startsWith("<!-- minio-gitops diff -->")); console.log(n ? n.id : ""); })')
  page=$((page + 1))
done
node -e 'const fs = require("node:fs"); fs.writeFileSync(process.argv[2], JSON.stringify({ body: fs.readFileSync(process.argv[1], "utf8") }))' "$MINIO_GITOPS_WORK/comment.md" "$MINIO_GITOPS_WORK/note.json"
if [ -n "$id" ]; then
  api -X PUT -H 'Content-Type: application/json' --data-binary "@$MINIO_GITOPS_WORK/note.json" "$notes/$id" >/dev/null
  echo "updated note $id"
else
  api -X POST -H 'Content-Type: application/json' --data-binary "@$MINIO_GITOPS_WORK/note.json" "$notes" >/dev/null
  echo "posted the diff as a new note"
fi
