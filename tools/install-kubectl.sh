# shellcheck shell=bash
# Sourced by tools/install.sh (with root, bin, up_to_date, mark and module_tool in scope):
# builds kubectl (k8s.io/kubernetes/cmd/kubectl) into .tools/bin/kubectl, at the same pinned
# Kubernetes as kube-apiserver, in the same wrapper module tools/kube-apiserver (its go.mod
# pins k8s.io/kubernetes and replaces the staging modules, k8s.io/kubectl among them, with
# their published versions). The Day-2 test (test/day2.test.ts) runs it with the rendered
# restarter Job's args, as the Job's image (registry.k8s.io/kubectl) would.
# Can also be run by itself: bash tools/install-kubectl.sh.
# Without CI a failure only warns (the tests that need it then skip); with CI set it is an error.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KUBECTL_KUBERNETES_VERSION=${KUBERNETES_VERSION:-v1.36.1}   # pinned in tools/kube-apiserver/go.mod

module_tool kubectl "$KUBECTL_KUBERNETES_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kubectl ||
  install_failed tools/install-kubectl.sh "building kubectl" "the tests that run kubectl will skip"
