//go:build tools

// This module exists to build Flux's kustomize-controller (its own main package, unchanged)
// for the tests: `go install github.com/fluxcd/kustomize-controller@v1.9.3` refuses its
// replace directives, so go.mod requires it and repeats upstream's replaces that are not
// local paths (go-digest, kustomize api/kyaml, yaml.v3); its ./api replace is the published
// github.com/fluxcd/kustomize-controller/api of the same version. tools/install-gitops.sh
// runs `go build -mod=readonly github.com/fluxcd/kustomize-controller` here.
//
// v1.9.3: the same version as source-controller's (see tools/source-controller/tools.go).
package tools

import _ "github.com/fluxcd/kustomize-controller"
