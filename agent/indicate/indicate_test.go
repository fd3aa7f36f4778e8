package indicate

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// acct builds an account: w = waiting, h = health, counts new/old/urgent.
func acct(name string, w state.Waiting, h state.Health, nw, old, urg uint32) state.Account {
	a := state.Account{Name: name, Label: name, Waiting: w, Health: h}
	if nw+old+urg > 0 || w != state.WaitingUnknown {
		a.Classes = map[string]state.Counts{state.ClassVoice: {New: nw, Old: old, UrgentNew: urg}}
	}
	return a
}

const (
	yes, no, unk = state.WaitingYes, state.WaitingNo, state.WaitingUnknown
	ok           = state.HealthSubscribed
	stale        = state.HealthStale
)

func TestLampPolicy(t *testing.T) {
	plain := Policy{UnknownPattern: false, UrgentPattern: false}
	def := DefaultPolicy(0, 0)
	cases := []struct {
		name string
		accs []state.Account
		pol  Policy
		want hal.Pattern
	}{
		{"no accounts", nil, def, PatternOff},
		{"one account, nothing waiting", []state.Account{acct("a", no, ok, 0, 3, 0)}, def, PatternOff},
		{"one account, messages wait", []state.Account{acct("a", yes, ok, 2, 0, 0)}, def, PatternSteady},
		{"urgent message", []state.Account{acct("a", yes, ok, 2, 0, 1)}, def, PatternUrgent},
		{"urgent message, urgent pattern off", []state.Account{acct("a", yes, ok, 2, 0, 1)}, Policy{UnknownPattern: true}, PatternSteady},
		{"one empties while another still has messages", []state.Account{acct("a", no, ok, 0, 5, 0), acct("b", yes, ok, 1, 0, 0)}, def, PatternSteady},
		{"both empty", []state.Account{acct("a", no, ok, 0, 5, 0), acct("b", no, ok, 0, 0, 0)}, def, PatternOff},
		{"never heard yet", []state.Account{acct("a", unk, state.HealthSubscribing, 0, 0, 0)}, def, PatternUnknown},
		{"subscription lost after messages waited", []state.Account{acct("a", yes, stale, 1, 0, 0)}, def, PatternUnknown},
		{"subscription lost with nothing waiting", []state.Account{acct("a", no, stale, 0, 0, 0)}, def, PatternUnknown},
		{"server unreachable after messages waited", []state.Account{acct("a", yes, state.HealthUnreachable, 1, 0, 0)}, def, PatternUnknown},
		{"server unreachable with nothing waiting: never off", []state.Account{acct("a", no, state.HealthUnreachable, 0, 0, 0)}, def, PatternUnknown},
		{"server unreachable, never known", []state.Account{acct("a", unk, state.HealthUnreachable, 0, 0, 0)}, def, PatternUnknown},
		{"auth failed", []state.Account{acct("a", unk, state.HealthAuthFailed, 0, 0, 0)}, def, PatternUnknown},
		{"one unknown, other empty: cannot say no", []state.Account{acct("a", no, ok, 0, 0, 0), acct("b", unk, state.HealthUnreachable, 0, 0, 0)}, def, PatternUnknown},
		{"one unknown, other waiting: messages wait", []state.Account{acct("a", unk, state.HealthUnreachable, 0, 0, 0), acct("b", yes, ok, 1, 0, 0)}, def, PatternSteady},
		{"one stale, other urgent", []state.Account{acct("a", no, stale, 0, 0, 0), acct("b", yes, ok, 1, 0, 1)}, def, PatternUrgent},
		{"plain: lost after messages waited keeps it on", []state.Account{acct("a", yes, stale, 1, 0, 0)}, plain, PatternSteady},
		{"plain: lost with nothing waiting is off", []state.Account{acct("a", no, stale, 0, 0, 0)}, plain, PatternOff},
		{"plain: urgent is steady", []state.Account{acct("a", yes, ok, 1, 0, 1)}, plain, PatternSteady},
		{"disabled account does not count as unknown", []state.Account{acct("a", unk, state.HealthDisabled, 0, 0, 0), acct("b", no, ok, 0, 0, 0)}, def, PatternOff},
		{"waiting without counts (Cisco style)", []state.Account{{Name: "a", Waiting: yes, Health: ok}}, def, PatternSteady},
		{"account not on lamp is ignored", []state.Account{acct("a", yes, ok, 1, 0, 0), acct("b", no, ok, 0, 0, 0)},
			Policy{UnknownPattern: true, UrgentPattern: true, Accounts: []AccountPolicy{{Name: "a", Lamp: false}, {Name: "b", Lamp: true}}}, PatternOff},
		{"unknown account not on lamp is ignored", []state.Account{acct("a", unk, stale, 0, 0, 0), acct("b", no, ok, 0, 0, 0)},
			Policy{UnknownPattern: true, Accounts: []AccountPolicy{{Name: "a", Lamp: false}, {Name: "b", Lamp: true}}}, PatternOff},
		{"registered, message arrived unsolicited", []state.Account{{Name: "a", Waiting: yes, Health: state.HealthRegistered, Source: state.SourceUnsolicited}}, def, PatternSteady},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := Compute(state.Snapshot{Accounts: c.accs}, c.pol)
			if !out.Lamp.Equal(c.want) {
				t.Fatalf("lamp = %s, want %s (why: %s)", out.Lamp.Name, c.want.Name, out.Why)
			}
		})
	}
}

