package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// vector is one line of the vectors file: a JSON pod template, an optional collision count, and the
// hash the real Go code computes for it (decodeLikeUpstream + computeHash).
type vector struct {
	Name           string          `json:"name,omitempty"`
	Template       json.RawMessage `json:"template"`
	CollisionCount *int32          `json:"collisionCount"`
	Hash           string          `json:"hash"`
}

// Pools of raw values. Quantities cover both parse paths of resource.ParseQuantity (the int64 fast
// path with and without the cached string, and the inf.Dec path: binary fractions, > 18 digits,
// scales below nano, caps) and every suffix family. Numbers are only those whose Python float repr
// is the same text Go sees, since the Python side receives parsed JSON.
var (
	quantityStrings = []string{
		"0", "00", "-0", "1", "+3", "-1", "100m", "250m", "1000m", "0.5", "1.5", "1.", "0.1", "0.001",
		"1e3", "2e3", "2E3", "12e6", "1e-3", "1e-10", "1e100", "5e-1", "1.5e3", "1k", "3M", "1G", "1T", "2P",
		"1E", "100n", "1u", "5Ki", "1Mi", "128Mi", "1Gi", "1.5Gi", "0.5Gi", "7Ti", "2Pi", "1Ei", "8Ei",
		"9Ei", "0.1Ki", "1023Mi", "1024Mi", "123456789012345678901", "123456789012345678", "0.000000001",
		"0.0000000001", "-0.5m", "-1.5Gi", "1.0", "10.000", "999999999999999999", "9223372036854775807",
		"9223372036854775808", " 5 ", "000123", "1.23456789012345678e3", "1e+3", "5E-3", "0.5Ki", "0.0Gi",
		"0e-10", "-0.0Ki", "0.0001Ki", "18446744073709551616", "1e-12", "-7.25Mi",
	}
	quantityNumbers = []interface{}{json.Number("1"), json.Number("0"), json.Number("1.5"), json.Number("0.25"),
		json.Number("-2"), json.Number("100")}
	timeStrings = []string{
		"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.5+02:00",
		"1999-12-31T23:59:59-07:30", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2262-04-11T23:47:16Z",
		"1960-06-15T12:00:00.000001Z",
	}
	stringPool = []string{
		"", "nginx", "a", "B", "app", "a b", "ünïcödé", "日本語", "quote\"d", "back\\slash", "new\nline",
		"tab\t", "<html>&amp;", "emoji😀", "kruise.io/rollout-id", "pod-template-hash", "10", "9",
		strings.Repeat("x", 80), "0.5", "true", "null",
	}
	keyPool = []string{"a", "B", "app", "a.b/c", "ä", "Z", "_x", "10", "9", "", "app.kubernetes.io/name",
		"version", "日本", "z"}
	int32Pool = []int64{0, 1, -1, 80, 8080, 2147483647, -2147483648, 30, 600}
	int64Pool = []int64{0, 1, -1, 30, 9007199254740993, 9223372036854775807, -9223372036854775808}
)

var (
	quantityType    = reflect.TypeOf(resource.Quantity{})
	timeType        = reflect.TypeOf(metav1.Time{})
	intOrStringType = reflect.TypeOf(intstr.IntOrString{})
	fieldsV1Type    = reflect.TypeOf(metav1.FieldsV1{})
)

type generator struct {
	r *rand.Rand
}

func (g *generator) pick(n int) int        { return g.r.Intn(n) }
func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// value returns a random JSON value (as encoding/json would marshal it) for Go type t.
func (g *generator) value(t reflect.Type, depth int) interface{} {
	switch t {
	case quantityType:
		if g.chance(0.15) {
			return quantityNumbers[g.pick(len(quantityNumbers))]
		}
		return quantityStrings[g.pick(len(quantityStrings))]
	case timeType:
		if g.chance(0.2) {
			return nil
		}
		return timeStrings[g.pick(len(timeStrings))]
	case intOrStringType:
		if g.chance(0.5) {
			return int32Pool[g.pick(len(int32Pool))]
		}
		return []string{"80%", "http", "", "25%", "8080", "0"}[g.pick(6)]
	case fieldsV1Type:
		return g.fieldsV1()
	}
	switch t.Kind() {
	case reflect.Ptr:
		if g.chance(0.08) {
			return nil
		}
		return g.value(t.Elem(), depth)
	case reflect.Struct:
		return g.object(t, depth+1)
	case reflect.Slice:
		return g.slice(t, depth)
	case reflect.Map:
		return g.mapping(t, depth)
	case reflect.String:
		if g.chance(0.3) {
			return fmt.Sprintf("s%d", g.r.Int31())
		}
		return stringPool[g.pick(len(stringPool))]
	case reflect.Bool:
		return g.chance(0.5)
	case reflect.Int32:
		return int32Pool[g.pick(len(int32Pool))]
	case reflect.Int64:
		return int64Pool[g.pick(len(int64Pool))]
	}
	panic(fmt.Sprintf("no generator for %s (%s)", t, t.Kind()))
}

