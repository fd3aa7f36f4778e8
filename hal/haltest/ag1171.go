package haltest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Ag1171 is an executable reading of the Silvertel Ag1171 SLIC datasheet
// (V1.6) and of the on-hook signalling rules that sit on top of it. It is
// fed the levels of the SLIC's control pins as they change (from a fake
// pin, or from gpio-sim's sysfs files inside the qemu VM) and, when asked,
// replays them and reports every rule that was broken, with the time it
// happened and the source of the rule.
//
// The model is passive: it never changes what the driver does. Feed it with
// Set, SetPD, Data; read it with Violations or Check.
type Ag1171 struct {
	cfg Ag1171Config
	clk clock.Reader

	mu     sync.Mutex
	start  time.Time
	events []agEvent
}

// Ag1171Config is what the model needs to know about the board.
type Ag1171Config struct {
	// RingHz is the ring frequency the driver was configured for; 0 accepts
	// 20 Hz or 25 Hz, whichever the first cycle shows.
	RingHz int
	// Tolerance is how far a measured time may be off (each F/R half cycle,
	// the ring-stop delay, the ring-trip limit). 0 = 2 ms, right for a fake
	// clock; a wall-clock observer polling sysfs under TCG needs more.
	Tolerance time.Duration
}

// AgPin names the Ag1171 pins the model watches, plus the optional
// external high-voltage (neon MWI) relay an HV board adds.
type AgPin int

const (
	AgRM  AgPin = iota // pin 12: ring mode, high = ringing
	AgFR               // pin 11: forward/reverse, high = forward; the ring signal while RM is high
	AgSHK              // pin 13: switch hook output, high = off-hook
	AgHV               // external HV relay (not an Ag1171 pin), high = neon voltage on
)

func (p AgPin) String() string { return [...]string{"RM", "F/R", "SHK", "HV"}[p] }

// PDDrive is how the power-down pin (14) is driven.
type PDDrive int

const (
	PDReleased   PDDrive = iota // not driven (unconnected, input, or open-drain released)
	PDDrivenLow                 // pulled low: the SLIC is powered down
	PDDrivenHigh                // driven high: forbidden by the datasheet
)

func (d PDDrive) String() string {
	return [...]string{"released", "driven low", "driven high"}[d]
}

// Rule is one rule of the model.
type Rule int

const (
	RulePDHigh         Rule = iota // PD is never driven high
	RulePDDeadLine                 // nothing is signalled while PD holds the SLIC powered down
	RuleRingOnHook                 // RM rises only on-hook; ring trip within RingTripMax
	RuleRingStopOrder              // F/R back high for good > 10 ms before RM falls
	RuleRingDuty                   // RM high at most 2 s in any 6 s (33 %)
	RuleRingFrequency              // F/R toggles at the ring frequency while RM is high
	RulePolarityInData             // no F/R, RM or HV change while on-hook data plays
	RuleHVOnHook                   // HV relay on only on-hook; dropped within RingTripMax of a lift
	numRules
)

var ruleInfo = [numRules]struct{ name, source string }{
	RulePDHigh:         {"pd-never-high", "Ag1171 datasheet V1.6, pin 14 PD: logic low powers the device down; do not drive it high (leave it open or pull it low open-drain / through a diode)"},
	RulePDDeadLine:     {"pd-dead-line", "Ag1171 datasheet V1.6, pin 14 PD: while PD is low the device is powered down: no loop current, no ringing, no audio"},
	RuleRingOnHook:     {"ring-on-hook", "Ag1171 datasheet V1.6, ringing: ring only an on-hook line; ring trip (Telcordia GR-506: ringing removed within 200 ms of off-hook)"},
	RuleRingStopOrder:  {"ring-stop-order", "Ag1171 datasheet V1.6, ringing: to stop, F/R goes high (forward) for good first and RM goes low more than 10 ms later"},
	RuleRingDuty:       {"ring-duty", "Ag1171 datasheet V1.6, ringing: maximum RM duty cycle 33 % (e.g. 2 s on, 4 s off)"},
	RuleRingFrequency:  {"ring-frequency", "Ag1171 datasheet V1.6, ringing: F/R is toggled at the ring frequency (20 or 25 Hz) while RM is high"},
	RulePolarityInData: {"steady-during-data", "ETSI EN 300 659-1 / Telcordia GR-30: the loop stays steady (no reversal, ringing or HV switching) while on-hook data is sent"},
	RuleHVOnHook:       {"hv-on-hook", "MWI-FACTS: neon MWI voltage is applied only while the phone is on-hook"},
}

