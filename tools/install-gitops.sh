# shellcheck shell=bash
# The GitOps controllers the tests run for real, built pinned from the Go module proxy into
# .tools/bin: Flux's source-controller and kustomize-controller (their own mains, through
# the wrapper modules tools/source-controller and tools/kustomize-controller, because `go
# install` refuses their replace directives) and cert-manager's controller (a wrapper main,
# tools/cert-manager: upstream's cmd/controller module is not on the proxy). Their CRDs,
# from the same module versions, go to .tools/gitops-crds/<crd name>.yaml.
# Sourced by tools/install.sh (root, bin, up_to_date and mark in scope); or
# run by itself: bash tools/install-gitops.sh.
# Without CI a failure only warns (the GitOps controller tests then skip); with CI set it is an error.
#
# Flux v1.9.3, not the newest: source-controller v1.9.4 to v1.9.6 need
# github.com/fluxcd/pkg/artifact v0.18.2/v0.18.3, and v1.10.0/v1.10.1 (go 1.27: the proxy
# does serve the go1.27.4 toolchain, GOTOOLCHAIN=go1.27.4) need fluxcd/pkg modules it
# refuses (403: pkg/artifact v0.27.x, pkg/spiffe v0.2.0, pkg/apis/crypto v0.5.0,
# pkg/http/transport v0.9.0, pkg/masktoken v0.10.0; and sigstore/cosign/v3 v3.1.4), checked
# with `go mod tidy` on 2026-11-30. The tests install this version's CRDs (.tools/gitops-crds),
# not tools/install-crds.sh's (Flux v1.10.1, for schema validation only).
FLUX_VERSION=v1.9.3           # source-controller and kustomize-controller, pinned in tools/<name>/go.mod
CERT_MANAGER_VERSION=v1.21.2  # pinned in tools/cert-manager/go.mod

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# gitops_crds DIR MODULE VERSION SUBDIR: copies the CRD files of MODULE@VERSION (in the
# module cache, through DIR's go.mod) from SUBDIR to .tools/gitops-crds, each named by its
# CRD name (upstream's <group>_<plural>.yaml becomes <plural>.<group>.yaml, as
# tools/install-crds.sh names them in .tools/crds). When .tools/crds has them at these
# versions, the tests can read them there instead (gitopsCrd in test/flux.ts) and this goes.
gitops_crds() {
  local moddir file base name out="$root/.tools/gitops-crds"
  moddir=$(cd "$root/tools/$1" && go mod download -json "$2@$3" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -d "$moddir/$4" ] || { echo "no CRDs in '$moddir/$4'" >&2; return 1; }
  mkdir -p "$out" || return 1
  for file in "$moddir/$4"/*_*.yaml; do
    base=$(basename "$file" .yaml)
    name="${base##*_}.${base%_*}"
    grep -q "^  name: $name\$" "$file" || { echo "$file is not the CRD $name" >&2; return 1; }
    # install -m 644: the module cache's files are read-only, the copy need not be.
    install -m 644 "$file" "$out/$name.yaml" || return 1
  done
}

install_gitops() {
  local crds="$root/.tools/gitops-crds" stamp="flux-$FLUX_VERSION-cert-manager-$CERT_MANAGER_VERSION"
  # One at a time: each is a long cold build (see the README's tool timings).
  module_tool source-controller "$FLUX_VERSION" source-controller github.com/fluxcd/source-controller || return 1
  module_tool kustomize-controller "$FLUX_VERSION" kustomize-controller github.com/fluxcd/kustomize-controller || return 1
  module_tool cert-manager-controller "$CERT_MANAGER_VERSION" cert-manager . || return 1
  if [ "$(cat "$crds/.version" 2>/dev/null)" != "$stamp" ]; then
    echo "copying the Flux $FLUX_VERSION and cert-manager $CERT_MANAGER_VERSION CRDs into .tools/gitops-crds" >&2
    rm -rf "$crds"
    gitops_crds source-controller github.com/fluxcd/source-controller "$FLUX_VERSION" config/crd/bases || return 1
    gitops_crds kustomize-controller github.com/fluxcd/kustomize-controller "$FLUX_VERSION" config/crd/bases || return 1
    gitops_crds cert-manager github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION" deploy/crds || return 1
    echo "$stamp" > "$crds/.version"
  fi
}

install_gitops || install_failed tools/install-gitops.sh "building the GitOps controllers (Flux $FLUX_VERSION, cert-manager $CERT_MANAGER_VERSION)" "the GitOps controller tests will skip"