// Whatever the accounts' states, with the unknown pattern on the lamp is
// never plain off while any lamp account cannot be vouched for.
func TestNeverOffWhenUnknown(t *testing.T) {
	waits := []state.Waiting{unk, no, yes}
	healths := []state.Health{state.HealthRegistering, state.HealthRegistered, state.HealthAuthFailed, state.HealthUnreachable,
		state.HealthSubscribing, state.HealthSubscribed, state.HealthRejected, state.HealthStale}
	n := 0
	for _, w1 := range waits {
		for _, h1 := range healths {
			for _, w2 := range waits {
				for _, h2 := range healths {
					accs := []state.Account{acct("a", w1, h1, 1, 0, 0), acct("b", w2, h2, 0, 0, 0)}
					out := Compute(state.Snapshot{Accounts: accs}, DefaultPolicy(2, 1))
					unknown := !accs[0].Known() || !accs[1].Known()
					waiting := (accs[0].Known() && w1 == yes) || (accs[1].Known() && w2 == yes)
					switch {
					case waiting && out.Lamp.Name != "steady":
						t.Errorf("%v/%v %v/%v: lamp %s, want steady", w1, h1, w2, h2, out.Lamp.Name)
					case !waiting && unknown && !out.Lamp.Equal(PatternUnknown):
						t.Errorf("%v/%v %v/%v: lamp %s, want unknown", w1, h1, w2, h2, out.Lamp.Name)
					case !waiting && !unknown && !out.Lamp.Equal(PatternOff):
						t.Errorf("%v/%v %v/%v: lamp %s, want off", w1, h1, w2, h2, out.Lamp.Name)
					}
					n++
				}
			}
		}
	}
	if n != 576 {
		t.Fatalf("checked %d combinations", n)
	}
}

func TestLEDsAndFXS(t *testing.T) {
	accs := []state.Account{
		acct("a", yes, ok, 1, 0, 0),
		acct("b", no, ok, 0, 0, 0),
		acct("c", yes, ok, 3, 0, 2),
		acct("d", unk, state.HealthUnreachable, 0, 0, 0),
		acct("e", yes, ok, 1, 0, 0),
	}
	pol := DefaultPolicy(4, 1)
	pol.Accounts = []AccountPolicy{{Name: "c", Lamp: false, LED: 1}, {Name: "b", Lamp: true, LED: -1}}
	out := Compute(state.Snapshot{Accounts: accs}, pol)
	wantFor := []string{"c", "a", "d", "e"}
	wantPat := []hal.Pattern{PatternUrgent, PatternSteady, PatternUnknown, PatternSteady}
	for i := range wantFor {
		if out.LEDFor[i] != wantFor[i] || !out.LEDs[i].Equal(wantPat[i]) {
			t.Errorf("led %d = %s %s, want %s %s", i+1, out.LEDFor[i], out.LEDs[i].Name, wantFor[i], wantPat[i].Name)
		}
	}
	if out.Lamp.Name != "steady" { // c (urgent) does not drive the lamp
		t.Errorf("lamp = %s, want steady", out.Lamp.Name)
	}
	if len(out.FXS) != 1 || !out.FXS[0].MWI || !out.FXS[0].Stutter || !out.FXS[0].Unknown {
		t.Errorf("fxs = %+v, want MWI, stutter, unknown", out.FXS)
	}
	// The line's count (ETSI 0x13) is the lamp accounts' new messages: a
	// and e (c drives no lamp, b has none).
	if out.FXS[0].Count != 2 {
		t.Errorf("fxs count = %d, want 2 (a's 1 + e's 1)", out.FXS[0].Count)
	}
	if len(out.Display.Accounts) != 5 || out.Display.Accounts[2].UrgentNew != 2 || out.Display.Accounts[3].Health != DisplayHealthUnreachable ||
		out.Display.Accounts[0].Waiting != DisplayWaitingYes {
		t.Errorf("display = %+v", out.Display.Accounts)
	}
}