func (r Rule) String() string {
	if r < 0 || r >= numRules {
		return fmt.Sprintf("Rule(%d)", int(r))
	}
	return ruleInfo[r].name
}

// Source says where a rule comes from.
func (r Rule) Source() string {
	if r < 0 || r >= numRules {
		return ""
	}
	return ruleInfo[r].source
}

// Rules lists every rule of the model.
func Rules() []Rule {
	out := make([]Rule, numRules)
	for i := range out {
		out[i] = Rule(i)
	}
	return out
}

// Datasheet limits the model checks.
const (
	RingStopDelay = 10 * time.Millisecond  // F/R high → RM low, more than this
	RingTripMax   = 200 * time.Millisecond // off-hook → RM (and HV) low, at most this
	DutyWindow    = 6 * time.Second        // the duty cycle is measured over any window this long
	DutyMaxOn     = 2 * time.Second        // RM high at most this long in any DutyWindow (33 %)
)

// Violation is one broken rule.
type Violation struct {
	Rule Rule
	At   time.Duration // since the model was created
	Msg  string
}

func (v Violation) String() string {
	return fmt.Sprintf("%v at %v: %s [%s]", v.Rule, v.At, v.Msg, v.Rule.Source())
}

type agKind int

const (
	evPin agKind = iota
	evPD
	evData
)

type agEvent struct {
	at    time.Time
	kind  agKind
	pin   AgPin
	level bool
	pd    PDDrive
}

// NewAg1171 returns a model that timestamps what it is fed with clk, in
// the state a freshly powered board shows: RM low, F/R low (not yet
// driven), SHK low (on-hook), HV off, PD released, no data.
func NewAg1171(clk clock.Reader, cfg Ag1171Config) *Ag1171 {
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = 2 * time.Millisecond
	}
	return &Ag1171{cfg: cfg, clk: clk, start: clk.Now()}
}

// Set records a new level of pin (physical level, high = true).
func (m *Ag1171) Set(pin AgPin, high bool) { m.add(agEvent{kind: evPin, pin: pin, level: high}) }

// SetPD records how the power-down pin is driven.
func (m *Ag1171) SetPD(d PDDrive) { m.add(agEvent{kind: evPD, pd: d}) }

// Data records the start (true) or end (false) of on-hook data audio on
// the line (the first and last FSK sample). Observations may be fed late
// with the *At forms: the model orders everything by time.
func (m *Ag1171) Data(on bool) { m.add(agEvent{kind: evData, level: on}) }

// SetAt, SetPDAt and DataAt record an observation made at a known time
// (an observer polling the hardware).
func (m *Ag1171) SetAt(at time.Time, pin AgPin, high bool) {
	m.add(agEvent{at: at, kind: evPin, pin: pin, level: high})
}

// SetPDAt records a PD drive observed at a known time.
func (m *Ag1171) SetPDAt(at time.Time, d PDDrive) { m.add(agEvent{at: at, kind: evPD, pd: d}) }

// DataAt records a data boundary observed at a known time.
func (m *Ag1171) DataAt(at time.Time, on bool) { m.add(agEvent{at: at, kind: evData, level: on}) }

