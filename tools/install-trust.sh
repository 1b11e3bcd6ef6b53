# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date and mark in scope): builds
# cert-manager trust-manager's Bundle controller (the wrapper module tools/trust-manager,
# which pins github.com/cert-manager/trust-manager) into .tools/bin/trust-manager, and
# copies the module's Bundle CRD to .tools/crds/trust.cert-manager.io_bundles.yaml.
# Can also be run by itself: bash tools/install-trust.sh.
# Without CI a failure only warns (the trust tests then skip); with CI set it is an error.
TRUST_MANAGER_VERSION=v0.25.0   # pinned in tools/trust-manager/go.mod

# When run by itself, what tools/install.sh would have in scope.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bin=${bin:-$root/.tools/bin}
mkdir -p "$bin"
declare -F up_to_date >/dev/null || up_to_date() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
declare -F mark >/dev/null || mark() { echo "$2" > "$bin/.$1.version"; }

install_trust_manager() {
  local dir="$root/tools/trust-manager" crds="$root/.tools/crds" stamp moddir
  stamp="$TRUST_MANAGER_VERSION-$(cat "$dir/"*.go "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)"
  if up_to_date trust-manager "$stamp" && [ -f "$crds/trust.cert-manager.io_bundles.yaml" ]; then
    return 0
  fi
  echo "building trust-manager $TRUST_MANAGER_VERSION (tools/trust-manager) and its Bundle CRD" >&2
  (cd "$dir" && go build -mod=readonly -o "$bin/trust-manager" .) || return 1
  # The CRD the Helm chart installs (deploy/crds of the same module version).
  moddir=$(cd "$dir" && go mod download -json "github.com/cert-manager/trust-manager@$TRUST_MANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -f "$moddir/deploy/crds/trust.cert-manager.io_bundles.yaml" ] || { echo "no Bundle CRD in '$moddir'" >&2; return 1; }
  mkdir -p "$crds" || return 1
  # install -m 644: the module cache's files are read-only, the copy need not be.
  install -m 644 "$moddir/deploy/crds/trust.cert-manager.io_bundles.yaml" "$crds/trust.cert-manager.io_bundles.yaml" || return 1
  mark trust-manager "$stamp"
}

if ! install_trust_manager; then
  if [ -n "${CI:-}" ]; then
    echo "error: tools/install-trust.sh: building trust-manager $TRUST_MANAGER_VERSION failed" >&2
    exit 1
  fi
  echo "warning: tools/install-trust.sh: building trust-manager $TRUST_MANAGER_VERSION failed (the trust tests will skip)" >&2
fi
