# shellcheck shell=bash
# Sourced by tools/install.sh at its end (root, bin, up_to_date and mark in scope): the Flink
# harness of test/flink.test.ts, pinned, under the git-ignored .tools/. Needs Maven and Java 17;
# the jars come from Maven Central into the default ~/.m2.
#  - .tools/flink/1.20.0: tools/flink-check built with Flink 1.20.0: flink-check.jar, lib/ (its
#    runtime classpath) and plugins/s3-fs-presto/ (flink-s3-fs-presto, loaded as a plugin, never
#    from the classpath). Rebuilt when the pom or a source file changes (stamp = hash of them).
#  - .tools/flink-keys/VERSION: the jars whose option classes KeyCheck scans, for each version in
#    FLINK_KEY_VERSIONS (tools/flink-check/keys/pom.xml).
# Can also be run by itself: bash tools/install-flink.sh.
# Without CI a failure prints a warning (the Flink test then skips); with CI it is an error.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_flink() {
  local FLINK_VERSION=1.20.0
  # All five resolve from Maven Central (checked 2026-11).
  local FLINK_KEY_VERSIONS="1.18.1 1.19.1 1.20.0 2.0.0 2.1.0"
  local src="$root/tools/flink-check"
  local home="$root/.tools/flink/$FLINK_VERSION"
  local log="$root/.tools/flink/mvn.log"   # Maven's output, shown only when it fails

  if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
    echo "Maven (mvn) and a Java 17 are needed to build the Flink harness" >&2
    return 1
  fi

  local stamp
  stamp="$FLINK_VERSION-$(cd "$src" && find pom.xml src -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)"
  if [ "$(cat "$home/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -s "$home/flink-check.jar" ]; then
    echo "building the Flink $FLINK_VERSION harness (tools/flink-check) into .tools/flink/$FLINK_VERSION" >&2
    local build="$root/.tools/flink/build"
    rm -rf "$build"
    mkdir -p "$root/.tools/flink"
    (cd "$src" && mvn -B -q package -Dflink.check.build="$build") >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    rm -rf "$home.new"
    mkdir -p "$home.new"
    cp "$build/flink-check.jar" "$home.new/" || return 1
    cp -r "$build/lib" "$build/plugins" "$home.new/" || return 1
    rm -rf "$home" "$build"
    mv "$home.new" "$home"
    echo "$stamp" > "$home/.stamp"
  fi

  local v dir kstamp
  kstamp=$(sha256sum "$src/keys/pom.xml" | cut -c1-12)
  for v in $FLINK_KEY_VERSIONS; do
    dir="$root/.tools/flink-keys/$v"
    if [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$kstamp" ]; then
      echo "fetching the Flink $v jars for the key-name check into .tools/flink-keys/$v" >&2
      rm -rf "$dir"
      mkdir -p "$root/.tools/flink-keys"
      (cd "$src/keys" && mvn -B -q dependency:copy-dependencies -Dflink.keys.version="$v" -Dflink.keys.out="$dir" \
        -DoutputDirectory="$dir" -DincludeScope=runtime) >"$log" 2>&1 || { cat "$log" >&2; rm -rf "$dir"; return 1; }
      rm -rf "$dir/.build"
      echo "$kstamp" > "$dir/.stamp"
    fi
  done
}

install_flink || install_failed tools/install-flink.sh "installing the Flink harness" "the Flink test will skip"
unset -f install_flink
