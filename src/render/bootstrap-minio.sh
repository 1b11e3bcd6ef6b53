#!/bin/sh
# minio-gitops bucket bootstrap: makes a MinIO server hold exactly the configured buckets,
# prefixes, lifecycle rules, versioning, quotas, default encryption, consumer policies and
# users. Every step reads the current state first and changes only what differs, so
# running it again changes nothing, and a rotated credential is applied on the next run.
#
# In the cluster the bootstrap Job runs it with the files mounted (see overlays/ENV/bootstrap).
# By hand, against any MinIO:
#   MINIO_ROOT_USER=... MINIO_ROOT_PASSWORD=... \
#     scripts/bootstrap-minio.sh --endpoint https://minio.example.com:9000 \
#       --config overlays/ENV/bootstrap --credentials DIR [--ca ca.crt]
# DIR holds one directory per consumer with the files s3.access-key and s3.secret-key.
#
# Needs: a POSIX shell, mc, cat, mkdir, mktemp, rm and sleep (all in the quay.io/minio/mc image).
set -eu

usage() {
  cat <<'EOF'
usage: bootstrap-minio.sh --endpoint URL [--config DIR] [--credentials DIR] [--ca FILE] [--wait SECONDS]
  --endpoint URL      the S3 API, e.g. https://minio.minio.svc:9000 (env MINIO_ENDPOINT)
  --config DIR        bootstrap.conf and the JSON files it names (default /config)
  --credentials DIR   DIR/CONSUMER/s3.access-key and s3.secret-key (default /credentials)
  --ca FILE           CA certificate to trust for https (env MINIO_CA_FILE); never --insecure
  --wait SECONDS      how long to wait for the server to be ready (default 300)
The root credentials come from MINIO_ROOT_USER and MINIO_ROOT_PASSWORD.
EOF
}

die() { echo "error: $*" >&2; exit 1; }

endpoint=${MINIO_ENDPOINT:-}
config=/config
credentials=/credentials
ca=${MINIO_CA_FILE:-}
wait_seconds=300
while [ $# -gt 0 ]; do
  case $1 in
    --endpoint) endpoint=${2:?--endpoint needs a URL}; shift 2 ;;
    --config) config=${2:?--config needs a directory}; shift 2 ;;
    --credentials) credentials=${2:?--credentials needs a directory}; shift 2 ;;
    --ca) ca=${2:?--ca needs a file}; shift 2 ;;
    --wait) wait_seconds=${2:?--wait needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$endpoint" ] || { usage >&2; echo "error: --endpoint (or MINIO_ENDPOINT) is required" >&2; exit 2; }
[ -n "${MINIO_ROOT_USER:-}" ] && [ -n "${MINIO_ROOT_PASSWORD:-}" ] || die "MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set"
[ -f "$config/bootstrap.conf" ] || die "$config/bootstrap.conf not found; pass --config with the directory of the env's bootstrap.conf"
case $wait_seconds in '' | *[!0-9]*) die "--wait takes a number of seconds" ;; esac

# mc keeps its aliases (with the credentials) in a private directory that is removed at
# the end; a CA placed in its certs/CAs/ is trusted for https.
work=$(mktemp -d "${TMPDIR:-/tmp}/minio-bootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
MC_CONFIG_DIR=$work/mc
export MC_CONFIG_DIR
mkdir -p "$MC_CONFIG_DIR/certs/CAs"
if [ -n "$ca" ]; then
  [ -f "$ca" ] || die "CA file $ca not found"
  cat "$ca" >"$MC_CONFIG_DIR/certs/CAs/ca.crt"
fi
export MC_NO_COLOR=1 MC_QUIET=1

changed=0
say() { echo "$1: $2"; }
did() { changed=$((changed + 1)); say "$1" "$2"; }

# The server may still be starting: retry the alias (it checks the credentials) and
# readiness for at most --wait seconds.
waited=0
until mc alias set minio "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>"$work/last-error" && mc ready minio >/dev/null 2>&1; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    die "MinIO at $endpoint is not ready after ${wait_seconds}s: $(cat "$work/last-error")"
  fi
  echo "waiting for MinIO at $endpoint (${waited}s)"
  sleep 5
  waited=$((waited + 5))
done
say server "ready at $endpoint"

# json_field JSON KEY: the string value of "KEY":"..." in one line of mc's --json output.
json_field() {
  case $1 in
    *"\"$2\":\""*) v=${1#*\""$2"\":\"}; printf '%s' "${v%%\"*}" ;;
    *) printf '' ;;
  esac
}

