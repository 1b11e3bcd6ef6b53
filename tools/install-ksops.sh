# shellcheck shell=bash
# Sourced by tools/install.sh at its end (root, bin, up_to_date and mark in scope): KSOPS
# (kustomize-sops) v4.5.1, the kustomize exec plugin that Argo CD's SOPS path runs, into
# .tools/bin/ksops for test/ksops.test.ts.
# The Go module proxy does not serve KSOPS here, so it is built from the byte-identical
# upstream copy at ../shared/vendor/kustomize-sops (see its BUILD.md): the only tool that
# comes from ../shared. The source stays outside the repository; it is built in a temporary
# copy (so nothing is ever written into ../shared) of its build inputs only, ksops.go with its
# own go.mod and go.sum, whose dependencies come from the Go module proxy. Pinned: those three
# files (the only ones copied, so the only ones built) must hash to KSOPS_SOURCE_SHA256, taken from that copy of upstream v4.5.1 (commit
# d9442dc3153d9c16e517a68ce8926c9507386429); any other source is refused, never built.
# Without ../shared/vendor/kustomize-sops this only says that it skips (the KSOPS tests then
# skip locally and fail with CI set). A failed build warns, or is an error with CI set.
# Can also be run by itself: bash tools/install-ksops.sh.
KSOPS_VERSION=v4.5.1
KSOPS_SOURCE_SHA256=b38f9292166d898c01bbefdfec360d42f0e7fb2dc44993ab6a043985634ad750  # cat ksops.go go.mod go.sum | sha256sum

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_ksops() {
  local src="$root/../shared/vendor/kustomize-sops" sum stamp tmp status=0
  if [ ! -f "$src/ksops.go" ]; then
    local then="skip"
    [ -z "${CI:-}" ] || then="fail, as CI is set"
    echo "tools/install-ksops.sh: ../shared/vendor/kustomize-sops is not beside this checkout: no ksops (the KSOPS tests will $then)" >&2
    return 0
  fi
  sum=$(cd "$src" && cat ksops.go go.mod go.sum | sha256sum | cut -d' ' -f1) || return 1
  if [ "$sum" != "$KSOPS_SOURCE_SHA256" ]; then
    echo "../shared/vendor/kustomize-sops is not KSOPS $KSOPS_VERSION (its ksops.go, go.mod and go.sum hash to $sum, not $KSOPS_SOURCE_SHA256)" >&2
    return 1
  fi
  stamp="$KSOPS_VERSION-$(echo "$sum" | cut -c1-12)"
  if up_to_date ksops "$stamp"; then return 0; fi
  command -v go >/dev/null 2>&1 || { echo "Go >= 1.25 is needed to build ksops" >&2; return 1; }
  echo "building ksops $KSOPS_VERSION (../shared/vendor/kustomize-sops, in a temporary copy)" >&2
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksops-build.XXXXXX") || return 1
  # Only the hashed files are copied, so nothing but them is built. chmod: the source may be
  # read-only (so would the copy be, and go or rm could not write it).
  cp "$src/ksops.go" "$src/go.mod" "$src/go.sum" "$tmp/" && chmod -R u+w "$tmp" &&
    (cd "$tmp" && CGO_ENABLED=0 go build -mod=readonly -trimpath -o "$bin/ksops.new" .) &&
    mv -f "$bin/ksops.new" "$bin/ksops" || status=1
  rm -rf "$tmp" "$bin/ksops.new"
  [ "$status" = 0 ] || return 1
  mark ksops "$stamp"
}

install_ksops || install_failed tools/install-ksops.sh "building ksops $KSOPS_VERSION" "the KSOPS tests will skip"
unset -f install_ksops
