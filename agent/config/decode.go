package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// decoder turns a go-yaml syntax tree into Go values, collecting every
// problem as a *FieldError instead of stopping at the first.
type decoder struct {
	errs    []error
	anchors map[string]ast.Node
	// present records the keys found in each mapping, by field path
	// ("accounts[0]" -> {"register": true}).
	present map[string]map[string]bool
	// extra handles keys that are not struct fields; it returns false when
	// it does not know the key either.
	extra func(path, key string, n ast.Node) bool
	depth int
}

var durationType = reflect.TypeOf(time.Duration(0))

// parseYAML parses data into its first document's body; nil for an empty
// file.
func parseYAML(data []byte) (ast.Node, error) {
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()) // reported with their path by decodeStruct
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 {
		return nil, nil
	}
	if len(f.Docs) > 1 {
		return nil, fmt.Errorf("the file holds %d YAML documents; want one", len(f.Docs))
	}
	return f.Docs[0].Body, nil
}

func (d *decoder) fail(path string, n ast.Node, value, problem string) {
	if isSecret(path) {
		value = ""
	}
	d.errs = append(d.errs, &FieldError{Field: path, Value: value, Problem: problem, Line: lineOf(n)})
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// isSecret reports whether a field path names a secret whose value must
// never be shown.
func isSecret(path string) bool {
	last := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		last = path[i+1:]
	}
	return last == "password" || last == "token" || last == "asterisk"
}

// resolve strips anchors, tags and comments, and follows aliases.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for i := 0; i < 32 && n != nil; i++ {
		switch v := n.(type) {
		case *ast.AnchorNode:
			if d.anchors == nil {
				d.anchors = map[string]ast.Node{}
			}
			if v.Name != nil {
				d.anchors[v.Name.String()] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil {
				return nil
			}
			n = d.anchors[v.Value.String()]
		case *ast.TagNode:
			n = v.Value
		case *ast.CommentGroupNode:
			return nil
		default:
			return n
		}
	}
	return n
}

// scalarText returns a scalar's text as written (for error messages and
// for string fields, so that `username: 1001` is the string "1001").
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value, true
		}
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
		return n.String(), true
	}
	return "", false
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	return "a scalar"
}

