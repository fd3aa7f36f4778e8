package tone

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AMDepth is the modulation depth of an Asterisk "f1*f2" element: f1 is
// amplitude-modulated by f2 at 90 %, as Asterisk's indications.conf defines.
const AMDepth = 0.9

// MaxFreq is the highest frequency a plan may name. A generator silences
// any component at or above half its sample rate.
const MaxFreq = 20000

// maxSegment bounds one element's duration (1 hour), so that sample counts
// cannot overflow on any platform.
const maxSegment = 3600 * 1000

// Segment is one element of a tone plan: up to two frequencies, mixed
// ("f1+f2") or modulated ("f1*f2"), for Duration, or forever when Duration
// is 0. A segment with no frequency (F1 == 0) is silence.
type Segment struct {
	F1, F2 float64 // Hz; 0 = not used
	// Level1 and Level2 are the components' levels in dBm0, or NaN for the
	// generator's default (Options.LevelDBm0). They come from the "@level"
	// extension, e.g. "350@-19+440@-19".
	Level1, Level2 float64
	Modulate       bool          // F1 is amplitude-modulated by F2 (AMDepth)
	Duration       time.Duration // 0 = continuous
	Once           bool          // "!" prefix: played on the first pass only
}

// Silent reports whether the segment plays nothing.
func (s Segment) Silent() bool { return s.F1 == 0 && s.F2 == 0 }

// String formats the segment in indications syntax.
func (s Segment) String() string {
	var b strings.Builder
	if s.Once {
		b.WriteByte('!')
	}
	b.WriteString(formatFreq(s.F1, s.Level1))
	if s.F2 != 0 {
		if s.Modulate {
			b.WriteByte('*')
		} else {
			b.WriteByte('+')
		}
		b.WriteString(formatFreq(s.F2, s.Level2))
	}
	if s.Duration > 0 {
		b.WriteByte('/')
		b.WriteString(strconv.FormatInt(s.Duration.Milliseconds(), 10))
	}
	return b.String()
}

func formatFreq(f, level float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !math.IsNaN(level) {
		s += "@" + strconv.FormatFloat(level, 'f', -1, 64)
	}
	return s
}

// Plan is a parsed tone: segments played in order. When the end is reached
// the plan repeats from Loop, the first segment without "!" (as in
// Asterisk, later "!" segments are then repeated too). Loop is -1 when every
// segment has "!": the plan is finite. A segment with no duration plays
// forever, so nothing after it is reached.
type Plan struct {
	Segments []Segment
	Loop     int
}

// Finite reports whether the plan ends.
func (p Plan) Finite() bool {
	if p.Loop >= 0 {
		return false
	}
	for _, s := range p.Segments {
		if s.Duration == 0 {
			return false
		}
	}
	return true
}

