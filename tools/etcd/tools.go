//go:build tools

// This module exists to build etcd for the tests: go.etcd.io/etcd/server/v3 replaces its
// sibling modules with local paths, which `go install ...@version` refuses, so go.mod
// here replaces them with their published versions. tools/install.sh runs
// `go build -mod=readonly go.etcd.io/etcd/server/v3` here.
package tools

import _ "go.etcd.io/etcd/server/v3"
