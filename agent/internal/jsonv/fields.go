package jsonv

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// field is one struct field JSON may set.
type field struct {
	name  string
	index int
}

var fieldCache sync.Map // reflect.Type -> []field

// fields lists the fields of t that JSON may set, as encoding/json
// chooses them: exported, not tagged "-", named by the tag or else the Go
// name.
func fields(t reflect.Type) ([]field, error) {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field), nil
	}
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, fmt.Errorf("jsonv: %s.%s: embedded fields are not supported", t, sf.Name)
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = ""
		}
		if name == "" {
			name = sf.Name
		}
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			if o == "string" {
				return nil, fmt.Errorf("jsonv: %s.%s: option %q is not supported", t, sf.Name, o)
			}
		}
		out = append(out, field{name: name, index: i})
	}
	fieldCache.Store(t, out)
	return out, nil
}

// validTagName is encoding/json's rule for a usable tag name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > 127):
			return false
		}
	}
	return true
}
