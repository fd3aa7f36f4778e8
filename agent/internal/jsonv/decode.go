package jsonv

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Unmarshal decodes one JSON value from data into v (a non-nil pointer),
// as encoding/json.Unmarshal does; data holds nothing else but space.
func Unmarshal(data []byte, v any) error {
	d := decoder{data: data}
	if err := d.decode(v); err != nil {
		return err
	}
	if d.skipSpace(); d.off != len(d.data) {
		return d.errorf("data after the value")
	}
	return nil
}

// Decoder reads one value from a reader, like encoding/json.Decoder for
// a single value: Decode reads the reader to its end first.
type Decoder struct {
	r            io.Reader
	d            decoder
	read         bool
	strictFields bool
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// DisallowUnknownFields makes an object key that matches no field of the
// target struct an error.
func (dec *Decoder) DisallowUnknownFields() { dec.strictFields = true }

// Decode decodes the next value into v.
func (dec *Decoder) Decode(v any) error {
	if !dec.read {
		b, err := io.ReadAll(dec.r)
		if err != nil {
			return fmt.Errorf("jsonv: %w", err)
		}
		dec.d, dec.read = decoder{data: b}, true
	}
	dec.d.strict = dec.strictFields
	if dec.d.skipSpace(); dec.d.off == len(dec.d.data) {
		return io.EOF
	}
	return dec.d.decode(v)
}

// More reports whether another value follows the ones decoded, as
// encoding/json.Decoder.More does: anything but space, ']' or '}'.
func (dec *Decoder) More() bool {
	dec.d.skipSpace()
	return dec.d.off < len(dec.d.data) && dec.d.data[dec.d.off] != ']' && dec.d.data[dec.d.off] != '}'
}

type decoder struct {
	data     []byte
	off      int
	strict   bool
	skipping bool // syntax only: numbers are not converted
	depth    int
}

// SyntaxError is malformed JSON, with the byte offset where it was found.
type SyntaxError struct {
	Msg    string
	Offset int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("jsonv: %s at offset %d", e.Msg, e.Offset) }

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: d.off}
}

var timeType = reflect.TypeFor[time.Time]()

func (d *decoder) decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jsonv: decode into %T: want a non-nil pointer", v)
	}
	return d.value(rv.Elem())
}

func (d *decoder) skipSpace() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

func (d *decoder) peek() (byte, error) {
	d.skipSpace()
	if d.off >= len(d.data) {
		return 0, d.errorf("unexpected end of JSON input")
	}
	return d.data[d.off], nil
}

func (d *decoder) literal(word string) error {
	if !bytes.HasPrefix(d.data[d.off:], []byte(word)) {
		return d.errorf("invalid character %q looking for a value", d.data[d.off])
	}
	d.off += len(word)
	return nil
}

// typeError is a value of the wrong kind for its target.
func (d *decoder) typeError(what string, t reflect.Type) error {
	return fmt.Errorf("jsonv: cannot decode %s into a value of type %s (offset %d)", what, t, d.off)
}

