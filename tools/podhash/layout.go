package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// layoutType is one Go type as the Python side needs it: what go-spew prints for it (Name is
// reflect's Type.String(), package *names* not paths, exactly as spew writes it), its kind, its
// element/key types and, for structs, every field in declaration order (spew prints them all,
// unexported ones included, since DisableMethods makes it dump internals).
type layoutType struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name"`
	Elem   string        `json:"elem,omitempty"`
	Key    string        `json:"key,omitempty"`
	Fields []layoutField `json:"fields,omitempty"`
	// JSONUnmarshaler: *T implements json.Unmarshaler, so encoding/json hands the raw value to
	// custom code (resource.Quantity, metav1.Time, intstr.IntOrString, metav1.FieldsV1); the
	// Python decoder must have a hand-written counterpart for each.
	JSONUnmarshaler bool `json:"json_unmarshaler,omitempty"`
	// TextUnmarshaler: *T implements encoding.TextUnmarshaler (JSON strings go through it).
	TextUnmarshaler bool `json:"text_unmarshaler,omitempty"`
}

// layoutField is one struct field. JSON is the key encoding/json decodes into it ("" when the
// field is not decoded: unexported or tagged "-"); Inline marks an embedded struct without a JSON
// name, whose fields encoding/json promotes into the parent object.
type layoutField struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	JSON   string `json:"json,omitempty"`
	Inline bool   `json:"inline,omitempty"`
}

type layoutFile struct {
	Header map[string]string     `json:"header"`
	Root   string                `json:"root"`
	Types  map[string]layoutType `json:"types"`
}

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// typeID names a type uniquely: package path for named types, structure for unnamed ones.
func typeID(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Ptr:
		return "*" + typeID(t.Elem())
	case reflect.Slice:
		return "[]" + typeID(t.Elem())
	case reflect.Map:
		return "map[" + typeID(t.Key()) + "]" + typeID(t.Elem())
	}
	panic(fmt.Sprintf("unsupported unnamed type %s (%s)", t, t.Kind()))
}

// supportedKinds are the kinds the Python renderer implements; anything else fails the generator
// loudly instead of producing a layout the renderer would print wrongly.
var supportedKinds = map[reflect.Kind]string{
	reflect.Bool: "bool", reflect.String: "string",
	reflect.Int: "int", reflect.Int8: "int", reflect.Int16: "int", reflect.Int32: "int", reflect.Int64: "int",
	reflect.Uint: "uint", reflect.Uint8: "uint", reflect.Uint16: "uint", reflect.Uint32: "uint", reflect.Uint64: "uint",
	reflect.Ptr: "ptr", reflect.Slice: "slice", reflect.Map: "map", reflect.Struct: "struct",
}

func walk(t reflect.Type, out map[string]layoutType) {
	id := typeID(t)
	if _, seen := out[id]; seen {
		return
	}
	kind, ok := supportedKinds[t.Kind()]
	if !ok {
		panic(fmt.Sprintf("type %s has kind %s, which the Python renderer does not support", t, t.Kind()))
	}
	lt := layoutType{Kind: kind, Name: t.String()}
	if kind == "int" || kind == "uint" {
		lt.Kind = t.Kind().String() // int32, uint64, ...: the range matters to the decoder
	}
	if t.Name() != "" {
		pt := reflect.PtrTo(t)
		lt.JSONUnmarshaler = pt.Implements(jsonUnmarshalerType)
		lt.TextUnmarshaler = pt.Implements(textUnmarshalerType)
	}
	out[id] = lt // placeholder against recursion
	switch t.Kind() {
	case reflect.Ptr, reflect.Slice:
		lt.Elem = typeID(t.Elem())
		walk(t.Elem(), out)
	case reflect.Map:
		lt.Key, lt.Elem = typeID(t.Key()), typeID(t.Elem())
		walk(t.Key(), out)
		walk(t.Elem(), out)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			lt.Fields = append(lt.Fields, fieldOf(f))
			walk(f.Type, out)
		}
	}
	out[id] = lt
}

// fieldOf applies encoding/json's naming rules to one struct field.
func fieldOf(f reflect.StructField) layoutField {
	lf := layoutField{Name: f.Name, Type: typeID(f.Type)}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return lf
	}
	name, _, _ := strings.Cut(tag, ",")
	if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
		lf.Inline = true
		return lf
	}
	if !f.IsExported() {
		return lf
	}
	if name == "" {
		name = f.Name
	}
	lf.JSON = name
	return lf
}

// moduleVersions reads the pinned versions from the binary's build info.
func moduleVersions() map[string]string {
	h := map[string]string{"go": runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		panic("no build info: build podhash in module mode")
	}
	for _, m := range info.Deps {
		switch m.Path {
		case "k8s.io/api", "k8s.io/apimachinery", "github.com/davecgh/go-spew", "sigs.k8s.io/json", "gopkg.in/inf.v0":
			h[m.Path] = m.Version
		}
	}
	return h
}

func runLayout(args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("layout takes no arguments")
	}
	root := reflect.TypeOf(v1.PodTemplateSpec{})
	types := map[string]layoutType{}
	walk(root, types)
	ids := make([]string, 0, len(types))
	for id := range types {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	header := moduleVersions()
	header["generator"] = "tools/podhash: TZ= go run . layout"
	out := layoutFile{Header: header, Root: typeID(root), Types: types}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}
