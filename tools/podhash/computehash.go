package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"

	"github.com/davecgh/go-spew/spew"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	kjson "sigs.k8s.io/json"
)

// printer is the go-spew configuration of k8s.io/kubernetes pkg/util/hash.DeepHashObject (and of
// the copy in openkruise/rollouts pkg/util): the hash is over Fprintf("%#v") with these settings.
var printer = spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}

// computeHash is Kubernetes' controller.ComputeHash: FNV-32a of the spew dump of the template value,
// then the collision count as 8 little-endian bytes (only the low 4 set), printed in decimal and
// mapped through rand.SafeEncodeString.
func computeHash(template *v1.PodTemplateSpec, collisionCount *int32) string {
	hasher := fnv.New32a()
	hasher.Reset()
	printer.Fprintf(hasher, "%#v", *template)
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		hasher.Write(b)
	}
	return rand.SafeEncodeString(fmt.Sprint(hasher.Sum32()))
}

// decodeLikeUpstream decodes a JSON pod template the way the upstream controller sees it: the
// apimachinery JSON serializer (sigs.k8s.io/json, case-sensitive) followed by the DeepCopy every
// controller-runtime cache read makes. DeepCopy matters: it rebuilds resource.Quantity's inf.Dec,
// which normalises a zero big.Int's word slice to nil.
func decodeLikeUpstream(data []byte) (*v1.PodTemplateSpec, error) {
	var t v1.PodTemplateSpec
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &t); err != nil {
		return nil, err
	}
	return t.DeepCopy(), nil
}

// checkLocalIsUTCFallback fails unless time.Local is Go's built-in "UTC" fallback (TZ set and
// empty), so that dumps of decoded timestamps are reproducible (see the package doc).
func checkLocalIsUTCFallback() error {
	_ = time.Now().Local().String() // force time.Local's lazy initialisation
	got := printer.Sprintf("%#v", *time.Local)
	want := "(time.Location){name:(string)UTC zone:([]time.zone)<nil> tx:([]time.zoneTrans)<nil> " +
		"extend:(string) cacheStart:(int64)0 cacheEnd:(int64)0 cacheZone:(*time.zone)<nil>}"
	if got != want {
		return fmt.Errorf("time.Local is not the UTC fallback; run with TZ set and empty (TZ=): %s", got)
	}
	return nil
}

func runHash(args []string) error {
	if err := checkLocalIsUTCFallback(); err != nil {
		return err
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	t, err := decodeLikeUpstream(data)
	if err != nil {
		return err
	}
	fmt.Println(computeHash(t, nil))
	if len(args) > 0 && args[0] == "-dump" {
		fmt.Println(printer.Sprintf("%#v", *t))
	}
	return nil
}