// value decodes the next value into v (settable).
func (d *decoder) value(v reflect.Value) error {
	if d.depth++; d.depth > 10000 {
		return d.errorf("exceeded max depth")
	}
	defer func() { d.depth-- }()
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}
	// Pointers are allocated on the way to the value.
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		// time.Time's UnmarshalText, called directly: through the
		// encoding.TextUnmarshaler interface every UnmarshalText method in
		// the binary (x509, netip, big, slog, ...) would be linked.
		if c != '"' {
			if err := d.skip(); err != nil {
				return err
			}
			return d.typeError("a non-string", v.Type())
		}
		s, err := d.str()
		if err != nil {
			return err
		}
		if err := v.Addr().Interface().(*time.Time).UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("jsonv: %w", err)
		}
		return nil
	}
	if v.Kind() == reflect.Interface && v.NumMethod() == 0 {
		x, err := d.anyValue()
		if err != nil {
			return err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	switch c {
	case '{':
		return d.object(v)
	case '[':
		return d.array(v)
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		if v.Kind() != reflect.String {
			return d.typeError("a string", v.Type())
		}
		v.SetString(s)
		return nil
	case 't', 'f':
		word := "true"
		if c == 'f' {
			word = "false"
		}
		if err := d.literal(word); err != nil {
			return err
		}
		if v.Kind() != reflect.Bool {
			return d.typeError("a boolean", v.Type())
		}
		v.SetBool(c == 't')
		return nil
	}
	num, err := d.number()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return d.typeError("number "+num, v.Type())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || v.OverflowUint(n) {
			return d.typeError("number "+num, v.Type())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(num, v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			return d.typeError("number "+num, v.Type())
		}
		v.SetFloat(f)
	default:
		return d.typeError("number "+num, v.Type())
	}
	return nil
}

func (d *decoder) object(v reflect.Value) error {
	var fs []field
	switch v.Kind() {
	case reflect.Struct:
		var err error
		if fs, err = fields(v.Type()); err != nil {
			return err
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("jsonv: %s: map keys must be strings", v.Type())
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	default:
		if err := d.skip(); err != nil {
			return err
		}
		return d.typeError("an object", v.Type())
	}
	return d.members(func(key string) error {
		switch {
		case v.Kind() == reflect.Map:
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(e); err != nil {
				return err
			}
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(key)
			v.SetMapIndex(k, e)
			return nil
		case matchField(fs, key) != nil:
			return d.value(v.Field(matchField(fs, key).index))
		case d.strict:
			return fmt.Errorf("jsonv: unknown field %q", key)
		}
		return d.skip()
	})
}

// members calls fn for each key of the object at d.off, with d.off at
// the key's value, which fn decodes.
func (d *decoder) members(fn func(key string) error) error {
	return d.items('}', "an object key:value pair", func() error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c != '"' {
			return d.errorf("invalid character %q looking for an object key", c)
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		if c != ':' {
			return d.errorf("invalid character %q after an object key", c)
		}
		d.off++
		return fn(key)
	})
}

// elements calls fn for each element of the array at d.off, with d.off
// at the element, which fn decodes.
func (d *decoder) elements(fn func() error) error {
	return d.items(']', "an array element", fn)
}

// items walks an object or array (d.data[d.off] opens it, end closes
// it): each reads one item, then a ',' or end must follow.
func (d *decoder) items(end byte, what string, each func() error) error {
	d.off++
	for first := true; ; first = false {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == end && first {
			d.off++
			return nil
		}
		if err := each(); err != nil {
			return err
		}
		if c, err = d.peek(); err != nil {
			return err
		}
		d.off++
		switch c {
		case ',':
		case end:
			return nil
		default:
			return d.errorf("invalid character %q after %s", c, what)
		}
	}
}

// matchField finds the field for key: the exact name first, then one
// equal under Unicode case folding (encoding/json's rule).
func matchField(fs []field, key string) *field {
	for i := range fs {
		if fs[i].name == key {
			return &fs[i]
		}
	}
	for i := range fs {
		if strings.EqualFold(fs[i].name, key) {
			return &fs[i]
		}
	}
	return nil
}

func (d *decoder) array(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
	default:
		if err := d.skip(); err != nil {
			return err
		}
		return d.typeError("an array", v.Type())
	}
	if v.Kind() == reflect.Slice && !v.IsNil() {
		v.SetLen(0) // as encoding/json: the slice's elements are replaced
	}
	i := 0
	err := d.elements(func() error {
		defer func() { i++ }()
		switch {
		case v.Kind() == reflect.Slice:
			e := reflect.New(v.Type().Elem()).Elem()
			if err := d.value(e); err != nil {
				return err
			}
			v.Set(reflect.Append(v, e))
			return nil
		case i < v.Len():
			return d.value(v.Index(i))
		}
		return d.skip()
	})
	if err != nil {
		return err
	}
	if v.Kind() == reflect.Slice && v.IsNil() {
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	}
	for ; v.Kind() == reflect.Array && i < v.Len(); i++ {
		v.Index(i).SetZero()
	}
	return nil
}

// skip passes over one value, checking its syntax.
func (d *decoder) skip() error {
	was := d.skipping
	d.skipping = true
	_, err := d.anyValue()
	d.skipping = was
	return err
}

// anyValue decodes into the generic types: map[string]any, []any,
// string, float64, bool or nil.
func (d *decoder) anyValue() (any, error) {
	if d.depth++; d.depth > 10000 {
		return nil, d.errorf("exceeded max depth")
	}
	defer func() { d.depth-- }()
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case 'n':
		return nil, d.literal("null")
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case '"':
		return d.str()
	case '{':
		m := map[string]any{}
		return m, d.members(func(key string) (err error) {
			m[key], err = d.anyValue()
			return err
		})
	case '[':
		a := []any{}
		err := d.elements(func() error {
			x, err := d.anyValue()
			a = append(a, x)
			return err
		})
		return a, err
	}
	num, err := d.number()
	if err != nil || d.skipping {
		return nil, err
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, d.typeError("number "+num, reflect.TypeFor[float64]())
	}
	return f, nil
}

