package tone

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Format is a visual-MWI message format.
type Format int

const (
	// SDMF is Bellcore's single data message format: type 0x06 with the
	// body 42 42 42 (on) or 6F 6F 6F (off).
	SDMF Format = iota
	// MDMF is Bellcore's multiple data message format: type 0x82 with the
	// visual indicator parameter 0x0B = FF (on) or 00 (off), optionally
	// preceded by the date and time (0x01).
	MDMF
	// ETSI is the ETSI EN 300 659-3 message waiting message: like MDMF,
	// plus the number of messages (parameter 0x13).
	ETSI
)

// Message types and parameter types.
const (
	TypeSDMFCallerID = 0x04
	TypeSDMFMWI      = 0x06
	TypeMDMFCallerID = 0x80
	TypeMDMFMWI      = 0x82

	ParamDateTime   = 0x01
	ParamVisualMWI  = 0x0B
	ParamMessageID  = 0x0D
	ParamNumMessage = 0x13
)

func (f Format) String() string {
	switch f {
	case SDMF:
		return "sdmf"
	case MDMF:
		return "mdmf"
	case ETSI:
		return "etsi"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads "sdmf", "mdmf" or "etsi" (as in the fxs.fsk_format
// setting).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sdmf":
		return SDMF, nil
	case "mdmf":
		return MDMF, nil
	case "etsi":
		return ETSI, nil
	}
	return 0, fmt.Errorf("tone: unknown message format %q (want sdmf, mdmf or etsi)", s)
}

// MsgOptions add the optional parameters of MDMF and ETSI messages.
type MsgOptions struct {
	// Time, if not zero, adds the date and time parameter (0x01,
	// "MMDDHHMM" in the time's own location). SDMF ignores it.
	Time time.Time
	// Count is the number of waiting messages for ETSI (parameter 0x13,
	// one binary byte, clamped to 1..255 while messages wait). 0 or less
	// with the indicator on sends 1, "one or an unspecified number": 0x00
	// means "no messages" and would contradict the indicator (ETSI EN 300
	// 659-3). An "off" message sends 0. SDMF and MDMF ignore it.
	Count int
}

// Checksum is the two's complement of the modulo-256 sum of b: appending it
// makes the sum of the whole message zero.
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// MWIMessage builds a complete message-waiting message: type, length,
// body and checksum, ready for ModulateFSK.
func MWIMessage(f Format, on bool, opt MsgOptions) []byte {
	var msg []byte
	switch f {
	case SDMF:
		b := byte(0x6F)
		if on {
			b = 0x42
		}
		msg = []byte{TypeSDMFMWI, 3, b, b, b}
	default:
		body := make([]byte, 0, 16)
		if !opt.Time.IsZero() {
			t := opt.Time
			body = append(body, ParamDateTime, 8)
			body = fmt.Appendf(body, "%02d%02d%02d%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
		}
		v := byte(0x00)
		if on {
			v = 0xFF
		}
		body = append(body, ParamVisualMWI, 1, v)
		if f == ETSI {
			n := opt.Count
			switch {
			case !on:
				n = 0
			case n < 1:
				n = 1
			}
			if n > 255 {
				n = 255
			}
			body = append(body, ParamNumMessage, 1, byte(n))
		}
		msg = append([]byte{TypeMDMFMWI, byte(len(body))}, body...)
	}
	return append(msg, Checksum(msg))
}

// Param is one MDMF parameter.
type Param struct {
	Type  byte
	Value []byte
}

// Message is a parsed on-hook data message.
type Message struct {
	Type   byte
	Body   []byte  // between the length and the checksum
	Params []Param // for MDMF types (0x80-0xFF)
	Raw    []byte  // the whole message including the checksum
}

// Errors from ParseMessage.
var (
	ErrShort    = errors.New("tone: message too short")
	ErrChecksum = errors.New("tone: message checksum mismatch")
)

// ParseMessage parses one message at the start of b: type, length, body
// and checksum. It returns the number of bytes used. The checksum must be
// right; MDMF parameters must fill the body exactly.
func ParseMessage(b []byte) (Message, int, error) {
	if len(b) < 3 {
		return Message{}, 0, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	n := int(b[1]) + 3
	if len(b) < n {
		return Message{}, 0, fmt.Errorf("%w: length byte says %d bytes of body, have %d", ErrShort, b[1], len(b)-3)
	}
	raw := b[:n]
	var sum byte
	for _, c := range raw {
		sum += c
	}
	if sum != 0 {
		return Message{}, 0, fmt.Errorf("%w: type %#02x, got %#02x, want %#02x", ErrChecksum, b[0], b[n-1], Checksum(raw[:n-1]))
	}
	m := Message{Type: b[0], Body: raw[2 : n-1], Raw: raw}
	if m.Type&0x80 != 0 {
		body := m.Body
		for len(body) > 0 {
			if len(body) < 2 || len(body) < 2+int(body[1]) {
				return Message{}, 0, fmt.Errorf("tone: message type %#02x: parameter %#02x overruns the body", m.Type, body[0])
			}
			m.Params = append(m.Params, Param{Type: body[0], Value: body[2 : 2+int(body[1])]})
			body = body[2+int(body[1]):]
		}
	}
	return m, n, nil
}

// FindMessage returns the first valid message in a demodulated byte stream
// (which may begin with channel-seizure 0x55 bytes or noise). If none is
// valid it returns the error of the first plausible one.
func FindMessage(stream []byte) (Message, error) {
	m, _, err := findMessage(stream)
	return m, err
}

func findMessage(stream []byte) (Message, int, error) {
	var first error
	for i := 0; i < len(stream); i++ {
		switch stream[i] {
		case TypeSDMFCallerID, TypeSDMFMWI, TypeMDMFCallerID, TypeMDMFMWI, 0x86, 0x89:
		default:
			continue
		}
		m, _, err := ParseMessage(stream[i:])
		if err == nil {
			return m, i, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("tone: no message in %d decoded bytes", len(stream))
	}
	return Message{}, -1, first
}

// Param returns the first parameter of type t.
func (m Message) Param(t byte) ([]byte, bool) {
	for _, p := range m.Params {
		if p.Type == t {
			return p.Value, true
		}
	}
	return nil, false
}

// MWI reports the indicator state a message-waiting message sets; ok is
// false for other messages.
func (m Message) MWI() (on, ok bool) {
	switch m.Type {
	case TypeSDMFMWI:
		if len(m.Body) == 3 && m.Body[0] == m.Body[1] && m.Body[1] == m.Body[2] {
			switch m.Body[0] {
			case 0x42:
				return true, true
			case 0x6F:
				return false, true
			}
		}
	case TypeMDMFMWI:
		if v, found := m.Param(ParamVisualMWI); found && len(v) == 1 {
			switch v[0] {
			case 0xFF:
				return true, true
			case 0x00:
				return false, true
			}
		}
	}
	return false, false
}

// Count returns the ETSI number of messages, if present.
func (m Message) Count() (int, bool) {
	if v, ok := m.Param(ParamNumMessage); ok && len(v) == 1 {
		return int(v[0]), true
	}
	return 0, false
}

// DateTime returns the MMDDHHMM date and time parameter, if present.
func (m Message) DateTime() (string, bool) {
	if v, ok := m.Param(ParamDateTime); ok {
		return string(v), true
	}
	return "", false
}

// Format tells which message format m is (SDMF, MDMF, or ETSI when it has
// the number-of-messages parameter).
func (m Message) Format() Format {
	if m.Type&0x80 == 0 {
		return SDMF
	}
	if _, ok := m.Count(); ok {
		return ETSI
	}
	return MDMF
}

// String describes the message in one line, e.g.
// "mdmf message waiting on (82 03 0b 01 ff 70)".
func (m Message) String() string {
	var b strings.Builder
	on, ok := m.MWI()
	switch {
	case ok && on:
		fmt.Fprintf(&b, "%s message waiting on", m.Format())
	case ok:
		fmt.Fprintf(&b, "%s message waiting off", m.Format())
	default:
		fmt.Fprintf(&b, "message type %#02x", m.Type)
	}
	if n, ok := m.Count(); ok {
		fmt.Fprintf(&b, ", %d messages", n)
	}
	if t, ok := m.DateTime(); ok {
		fmt.Fprintf(&b, ", time %s", t)
	}
	fmt.Fprintf(&b, " (% x)", m.Raw)
	return b.String()
}