# json_list JSON KEY: the strings of "KEY":["a","b"] in one line of mc's --json output.
json_list() {
  case $1 in
    *"\"$2\":[\""*) v=${1#*\""$2"\":\[}; v=${v%%]*} ;;
    *) return 0 ;;
  esac
  old_ifs=$IFS
  IFS=,
  for item in $v; do item=${item#\"}; printf '%s\n' "${item%\"}"; done
  IFS=$old_ifs
}

ensure_bucket() {
  if mc stat "minio/$1" >/dev/null 2>&1; then say "bucket $1" unchanged
  else mc mb --ignore-existing "minio/$1" >/dev/null; did "bucket $1" created
  fi
  # Anonymous access is off: no public read or write, whatever someone set by hand.
  perm=$(json_field "$(mc anonymous get --json "minio/$1")" permission)
  if [ "$perm" != private ]; then mc anonymous set none "minio/$1" >/dev/null; did "bucket $1" "anonymous access $perm -> none"; fi
}

ensure_prefix() {
  # An empty "directory" object; skipped when anything exists under the prefix.
  if mc stat "minio/$1/$2" >/dev/null 2>&1; then say "prefix $1/$2" unchanged
  else mc mb --ignore-existing "minio/$1/$2" >/dev/null; did "prefix $1/$2" created
  fi
}

ensure_lifecycle() {
  current=$(mc ilm rule export "minio/$1" 2>/dev/null) || current=
  if [ "$2" = none ]; then
    if [ -n "$current" ]; then mc ilm rule rm --all --force "minio/$1" >/dev/null; did "lifecycle $1" removed
    else say "lifecycle $1" "unchanged (none)"
    fi
    return
  fi
  desired=$(cat "$config/$2")
  # mc exports exactly the JSON it was given when the rules are the same.
  if [ "$current" = "$desired" ]; then say "lifecycle $1" unchanged
  else mc ilm rule import "minio/$1" <"$config/$2" >/dev/null; did "lifecycle $1" "set from $2"
  fi
}

ensure_versioning() {
  info=$(mc version info --json "minio/$1")
  status=${info#*\"versioning\":\{\"status\":\"}
  status=${status%%\"*}
  case $2:$status in
    on:Enabled | off: | off:Suspended) say "versioning $1" "unchanged (${status:-off})" ;;
    on:*) mc version enable "minio/$1" >/dev/null; did "versioning $1" enabled ;;
    # Suspending keeps every version written so far; nothing is deleted.
    off:Enabled) mc version suspend "minio/$1" >/dev/null; did "versioning $1" suspended ;;
    *) die "versioning $1: unexpected state '$status' from mc version info" ;;
  esac
}

ensure_quota() {
  info=$(mc quota info --json "minio/$1")
  case $info in *'"quota":'*) q=${info#*\"quota\":}; current=${q%%[!0-9]*} ;; *) current= ;; esac
  if [ "$2" = none ]; then
    if [ -n "$current" ] && [ "$current" != 0 ]; then mc quota clear "minio/$1" >/dev/null; did "quota $1" cleared
    else say "quota $1" "unchanged (none)"
    fi
    return
  fi
  # The size in bytes: NKiB..NPiB, as the config writes it.
  n=${2%?iB}
  case $2 in *KiB) f=1024 ;; *MiB) f=1048576 ;; *GiB) f=1073741824 ;; *TiB) f=1099511627776 ;; *PiB) f=1125899906842624 ;; *) die "quota $2: use KiB, MiB, GiB, TiB or PiB" ;; esac
  if [ "$current" = $((n * f)) ]; then say "quota $1" "unchanged ($2)"
  else mc quota set "minio/$1" --size "$2" >/dev/null; did "quota $1" "set to $2"
  fi
}

# ensure_encryption BUCKET sse-s3|off: the bucket's default encryption. SSE-S3 seals each
# new object's key with the server's KMS key; objects written before stay as they are.
ensure_encryption() {
  info=$(mc encrypt info --json "minio/$1" 2>/dev/null) || info=
  current=$(json_field "$info" algorithm)
  case $2:$current in
    sse-s3:AES256 | off:) say "encryption $1" "unchanged (${current:-off})" ;;
    sse-s3:*) mc encrypt set sse-s3 "minio/$1" >/dev/null; did "encryption $1" "${current:-off} -> SSE-S3" ;;
    off:*) mc encrypt clear "minio/$1" >/dev/null; did "encryption $1" "$current -> off" ;;
    *) die "encryption $1: use sse-s3 or off, not '$2'" ;;
  esac
}

