package main

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// TestBenchmarkFake exercises both phases against client-go's fake clientset
// (no apiserver): creation, informer sync, patching and latency bookkeeping.
func TestBenchmarkFake(t *testing.T) {
	for _, kind := range []string{"configmaps", "deployments"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			o := options{namespace: "bench", kind: kind, objects: 50, updates: 120, create: true, concurrency: 8}
			cs := fake.NewClientset() // benchmark creates the objects (o.create)
			res, err := benchmark(ctx, cs, o, result{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if res.CachedObjects != 50 || res.Observed != 120 {
				t.Fatalf("cached %d observed %d: %+v", res.CachedObjects, res.Observed, res)
			}
			if !(res.P50Ms > 0 && res.P50Ms <= res.P99Ms && res.P99Ms <= res.MaxMs && res.UpdatesPerS > 0) {
				t.Fatalf("implausible figures: %+v", res)
			}
			t.Logf("%+v", res)
		})
	}
}