// String formats the plan in indications syntax; ParsePlan(p.String())
// returns an equal plan.
func (p Plan) String() string {
	parts := make([]string, len(p.Segments))
	for i, s := range p.Segments {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ParseError is a bad element in a tone string. Element is 1-based, Offset
// the byte offset of the element in the whole string.
type ParseError struct {
	Input   string
	Element int
	Offset  int
	Text    string // the element as written
	Problem string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("tone: element %d %q (offset %d) of %q: %s", e.Element, e.Text, e.Offset, e.Input, e.Problem)
}

// ParsePlan parses a tone in Asterisk's indications.conf syntax:
//
//	tonelist = element *("," element)
//	element  = ["!"] freq [("+" / "*") freq] ["/" duration-ms]
//	freq     = 1*DIGIT ["." 1*DIGIT] ["@" level-dBm0]
//
// "0" is silence, no duration means continuous, "!" marks an element played
// once; "+" mixes two frequencies and "*" amplitude-modulates the first by
// the second at 90 % depth. The "@level" suffix (e.g. "350@-19+440@-19") is
// an extension of this package that sets a component's level in dBm0;
// Asterisk itself has no per-tone level. Asterisk's "M" (MIDI note) form is
// not supported. Spaces around elements are ignored.
func ParsePlan(s string) (Plan, error) {
	p := Plan{Loop: -1}
	if strings.TrimSpace(s) == "" {
		return p, fmt.Errorf("tone: empty tone string")
	}
	off := 0
	for i, raw := range strings.Split(s, ",") {
		start := off
		off += len(raw) + 1
		lead := len(raw) - len(strings.TrimLeft(raw, " \t"))
		el := strings.TrimSpace(raw)
		seg, problem := parseElement(el)
		if problem != "" {
			return Plan{}, &ParseError{Input: s, Element: i + 1, Offset: start + lead, Text: el, Problem: problem}
		}
		if !seg.Once && p.Loop < 0 {
			p.Loop = i
		}
		p.Segments = append(p.Segments, seg)
	}
	return p, nil
}

// MustParsePlan is ParsePlan for constant strings; it panics on error.
func MustParsePlan(s string) Plan {
	p, err := ParsePlan(s)
	if err != nil {
		panic(err)
	}
	return p
}

func parseElement(el string) (Segment, string) {
	seg := Segment{Level1: math.NaN(), Level2: math.NaN()}
	if el == "" {
		return seg, "empty element"
	}
	if el[0] == '!' {
		seg.Once = true
		el = el[1:]
	}
	if strings.HasPrefix(el, "M") || strings.HasPrefix(el, "m") {
		return seg, "MIDI note elements (M…) are not supported; give frequencies in Hz"
	}
	freqs, dur, hasDur := el, "", false
	if i := strings.IndexByte(el, '/'); i >= 0 {
		freqs, dur, hasDur = el[:i], el[i+1:], true
	}
	if hasDur {
		ms, err := strconv.Atoi(dur)
		if err != nil || ms < 0 {
			return seg, fmt.Sprintf("bad duration %q: want milliseconds, a whole number ≥ 0", dur)
		}
		if ms > maxSegment {
			return seg, fmt.Sprintf("duration %d ms is longer than one hour", ms)
		}
		if ms == 0 {
			return seg, "duration 0: leave the duration out for a continuous tone"
		}
		seg.Duration = time.Duration(ms) * time.Millisecond
	}
	op := strings.IndexAny(freqs, "+*")
	first, second := freqs, ""
	if op >= 0 {
		first, second = freqs[:op], freqs[op+1:]
		seg.Modulate = freqs[op] == '*'
		if strings.ContainsAny(second, "+*") {
			return seg, "more than two frequencies (Asterisk mixes at most two)"
		}
	}
	var problem string
	if seg.F1, seg.Level1, problem = parseFreq(first); problem != "" {
		return seg, problem
	}
	if op >= 0 {
		if seg.F2, seg.Level2, problem = parseFreq(second); problem != "" {
			return seg, problem
		}
		if seg.Modulate && (seg.F1 == 0 || seg.F2 == 0) {
			return seg, "modulation (f1*f2) needs two non-zero frequencies"
		}
		if seg.Modulate && !math.IsNaN(seg.Level2) {
			return seg, "a modulating frequency has no level of its own"
		}
	}
	if seg.F1 == 0 && seg.F2 != 0 {
		seg.F1, seg.F2, seg.Level1, seg.Level2 = seg.F2, 0, seg.Level2, math.NaN()
	}
	return seg, ""
}

func parseFreq(s string) (f, level float64, problem string) {
	level = math.NaN()
	if i := strings.IndexByte(s, '@'); i >= 0 {
		l, err := strconv.ParseFloat(s[i+1:], 64)
		if err != nil || math.IsNaN(l) || math.IsInf(l, 0) {
			return 0, level, fmt.Sprintf("bad level %q: want dBm0, e.g. @-13", s[i+1:])
		}
		if l > 3 || l < -90 {
			return 0, level, fmt.Sprintf("level %g dBm0 out of range [-90, +3]", l)
		}
		level, s = l, s[:i]
	}
	if s == "" {
		return 0, level, "missing frequency"
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return 0, level, fmt.Sprintf("bad frequency %q: want Hz, e.g. 425", s)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, level, fmt.Sprintf("bad frequency %q: want Hz, e.g. 425", s)
	}
	if f > MaxFreq {
		return 0, level, fmt.Sprintf("frequency %g Hz above %d Hz", f, MaxFreq)
	}
	if f == 0 && !math.IsNaN(level) {
		return 0, level, "silence (0) has no level"
	}
	return f, level, ""
}

// Duration is the length of one pass through the plan (every segment
// once), and false if some segment is continuous.
func (p Plan) Duration() (time.Duration, bool) {
	var d time.Duration
	for _, s := range p.Segments {
		if s.Duration == 0 {
			return 0, false
		}
		d += s.Duration
	}
	return d, true
}
