// The `schema` mode of decodecheck: prints, as JSON, the shape encoding/json decodes Argo's
// configuration into: config.Config (the workflow-controller ConfigMap) and
// v1alpha1.ArtifactRepository (an `artifact-repositories` ConfigMap entry), walked with reflect at
// the Argo version this module pins. argodoctor/argo/go_decode.py reads the output
// (argodoctor/argo/config-tree-<version>.json; the command that regenerates it is in go_decode.py).
//
// The struct fields are those encoding/json's typeFields sees (go/src/encoding/json/encode.go,
// Go 1.25/1.26: exported fields, `json:"-"` dropped, untagged embedded structs flattened, Go's
// dominance rules for names promoted from embedded structs), in index order, because decode.go's
// object() takes the exact name first and otherwise the FIRST field whose folded name matches.
// A promoted field also records the type of the embedded field it comes through ("via"):
// sigs.k8s.io/yaml v1.4.0 (yaml.go convertToJSONableObject) looks the key up the same way but
// recurses into t.Field(f.index[0]), so its number-to-string coercion sees that type instead.
package main

import (
	"encoding"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/argoproj/argo-workflows/v3/config"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

type node = map[string]any

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType      = reflect.TypeFor[json.Number]()
	types           = map[string]node{}
)

func typeID(t reflect.Type) string {
	p := t.PkgPath()
	for _, prefix := range []string{"github.com/argoproj/argo-workflows/v3/", "github.com/argoproj/argo-workflows/v4/"} {
		p = strings.TrimPrefix(p, prefix)
	}
	return p + "." + t.Name()
}

// custom reports how encoding/json's indirect() finds an unmarshaler on an addressable value
// of type t: "json" (UnmarshalJSON wins), "text" (UnmarshalText), or "".
func custom(t reflect.Type) (string, bool) {
	valueRecv := t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler)
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) {
		return "json", valueRecv
	}
	if pt.Implements(textUnmarshaler) {
		return "text", valueRecv
	}
	return "", false
}

func scalar(t reflect.Type) node {
	switch t.Kind() {
	case reflect.String:
		if t == numberType {
			return node{"kind": "number-string"}
		}
		return node{"kind": "string"}
	case reflect.Bool:
		return node{"kind": "bool"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return node{"kind": "int", "bits": t.Bits()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return node{"kind": "uint", "bits": t.Bits()}
	case reflect.Float32, reflect.Float64:
		return node{"kind": "float", "bits": t.Bits()}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return node{"kind": "any"}
		}
		return node{"kind": "interface"} // only null decodes into a non-empty interface
	}
	return nil
}

func describe(t reflect.Type) node {
	if t.Kind() == reflect.Pointer {
		return node{"kind": "ptr", "elem": describe(t.Elem())}
	}
	if how, valueRecv := custom(t); how != "" {
		id := typeID(t)
		if _, seen := types[id]; !seen {
			types[id] = node{"kind": "custom", "unmarshaler": how, "valueReceiver": valueRecv,
				"underlying": t.Kind().String()}
		}
		return node{"ref": id}
	}
	if n := scalar(t); n != nil {
		return n
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if how, _ := custom(t.Elem()); how == "" {
				return node{"kind": "bytes"} // base64 text, or an array of numbers
			}
		}
		return node{"kind": "slice", "elem": describe(t.Elem())}
	case reflect.Array:
		return node{"kind": "array", "len": t.Len(), "elem": describe(t.Elem())}
	case reflect.Map:
		key := t.Key()
		keyKind := "unsupported"
		switch {
		case key.Kind() == reflect.String:
			keyKind = "string"
		case scalar(key) != nil && (scalar(key)["kind"] == "int" || scalar(key)["kind"] == "uint"):
			keyKind = scalar(key)["kind"].(string)
		case reflect.PointerTo(key).Implements(textUnmarshaler):
			keyKind = "text"
		}
		return node{"kind": "map", "key": keyKind, "elem": describe(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return structNode(t)
		}
		id := typeID(t)
		if _, seen := types[id]; !seen {
			types[id] = nil // placeholder: recursive types refer to themselves
			types[id] = structNode(t)
		}
		return node{"ref": id}
	}
	return node{"kind": "unsupported", "go": t.String()}
}

type field struct {
	name   string
	tagged bool
	index  []int
	typ    reflect.Type
	quoted bool
	decl   reflect.Type // the declared type: a pointer decodes null as nil, a value type may not
}

// typeFields follows go/src/encoding/json/encode.go typeFields and dominantField (Go 1.25).
func typeFields(t reflect.Type) []field {
	current, next := []field{}, []field{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				index := append(append([]int{}, f.index...), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOpt(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64, reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, field{name, tagged, index, ft, quoted, sf.Type})
					if count[f.typ] > 1 {
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, field{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}
	sort.SliceStable(fields, func(i, j int) bool {
		a, b := fields[i], fields[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if len(a.index) != len(b.index) {
			return len(a.index) < len(b.index)
		}
		if a.tagged != b.tagged {
			return a.tagged
		}
		return lessIndex(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		name := fields[i].name
		for advance = 1; i+advance < len(fields) && fields[i+advance].name == name; advance++ {
		}
		group := fields[i : i+advance]
		if len(group) > 1 && len(group[0].index) == len(group[1].index) && group[0].tagged == group[1].tagged {
			continue // ambiguous: encoding/json drops every field of that name
		}
		out = append(out, group[0])
	}
	sort.Slice(out, func(i, j int) bool { return lessIndex(out[i].index, out[j].index) })
	return out
}

func lessIndex(a, b []int) bool {
	for k := 0; k < len(a) && k < len(b); k++ {
		if a[k] != b[k] {
			return a[k] < b[k]
		}
	}
	return len(a) < len(b)
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// validTag is encoding/json's isValidTag.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c > 127):
			return false
		}
	}
	return true
}

func structNode(t reflect.Type) node {
	out := []node{} // [] not null for a struct without fields (v1alpha1.NoneStrategy)
	for _, f := range typeFields(t) {
		for _, r := range f.name {
			if r > 127 {
				fmt.Fprintf(os.Stderr, "non-ASCII json name %q in %s: go_decode.py folds ASCII only\n", f.name, t)
				os.Exit(1)
			}
		}
		entry := node{"name": f.name, "type": describe(f.decl)}
		if len(f.index) > 1 {
			entry["via"] = describe(t.Field(f.index[0]).Type)
		}
		if f.quoted {
			entry["quoted"] = true
		}
		out = append(out, entry)
	}
	return node{"kind": "struct", "fields": out}
}

func dumpSchema(version string) {
	roots := node{
		"config":             describe(reflect.TypeFor[config.Config]()),
		"artifactRepository": describe(reflect.TypeFor[wfv1.ArtifactRepository]()),
	}
	out := node{"argo": version, "go": runtime.Version(), "roots": roots, "types": types}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
