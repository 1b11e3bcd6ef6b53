//go:build tools

// This module exists to build k8s.io/kubernetes/cmd/kube-apiserver for the tests:
// k8s.io/kubernetes points its staging modules (k8s.io/api, ...) at ./staging, so go.mod
// replaces each with its published version. tools/install.sh runs
// `go build -mod=readonly k8s.io/kubernetes/cmd/kube-apiserver` here.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"
