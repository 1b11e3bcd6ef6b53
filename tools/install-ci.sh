# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date and mark in scope): the real tools
# that check a rendered CI workflow (test/ci-tools.ts), pinned, all under the git-ignored .tools:
#  - actionlint (Go module proxy, `go install`) into .tools/bin/actionlint; it runs shellcheck
#    on `run:` scripts when it finds one on the PATH (.tools/bin/shellcheck, from install.sh);
#  - kubeconform (Go module proxy, `go install`) into .tools/bin/kubeconform;
#  - the Kubernetes JSON schemas kubeconform validates against, offline: PyPI's
#    kubernetes-validate wheel (sha256 pinned) ships, per Kubernetes version, the schemas of the
#    OpenAPI definitions with $refs into one shared _definitions.json by https URL, which
#    kubeconform would fetch. The newest version's strict directory is rewritten into
#    standalone schemas (each kind with the definitions it uses inlined under $defs, the
#    $refs local), one file per kind, as kubeconform's default layout has them:
#    .tools/kubeconform/schemas/v<version>-standalone-strict/<kind>-<group>-<version>.json;
#  - GitLab's CI schema (ci.json of gitlab-org/gitlab, as SchemaStore's gitlab-ci.json), from
#    the PyPI wheel of check-jsonschema (sha256 pinned), which vendors it with its own sha256
#    (pinned too), into .tools/gitlab-ci/ci.json with GitLab's licence beside it.
# A second run with the same pins does nothing. Can also be run by itself:
# bash tools/install-ci.sh. Needs go, python3 with pip, unzip and sha256sum.
# Without CI a failure only warns (the CI-workflow tests then skip); with CI set it is an error.
ACTIONLINT_VERSION=v1.7.12
KUBECONFORM_VERSION=v0.7.0
# PyPI kubernetes-validate: its newest bundled Kubernetes schema version.
KUBE_SCHEMAS_PACKAGE=kubernetes-validate==1.37.0
KUBE_SCHEMAS_SHA256=85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9
KUBE_SCHEMAS_KUBERNETES=1.37.0
# PyPI check-jsonschema: vendor/gitlab-ci.json, and that file's own sha256.
GITLAB_SCHEMA_PACKAGE=check-jsonschema==0.39.0
GITLAB_SCHEMA_WHEEL_SHA256=14ce5c94871c551268ea948ffe21e9f1464dc48fb20bf9a4c13deeaaf756cf9b
GITLAB_SCHEMA_SHA256=1c6eeb7d3a34c39996afbfe1ade220480eb05bbeae674e86d3c745dfeeded7fd

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ci_go_tool NAME VERSION PACKAGE: `go install PACKAGE@VERSION` into .tools/bin, once per
# version; a failed build returns non-zero and is not marked built.
ci_go_tool() {
  up_to_date "$1" "$2" && return 0
  command -v go >/dev/null 2>&1 || { echo "go is needed to build $1" >&2; return 1; }
  echo "building $1 $2 ($3)" >&2
  GOBIN="$bin" go install "$3@$2" || return 1
  mark "$1" "$2"
}

ci_go_tool actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint ||
  install_failed tools/install-ci.sh "building actionlint $ACTIONLINT_VERSION" "the CI-workflow tests will skip"
ci_go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform ||
  install_failed tools/install-ci.sh "building kubeconform $KUBECONFORM_VERSION" "the CI-workflow tests will skip"

# ci_wheel PACKAGE==VERSION SHA256 DIR: the package's wheel (no dependencies) from PyPI into
# DIR, refused unless its sha256 is SHA256 (pip checks the pin, and so does this); prints its path.
ci_wheel() {
  local pip wheel
  if [ -x "$root/.tools/venv/bin/pip" ]; then pip=("$root/.tools/venv/bin/pip")
  else pip=(python3 -m pip); fi
  printf '%s --hash=sha256:%s\n' "$1" "$2" > "$3/requirements.txt" || return 1
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    --require-hashes -r "$3/requirements.txt" -d "$3" >&2 || return 1
  wheel=$(find "$3" -maxdepth 1 -name '*.whl' | head -n 1)
  [ -n "$wheel" ] || { echo "pip left no wheel of $1" >&2; return 1; }
  [ "$(sha256sum "$wheel" | cut -d' ' -f1)" = "$2" ] || { echo "$wheel is not sha256 $2" >&2; return 1; }
  echo "$wheel"
}

# The standalone rewrite: each kind's schema (a file carrying x-kubernetes-group-version-kind)
# with the $defs it reaches, by "/api/_definitions.json#/$defs/X" or "#/$defs/X", inlined and
# every such $ref made "#/$defs/X"; its https $id dropped. Anything else is refused.
# shellcheck disable=SC2016 # Python, not shell
CI_STANDALONE_PY='
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
defs = json.load(open(os.path.join(src, "_definitions.json")))["$defs"]
SHARED, LOCAL = "/api/_definitions.json#/$defs/", "#/$defs/"
def name(ref, where):
    for prefix in (SHARED, LOCAL):
        if ref.startswith(prefix) and ref[len(prefix):] in defs:
            return ref[len(prefix):]
    sys.exit(f"{where}: $ref {ref!r} is not one of _definitions.json")
def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str): out.append(v)
            else: refs(v, out)
    elif isinstance(node, list):
        for v in node: refs(v, out)
def local(node, where):
    if isinstance(node, dict):
        return {k: LOCAL + name(v, where) if k == "$ref" and isinstance(v, str) else local(v, where) for k, v in node.items()}
    if isinstance(node, list):
        return [local(v, where) for v in node]
    return node