// decode stores node n into v (addressable), at field path.
func (d *decoder) decode(path string, n ast.Node, v reflect.Value) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 32 {
		d.fail(path, n, "", "nested too deeply")
		return
	}
	if al, ok := n.(*ast.AliasNode); ok && al.Value != nil {
		if _, known := d.anchors[al.Value.String()]; !known {
			d.fail(path, n, "", "unknown alias "+strconv.Quote("*"+al.Value.String()))
			return
		}
	}
	n = d.resolve(n)
	if n == nil {
		return
	}
	if _, null := n.(*ast.NullNode); null {
		if v.Kind() != reflect.Struct {
			v.Set(reflect.Zero(v.Type()))
		}
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(path, n, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(path, n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(path, n, v)
	case reflect.Slice:
		d.decodeSlice(path, n, v)
	case reflect.Map:
		d.decodeMap(path, n, v)
	case reflect.String:
		s, ok := scalarText(n)
		if !ok {
			d.fail(path, n, "", "want a string, not "+kindName(n))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			s, _ := scalarText(n)
			d.fail(path, n, s, "want true or false, not "+kindName(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.decodeInt(path, n, v)
	case reflect.Float32, reflect.Float64:
		s, _ := scalarText(n)
		switch f := n.(type) {
		case *ast.FloatNode:
			v.SetFloat(f.Value)
		case *ast.IntegerNode:
			x, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
			if err != nil {
				d.fail(path, n, s, "want a number")
				return
			}
			v.SetFloat(x)
		default:
			d.fail(path, n, s, "want a number, not "+kindName(n))
		}
	default:
		d.fail(path, n, "", "cannot be set from YAML")
	}
}

func (d *decoder) decodeInt(path string, n ast.Node, v reflect.Value) {
	s, _ := scalarText(n)
	in, ok := n.(*ast.IntegerNode)
	if !ok {
		d.fail(path, n, s, "want a whole number, not "+kindName(n))
		return
	}
	var i int64
	var u uint64
	neg := false
	switch x := in.Value.(type) {
	case int64:
		i, neg = x, x < 0
		if !neg {
			u = uint64(x)
		}
	case uint64:
		u = x
		if x > math.MaxInt64 {
			i = math.MaxInt64
		} else {
			i = int64(x)
		}
	default:
		d.fail(path, n, s, "want a whole number")
		return
	}
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if neg || v.OverflowUint(u) {
			d.fail(path, n, s, "out of range")
			return
		}
		v.SetUint(u)
	default:
		if v.OverflowInt(i) || (!neg && u > math.MaxInt64) {
			d.fail(path, n, s, "out of range")
			return
		}
		v.SetInt(i)
	}
}

// decodeDuration accepts a Go duration string ("30s", "1h30m") or a whole
// number of seconds.
func (d *decoder) decodeDuration(path string, n ast.Node, v reflect.Value) {
	s, ok := scalarText(n)
	if !ok {
		d.fail(path, n, "", "want a duration such as \"30s\" or a number of seconds, not "+kindName(n))
		return
	}
	switch x := n.(type) {
	case *ast.IntegerNode:
		sec, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || sec > math.MaxInt64/int64(time.Second) || sec < math.MinInt64/int64(time.Second) {
			d.fail(path, n, s, "duration out of range")
			return
		}
		v.SetInt(sec * int64(time.Second))
		return
	case *ast.FloatNode:
		if math.IsNaN(x.Value) || math.Abs(x.Value) > float64(math.MaxInt64/int64(time.Second)) {
			d.fail(path, n, s, "duration out of range")
			return
		}
		v.SetInt(int64(x.Value * float64(time.Second)))
		return
	}
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		d.fail(path, n, s, "want a duration such as \"30s\" or a number of seconds in")
		return
	}
	v.SetInt(int64(dur))
}

// mappingValues returns a mapping node's key/value pairs.
func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func keyText(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if mk, ok := k.(*ast.MappingKeyNode); ok && mk.Value != nil {
		if s, ok := scalarText(mk.Value); ok {
			return s
		}
		return mk.Value.String()
	}
	if s, ok := scalarText(k); ok {
		return s
	}
	return k.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decodeStruct(path string, n ast.Node, v reflect.Value) {
	pairs, ok := mappingValues(n)
	if !ok {
		d.fail(path, n, "", "want a mapping of keys, not "+kindName(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for _, p := range pairs {
		if p.Key != nil && p.Key.IsMergeKey() {
			d.fail(path, p, "", "merge keys (<<) are not supported")
			continue
		}
		key := keyText(p.Key)
		fp := join(path, key)
		if seen[key] {
			d.fail(fp, p.Key, "", "key given twice")
			continue
		}
		seen[key] = true
		if d.present != nil {
			m := d.present[path]
			if m == nil {
				m = map[string]bool{}
				d.present[path] = m
			}
			m[key] = true
		}
		idx, known := fields[key]
		if !known {
			if d.extra != nil && d.extra(path, key, p.Value) {
				continue
			}
			d.fail(fp, p.Key, "", "unknown key")
			continue
		}
		d.decode(fp, p.Value, v.FieldByIndex(idx))
	}
}

// yamlFields maps the yaml tag names of t's exported fields to their
// index. Fields without a yaml tag, or tagged "-", cannot be set.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Index
	}
	return out
}

func (d *decoder) decodeSlice(path string, n ast.Node, v reflect.Value) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		// A single scalar where a list of scalars is wanted: a list of one.
		if _, isScalar := scalarText(n); isScalar && v.Type().Elem().Kind() == reflect.String {
			s := reflect.MakeSlice(v.Type(), 1, 1)
			d.decode(path+"[0]", n, s.Index(0))
			v.Set(s)
			return
		}
		d.fail(path, n, "", "want a list, not "+kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		ep := path + "[" + strconv.Itoa(i) + "]"
		if tmpl, ok := elemTemplate(v.Type().Elem()); ok {
			s.Index(i).Set(tmpl)
		}
		d.decode(ep, item, s.Index(i))
	}
	v.Set(s)
}

// elemTemplate gives the starting value of a new list element: accounts
// start from their defaults so absent keys keep them.
func elemTemplate(t reflect.Type) (reflect.Value, bool) {
	if t == reflect.TypeOf(Account{}) {
		return reflect.ValueOf(defaultAccount()), true
	}
	return reflect.Value{}, false
}

func (d *decoder) decodeMap(path string, n ast.Node, v reflect.Value) {
	pairs, ok := mappingValues(n)
	if !ok {
		d.fail(path, n, "", "want a mapping, not "+kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(path, n, "", "cannot be set from YAML")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, p := range pairs {
		key := keyText(p.Key)
		ev := reflect.New(v.Type().Elem()).Elem()
		fp := join(path, key)
		if m.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key())).IsValid() {
			d.fail(fp, p.Key, "", "key given twice")
			continue
		}
		d.decode(fp, p.Value, ev)
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}
