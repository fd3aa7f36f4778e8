package tone

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePlan(t *testing.T) {
	p, err := ParsePlan("!350+440/100, !0/100,350+440")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Segments) != 3 || p.Loop != 2 || p.Finite() {
		t.Fatalf("got %+v", p)
	}
	s := p.Segments[0]
	if s.F1 != 350 || s.F2 != 440 || s.Modulate || !s.Once || s.Duration != 100*time.Millisecond {
		t.Errorf("segment 0: %+v", s)
	}
	if !p.Segments[1].Silent() || p.Segments[2].Duration != 0 {
		t.Errorf("segments: %+v", p.Segments)
	}
	m := MustParsePlan("400*25/400,0/200")
	if !m.Segments[0].Modulate || m.Loop != 0 {
		t.Errorf("modulated: %+v", m)
	}
	f := MustParsePlan("!950/330,!1400/330,!1800/330")
	if !f.Finite() || f.Loop != -1 {
		t.Errorf("all-! plan should be finite: %+v", f)
	}
	if d, ok := f.Duration(); !ok || d != 990*time.Millisecond {
		t.Errorf("Duration = %v %v", d, ok)
	}
	l := MustParsePlan("350@-19+440@-19.5")
	if l.Segments[0].Level1 != -19 || l.Segments[0].Level2 != -19.5 {
		t.Errorf("levels: %+v", l.Segments[0])
	}
}

func TestParsePlanRoundTrip(t *testing.T) {
	for _, c := range Countries() {
		for name, s := range c.Tones {
			p := MustParsePlan(s)
			q, err := ParsePlan(p.String())
			if err != nil || q.String() != p.String() || q.Loop != p.Loop {
				t.Errorf("%s %s: %q → %q (%v)", c.Code, name, s, p.String(), err)
			}
		}
	}
}

// TestParsePlanErrors: every error names the element, its offset and what
// is wrong with it.
func TestParsePlanErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		element int
		offset  int
		problem string
	}{
		{"350+440/100,0/x", 2, 12, "bad duration"},
		{"350+440/100, 35a0/100", 2, 13, "bad frequency"},
		{"425,,425", 2, 4, "empty element"},
		{"425,", 2, 4, "empty element"},
		{"350+440+480", 1, 0, "more than two"},
		{"350*0", 1, 0, "modulation"},
		{"425/-5", 1, 0, "bad duration"},
		{"425/0", 1, 0, "duration 0"},
		{"99999", 1, 0, "above"},
		{"425@x", 1, 0, "bad level"},
		{"425@10", 1, 0, "out of range"},
		{"M64", 1, 0, "MIDI"},
		{"!425/100,!0/100,+440", 3, 16, "missing frequency"},
	} {
		_, err := ParsePlan(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want *ParseError", tc.in, err)
			continue
		}
		if pe.Element != tc.element || pe.Offset != tc.offset || !strings.Contains(pe.Problem, tc.problem) {
			t.Errorf("%q: element %d offset %d %q, want element %d offset %d %q", tc.in, pe.Element, pe.Offset, pe.Problem, tc.element, tc.offset, tc.problem)
		}
		if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "tone: ") {
			t.Errorf("%q: error is not one line prefixed by the package: %q", tc.in, err)
		}
	}
	if _, err := ParsePlan("  "); err == nil {
		t.Error("empty string accepted")
	}
}
