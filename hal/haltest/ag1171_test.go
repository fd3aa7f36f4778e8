package haltest

import (
	"slices"
	"testing"
	"time"
)

// A scripted driver: each test drives the pins the way a right or a
// deliberately wrong backend would, and the model must find exactly the
// rule that driver breaks.
type script struct {
	clk *FakeClock
	m   *Ag1171
}

func newScript(hz int) *script {
	clk := NewFakeClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := &script{clk: clk, m: NewAg1171(clk, Ag1171Config{RingHz: hz})}
	s.m.Set(AgFR, true) // a driver starts forward
	return s
}

func (s *script) wait(d time.Duration) *script   { s.clk.Advance(d); return s }
func (s *script) set(p AgPin, high bool) *script { s.m.Set(p, high); return s }
func (s *script) pd(d PDDrive) *script           { s.m.SetPD(d); return s }
func (s *script) data(d time.Duration) *script   { s.m.Data(true); s.wait(d); s.m.Data(false); return s }
func (s *script) hook(off bool) *script          { return s.set(AgSHK, off) }
func (s *script) broken() []Rule                 { return s.m.Broken() }
func (s *script) expect(t *testing.T, want ...Rule) {
	t.Helper()
	got := s.broken()
	if !slices.Equal(got, want) {
		t.Fatalf("broken rules %v, want %v\nviolations: %v\ntrace:\n%s", got, want, s.m.Violations(), s.m.Trace())
	}
}

// ring toggles F/R at hz for d (RM already high), starting from F/R high.
func (s *script) ring(hz int, d time.Duration) *script {
	h := time.Second / time.Duration(2*hz)
	fr := true
	for t := h; t <= d; t += h {
		s.wait(h)
		fr = !fr
		s.set(AgFR, fr)
	}
	return s
}

// rightBurst rings for about d the way the datasheet wants: RM high, F/R
// toggling, F/R high for good, RM low 20 ms later.
func (s *script) rightBurst(hz int, d time.Duration) *script {
	s.set(AgRM, true).ring(hz, d)
	s.set(AgFR, true).wait(20*time.Millisecond).set(AgRM, false)
	return s
}

func TestAg1171RightDriverPasses(t *testing.T) {
	for _, hz := range []int{20, 25} {
		s := newScript(hz)
		s.pd(PDReleased).wait(time.Second)
		// Cadence 2 s on / 4 s off, three times; stop mid-cycle once.
		for i := 0; i < 3; i++ {
			s.rightBurst(hz, 1980*time.Millisecond).wait(4 * time.Second)
		}
		s.rightBurst(hz, 330*time.Millisecond).wait(5 * time.Second)
		// Line reversal, data, polarity restored; HV on, lift, HV off in time.
		s.set(AgFR, false).wait(150*time.Millisecond).data(700*time.Millisecond).wait(200*time.Millisecond).set(AgFR, true)
		s.set(AgHV, true).wait(time.Second).hook(true).wait(50*time.Millisecond).set(AgHV, false)
		s.wait(time.Second).hook(false)
		// Ring trip: lifted while ringing, stopped properly within 200 ms.
		s.wait(5*time.Second).set(AgRM, true).ring(hz, 500*time.Millisecond).hook(true)
		s.wait(half(hz)).set(AgFR, true).wait(15*time.Millisecond).set(AgRM, false)
		s.wait(time.Second).hook(false).wait(time.Second)
		// Powered down when everything is idle.
		s.pd(PDDrivenLow).wait(time.Second).pd(PDReleased)
		s.m.Check(t)
	}
}

func TestAg1171RulePDNeverHigh(t *testing.T) {
	// The old backend: PD "active" high at close.
	newScript(20).pd(PDReleased).wait(time.Second).pd(PDDrivenHigh).expect(t, RulePDHigh)
}

func TestAg1171RulePDDeadLine(t *testing.T) {
	// The old backend held PD low "powered up" for the whole run.
	s := newScript(20).pd(PDDrivenLow).wait(time.Second)
	s.rightBurst(20, 500*time.Millisecond)
	s.expect(t, RulePDDeadLine)
	s = newScript(20).pd(PDDrivenLow).wait(time.Second).data(100 * time.Millisecond)
	s.expect(t, RulePDDeadLine)
}