// number reads a JSON number (RFC 8259 section 6) and returns its text.
func (d *decoder) number() (string, error) {
	start, i := d.off, d.off
	digits := func() int {
		n := 0
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	if i < len(d.data) && d.data[i] == '0' {
		i++
	} else if digits() == 0 {
		if i < len(d.data) {
			d.off = i
			return "", d.errorf("invalid character %q looking for a value", d.data[i])
		}
		d.off = i
		return "", d.errorf("unexpected end of JSON input")
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if digits() == 0 {
			d.off = i
			return "", d.errorf("invalid number: no digit after the decimal point")
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.off = i
			return "", d.errorf("invalid number: no digit in the exponent")
		}
	}
	d.off = i
	return string(d.data[start:i]), nil
}

// str reads a JSON string (d.data[d.off] is '"'): escapes decoded,
// invalid UTF-8 and lone surrogates replaced by U+FFFD.
func (d *decoder) str() (string, error) {
	d.off++
	var b []byte
	start := d.off
	for {
		if d.off >= len(d.data) {
			return "", d.errorf("unexpected end of JSON input")
		}
		c := d.data[d.off]
		switch {
		case c == '"':
			s := string(append(b, d.data[start:d.off]...))
			d.off++
			return s, nil
		case c < 0x20:
			return "", d.errorf("invalid character %q in string literal", c)
		case c == '\\':
			b = append(b, d.data[start:d.off]...)
			d.off++
			if d.off >= len(d.data) {
				return "", d.errorf("unexpected end of JSON input")
			}
			e := d.data[d.off]
			d.off++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.errorf("invalid \\u escape in string literal")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if d.off+1 < len(d.data) && d.data[d.off] == '\\' && d.data[d.off+1] == 'u' {
						save := d.off
						d.off += 2
						if x, ok := d.hex4(); ok && utf16.DecodeRune(r, x) != utf8.RuneError {
							r2 = utf16.DecodeRune(r, x)
						} else {
							d.off = save
						}
					}
					r = r2
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", d.errorf("invalid escape character %q in string literal", e)
			}
			start = d.off
		case c < utf8.RuneSelf:
			d.off++
		default:
			r, size := utf8.DecodeRune(d.data[d.off:])
			if r == utf8.RuneError && size == 1 {
				b = append(append(b, d.data[start:d.off]...), "\uFFFD"...)
				d.off++
				start = d.off
				continue
			}
			d.off += size
		}
	}
}

func (d *decoder) hex4() (rune, bool) {
	if d.off+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.off : d.off+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.off += 4
	return r, true
}
