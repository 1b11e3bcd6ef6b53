# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date and mark in scope): the two real
# checkers of the console's htpasswd line, for test/secrets-hygiene.test.ts: Apache's
# `htpasswd -v` (apache2-utils, with libapr1 and libaprutil1) and nginx, the server that
# reads the line in ingress-nginx (its own apr1 code, ngx_crypt.c). Debian bookworm packages
# at exact versions, fetched with `apt-get download` (signed indexes) and checked against the
# sha256 below, unpacked into .tools/basic-auth (nothing installed system-wide); run as
# $bin/htpasswd (a wrapper that sets LD_LIBRARY_PATH) and $bin/nginx.
# Needs apt-get and dpkg-deb (Debian or Ubuntu, amd64). The pins are bookworm-security
# versions: when Debian supersedes one, `apt-get download` no longer finds it; update the
# version and its sha256 here.
# Can also be run by itself: bash tools/install-basic-auth.sh.
# Without CI a failure only warns (the checks that need these tools skip); with CI set it is an error.
BASIC_AUTH_DEBS='
apache2-utils 2.4.71-1~deb12u1 1d62a5130d3aed55b46a2201f6b8ec3e8dd3afc5d73a46c52ae479003251ad42
libapr1 1.7.2-3+deb12u1 4d4c2cbf2cd9652063b8a72fb8a5e434d4cde097454157e4428f036136a4be3e
libaprutil1 1.6.3-1+deb12u1 7415e4ca945533d855e7eb4b0b6c93b89a0edd88a32a55aca98dca86312a2e40
nginx 1.22.1-9+deb12u11 4e2778e675c07d0f2d8d3b6f5ff84f6483ade1d82c21c910eb9a2787e1cf1b1a
'

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_basic_auth() {
  local dir="$root/.tools/basic-auth" stamp name version sum file quoted refreshed=
  stamp=$(echo "$BASIC_AUTH_DEBS" | awk 'NF { printf "%s%s=%s", sep, $1, $2; sep = "," }')
  if up_to_date htpasswd "$stamp" && up_to_date nginx "$stamp"; then
    return 0
  fi
  echo "installing htpasswd and nginx (Debian: $stamp) into .tools/basic-auth" >&2
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "apt-get and dpkg-deb are needed (Debian or Ubuntu)" >&2
    return 1
  fi
  rm -rf "$dir" "$bin/htpasswd" "$bin/nginx"
  mkdir -p "$dir/debs" || return 1
  while read -r name version sum; do
    [ -n "$name" ] || continue
    # A machine whose package lists are older than the pin: refresh them once (needs root).
    (cd "$dir/debs" && apt-get download -q "$name=$version" >/dev/null 2>"$dir/debs/apt.log") ||
      { [ -z "${refreshed:-}" ] && refreshed=1 && apt-get update -q >/dev/null 2>>"$dir/debs/apt.log" &&
        (cd "$dir/debs" && apt-get download -q "$name=$version" >/dev/null 2>>"$dir/debs/apt.log"); } ||
      { cat "$dir/debs/apt.log" >&2; return 1; }
    file=$(ls "$dir/debs/${name}_"*.deb) || return 1
    echo "$sum  $file" | sha256sum --check --quiet || { echo "$file: not the pinned sha256 $sum" >&2; return 1; }
    dpkg-deb -x "$file" "$dir/root" || return 1
  done <<EOF
$BASIC_AUTH_DEBS
EOF
  rm -rf "$dir/debs"
  # The wrapper finds the unpacked libapr; the directory is written in single quotes.
  quoted="'$(printf %s "$dir/root" | sed "s/'/'\\\\''/g")'"
  # shellcheck disable=SC2016 # $d and $LD_LIBRARY_PATH expand when the wrapper runs
  printf '#!/bin/sh\nd=%s\nLD_LIBRARY_PATH="$d/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/usr/bin/htpasswd" "$@"\n' "$quoted" > "$bin/htpasswd" || return 1
  chmod 755 "$bin/htpasswd" || return 1
  ln -s "$dir/root/usr/sbin/nginx" "$bin/nginx" || return 1
  "$bin/htpasswd" -nbm probe probe >/dev/null || { echo "the unpacked htpasswd does not run" >&2; return 1; }
  "$bin/nginx" -v >/dev/null 2>&1 || { echo "the unpacked nginx does not run" >&2; return 1; }
  mark htpasswd "$stamp"
  mark nginx "$stamp"
}

install_basic_auth || install_failed tools/install-basic-auth.sh "installing htpasswd and nginx from Debian packages" "the htpasswd and nginx checks of the console's basic-auth line will skip"