kinds = 0
for file in sorted(os.listdir(src)):
    if not file.endswith(".json") or file in ("_definitions.json", "all.json"):
        continue
    doc = json.load(open(os.path.join(src, file)))
    if "x-kubernetes-group-version-kind" not in doc:
        continue
    seen, todo = set(), []
    refs(doc, todo)
    while todo:
        d = name(todo.pop(), file)
        if d not in seen:
            seen.add(d)
            refs(defs[d], todo)
    doc.pop("$id", None)
    out = local(doc, file)
    if seen:
        out["$defs"] = {d: local(defs[d], file) for d in sorted(seen)}
    with open(os.path.join(dst, file), "w") as f:
        json.dump(out, f, separators=(",", ":"), sort_keys=True)
    kinds += 1
if kinds < 100:
    sys.exit(f"only {kinds} kinds in {src}")
print(f"  {kinds} kinds", file=sys.stderr)
'

install_kube_schemas() {
  local dest="$root/.tools/kubeconform/schemas" dir="v$KUBE_SCHEMAS_KUBERNETES-standalone-strict" stamp tmp wheel
  stamp="$KUBE_SCHEMAS_PACKAGE $KUBE_SCHEMAS_SHA256 $(printf '%s' "$CI_STANDALONE_PY" | sha256sum | cut -c1-12)"
  [ -s "$dest/$dir/statefulset-apps-v1.json" ] && [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  local need
  for need in python3 unzip sha256sum; do
    command -v "$need" >/dev/null 2>&1 || { echo "$need is needed for the Kubernetes schemas" >&2; return 1; }
  done
  echo "installing the Kubernetes $KUBE_SCHEMAS_KUBERNETES JSON schemas (PyPI $KUBE_SCHEMAS_PACKAGE, made standalone) into .tools/kubeconform/schemas" >&2
  tmp=$(mktemp -d) || return 1
  if wheel=$(ci_wheel "$KUBE_SCHEMAS_PACKAGE" "$KUBE_SCHEMAS_SHA256" "$tmp") &&
    unzip -q "$wheel" "kubernetes_validate/kubernetes-json-schema/v$KUBE_SCHEMAS_KUBERNETES-local-strict/*" -d "$tmp/x" &&
    mkdir -p "$tmp/out/$dir" &&
    python3 -c "$CI_STANDALONE_PY" "$tmp/x/kubernetes_validate/kubernetes-json-schema/v$KUBE_SCHEMAS_KUBERNETES-local-strict" "$tmp/out/$dir" &&
    rm -rf "$dest" && mkdir -p "$root/.tools/kubeconform" && mv "$tmp/out" "$dest" &&
    echo "$stamp" > "$dest/.stamp"; then
    rm -rf "$tmp"
    return 0
  fi
  rm -rf "$tmp"
  return 1
}

install_kube_schemas || install_failed tools/install-ci.sh "installing the Kubernetes JSON schemas ($KUBE_SCHEMAS_PACKAGE)" "the kubeconform tests will skip"

install_gitlab_schema() {
  local dest="$root/.tools/gitlab-ci" vendor="check_jsonschema/builtin_schemas/vendor" stamp tmp wheel
  stamp="$GITLAB_SCHEMA_PACKAGE $GITLAB_SCHEMA_WHEEL_SHA256 $GITLAB_SCHEMA_SHA256"
  [ -s "$dest/ci.json" ] && [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
  local need
  for need in unzip sha256sum; do
    command -v "$need" >/dev/null 2>&1 || { echo "$need is needed for the GitLab CI schema" >&2; return 1; }
  done
  echo "installing GitLab's CI schema (PyPI $GITLAB_SCHEMA_PACKAGE, $vendor/gitlab-ci.json) into .tools/gitlab-ci" >&2
  tmp=$(mktemp -d) || return 1
  if wheel=$(ci_wheel "$GITLAB_SCHEMA_PACKAGE" "$GITLAB_SCHEMA_WHEEL_SHA256" "$tmp") &&
    unzip -q "$wheel" "$vendor/gitlab-ci.json" "$vendor/sha256/gitlab-ci.sha256" "$vendor/licenses/LICENSE.gitlab" -d "$tmp/x"; then
    local got vendored
    got=$(sha256sum "$tmp/x/$vendor/gitlab-ci.json" | cut -d' ' -f1)
    vendored=$(tr -d '[:space:]' < "$tmp/x/$vendor/sha256/gitlab-ci.sha256")
    if [ "$got" = "$GITLAB_SCHEMA_SHA256" ] && [ "$vendored" = "$GITLAB_SCHEMA_SHA256" ] &&
      mkdir -p "$dest" &&
      install -m 644 "$tmp/x/$vendor/gitlab-ci.json" "$dest/ci.json" &&
      install -m 644 "$tmp/x/$vendor/licenses/LICENSE.gitlab" "$dest/LICENSE" &&
      echo "$stamp" > "$dest/.stamp"; then
      rm -rf "$tmp"
      return 0
    fi
    echo "gitlab-ci.json is sha256 $got (the wheel says $vendored), not the pinned $GITLAB_SCHEMA_SHA256" >&2
  fi
  rm -rf "$tmp"
  return 1
}

install_gitlab_schema || install_failed tools/install-ci.sh "installing GitLab's CI schema ($GITLAB_SCHEMA_PACKAGE)" "the GitLab CI tests will skip"
