package summary

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// Waiting is the Messages-Waiting status carried by a body.
type Waiting int

const (
	// WaitingNone means the body carried no information at all (an empty
	// body). It is not "no messages": the mailbox state is unknown.
	WaitingNone Waiting = iota
	// WaitingNo is "Messages-Waiting: no".
	WaitingNo
	// WaitingYes is "Messages-Waiting: yes".
	WaitingYes
)

func (w Waiting) String() string {
	switch w {
	case WaitingNo:
		return "no"
	case WaitingYes:
		return "yes"
	case WaitingNone:
		return "none"
	}
	return "waiting(" + strconv.Itoa(int(w)) + ")"
}

// State maps the body's status to the agent's state: WaitingNone becomes
// state.WaitingUnknown.
func (w Waiting) State() state.Waiting {
	switch w {
	case WaitingNo:
		return state.WaitingNo
	case WaitingYes:
		return state.WaitingYes
	}
	return state.WaitingUnknown
}

// Summary is one parsed message-summary body.
type Summary struct {
	Waiting Waiting
	// Account is the Message-Account URI, "" if absent.
	Account string
	// Classes maps a lower-case message-context class ("voice-message",
	// "fax-message", or any unknown class) to its counts. Nil when the body
	// has no usable count line.
	Classes map[string]state.Counts
	// Headers are the optional message headers after the blank line, in
	// order.
	Headers []Header
}

// Voice returns the voice-message counts (zero if absent).
func (s Summary) Voice() state.Counts { return s.Classes[state.ClassVoice] }

// Header is one optional message header (RFC 3842 opt-msg-headers), e.g.
// "Subject: carpool tomorrow?". Name keeps the case it was sent in; folded
// values are unfolded with a single space. Block numbers the groups of
// headers separated by blank lines (one group per message), from 0.
type Header struct {
	Name  string
	Value string
	Block int
}

// Warning is a problem in one line that Parse skipped. Line is 1-based.
type Warning struct {
	Line int
	Text string
}

func (w Warning) String() string { return "line " + strconv.Itoa(w.Line) + ": " + w.Text }

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("summary: malformed body")

// MaxWarnings bounds the warnings one Parse lists; when more lines are
// skipped, one more warning says how many.
const MaxWarnings = 16

const (
	nameStatus  = "messages-waiting"
	nameAccount = "message-account"
)

// knownClasses are the RFC 3458 classes in the order Format writes them.
var knownClasses = [...]string{
	state.ClassVoice, state.ClassFax, state.ClassPager,
	state.ClassMultimedia, state.ClassText, state.ClassNone,
}