ensure_policy() {
  desired=$(cat "$config/$2")
  info=$(mc admin policy info --json minio "$1" 2>/dev/null) || info=
  # MinIO keeps the statements in order; each holds one value per list (see the file).
  current=${info#*\"Policy\":}
  current=${current%%,\"CreateDate\"*}
  if [ "$current" = "$desired" ]; then say "policy $1" unchanged
  else mc admin policy create minio "$1" "$config/$2" >/dev/null; did "policy $1" "set from $2"
  fi
}

# ensure_user CONSUMER POLICY: the consumer's user holds its current secret and exactly its
# policy: no other policy, no group (a group's policies would apply too), no access keys
# of its own (they would outlive a rotation; the policy also denies making them).
ensure_user() {
  dir="$credentials/$1"
  [ -f "$dir/s3.access-key" ] && [ -f "$dir/s3.secret-key" ] || die "credentials of consumer $1 not found: $dir/s3.access-key and $dir/s3.secret-key"
  access=$(cat "$dir/s3.access-key")
  secret=$(cat "$dir/s3.secret-key")
  [ "$access" != "$MINIO_ROOT_USER" ] || die "consumer $1 has the root user's access key; give it its own"
  # An alias only saves when the credentials work: the current secret needs no update.
  if mc alias set "check-$1" "$endpoint" "$access" "$secret" >/dev/null 2>&1; then
    say "user $access" unchanged
  else
    mc admin user add minio "$access" "$secret" >/dev/null
    did "user $access" "credentials set"
  fi
  mc alias remove "check-$1" >/dev/null 2>&1 || true
  info=$(mc admin user info --json minio "$access")
  [ "$(json_field "$info" userStatus)" = enabled ] || { mc admin user enable minio "$access" >/dev/null; did "user $access" enabled; }
  attached=$(json_field "$info" policyName)
  old_ifs=$IFS
  IFS=,
  for p in $attached; do
    [ "$p" = "$2" ] || { mc admin policy detach minio "$p" --user "$access" >/dev/null; did "user $access" "policy $p detached"; }
  done
  IFS=$old_ifs
  case ",$attached," in
    *",$2,"*) say "user $access" "policy $2 unchanged" ;;
    *) mc admin policy attach minio "$2" --user "$access" >/dev/null; did "user $access" "policy $2 attached" ;;
  esac
  groups=${info#*\"memberOf\":\[}
  [ "$groups" != "$info" ] || groups=
  while case $groups in *'{"name":"'*) true ;; *) false ;; esac; do
    groups=${groups#*\{\"name\":\"}
    group=${groups%%\"*}
    mc admin group rm minio "$group" "$access" >/dev/null
    did "user $access" "removed from group $group"
  done
  mc admin user svcacct ls --json minio "$access" >"$work/keys"
  while IFS= read -r line; do
    key=$(json_field "$line" accessKey)
    [ -n "$key" ] || continue
    mc admin user svcacct rm minio "$key" >/dev/null
    did "user $access" "access key $key removed"
  done <"$work/keys"
  owners="$owners $2=$access"
}

# Our policies (minio-gitops-*) belong to their consumer's user only: they are detached
# from anyone else (a renamed user, a person, a group), and a policy no consumer names is
# removed once detached. No user is ever deleted.
sweep() {
  mc admin policy ls --json minio >"$work/policies"
  while IFS= read -r line; do
    p=$(json_field "$line" policy)
    case $p in minio-gitops-*) ;; *) continue ;; esac
    entities=$(mc admin policy entities --json minio --policy "$p")
    for user in $(json_list "$entities" users); do
      case " $owners " in *" $p=$user "*) continue ;; esac
      mc admin policy detach minio "$p" --user "$user" >/dev/null
      did "policy $p" "detached from user $user (not its consumer's user)"
    done
    for group in $(json_list "$entities" groups); do
      mc admin policy detach minio "$p" --group "$group" >/dev/null
      did "policy $p" "detached from group $group"
    done
    case " $owners " in *" $p="*) continue ;; esac
    mc admin policy rm minio "$p" >/dev/null
    did "policy $p" "removed (no consumer uses it)"
  done <"$work/policies"
}

owners=
while read -r verb a b c; do
  case $verb in
    '' | '#'*) ;;
    bucket) ensure_bucket "$a" ;;
    prefix) ensure_prefix "$a" "$b" ;;
    lifecycle) ensure_lifecycle "$a" "$b" ;;
    versioning) ensure_versioning "$a" "$b" ;;
    quota) ensure_quota "$a" "$b" ;;
    encryption) ensure_encryption "$a" "$b" ;;
    policy) ensure_policy "$a" "$b" ;;
    user) ensure_user "$a" "$b" ;;
    *) die "$config/bootstrap.conf: unknown line '$verb $a $b $c'" ;;
  esac
done <"$config/bootstrap.conf"
sweep
echo "done: $changed change(s)"
