package jsonv_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/internal/jsonv"
	"github.com/mwi-agent/mwi-agent/agent/mqtt"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// fill sets v (settable) to a random value, with the strings, numbers
// and shapes where JSON encoders differ: HTML characters, control
// characters, U+2028, invalid UTF-8, tiny and huge floats, nil and empty
// slices and maps, nil pointers.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		t := time.Unix(rng.Int64N(4e9)-1e9, rng.Int64N(1e9))
		if rng.IntN(2) == 0 {
			t = t.UTC()
		} else {
			t = t.In(time.FixedZone("X", 3600*(rng.IntN(25)-12)))
		}
		if rng.IntN(5) == 0 {
			t = time.Time{}
		}
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rng.Int64()
		if rng.IntN(3) == 0 {
			n = int64(rng.IntN(5)) - 2
		}
		if v.OverflowInt(n) {
			n = int64(int8(n))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := rng.Uint64()
		if rng.IntN(3) == 0 {
			n = uint64(rng.IntN(3))
		}
		if v.OverflowUint(n) {
			n = uint64(uint8(n))
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f := []float64{0, 1, -1.5, 1e-7, 1e21, 123456789e10, 3.14159, -2.5e-9, 1e20, 0.000001, math.MaxFloat32}[rng.IntN(11)]
		v.SetFloat(f * (1 + float64(rng.IntN(3))))
	case reflect.String:
		parts := []string{"", "a", "Zimmer 101", "<b>&amp;</b>", "\"q\"", `back\slash`, "\x00\x1f\n\t\r\b\f", "\u2028\u2029", "\xff\xfe", "é€😀", "/", "\u007f"}
		var sb strings.Builder
		for range rng.IntN(4) {
			sb.WriteString(parts[rng.IntN(len(parts))])
		}
		v.SetString(sb.String())
	case reflect.Pointer:
		if depth > 4 || rng.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(rng, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch rng.IntN(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := rng.IntN(4)
			if depth > 4 {
				n = 0
			}
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(rng, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(rng, v.Index(i), depth+1)
		}
	case reflect.Map:
		if rng.IntN(4) == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(4) {
			k := reflect.New(v.Type().Key()).Elem()
			fill(rng, k, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(rng, e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), depth+1)
			}
		}
	case reflect.Interface:
		if v.NumMethod() > 0 {
			return
		}
		vals := []any{nil, "s<>", 1.5, true, map[string]any{"k": "v", "n": nil}, []any{1.0, "x"}, int64(7)}
		if x := vals[rng.IntN(len(vals))]; x != nil {
			v.Set(reflect.ValueOf(x))
		}
	}
}

// The agent's types: what they carry as JSON.
var types = []any{
	web.StateJSON{}, web.AccountJSON{}, agent.Diagnostics{}, state.Snapshot{}, state.ManualRequest{},
	mqtt.State{}, boards.Board{}, sim.Entry{}, map[string]any{}, []string{}, map[string]uint64{},
	struct {
		Changed []string `json:"changed"`
	}{},
	struct {
		A  int     `json:",omitempty"`
		B  string  `json:"b,omitempty"`
		C  float32 `json:"c"`
		D  [2]int  `json:"d"`
		E  *int    `json:"e,omitempty"`
		F  any     `json:"f"`
		G  []any   `json:"g"`
		H  uint8   `json:"h"`
		x  int
		Y  string `json:"-"`
		Z  string `json:"-,"`
		Q  string `json:"bad name!\\"`
		QQ bool   `json:"qq,omitempty"`
	}{},
}

// For random values of every type, encoding/json's encoding decodes to
// what encoding/json decodes, and so does the indented form.
func TestDecodesAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, proto := range types {
		typ := reflect.TypeOf(proto)
		for i := range 300 {
			v := reflect.New(typ)
			fill(rng, v.Elem(), 0)
			b, err := json.Marshal(v.Interface())
			if err != nil {
				continue
			}
			ind, _ := json.MarshalIndent(v.Interface(), "", "  ")
			for _, in := range [][]byte{b, ind} {
				wd, gd := reflect.New(typ), reflect.New(typ)
				werr := json.Unmarshal(in, wd.Interface())
				gerr := jsonv.Unmarshal(in, gd.Interface())
				if (werr == nil) != (gerr == nil) {
					t.Fatalf("%s #%d: Unmarshal(%s): %v, encoding/json %v", typ, i, in, gerr, werr)
				}
				if werr == nil && !reflect.DeepEqual(gd.Interface(), wd.Interface()) {
					t.Fatalf("%s #%d: Unmarshal(%s)\n got %#v\nwant %#v", typ, i, in, gd.Elem().Interface(), wd.Elem().Interface())
				}
			}
		}
	}
}