// Parse parses an application/simple-message-summary body.
//
// An empty (or all-white-space) body returns WaitingNone and no error.
// Lines Parse had to skip are returned as warnings. The error, wrapping
// ErrMalformed, is returned only when the body cannot be used at all: it
// has no valid Messages-Waiting line.
func Parse(body []byte) (Summary, []Warning, error) {
	var (
		s         Summary
		p         parser
		haveState bool
		badState  string // first invalid status value, for the error
		badLine   int
		inHeaders bool // past the blank line
		block     = -1 // current header block, -1 = none yet
		lastHdr   = -1 // index of the previous header in this block, for folding
		seenAny   bool // a non-blank line has been seen
	)
	lineNo := 0
	for rest := body; len(rest) > 0; {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil
		}
		lineNo++
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		line = trim(line)
		if len(line) == 0 {
			if seenAny {
				inHeaders = true
				lastHdr = -1
			}
			continue
		}
		seenAny = true

		if inHeaders {
			if folded && lastHdr >= 0 {
				h := &s.Headers[lastHdr]
				if h.Value == "" {
					h.Value = string(line)
				} else {
					h.Value = h.Value + " " + string(line)
				}
				continue
			}
			name, value, ok := splitHeader(line)
			if !ok {
				p.warn(lineNo, "not a header", line)
				continue
			}
			if lastHdr < 0 {
				block++
			}
			s.Headers = append(s.Headers, Header{Name: string(name), Value: string(value), Block: block})
			lastHdr = len(s.Headers) - 1
			continue
		}

		name, value, ok := splitHeader(line)
		if !ok {
			p.warn(lineNo, "not a header", line)
			continue
		}
		switch {
		case equalFold(name, nameStatus):
			var w Waiting
			switch {
			case equalFold(value, "yes"):
				w = WaitingYes
			case equalFold(value, "no"):
				w = WaitingNo
			default:
				if badLine == 0 {
					badState, badLine = string(value), lineNo
				}
				p.warn(lineNo, "Messages-Waiting is neither yes nor no", line)
				continue
			}
			if haveState {
				if w != s.Waiting {
					p.warn(lineNo, "conflicting Messages-Waiting ignored", line)
				} else {
					p.warn(lineNo, "duplicate Messages-Waiting ignored", line)
				}
				continue
			}
			s.Waiting, haveState = w, true
		case equalFold(name, nameAccount):
			if len(value) == 0 {
				p.warn(lineNo, "empty Message-Account", line)
				continue
			}
			if s.Account != "" {
				p.warn(lineNo, "duplicate Message-Account ignored", line)
				continue
			}
			s.Account = string(value)
		default:
			c, problem := parseCounts(value)
			if problem != "" {
				p.warn(lineNo, problem, line)
				continue
			}
			class := className(name)
			if _, dup := s.Classes[class]; dup {
				p.warn(lineNo, "duplicate class ignored", line)
				continue
			}
			if s.Classes == nil {
				s.Classes = make(map[string]state.Counts, 2)
			}
			s.Classes[class] = c
		}
	}
	if !seenAny {
		return Summary{}, nil, nil
	}
	if !haveState {
		if badLine > 0 {
			return Summary{}, p.done(), fmt.Errorf("%w: line %d: Messages-Waiting %s is neither yes nor no", ErrMalformed, badLine, quote([]byte(badState)))
		}
		return Summary{}, p.done(), fmt.Errorf("%w: no Messages-Waiting line", ErrMalformed)
	}
	return s, p.done(), nil
}

// parser collects warnings, bounded by MaxWarnings.
type parser struct {
	warnings  []Warning
	dropped   int
	firstDrop int
}

func (p *parser) warn(line int, text string, content []byte) {
	if len(p.warnings) >= MaxWarnings {
		if p.dropped == 0 {
			p.firstDrop = line
		}
		p.dropped++
		return
	}
	p.warnings = append(p.warnings, Warning{Line: line, Text: text + ": " + quote(content)})
}

func (p *parser) done() []Warning {
	if p.dropped > 0 {
		return append(p.warnings, Warning{Line: p.firstDrop, Text: "too many warnings; " + strconv.Itoa(p.dropped) + " more skipped lines not listed"})
	}
	return p.warnings
}

