# shellcheck shell=bash
# Sourced by tools/install.sh (with root in scope): the upstream CustomResourceDefinitions the
# tests install into their kube-apiserver and check rendered objects against (test/validate.ts,
# test/cluster.ts), fetched pinned from the registries into the git-ignored .tools/crds, one
# file per CRD named <crd-name>.yaml. Data only, byte for byte as upstream ships them:
#  - from the Go module proxy, `go mod download -json MODULE@VERSION`, each CRD file read out of
#    the module zip that go has verified against go.sum's checksum database (nothing is built,
#    so a module whose go.mod wants a newer Go than this one, which go then refuses to unpack,
#    is still read from its verified zip), whose h1: sum must also be the one CRD_SUMS pins;
#  - from Maven Central, the Flink Kubernetes Operator's API jar, whose META-INF/fabric8 holds
#    the generated FlinkDeployment CRD (the newest version Maven Central serves here is 1.10.0),
#    its sha256 the one CRD_SUMS pins.
# Confluent's FlinkEnvironment CRD is not public: test/crds keeps a minimal one of our own.
# trust-manager's Bundle CRD comes from tools/install-trust.sh.
# A second run with the same pins does nothing. Can also be run by itself:
# bash tools/install-crds.sh. Needs go, mvn (with Java) and unzip.
# Without CI a failure only warns (the tests that need the CRDs then skip); with CI it is an error.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# registry  package  version  file in the package  CRD name (metadata.name)
CRD_PINS='go github.com/argoproj/argo-cd/v3 v3.6.1 manifests/crds/application-crd.yaml applications.argoproj.io
go github.com/argoproj/argo-cd/v3 v3.6.1 manifests/crds/applicationset-crd.yaml applicationsets.argoproj.io
go github.com/argoproj/argo-cd/v3 v3.6.1 manifests/crds/appproject-crd.yaml appprojects.argoproj.io
go github.com/fluxcd/source-controller v1.10.1 config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml gitrepositories.source.toolkit.fluxcd.io
go github.com/fluxcd/kustomize-controller v1.10.1 config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml kustomizations.kustomize.toolkit.fluxcd.io
go github.com/cert-manager/cert-manager v1.21.2 deploy/crds/cert-manager.io_certificates.yaml certificates.cert-manager.io
go github.com/cert-manager/cert-manager v1.21.2 deploy/crds/cert-manager.io_issuers.yaml issuers.cert-manager.io
go github.com/cert-manager/cert-manager v1.21.2 deploy/crds/cert-manager.io_clusterissuers.yaml clusterissuers.cert-manager.io
go github.com/external-secrets/external-secrets v1.3.2 config/crds/bases/external-secrets.io_externalsecrets.yaml externalsecrets.external-secrets.io
go github.com/external-secrets/external-secrets v1.3.2 config/crds/bases/external-secrets.io_secretstores.yaml secretstores.external-secrets.io
go github.com/external-secrets/external-secrets v1.3.2 config/crds/bases/external-secrets.io_clustersecretstores.yaml clustersecretstores.external-secrets.io
go github.com/prometheus-operator/prometheus-operator v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml servicemonitors.monitoring.coreos.com
maven org.apache.flink:flink-kubernetes-operator-api 1.10.0 META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml flinkdeployments.flink.apache.org'
# What each package must hash to: a Go module's h1: sum (go.sum's, from `go mod download -json`),
# the Maven jar's sha256 (its sha1 matches Maven Central's .sha1). Any other content is refused.
CRD_SUMS='github.com/argoproj/argo-cd/v3@v3.6.1 h1:OmhqeKiR3C//awbFrhQqFdtRI+Qiv17j8vqm3UkMj/g=
github.com/fluxcd/source-controller@v1.10.1 h1:vkYpgpLZu20LQ2UN4lPBdWH7sqTNdQ8FjcZD/HogN2E=
github.com/fluxcd/kustomize-controller@v1.10.1 h1:IjTnrkIy0ULJoTNC2ZKuMb32vkqj7dJ6zt6UqbTFxKA=
github.com/cert-manager/cert-manager@v1.21.2 h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68=
github.com/external-secrets/external-secrets@v1.3.2 h1:u2J8RjlHIeF0oZCqtl92adI/uZWUwOesJIDkfql6LqQ=
github.com/prometheus-operator/prometheus-operator@v0.85.0 h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=
org.apache.flink:flink-kubernetes-operator-api@1.10.0 sha256:b1f44814e17514fa8395c61b329a3ee9087123a5bda5b21fe1a495d5182c30b6'
CRD_MAVEN_DEPENDENCY_PLUGIN=3.8.1