// decodeBoth decodes b into a new T with both packages (strict: unknown
// fields are errors) and fails when they disagree.
func decodeBoth[T any](t *testing.T, b []byte, strict bool) {
	var w, g T
	wd := json.NewDecoder(bytes.NewReader(b))
	gd := jsonv.NewDecoder(bytes.NewReader(b))
	if strict {
		wd.DisallowUnknownFields()
		gd.DisallowUnknownFields()
	}
	werr, gerr := wd.Decode(&w), gd.Decode(&g)
	if werr == nil && wd.More() != gd.More() {
		t.Fatalf("%T %q: More %v, encoding/json %v", w, b, gd.More(), wd.More())
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%T %q: %v, encoding/json %v", w, b, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(g, w) {
		t.Fatalf("%T %q:\n got %#v\nwant %#v", w, b, g, w)
	}
	var wu, gu T
	werr, gerr = json.Unmarshal(b, &wu), jsonv.Unmarshal(b, &gu)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("Unmarshal %T %q: %v, encoding/json %v", w, b, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(gu, wu) {
		t.Fatalf("Unmarshal %T %q:\n got %#v\nwant %#v", w, b, gu, wu)
	}
}

// FuzzDecode: any bytes decode as encoding/json decodes them (success or
// failure, and the value), into the request types and into any.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"action":"set","account":"room-101","new":2,"old":1,"urgent":1}`,
		`{"ACTION":"clear","all":true}`, `{"action":"set","new":-1}`, `{"new":1.5}`, `{"new":4294967296}`,
		`{"x":1}`, `{} {}`, `[1,"a",null,true,{"b":[]}]`, `"\ud83d\ude00\ud800\u00e9\/"`, `1e400`, `-0.0e+1`,
		`{"changed":["a","b"]}`, `{"changed":null}`, ` null `, `{"a":{"a":{"a":1}}}`, "\"\xff\"", `{"Accounts":[{"Name":"a","Classes":{"voice":{"new":1}},"Updated":"2026-12-01T10:00:00Z"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth[state.ManualRequest](t, b, true)
		decodeBoth[state.ManualRequest](t, b, false)
		decodeBoth[any](t, b, false)
		decodeBoth[struct {
			Changed []string `json:"changed"`
		}](t, b, false)
		decodeBoth[state.Snapshot](t, b, false)
		decodeBoth[map[string]int](t, b, false)
	})
}

func TestErrors(t *testing.T) {
	var r state.ManualRequest
	d := jsonv.NewDecoder(strings.NewReader(`{"action":"set","acount":"x"}`))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err == nil || !strings.Contains(err.Error(), `unknown field "acount"`) {
		t.Errorf("unknown field: %v", err)
	}
	if err := jsonv.Unmarshal([]byte(`{"action":`), &r); err == nil || !strings.Contains(err.Error(), "unexpected end") {
		t.Errorf("truncated: %v", err)
	}
	if err := jsonv.Unmarshal([]byte(`{}`), r); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
		t.Errorf("not a pointer: %v", err)
	}
	var m map[int]string
	if err := jsonv.Unmarshal([]byte(`{"1":"a"}`), &m); err == nil || !strings.Contains(err.Error(), "map keys must be strings") {
		t.Errorf("int keys: %v", err)
	}
	var e struct{ state.Counts }
	if err := jsonv.Unmarshal([]byte(`{"new":1}`), &e); err == nil || !strings.Contains(err.Error(), "embedded") {
		t.Errorf("embedded: %v", err)
	}
}