func (m *Ag1171) add(e agEvent) {
	if e.at.IsZero() {
		e.at = m.clk.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

// Trace lists what the model was fed, one line per change, for failure
// messages.
func (m *Ag1171) Trace() string { return m.trace(nil) }

// trace lists everything, or only what happened within 100 ms of the
// given times (and at most 60 lines each).
func (m *Ag1171) trace(near []time.Duration) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	shown := 0
	for _, e := range m.sorted() {
		at := e.at.Sub(m.start)
		if near != nil {
			keep := false
			for _, n := range near {
				keep = keep || (at >= n-100*time.Millisecond && at <= n+100*time.Millisecond)
			}
			if !keep || shown >= 60*len(near) {
				continue
			}
			shown++
		}
		fmt.Fprintf(&b, "%10v ", at)
		switch e.kind {
		case evPin:
			fmt.Fprintf(&b, "%v=%v\n", e.pin, b2i(e.level))
		case evPD:
			fmt.Fprintf(&b, "PD %v\n", e.pd)
		case evData:
			fmt.Fprintf(&b, "data %s\n", map[bool]string{true: "start", false: "end"}[e.level])
		}
	}
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Check fails t with every violation (and the trace) so far.
func (m *Ag1171) Check(t testing.TB) {
	t.Helper()
	vs := m.Violations()
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	var near []time.Duration
	for i, v := range vs {
		b.WriteString("\n  " + v.String())
		if i < 5 {
			near = append(near, v.At)
		}
	}
	t.Errorf("Ag1171 model: %d rule(s) broken:%s\ntrace (within 100 ms of the first ones):\n%s", len(vs), b.String(), m.trace(near))
}

// Broken reports which rules were broken, each once, in rule order.
func (m *Ag1171) Broken() []Rule {
	seen := map[Rule]bool{}
	var out []Rule
	for _, v := range m.Violations() {
		if !seen[v.Rule] {
			seen[v.Rule] = true
			out = append(out, v.Rule)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Violations replays everything fed so far, up to the clock's now, and
// returns the broken rules in time order.
func (m *Ag1171) Violations() []Violation {
	m.mu.Lock()
	evs := m.sorted()
	m.mu.Unlock()
	end := m.clk.Now()
	for _, e := range evs {
		if e.at.After(end) {
			end = e.at
		}
	}
	r := replay{m: m, end: end}
	r.run(evs)
	sort.SliceStable(r.out, func(i, j int) bool { return r.out[i].At < r.out[j].At })
	return r.out
}

// replay is one pass over the events.
type replay struct {
	m   *Ag1171
	end time.Time
	out []Violation

	rm, fr, shk, hv bool
	pd              PDDrive
	data            bool

	frHighAt time.Time // when F/R last went high
	offAt    time.Time // when SHK last went high (off-hook)
	hz       int       // ring frequency in use (learned if cfg.RingHz == 0)

	// The current ring burst (RM high).
	burstStart time.Time
	lastEdge   time.Time // last F/R edge (or burst start) in the burst
	edges      int
	tripDone   bool // ring-trip / hv-trip violation already reported for this lift
	hvTripDone bool
	// A half cycle that ended early with F/R high: fine as the burst's stop
	// edge, a frequency error if ringing goes on.
	short          bool
	shortAt        time.Time
	shortD, shortH time.Duration

	bursts [][2]time.Time // RM-high intervals, for the duty cycle
}

func (r *replay) add(at time.Time, rule Rule, format string, args ...any) {
	r.out = append(r.out, Violation{Rule: rule, At: at.Sub(r.m.start), Msg: fmt.Sprintf(format, args...)})
}

func (r *replay) tol() time.Duration { return r.m.cfg.Tolerance }

func (r *replay) run(evs []agEvent) {
	r.hz = r.m.cfg.RingHz
	for _, e := range evs {
		r.checkTrips(e.at)
		switch e.kind {
		case evPD:
			if e.pd == PDDrivenHigh && r.pd != PDDrivenHigh {
				r.add(e.at, RulePDHigh, "PD driven high")
			}
			if e.pd == PDDrivenLow && (r.rm || r.data || r.hv) {
				r.add(e.at, RulePDDeadLine, "PD pulled low while the line is in use (RM %v, data %v, HV %v)", r.rm, r.data, r.hv)
			}
			r.pd = e.pd
		case evData:
			if e.level && r.pd == PDDrivenLow {
				r.add(e.at, RulePDDeadLine, "on-hook data started while PD holds the SLIC powered down")
			}
			r.data = e.level
		case evPin:
			r.pin(e.at, e.pin, e.level)
		}
	}
	r.checkTrips(r.end)
	if r.rm {
		r.bursts = append(r.bursts, [2]time.Time{r.burstStart, r.end})
	}
	r.duty()
}

// checkTrips reports ringing or HV left on an off-hook line longer than
// RingTripMax, as soon as time passes that point.
func (r *replay) checkTrips(now time.Time) {
	if !r.shk {
		return
	}
	limit := r.offAt.Add(RingTripMax + r.tol())
	if now.After(limit) {
		if r.rm && !r.tripDone {
			r.tripDone = true
			r.add(limit, RuleRingOnHook, "still ringing %v after the handset was lifted (ring trip limit %v)", RingTripMax+r.tol(), RingTripMax)
		}
		if r.hv && !r.hvTripDone {
			r.hvTripDone = true
			r.add(limit, RuleHVOnHook, "HV relay still on %v after the handset was lifted", RingTripMax+r.tol())
		}
	}
}

func (r *replay) pin(at time.Time, pin AgPin, high bool) {
	var old bool
	switch pin {
	case AgRM:
		old = r.rm
	case AgFR:
		old = r.fr
	case AgSHK:
		old = r.shk
	case AgHV:
		old = r.hv
	}
	if old == high {
		return
	}
	if r.data && pin != AgSHK {
		r.add(at, RulePolarityInData, "%v changed to %d while on-hook data was playing", pin, b2i(high))
	}
	if r.pd == PDDrivenLow && pin != AgSHK && high {
		r.add(at, RulePDDeadLine, "%v raised while PD holds the SLIC powered down", pin)
	}
	switch pin {
	case AgSHK:
		r.shk = high
		if high {
			r.offAt, r.tripDone, r.hvTripDone = at, false, false
		}
	case AgHV:
		r.hv = high
		if high && r.shk {
			r.add(at, RuleHVOnHook, "HV relay switched on while off-hook")
			r.hvTripDone = true
		}
	case AgRM:
		r.rm = high
		if high {
			if r.shk {
				r.add(at, RuleRingOnHook, "RM raised while off-hook")
				r.tripDone = true
			}
			r.burstStart, r.lastEdge, r.edges = at, at, 0
			return
		}
		r.short = false
		if r.edges == 0 && at.Sub(r.burstStart) > 2*half(20)+r.tol() { // a burst shorter than this may end before its first edge
			r.add(at, RuleRingFrequency, "RM high for %v without F/R toggling: no ring signal", at.Sub(r.burstStart))
		}
		// RM falls: F/R must have been high for good for more than 10 ms.
		switch {
		case !r.fr:
			r.add(at, RuleRingStopOrder, "RM dropped while F/R was low (reversed): F/R must go high first")
		case at.Sub(r.frHighAt) <= RingStopDelay:
			r.add(at, RuleRingStopOrder, "RM dropped %v after F/R went high, want more than %v", at.Sub(r.frHighAt), RingStopDelay)
		}
		r.bursts = append(r.bursts, [2]time.Time{r.burstStart, at})
	case AgFR:
		r.fr = high
		if high {
			r.frHighAt = at
		}
		if r.rm {
			r.ringEdge(at, high)
		}
	}
}

// ringEdge checks one F/R edge while RM is high. Every half cycle must be
// 1/(2·RingHz) long, except the last edge of a burst: the one that sets F/R
// high for good may come early (ringing stops mid-cycle).
func (r *replay) ringEdge(at time.Time, high bool) {
	if r.short {
		r.short = false
		r.add(r.shortAt, RuleRingFrequency, "ring half cycle %v, want %v at %d Hz", r.shortD, r.shortH, r.hz)
	}
	d := at.Sub(r.lastEdge)
	r.lastEdge = at
	r.edges++
	if r.hz == 0 {
		for _, hz := range []int{20, 25} {
			if absDur(d-half(hz)) <= r.tol() {
				r.hz = hz
			}
		}
		if r.hz == 0 {
			r.add(at, RuleRingFrequency, "first ring half cycle %v: neither 20 Hz (%v) nor 25 Hz (%v)", d, half(20), half(25))
			r.hz = 20
		}
		return
	}
	h := half(r.hz)
	switch {
	case d > h+r.tol():
		r.add(at, RuleRingFrequency, "ring half cycle %v, want %v at %d Hz", d, h, r.hz)
	case d < h-r.tol() && !high:
		r.add(at, RuleRingFrequency, "ring half cycle %v, want %v at %d Hz", d, h, r.hz)
	case d < h-r.tol():
		// Fine only as the stop edge: reported if another edge follows
		// before RM falls.
		r.short, r.shortAt, r.shortD, r.shortH = true, at, d, h
	}
}

func half(hz int) time.Duration { return time.Second / time.Duration(2*hz) }

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// duty checks every window of DutyWindow: RM high at most DutyMaxOn. The
// worst window starts where a burst starts or ends where one ends.
func (r *replay) duty() {
	onIn := func(from, to time.Time) time.Duration {
		var d time.Duration
		for _, b := range r.bursts {
			s, e := b[0], b[1]
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				d += e.Sub(s)
			}
		}
		return d
	}
	reported := time.Time{}
	for _, b := range r.bursts {
		for _, w := range [][2]time.Time{{b[0], b[0].Add(DutyWindow)}, {b[1].Add(-DutyWindow), b[1]}} {
			if on := onIn(w[0], w[1]); on > DutyMaxOn+r.tol() && !w[1].Before(reported) {
				r.add(w[1], RuleRingDuty, "RM high %v in the %v from %v (at most %v: 33 %%)", on, DutyWindow, w[0].Sub(r.m.start), DutyMaxOn)
				reported = w[1].Add(DutyWindow)
			}
		}
	}
}

// Change is one recorded level change of a pin.
type Change struct {
	At   time.Time
	High bool
}

// Changes lists the recorded changes of pin, in time order (a level fed
// twice in a row is one change).
func (m *Ag1171) Changes(pin AgPin) []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Change
	for _, e := range m.sorted() {
		if e.kind != evPin || e.pin != pin {
			continue
		}
		if n := len(out); n > 0 && out[n-1].High == e.level {
			continue
		}
		out = append(out, Change{At: e.at, High: e.level})
	}
	return out
}

// sorted returns the events in time order (stable: same-time events keep
// the order they were fed in). Call with m.mu held.
func (m *Ag1171) sorted() []agEvent {
	evs := append([]agEvent(nil), m.events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	return evs
}

// ModelPin is an output line whose levels the model watches: a backend
// under test drives it like a GPIO line (Set, Get, Close; true = high).
// The PD pin is open-drain: Set(true) releases it, Set(false) pulls it low.
type ModelPin struct {
	m      *Ag1171
	pin    AgPin
	pd     bool
	mu     sync.Mutex
	level  bool
	closed bool
}

// Pin returns a line feeding pin (RM, F/R or HV) of the model.
func (m *Ag1171) Pin(pin AgPin) *ModelPin { return &ModelPin{m: m, pin: pin} }

// PDPin returns an open-drain line feeding the model's PD pin.
func (m *Ag1171) PDPin() *ModelPin { return &ModelPin{m: m, pd: true} }

// Set drives the line.
func (p *ModelPin) Set(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("haltest: model pin %v: %w", p.pin, errClosedPin)
	}
	p.level = on
	if p.pd {
		d := PDReleased
		if !on {
			d = PDDrivenLow
		}
		p.m.SetPD(d)
		return nil
	}
	p.m.Set(p.pin, on)
	return nil
}

var errClosedPin = errors.New("line released")

// Get returns the level last set.
func (p *ModelPin) Get() (bool, error) { p.mu.Lock(); defer p.mu.Unlock(); return p.level, nil }

// Close releases the line.
func (p *ModelPin) Close() error { p.mu.Lock(); defer p.mu.Unlock(); p.closed = true; return nil }

// Closed reports whether the line was released.
func (p *ModelPin) Closed() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.closed }
