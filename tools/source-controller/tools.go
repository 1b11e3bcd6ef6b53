//go:build tools

// This module exists to build Flux's source-controller (its own main package, unchanged)
// for the tests: `go install github.com/fluxcd/source-controller@v1.9.3` refuses its
// replace directives, so go.mod requires it and repeats the replace that is not a local
// path (github.com/opencontainers/go-digest); its ./api replace is the published
// github.com/fluxcd/source-controller/api of the same version. tools/install-gitops.sh runs
// `go build -mod=readonly github.com/fluxcd/source-controller` here.
//
// v1.9.3, not the newest: v1.9.4 to v1.9.6 need github.com/fluxcd/pkg/artifact
// v0.18.2/v0.18.3, and v1.10.x fluxcd/pkg modules (pkg/artifact v0.27.x, pkg/spiffe v0.2.0,
// ...), which the module proxy here does not serve (see tools/install-gitops.sh).
package tools

import _ "github.com/fluxcd/source-controller"
