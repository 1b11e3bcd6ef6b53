//go:build tools

// This module exists to build the Kubernetes control plane for the tests:
// k8s.io/kubernetes/cmd/kube-apiserver, kube-controller-manager and kube-scheduler, and
// kubectl (k8s.io/kubernetes/cmd/kubectl, for tools/install-kubectl.sh).
// k8s.io/kubernetes points its staging modules (k8s.io/api, ...) at ./staging, so go.mod
// replaces each with its published version. tools/install.sh runs
// `go build -mod=readonly k8s.io/kubernetes/cmd/kube-apiserver` here, and
// tools/install-controlplane.sh the other two, tools/install-kubectl.sh kubectl; the imports
// below keep `go mod tidy` from dropping what they need (cmd/kubectl is a main package: its
// imports stand for it).
package tools

import (
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)