func TestAg1171RuleRingOnlyOnHook(t *testing.T) {
	s := newScript(20).hook(true).wait(time.Second)
	s.rightBurst(20, 500*time.Millisecond)
	s.expect(t, RuleRingOnHook)
	// Lifted while ringing and not tripped for 300 ms.
	s = newScript(20).set(AgRM, true).ring(20, 200*time.Millisecond).hook(true).ring(20, 300*time.Millisecond)
	s.set(AgFR, true).wait(20*time.Millisecond).set(AgRM, false)
	s.expect(t, RuleRingOnHook)
}

func TestAg1171RuleRingStopOrder(t *testing.T) {
	// The old backend: F/R and RM at the same instant.
	s := newScript(20).set(AgRM, true).ring(20, 500*time.Millisecond).set(AgFR, true).set(AgRM, false)
	s.expect(t, RuleRingStopOrder)
	// RM dropped only 5 ms after F/R.
	s = newScript(20).set(AgRM, true).ring(20, 500*time.Millisecond).set(AgFR, true).wait(5*time.Millisecond).set(AgRM, false)
	s.expect(t, RuleRingStopOrder)
	// Reversed line: F/R left low when ringing stopped.
	s = newScript(20).set(AgRM, true).ring(20, 475*time.Millisecond)
	s.set(AgFR, false).wait(20*time.Millisecond).set(AgRM, false)
	s.expect(t, RuleRingStopOrder)
}

func TestAg1171RuleRingDuty(t *testing.T) {
	// Continuous ringing for 3 s.
	newScript(20).rightBurst(20, 3*time.Second).wait(5*time.Second).expect(t, RuleRingDuty)
	// 2 s on / 2 s off: 50 %.
	s := newScript(20)
	for i := 0; i < 3; i++ {
		s.rightBurst(20, 1980*time.Millisecond).wait(2 * time.Second)
	}
	s.expect(t, RuleRingDuty)
	// Still ringing at the end of the trace counts too.
	newScript(20).set(AgRM, true).ring(20, 2500*time.Millisecond).expect(t, RuleRingDuty)
}

func TestAg1171RuleRingFrequency(t *testing.T) {
	// 17 Hz where 20 Hz was configured.
	newScript(20).rightBurst(17, time.Second).expect(t, RuleRingFrequency)
	// 25 Hz on a 20 Hz board.
	newScript(20).rightBurst(25, time.Second).expect(t, RuleRingFrequency)
	// Neither 20 nor 25 Hz when either is allowed.
	newScript(0).rightBurst(30, time.Second).expect(t, RuleRingFrequency)
	// RM high without toggling F/R.
	newScript(20).set(AgRM, true).wait(500*time.Millisecond).set(AgRM, false).expect(t, RuleRingFrequency)
	// A short half cycle in the middle of ringing (not the stop edge).
	s := newScript(20).set(AgRM, true).ring(20, 75*time.Millisecond) // three edges: F/R low
	s.wait(5*time.Millisecond).set(AgFR, true).ring(20, 100*time.Millisecond)
	s.set(AgFR, true).wait(20*time.Millisecond).set(AgRM, false)
	s.expect(t, RuleRingFrequency)
}

func TestAg1171RuleSteadyDuringData(t *testing.T) {
	// Polarity restored in the middle of the FSK (the aplay lag).
	s := newScript(20).set(AgFR, false).wait(150 * time.Millisecond)
	s.m.Data(true)
	s.wait(300*time.Millisecond).set(AgFR, true).wait(300 * time.Millisecond)
	s.m.Data(false)
	s.expect(t, RulePolarityInData)
	// A ring pulse still on when the data starts.
	s = newScript(20).set(AgRM, true).ring(20, 100*time.Millisecond)
	s.m.Data(true)
	s.ring(20, 100*time.Millisecond).set(AgFR, true).wait(20*time.Millisecond).set(AgRM, false)
	s.m.Data(false)
	s.expect(t, RulePolarityInData)
}

func TestAg1171RuleHVOnHook(t *testing.T) {
	newScript(20).hook(true).wait(time.Second).set(AgHV, true).expect(t, RuleHVOnHook)
	newScript(20).set(AgHV, true).wait(time.Second).hook(true).wait(time.Second).set(AgHV, false).expect(t, RuleHVOnHook)
}

func TestAg1171EveryRuleHasATestAndASource(t *testing.T) {
	for _, r := range Rules() {
		if r.Source() == "" || r.String() == "" {
			t.Fatalf("rule %d has no name or source", int(r))
		}
	}
	if len(Rules()) != 8 {
		t.Fatalf("%d rules: add a TestAg1171Rule... for the new one", len(Rules()))
	}
}