install_crds() {
  local crds="$root/.tools/crds" stamp tmp registry pkg version file name zip last="" out sum pin error log
  stamp=$(printf '%s\n' "$CRD_PINS" "$CRD_SUMS" | sha256sum | cut -c1-16)
  if [ "$(cat "$crds/.upstream.stamp" 2>/dev/null)" = "$stamp" ]; then
    local missing=""
    while read -r registry pkg version file name; do
      [ -s "$crds/$name.yaml" ] || missing=1
    done <<<"$CRD_PINS"
    [ -z "$missing" ] && return 0
  fi
  local need
  for need in go mvn unzip; do
    command -v "$need" >/dev/null 2>&1 || { echo "$need is needed to fetch the upstream CRDs" >&2; return 1; }
  done
  echo "fetching the upstream CRDs (Go module proxy, Maven Central) into .tools/crds" >&2
  mkdir -p "$crds" || return 1
  tmp=$(mktemp -d) || return 1
  log="$tmp/log"
  while read -r registry pkg version file name; do
    if [ "$registry@$pkg@$version" != "$last" ]; then
      echo "  $registry $pkg@$version" >&2
      pin=$(printf '%s\n' "$CRD_SUMS" | awk -v m="$pkg@$version" '$1 == m { print $2 }')
      if [ -z "$pin" ]; then
        echo "CRD_SUMS pins no checksum for $pkg@$version: add its h1: sum (go mod download -json) or sha256 (a jar)" >&2; rm -rf "$tmp"; return 1
      fi
      case "$registry" in
        go)
          # GOTOOLCHAIN=local: only the zip is wanted, never another Go toolchain.
          out=$(cd "$tmp" && GOTOOLCHAIN=local go mod download -json "$pkg@$version" 2>"$log")
          zip=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",$/\1/p')
          sum=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Sum": "\(h1:.*\)",$/\1/p')
          error=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",$/\1/p')
          # A module that wants a newer Go is downloaded and verified, only not unpacked.
          case "$error" in
            "" | *"requires go >="* | *'requires go \u003e='*) ;;
            *) echo "go mod download $pkg@$version: $error" >&2; cat "$log" >&2; rm -rf "$tmp"; return 1 ;;
          esac
          if [ -z "$sum" ] || [ ! -s "$zip" ]; then
            echo "go mod download $pkg@$version gave no verified zip" >&2; printf '%s\n' "$out" >&2; cat "$log" >&2; rm -rf "$tmp"; return 1
          fi
          ;;
        maven)
          rm -rf "$tmp/maven"
          if ! (cd "$tmp" && mvn -B "org.apache.maven.plugins:maven-dependency-plugin:$CRD_MAVEN_DEPENDENCY_PLUGIN:copy" \
            -Dartifact="$pkg:$version" -DoutputDirectory="$tmp/maven") >"$log" 2>&1; then
            cat "$log" >&2; rm -rf "$tmp"; return 1
          fi
          zip="$tmp/maven/${pkg#*:}-$version.jar"
          sum="sha256:$(sha256sum "$zip" | cut -d' ' -f1)" || { rm -rf "$tmp"; return 1; }
          ;;
        *) echo "unknown registry '$registry'" >&2; rm -rf "$tmp"; return 1 ;;
      esac
      if [ "$sum" != "$pin" ]; then
        echo "$registry $pkg@$version is not the pinned package: its checksum is $sum, CRD_SUMS pins $pin; refused" >&2; rm -rf "$tmp"; return 1
      fi
      last="$registry@$pkg@$version"
    fi
    local inner="$file"
    [ "$registry" = go ] && inner="$pkg@$version/$file"
    if ! unzip -p "$zip" "$inner" >"$tmp/$name.yaml" 2>"$log" || [ ! -s "$tmp/$name.yaml" ]; then
      echo "no $file in $pkg@$version" >&2; cat "$log" >&2; rm -rf "$tmp"; return 1
    fi
    # One CustomResourceDefinition named as its file (the test harness relies on that).
    if ! grep -qxF 'kind: CustomResourceDefinition' "$tmp/$name.yaml" || ! grep -qxF "  name: $name" "$tmp/$name.yaml"; then
      echo "$file in $pkg@$version is not the CRD $name" >&2; rm -rf "$tmp"; return 1
    fi
  done <<<"$CRD_PINS"
  # Files of an earlier pin list that this one no longer has go (never the trust Bundle's).
  local old
  if [ -f "$crds/.upstream.files" ]; then
    while read -r old; do
      if [ -n "$old" ] && ! printf '%s\n' "$CRD_PINS" | awk '{print $5 ".yaml"}' | grep -qxF "$old"; then rm -f "$crds/$old"; fi
    done <"$crds/.upstream.files"
  fi
  while read -r registry pkg version file name; do
    install -m 644 "$tmp/$name.yaml" "$crds/$name.yaml" || { rm -rf "$tmp"; return 1; }
  done <<<"$CRD_PINS"
  printf '%s\n' "$CRD_PINS" | awk '{print $5 ".yaml"}' >"$crds/.upstream.files"
  echo "$stamp" >"$crds/.upstream.stamp"
  rm -rf "$tmp"
}

install_crds || install_failed tools/install-crds.sh "fetching the upstream CRDs" "the tests that need them will skip"
unset -f install_crds