func (g *generator) slice(t reflect.Type, depth int) interface{} {
	switch {
	case g.chance(0.05):
		return nil
	case g.chance(0.08):
		return []interface{}{}
	}
	n := 1 + g.pick(3)
	if depth > 3 {
		n = 1 + g.pick(2)
	}
	out := make([]interface{}, n)
	for i := range out {
		out[i] = g.value(t.Elem(), depth)
	}
	return out
}

func (g *generator) mapping(t reflect.Type, depth int) interface{} {
	switch {
	case g.chance(0.05):
		return nil
	case g.chance(0.08):
		return map[string]interface{}{}
	}
	out := map[string]interface{}{}
	for i, n := 0, 1+g.pick(4); i < n; i++ {
		key := keyPool[g.pick(len(keyPool))]
		if t.Key().Name() == "ResourceName" && g.chance(0.6) {
			key = []string{"cpu", "memory", "ephemeral-storage", "nvidia.com/gpu", "hugepages-2Mi"}[g.pick(5)]
		}
		out[key] = g.value(t.Elem(), depth)
	}
	return out
}

// object emits a random subset of the JSON fields of struct t (inline embedded structs promoted).
func (g *generator) object(t reflect.Type, depth int) map[string]interface{} {
	out := map[string]interface{}{}
	g.fill(t, depth, out)
	return out
}

func (g *generator) fill(t reflect.Type, depth int, out map[string]interface{}) {
	p := 0.3 // PodSpec and ObjectMeta fields, containers' fields, ...
	switch {
	case depth == 0:
		p = 0.95
	case depth > 6:
		p = 0.06
	case depth > 4:
		p = 0.12
	case depth > 3:
		p = 0.2
	}
	for i := 0; i < t.NumField(); i++ {
		lf := fieldOf(t.Field(i))
		if lf.Inline {
			g.fill(t.Field(i).Type, depth, out)
			continue
		}
		if lf.JSON == "" || !g.chance(p) {
			continue
		}
		out[lf.JSON] = g.value(t.Field(i).Type, depth)
	}
}

func (g *generator) fieldsV1() interface{} {
	if g.chance(0.2) {
		return nil
	}
	return map[string]interface{}{"f:metadata": map[string]interface{}{"f:labels": map[string]interface{}{
		".": map[string]interface{}{}, "f:" + keyPool[g.pick(len(keyPool))]: map[string]interface{}{}}}}
}

func hashVector(name string, data []byte, cc *int32) (vector, error) {
	t, err := decodeLikeUpstream(data)
	if err != nil {
		return vector{}, err
	}
	return vector{Name: name, Template: data, CollisionCount: cc, Hash: computeHash(t, cc)}, nil
}

func (g *generator) collisionCount() *int32 {
	if !g.chance(0.25) {
		return nil
	}
	c := []int32{0, 1, 5, 2147483647, -1}[g.pick(5)]
	return &c
}

// compact re-encodes a JSON document compactly (as the API server sends it), keeping key order.
func compact(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// extraVectors hashes the hand-written templates of a JSON file {"name": template, ...}.
func extraVectors(path string) ([]vector, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var named []struct {
		Name     string          `json:"name"`
		Template json.RawMessage `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]vector, 0, len(named))
	for _, n := range named {
		data, err := compact(n.Template)
		if err != nil {
			return nil, err
		}
		v, err := hashVector(n.Name, data, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: template %q does not decode: %w", path, n.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func runVectors(args []string) error {
	fs := flag.NewFlagSet("vectors", flag.ContinueOnError)
	n := fs.Int("n", 300, "number of random vectors")
	seed := fs.Int64("seed", 1, "random seed")
	extra := fs.String("extra", "testdata/realistic.json", "hand-written templates to add first")
	fuzz := fs.Int("fuzz", 40, "templates of 20 random quantities and 10 random timestamps each")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLocalIsUTCFallback(); err != nil {
		return err
	}
	out, err := extraVectors(*extra)
	if err != nil {
		return err
	}
	g := &generator{r: rand.New(rand.NewSource(*seed))}
	fuzzed, err := g.fuzzVectors(*fuzz)
	if err != nil {
		return err
	}
	out = append(out, fuzzed...)
	rejected := 0
	for countRandom(out) < *n {
		data, err := json.Marshal(g.object(reflect.TypeOf(v1.PodTemplateSpec{}), 0))
		if err != nil {
			return err
		}
		v, err := hashVector("", data, g.collisionCount())
		if err != nil {
			rejected++ // e.g. a quantity the parser refuses: the API server would refuse it too
			continue
		}
		out = append(out, v)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	for _, v := range out {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "podhash: %d vectors (%d random templates rejected by the decoder)\n", len(out), rejected)
	return nil
}

func countRandom(vs []vector) int {
	c := 0
	for _, v := range vs {
		if v.Name == "" {
			c++
		}
	}
	return c
}