func TestFXSFollowsLastKnown(t *testing.T) {
	for _, c := range []struct {
		accs         []state.Account
		mwi, unknown bool
	}{
		{[]state.Account{acct("a", no, ok, 0, 0, 0)}, false, false},
		{[]state.Account{acct("a", yes, ok, 1, 0, 0)}, true, false},
		{[]state.Account{acct("a", yes, stale, 1, 0, 0)}, true, true},
		{[]state.Account{acct("a", unk, state.HealthUnreachable, 0, 0, 0)}, false, true},
		{[]state.Account{acct("a", no, ok, 0, 0, 0), acct("b", yes, ok, 1, 0, 0)}, true, false},
	} {
		out := Compute(state.Snapshot{Accounts: c.accs}, DefaultPolicy(0, 1))
		if out.FXS[0].MWI != c.mwi || out.FXS[0].Stutter != c.mwi || out.FXS[0].Unknown != c.unknown {
			t.Errorf("%+v: fxs %+v, want mwi/stutter %v unknown %v", c.accs, out.FXS[0], c.mwi, c.unknown)
		}
	}
}

// failingLamp fails its first n writes.
type failingLamp struct {
	n     int
	calls int
	p     hal.Pattern
}

func (f *failingLamp) SetPattern(p hal.Pattern) error {
	f.calls++
	if f.n > 0 {
		f.n--
		return errors.New("i2c nack")
	}
	f.p = p
	return nil
}

func TestApplierIdempotent(t *testing.T) {
	b := sim.New(sim.Options{LEDs: 2, Display: hal.DisplayInfo{Width: 128, Height: 64}})
	renders := 0
	a := NewApplier(b.Devices(), ApplierOptions{Render: func(v View, info hal.DisplayInfo) hal.Frame {
		renders++
		return hal.Frame{Text: []string{fmt.Sprint(len(v.Accounts))}}
	}})
	pol := DefaultPolicy(2, 0)
	s := state.Snapshot{Accounts: []state.Account{acct("a", yes, ok, 1, 0, 0), acct("b", no, ok, 0, 0, 0)}}
	if err := a.Apply(Compute(s, pol), false); err != nil {
		t.Fatal(err)
	}
	if a.Writes() != 4 { // lamp, 2 LEDs, display
		t.Fatalf("first apply: %d writes, want 4", a.Writes())
	}
	for i := 0; i < 3; i++ {
		s.Seq++
		if err := a.Apply(Compute(s, pol), false); err != nil {
			t.Fatal(err)
		}
	}
	if a.Writes() != 4 || renders != 1 {
		t.Fatalf("unchanged state re-applied: %d writes, %d renders; want 4, 1", a.Writes(), renders)
	}
	// b gets a message: only LED 2 and the display change.
	s.Accounts[1] = acct("b", yes, ok, 1, 0, 0)
	if err := a.Apply(Compute(s, pol), false); err != nil {
		t.Fatal(err)
	}
	if a.Writes() != 6 {
		t.Fatalf("one account changed: %d writes, want 6", a.Writes())
	}
	if p, _ := b.LEDs[1].Pattern(); p.Name != "steady" {
		t.Fatalf("led2 = %s", p.Name)
	}
	// A missed intermediate event: a empties and b empties, seen as one
	// snapshot; everything still ends up off.
	s.Accounts = []state.Account{acct("a", no, ok, 0, 1, 0), acct("b", no, ok, 0, 1, 0)}
	if err := a.Apply(Compute(s, pol), false); err != nil {
		t.Fatal(err)
	}
	if b.Lamp.Lit() || b.LEDs[0].Lit() || b.LEDs[1].Lit() {
		t.Fatal("lamp or LED still lit after every mailbox emptied")
	}
	// force rewrites everything.
	before := a.Writes()
	if err := a.Apply(Compute(s, pol), true); err != nil {
		t.Fatal(err)
	}
	if a.Writes()-before != 4 {
		t.Fatalf("forced apply wrote %d, want 4", a.Writes()-before)
	}
}

func TestApplierRetriesFailedWrite(t *testing.T) {
	fl := &failingLamp{n: 1}
	a := NewApplier(hal.Devices{Lamp: fl}, ApplierOptions{})
	out := Compute(state.Snapshot{Accounts: []state.Account{acct("a", yes, ok, 1, 0, 0)}}, DefaultPolicy(0, 0))
	if err := a.Apply(out, false); err == nil {
		t.Fatal("failed lamp write not reported")
	}
	if err := a.Apply(out, false); err != nil {
		t.Fatal(err)
	}
	if fl.calls != 2 || fl.p.Name != "steady" {
		t.Fatalf("after a failed write the same output was not retried: calls %d, pattern %q", fl.calls, fl.p.Name)
	}
}

// A state set or cleared by hand is marked on the display (issue 13: source
// "manual" shown everywhere); a server-reported state is not.
func TestDisplayMarksManualSource(t *testing.T) {
	man := acct("room", no, ok, 0, 0, 0)
	man.Source = state.SourceManual
	srv := acct("desk", yes, ok, 2, 0, 0)
	out := Compute(state.Snapshot{Accounts: []state.Account{man, srv}}, DefaultPolicy(0, 0))
	if got := out.Display.Accounts[0].Label; got != ManualMark+"room" {
		t.Errorf("manual account label = %q, want %q", got, ManualMark+"room")
	}
	if got := out.Display.Accounts[1].Label; got != "desk" {
		t.Errorf("server account label = %q, want desk", got)
	}
}
