# shellcheck shell=bash
# What tools/install.sh and each tools/install-*.sh share, whether install.sh sources a
# script or it runs by itself: where the tools go, their version stamps, the wrapper-module
# build, and what a failure means.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bin=${bin:-$root/.tools/bin}
mkdir -p "$bin"

# The tools need no debugger: without DWARF tables (-w) a large binary such as
# kube-scheduler links about a quarter faster (6.3 s to 4.8 s here) and is a fifth smaller.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-ldflags=-w"

# up_to_date NAME STAMP: true when .tools/bin/NAME was built at STAMP.
up_to_date() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
mark() { echo "$2" > "$bin/.$1.version"; }

# module_tool NAME VERSION DIR PACKAGE: build PACKAGE in the wrapper module tools/DIR (its
# go.mod pins the version), once per version and wrapper content; a failed build returns
# non-zero and is not marked built.
module_tool() {
  local stamp
  stamp="$2-$(cat "$root/tools/$3/"*.go "$root/tools/$3/go.mod" "$root/tools/$3/go.sum" | sha256sum | cut -c1-12)"
  up_to_date "$1" "$stamp" && return 0
  echo "building $1 $2 (tools/$3)" >&2
  (cd "$root/tools/$3" && go build -mod=readonly -o "$bin/$1" "$4") || return 1
  mark "$1" "$stamp"
}

# install_failed SCRIPT WHAT CONSEQUENCE: with CI set an error (exit 1); locally a warning,
# and the tests that need the tool skip, saying why.
install_failed() {
  if [ -n "${CI:-}" ]; then
    echo "error: $1: $2 failed" >&2
    exit 1
  fi
  echo "warning: $1: $2 failed ($3)" >&2
}