// quote quotes a line for a warning, shortened to 64 bytes.
func quote(b []byte) string {
	const max = 64
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// trim removes spaces, tabs and carriage returns at both ends.
func trim(b []byte) []byte {
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// splitHeader splits "Name : value" at the first colon. The name must be a
// non-empty RFC 3261 token.
func splitHeader(line []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, nil, false
	}
	name = trim(line[:i])
	if len(name) == 0 {
		return nil, nil, false
	}
	for _, c := range name {
		if !isToken(c) {
			return nil, nil, false
		}
	}
	return name, trim(line[i+1:]), true
}

// tokenChars marks the RFC 3261 token characters.
var tokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-.!%*_+`'~", b) >= 0
	}
	return t
}()

// isToken reports whether c is an RFC 3261 token character.
func isToken(c byte) bool { return tokenChars[c] }

// equalFold compares an ASCII byte slice with a lower-case string.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// className returns the lower-case class name, without allocating for the
// RFC 3458 classes.
func className(name []byte) string {
	for _, k := range knownClasses {
		if equalFold(name, k) {
			return k
		}
	}
	out := make([]byte, len(name))
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

// parseCounts parses `new/old [(urgent-new/urgent-old)]` with white space
// allowed around every token. It returns a problem description instead of
// the counts when the value is unusable.
func parseCounts(v []byte) (state.Counts, string) {
	var c state.Counts
	sc := scanner{b: v}
	var ok bool
	if c.New, ok = sc.count(); !ok {
		return c, sc.problem()
	}
	if !sc.punct('/') {
		return c, "no '/' between new and old counts"
	}
	if c.Old, ok = sc.count(); !ok {
		return c, sc.problem()
	}
	sc.skipWS()
	if sc.done() {
		return c, ""
	}
	if !sc.punct('(') {
		return c, "unexpected text after the counts"
	}
	if c.UrgentNew, ok = sc.count(); !ok {
		return c, sc.problem()
	}
	if !sc.punct('/') {
		return c, "no '/' between urgent counts"
	}
	if c.UrgentOld, ok = sc.count(); !ok {
		return c, sc.problem()
	}
	if !sc.punct(')') {
		return c, "no ')' after urgent counts"
	}
	sc.skipWS()
	if !sc.done() {
		return c, "unexpected text after the counts"
	}
	return c, ""
}

type scanner struct {
	b   []byte
	i   int
	neg bool // the failed count was negative
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) && isWS(s.b[s.i]) {
		s.i++
	}
}

func (s *scanner) done() bool { return s.i >= len(s.b) }

func (s *scanner) punct(c byte) bool {
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// count reads 1*DIGIT, saturating at 2^32-1.
func (s *scanner) count() (uint32, bool) {
	s.skipWS()
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.neg = true
		return 0, false
	}
	start := s.i
	var n uint64
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		if n <= math.MaxUint32 {
			n = n*10 + uint64(s.b[s.i]-'0')
		}
		s.i++
	}
	if s.i == start {
		return 0, false
	}
	if n > math.MaxUint32 {
		n = math.MaxUint32
	}
	return uint32(n), true
}

func (s *scanner) problem() string {
	if s.neg {
		return "negative count"
	}
	return "count is not a number"
}

// Format writes s as an application/simple-message-summary body with CRLF
// line ends: the status line, Message-Account, the counts (RFC 3458
// classes first in RFC order, then unknown classes sorted; urgent counts
// only when not zero) and the message headers, one blank line before each
// header block. It is the inverse of Parse for every Summary Parse can
// return. WaitingNone formats as an empty body.
func Format(s Summary) []byte {
	if s.Waiting != WaitingYes && s.Waiting != WaitingNo {
		return nil
	}
	var b bytes.Buffer
	b.Grow(64 + 32*len(s.Classes) + 48*len(s.Headers))
	b.WriteString("Messages-Waiting: ")
	b.WriteString(s.Waiting.String())
	b.WriteString("\r\n")
	if s.Account != "" {
		b.WriteString("Message-Account: ")
		b.WriteString(s.Account)
		b.WriteString("\r\n")
	}
	for _, k := range knownClasses {
		if c, ok := s.Classes[k]; ok {
			writeClass(&b, k, c)
		}
	}
	if len(s.Classes) > 0 {
		var other []string
		for k := range s.Classes {
			if !isKnown(k) {
				other = append(other, k)
			}
		}
		sort.Strings(other)
		for _, k := range other {
			writeClass(&b, k, s.Classes[k])
		}
	}
	block := -1
	for i, h := range s.Headers {
		if i == 0 || h.Block != block {
			b.WriteString("\r\n")
			block = h.Block
		}
		b.WriteString(h.Name)
		b.WriteByte(':')
		if h.Value != "" {
			b.WriteByte(' ')
			b.WriteString(h.Value)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func isKnown(k string) bool {
	for _, c := range knownClasses {
		if c == k {
			return true
		}
	}
	return false
}

// writeClass writes "Voice-Message: 1/2 (0/1)" with each word of the class
// name capitalised.
func writeClass(b *bytes.Buffer, class string, c state.Counts) {
	up := true
	for i := 0; i < len(class); i++ {
		ch := class[i]
		if up && 'a' <= ch && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		up = ch == '-'
		b.WriteByte(ch)
	}
	var num [10]byte
	b.WriteString(": ")
	b.Write(strconv.AppendUint(num[:0], uint64(c.New), 10))
	b.WriteByte('/')
	b.Write(strconv.AppendUint(num[:0], uint64(c.Old), 10))
	if c.UrgentNew != 0 || c.UrgentOld != 0 {
		b.WriteString(" (")
		b.Write(strconv.AppendUint(num[:0], uint64(c.UrgentNew), 10))
		b.WriteByte('/')
		b.Write(strconv.AppendUint(num[:0], uint64(c.UrgentOld), 10))
		b.WriteByte(')')
	}
	b.WriteString("\r\n")
}
