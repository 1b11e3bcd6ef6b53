# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date and mark in scope): the rest of a
# real control plane for the tests (test/controlplane.ts), beside its etcd and kube-apiserver:
# - kube-controller-manager and kube-scheduler, built in the wrapper module tools/kube-apiserver
#   (k8s.io/kubernetes, the same pinned version as kube-apiserver, its staging modules replaced);
# - kwok (sigs.k8s.io/kwok, `go install`), which simulates the nodes' kubelets: nodes Ready,
#   pods Running and Ready, pods owned by a Job Succeeded, and (only for pods labelled
#   pod-container-running-failed.stage.kwok.x-k8s.io=true) a container that fails; the Stage
#   files it ships for that (kustomize/stage/{node,pod}/... of the same module version) are
#   copied to .tools/kwok/stages.
# Can also be run by itself: bash tools/install-controlplane.sh.
# Without CI a failure only warns (the control plane tests then skip); with CI set it is an error.
KWOK_VERSION=v0.8.0   # sigs.k8s.io/kwok: built with Kubernetes v0.36.1 modules, supports 1.36

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CONTROLPLANE_KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.36.1}   # pinned in tools/kube-apiserver/go.mod

install_kwok() {
  local stages="$root/.tools/kwok/stages" moddir f
  local files="node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml pod/chaos/pod-container-running-failed.yaml"
  # The Stages' stamp: the module version and the list of files copied from it.
  local stamp="$KWOK_VERSION $files"
  if up_to_date kwok "$KWOK_VERSION" && [ "$(cat "$stages/.version" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  if ! up_to_date kwok "$KWOK_VERSION"; then
    echo "building kwok $KWOK_VERSION (go install sigs.k8s.io/kwok/cmd/kwok)" >&2
    GOBIN="$bin" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || return 1
    mark kwok "$KWOK_VERSION"
  fi
  echo "copying kwok $KWOK_VERSION's node and pod Stages to .tools/kwok/stages" >&2
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || return 1
  [ -n "$moddir" ] || return 1
  rm -rf "$stages" && mkdir -p "$stages" || return 1
  for f in $files; do
    # install -m 644: the module cache's files are read-only, the copies need not be.
    install -m 644 "$moddir/kustomize/stage/$f" "$stages/$(basename "$f")" || return 1
  done
  echo "$stamp" > "$stages/.version"
}

for controlplane_tool in kube-controller-manager kube-scheduler kwok; do
  # cmd/NAME of k8s.io/kubernetes, in the wrapper module kube-apiserver is built in.
  if [ "$controlplane_tool" = kwok ]; then install_kwok; else module_tool "$controlplane_tool" "$CONTROLPLANE_KUBERNETES_VERSION" kube-apiserver "k8s.io/kubernetes/cmd/$controlplane_tool"; fi ||
    install_failed tools/install-controlplane.sh "building $controlplane_tool" "the control plane tests will skip"
done
unset controlplane_tool
