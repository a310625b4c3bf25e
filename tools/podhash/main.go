// Command podhash produces the data behind the Python implementation of Kubernetes' pod-template
// hash (rollouts/release/podhash): the type layout of v1.PodTemplateSpec as compiled from the pinned
// k8s.io/api module, and test vectors (JSON template, hash) computed by the real Go code path.
//
// Why a Go program: the hash is FNV-32a over a go-spew dump of the Go value, so it depends on every
// field, field order, type name and unexported internal (resource.Quantity, time.Time) of the exact
// k8s.io/api version the upstream controller is built with. Reading those from the compiled types with
// reflect is the only way to get them right; hand-copying them would drift silently.
//
// Usage (see `make hash-layout` / `make hash-vectors`):
//
//	TZ= go run . layout  > ../../rollouts/release/podhash/layout.json
//	TZ= go run . vectors -n 300 -seed 1 > ../../tests/unit/release/data/podhash_vectors.jsonl
//	TZ= go run . hash  < template.json     # prints hash and, with -dump, the spew dump
//
// TZ must be set and empty: metav1.Time decoding calls time.Local(), so the dump of any non-null
// timestamp includes time.Local's internals. An empty TZ gives Go's fixed "UTC" fallback, which is what
// the upstream controller has in its distroless image (no TZ, no /etc/localtime).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: podhash layout|vectors|hash [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "layout":
		err = runLayout(os.Args[2:])
	case "vectors":
		err = runVectors(os.Args[2:])
	case "hash":
		err = runHash(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want layout, vectors or hash)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podhash:", err)
		os.Exit(1)
	}
}
