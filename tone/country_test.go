package tone

import (
	"strings"
	"testing"
)

func TestCountryTable(t *testing.T) {
	cs := Countries()
	if len(cs) < 25 {
		t.Fatalf("%d countries, want at least 25", len(cs))
	}
	for _, c := range cs {
		if c.Name == "" || len(c.Code) != 2 {
			t.Errorf("%+v: bad code or name", c)
		}
		for _, n := range ToneNames() {
			p, err := c.Plan(n)
			if err != nil {
				t.Errorf("%s: %v", c.Code, err)
				continue
			}
			if n == Dial || n == Stutter {
				if p.Finite() {
					t.Errorf("%s %s ends; a dial tone plays until dialling", c.Code, n)
				}
			}
		}
		if c.Tones[Dial] == c.Tones[Stutter] {
			t.Errorf("%s: stutter is the same as dial tone", c.Code)
		}
	}
}

func TestUSStutterPlan(t *testing.T) {
	c, err := LookupCountry("US")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Plan(Stutter)
	if p.Loop != 20 || len(p.Segments) != 21 {
		t.Fatalf("us stutter: %d segments, loop at %d; want 10 bursts (20 once-only segments) then steady", len(p.Segments), p.Loop)
	}
	if p.Segments[20].String() != "350+440" {
		t.Errorf("steady part %q", p.Segments[20])
	}
}

func TestLookupCountry(t *testing.T) {
	uk, err := LookupCountry("gb")
	if err != nil || uk.Code != "uk" {
		t.Errorf("gb: %v %v", uk.Code, err)
	}
	_, err = LookupCountry("xx")
	if err == nil || !strings.Contains(err.Error(), `unknown country "xx"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("xx: %v", err)
	}
	// the map is the caller's own
	a, _ := LookupCountry("de")
	a.Tones[Dial] = "1000"
	b, _ := LookupCountry("de")
	if b.Tones[Dial] != "425" {
		t.Error("LookupCountry shares its map")
	}
	if _, err := a.Plan("howler"); err == nil {
		t.Error("unknown tone name accepted")
	}
}

func TestWithOverrides(t *testing.T) {
	us, _ := LookupCountry("us")
	c, err := us.WithOverrides(map[string]string{Stutter: "!350+440/100,!0/100,350+440", "howler": "1400+2060+2450"})
	if err == nil {
		t.Fatal("three frequencies accepted")
	}
	if !strings.Contains(err.Error(), `override "howler"`) || !strings.Contains(err.Error(), "element 1") {
		t.Errorf("error does not name the override and element: %v", err)
	}
	c, err = us.WithOverrides(map[string]string{Stutter: "!350+440/100,!0/100,350+440", "howler": "1400+2450/100,0/100"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tones[Stutter] != "!350+440/100,!0/100,350+440" || c.Tones[Dial] != "350+440" || c.Tones["howler"] == "" {
		t.Errorf("overrides not applied: %v", c.Tones)
	}
	if strings.Count(us.Tones[Stutter], "!350+440/100") != 10 {
		t.Error("WithOverrides changed the original")
	}
}

func TestSwedishStutter(t *testing.T) {
	se, _ := LookupCountry("se")
	if se.Tones[Stutter] != "425/320,0/20" {
		t.Fatalf("se stutter %q, want Asterisk's documented 425/320,0/20", se.Tones[Stutter])
	}
}

// br, at, cn, de and hu "stutter" entries are steady tones of other
// frequencies: special dial tones, described as such.
func TestStutterKind(t *testing.T) {
	want := map[string]string{
		"us": "stutter (interrupted dial tone)", "se": "stutter (interrupted dial tone)",
		"uk": "alternating special dial tone", "it": "alternating special dial tone",
		"br": "continuous special dial tone", "at": "continuous special dial tone", "cn": "continuous special dial tone",
		"de": "continuous special dial tone", "hu": "continuous special dial tone",
	}
	for code, kind := range want {
		c, _ := LookupCountry(code)
		p, _ := c.Plan(Stutter)
		if got := StutterKind(p); got != kind {
			t.Errorf("%s stutter %q: %q, want %q", code, c.Tones[Stutter], got, kind)
		}
	}
}

func TestOnHookDefaults(t *testing.T) {
	for code, want := range map[string]OnHookData{
		"us": {Bell202, MDMF, AlertNone, ""}, "ca": {Bell202, MDMF, AlertNone, ""},
		"de": {V23, ETSI, AlertLineReversal, ""}, "uk": {V23, ETSI, AlertLineReversal, ""},
		"se": {V23, ETSI, AlertLineReversal, ""}, "fr": {V23, ETSI, AlertLineReversal, ""},
	} {
		c, _ := LookupCountry(code)
		got := c.OnHook
		if got.Standard != want.Standard || got.Format != want.Format || got.Alert != want.Alert || got.Source == "" {
			t.Errorf("%s: %+v, want %v %v %v with a source", code, got, want.Standard, want.Format, want.Alert)
		}
	}
	for _, c := range Countries() {
		if c.OnHook.Source == "" {
			t.Errorf("%s: on-hook defaults without a source", c.Code)
		}
		o, _ := c.WithOverrides(map[string]string{Dial: "425"})
		if o.OnHook != c.OnHook {
			t.Errorf("%s: WithOverrides lost the on-hook defaults", c.Code)
		}
	}
}
