package summary

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

func TestParseTable(t *testing.T) {
	voice := func(n, o, un, uo uint32) map[string]state.Counts {
		return map[string]state.Counts{state.ClassVoice: {New: n, Old: o, UrgentNew: un, UrgentOld: uo}}
	}
	tests := []struct {
		name      string
		body      string
		want      Summary
		warnLines []int // lines the warnings name, in order
		warnText  string
		err       string
	}{
		{name: "empty", body: "", want: Summary{Waiting: WaitingNone}},
		{name: "nil body only newlines", body: "\n\n", want: Summary{Waiting: WaitingNone}},
		{name: "status only, no line end", body: "Messages-Waiting: no", want: Summary{Waiting: WaitingNo}},
		{name: "yes with counts", body: "Messages-Waiting: yes\r\nVoice-Message: 2/8 (0/2)\r\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(2, 8, 0, 2)}},
		{name: "case-insensitive names and value", body: "MESSAGES-WAITING: Yes\nvOiCe-MeSsAgE: 1/0\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(1, 0, 0, 0)}},
		{name: "white space around every token", body: "Messages-Waiting\t:\tyes \r\nVoice-Message :\t1 / 2 ( 3 / 4 ) \r\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(1, 2, 3, 4)}},
		{name: "no white space at all", body: "Messages-Waiting:yes\r\nVoice-Message:1/2(3/4)\r\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(1, 2, 3, 4)}},
		{name: "leading blank lines", body: "\r\n\r\nMessages-Waiting: yes\r\n", want: Summary{Waiting: WaitingYes}},
		{name: "message account", body: "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.com;user=phone\r\n",
			want: Summary{Waiting: WaitingYes, Account: "sip:*97@pbx.example.com;user=phone"}},
		{name: "negative count keeps status", body: "Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n",
			want: Summary{Waiting: WaitingYes}, warnLines: []int{2}, warnText: "negative count"},
		{name: "negative old count", body: "Messages-Waiting: no\r\nVoice-Message: 0/-3\r\n",
			want: Summary{Waiting: WaitingNo}, warnLines: []int{2}, warnText: "negative count"},
		{name: "bad line does not hide good ones", body: "Messages-Waiting: yes\r\nFax-Message: x\r\nVoice-Message: 1/0\r\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(1, 0, 0, 0)}, warnLines: []int{2}, warnText: "count is not a number"},
		{name: "missing slash", body: "Messages-Waiting: yes\r\nVoice-Message: 3\r\n",
			want: Summary{Waiting: WaitingYes}, warnLines: []int{2}, warnText: "no '/'"},
		{name: "unclosed urgent", body: "Messages-Waiting: yes\r\nVoice-Message: 3/0 (1/0\r\n",
			want: Summary{Waiting: WaitingYes}, warnLines: []int{2}, warnText: "no ')'"},
		{name: "half urgent", body: "Messages-Waiting: yes\r\nVoice-Message: 3/0 (1)\r\n",
			want: Summary{Waiting: WaitingYes}, warnLines: []int{2}, warnText: "urgent"},
		{name: "saturates at 2^32-1", body: "Messages-Waiting: yes\r\nVoice-Message: 4294967296/4294967295 (18446744073709551617/1)\r\n",
			want: Summary{Waiting: WaitingYes, Classes: voice(4294967295, 4294967295, 4294967295, 1)}},
		{name: "unknown class kept lower-case", body: "Messages-Waiting: yes\r\nX-Foo-Message: 1/2\r\n",
			want: Summary{Waiting: WaitingYes, Classes: map[string]state.Counts{"x-foo-message": {New: 1, Old: 2}}}},
		{name: "none class", body: "Messages-Waiting: no\r\nNone: 0/0\r\n",
			want: Summary{Waiting: WaitingNo, Classes: map[string]state.Counts{state.ClassNone: {}}}},
		{name: "optional headers with folding", body: "Messages-Waiting: yes\r\n\r\nSubject: a\r\n  b\r\nTo:\r\n\tx\r\n\r\n\r\nFrom: c\r\n",
			want: Summary{Waiting: WaitingYes, Headers: []Header{{"Subject", "a b", 0}, {"To", "x", 0}, {"From", "c", 1}}}},
		{name: "garbage in headers is skipped", body: "Messages-Waiting: yes\r\n\r\nnot a header\r\nSubject: s\r\n",
			want: Summary{Waiting: WaitingYes, Headers: []Header{{"Subject", "s", 0}}}, warnLines: []int{3}, warnText: "not a header"},
		{name: "no status line", body: "Voice-Message: 1/0\r\n", err: "no Messages-Waiting line"},
		{name: "status only in headers section", body: "Voice-Message: 1/0\r\n\r\nMessages-Waiting: yes\r\n", err: "no Messages-Waiting line"},
		{name: "bad status", body: "Messages-Waiting: 1\r\n", err: `line 1: Messages-Waiting "1" is neither yes nor no`, warnLines: []int{1}},
		{name: "bad then good status", body: "Messages-Waiting: perhaps\r\nMessages-Waiting: no\r\n",
			want: Summary{Waiting: WaitingNo}, warnLines: []int{1}, warnText: "neither yes nor no"},
		{name: "binary garbage", body: "\x00\x01\x02\xff\xfe", err: "no Messages-Waiting line", warnLines: []int{1}},
		{name: "empty account warned", body: "Messages-Waiting: yes\r\nMessage-Account:\r\n",
			want: Summary{Waiting: WaitingYes}, warnLines: []int{2}, warnText: "empty Message-Account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, err := Parse([]byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want one containing %q and wrapping ErrMalformed", err, tt.err)
				}
				if !strings.HasPrefix(err.Error(), "summary: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			} else if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			var lines []int
			for _, w := range warns {
				lines = append(lines, w.Line)
				if tt.warnText != "" && !strings.Contains(w.Text, tt.warnText) {
					t.Errorf("warning %q does not mention %q", w, tt.warnText)
				}
			}
			if !reflect.DeepEqual(lines, tt.warnLines) {
				t.Errorf("warnings %v, want on lines %v", warns, tt.warnLines)
			}
		})
	}
}

func TestTooManyWarnings(t *testing.T) {
	body := "Messages-Waiting: yes\r\n" + strings.Repeat("garbage\r\n", 1000)
	s, warns, err := Parse([]byte(body))
	if err != nil || s.Waiting != WaitingYes {
		t.Fatalf("Parse = %v, %v", s, err)
	}
	if len(warns) != MaxWarnings+1 {
		t.Fatalf("%d warnings, want %d", len(warns), MaxWarnings+1)
	}
	last := warns[len(warns)-1]
	if last.Line != MaxWarnings+2 || !strings.Contains(last.Text, "984 more") {
		t.Errorf("last warning %q", last)
	}
}

func TestWarningQuotesLongLinesShort(t *testing.T) {
	_, warns, _ := Parse([]byte("Messages-Waiting: yes\r\nVoice-Message: " + strings.Repeat("9", 500) + "x\r\n"))
	if len(warns) != 1 || len(warns[0].Text) > 120 {
		t.Fatalf("warnings %v", warns)
	}
}

func TestWaitingState(t *testing.T) {
	for w, want := range map[Waiting]state.Waiting{WaitingNone: state.WaitingUnknown, WaitingNo: state.WaitingNo, WaitingYes: state.WaitingYes} {
		if got := w.State(); got != want {
			t.Errorf("%v.State() = %v, want %v", w, got, want)
		}
	}
	if WaitingNone.String() != "none" || Waiting(7).String() != "waiting(7)" {
		t.Errorf("String: %q %q", WaitingNone, Waiting(7))
	}
}

func TestFormat(t *testing.T) {
	s := Summary{
		Waiting: WaitingYes,
		Account: "sip:alice@vmail.example.com",
		Classes: map[string]state.Counts{
			"x-b-message":     {New: 1},
			state.ClassFax:    {New: 2, Old: 1},
			state.ClassVoice:  {New: 4, Old: 8, UrgentNew: 1, UrgentOld: 2},
			"a-class":         {Old: 3},
			state.ClassText:   {},
			state.ClassPager:  {UrgentOld: 1},
			state.ClassNone:   {New: 9},
			"multimedia-mess": {New: 5},
		},
		Headers: []Header{{"Subject", "hi", 0}, {"To", "", 0}, {"From", "<b@example.com>", 1}},
	}
	want := "Messages-Waiting: yes\r\n" +
		"Message-Account: sip:alice@vmail.example.com\r\n" +
		"Voice-Message: 4/8 (1/2)\r\n" +
		"Fax-Message: 2/1\r\n" +
		"Pager-Message: 0/0 (0/1)\r\n" +
		"Text-Message: 0/0\r\n" +
		"None: 9/0\r\n" +
		"A-Class: 0/3\r\n" +
		"Multimedia-Mess: 5/0\r\n" +
		"X-B-Message: 1/0\r\n" +
		"\r\nSubject: hi\r\nTo:\r\n" +
		"\r\nFrom: <b@example.com>\r\n"
	if got := string(Format(s)); got != want {
		t.Errorf("Format:\n%q\nwant\n%q", got, want)
	}
	if got := Format(Summary{Waiting: WaitingNo}); string(got) != "Messages-Waiting: no\r\n" {
		t.Errorf("status only: %q", got)
	}
	if got := Format(Summary{}); len(got) != 0 {
		t.Errorf("WaitingNone formats as %q, want empty", got)
	}
}

// genSummary is a Summary that Format can write and Parse can read back:
// token class and header names, values without line breaks or edge
// white space.
type genSummary struct{ S Summary }

func (genSummary) Generate(r *rand.Rand, size int) reflect.Value {
	const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
	token := func(lower bool) string {
		n := 1 + r.Intn(12)
		b := make([]byte, n)
		for i := range b {
			b[i] = tokenChars[r.Intn(len(tokenChars))]
			if lower && 'A' <= b[i] && b[i] <= 'Z' {
				b[i] += 'a' - 'A'
			}
		}
		return string(b)
	}
	value := func() string {
		n := r.Intn(20)
		b := make([]byte, 0, n)
		for i := 0; i < n; i++ {
			c := byte(32 + r.Intn(95)) // printable ASCII and space
			if r.Intn(10) == 0 {
				c = byte(0x80 + r.Intn(0x80)) // arbitrary bytes pass through
			}
			b = append(b, c)
		}
		return string(trim(b))
	}
	count := func() uint32 {
		switch r.Intn(4) {
		case 0:
			return 0
		case 1:
			return 4294967295
		}
		return r.Uint32() >> uint(r.Intn(32))
	}
	var s Summary
	s.Waiting = Waiting(1 + r.Intn(2))
	if r.Intn(2) == 0 {
		s.Account = value()
	}
	for i, n := 0, r.Intn(5); i < n; i++ {
		var name string
		if r.Intn(2) == 0 {
			name = knownClasses[r.Intn(len(knownClasses))]
		} else {
			name = token(true)
		}
		if name == nameStatus || name == nameAccount {
			continue
		}
		if s.Classes == nil {
			s.Classes = map[string]state.Counts{}
		}
		s.Classes[name] = state.Counts{New: count(), Old: count(), UrgentNew: count(), UrgentOld: count()}
	}
	block := 0
	for i, n := 0, r.Intn(6); i < n; i++ {
		if i > 0 && r.Intn(3) == 0 {
			block++
		}
		s.Headers = append(s.Headers, Header{Name: token(false), Value: value(), Block: block})
	}
	return reflect.ValueOf(genSummary{s})
}

// TestRoundTrip: Parse(Format(s)) == s, with no warnings, for any Summary
// Parse can produce.
func TestRoundTrip(t *testing.T) {
	prop := func(g genSummary) bool {
		body := Format(g.S)
		got, warns, err := Parse(body)
		if err != nil || len(warns) != 0 || !reflect.DeepEqual(got, g.S) {
			t.Logf("body %q\n got %+v (%v, %v)\nwant %+v", body, got, warns, err, g.S)
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse: Parse never panics, never returns a result and an error at
// once, names only real lines in warnings, and whatever it accepts
// survives Format and Parse again unchanged.
func FuzzParse(f *testing.F) {
	for _, b := range []string{
		"",
		"Messages-Waiting: yes\r\nMessage-Account: sip:1001@pbx\r\nVoice-Message: 2/1 (0/0)\r\n",
		"Messages-Waiting: no\n",
		"Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n",
		"Messages-Waiting: yes\r\n\r\nSubject: x\r\n y\r\n",
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, warns, err := Parse(body)
		lines := strings.Count(string(body), "\n") + 1
		for _, w := range warns {
			if w.Line < 1 || w.Line > lines {
				t.Fatalf("warning on line %d of %d: %v", w.Line, lines, w)
			}
		}
		if len(warns) > MaxWarnings+1 {
			t.Fatalf("%d warnings", len(warns))
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !reflect.DeepEqual(s, Summary{}) {
				t.Fatalf("error %v with summary %+v", err, s)
			}
			return
		}
		if s.Waiting == WaitingNone {
			if len(strings.Trim(string(body), " \t\r\n")) != 0 || !reflect.DeepEqual(s, Summary{}) {
				t.Fatalf("WaitingNone for a non-blank body %q: %+v", body, s)
			}
			return
		}
		if s.Classes != nil && len(s.Classes) == 0 {
			t.Fatalf("empty non-nil Classes")
		}
		out := Format(s)
		s2, w2, err := Parse(out)
		if err != nil || len(w2) != 0 || !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip of %q via %q:\n%+v\n%+v (%v %v)", body, out, s, s2, w2, err)
		}
	})
}

var typical = []byte("Messages-Waiting: yes\r\nMessage-Account: sip:1001@pbx.example.com\r\nVoice-Message: 2/8 (0/0)\r\n")

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typical)))
	for b.Loop() {
		if _, _, err := Parse(typical); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	s, _, _ := Parse(typical)
	b.ReportAllocs()
	for b.Loop() {
		Format(s)
	}
}
