//go:build linux

package gpiocdev

import (
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
	gc "github.com/warthog618/go-gpiocdev"
)

// The Ag1171 model on real kernel lines: the rpi-ata board's SLIC lines
// (RM GPIO5, F/R GPIO12, SHK GPIO6, PD GPIO26, and an HV relay on GPIO16)
// are gpio-sim lines inside the qemu VM; what the model sees is read back
// from gpio-sim's sysfs files after every 5 ms step of a fake clock, so the
// timing is exact and the levels are the kernel's.

const (
	offRM, offFR, offSHK, offPD, offHV = 5, 12, 6, 26, 16
)

type simObserver struct {
	t    *testing.T
	pi   simChip
	chip *gc.Chip
	m    *haltest.Ag1171
	last map[int]bool
	pd   haltest.PDDrive
}

func newSimObserver(t *testing.T, pi simChip, m *haltest.Ag1171) *simObserver {
	t.Helper()
	ch, err := gc.NewChip(pi.name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	o := &simObserver{t: t, pi: pi, chip: ch, m: m, last: map[int]bool{}, pd: -1}
	o.observe()
	return o
}

// pdDrive tells how PD is driven from the line's kernel configuration and
// level: an open-drain output that reads high is released (the SLIC's own
// pull-up holds it), a push-pull output that reads high is driven high.
func (o *simObserver) pdDrive() haltest.PDDrive {
	li, err := o.chip.LineInfo(offPD)
	if err != nil {
		o.t.Fatal(err)
	}
	v, err := o.pi.value(offPD)
	if err != nil {
		o.t.Fatal(err)
	}
	switch {
	case !li.Used || li.Config.Direction != gc.LineDirectionOutput:
		return haltest.PDReleased
	case !v:
		return haltest.PDDrivenLow
	case li.Config.Drive == gc.LineDriveOpenDrain:
		return haltest.PDReleased
	}
	return haltest.PDDrivenHigh
}

// observe reads every watched line; ring reads only RM and F/R, the lines
// that change while the clock runs (HV, SHK and PD change only when the
// test acts, and it calls observe then).
func (o *simObserver) observe() { o.read(true) }

func (o *simObserver) read(all bool) {
	for _, p := range []struct {
		off int
		pin haltest.AgPin
	}{{offSHK, haltest.AgSHK}, {offRM, haltest.AgRM}, {offFR, haltest.AgFR}, {offHV, haltest.AgHV}} {
		off, pin := p.off, p.pin
		if !all && off != offFR && off != offRM {
			continue
		}
		v, err := o.pi.value(off)
		if err != nil {
			o.t.Fatal(err)
		}
		if old, ok := o.last[off]; !ok || old != v {
			o.m.Set(pin, v)
			o.last[off] = v
		}
	}
	if !all {
		return
	}
	if d := o.pdDrive(); d != o.pd {
		o.m.SetPD(d)
		o.pd = d
	}
}

// step is the fake clock's step. Every edge the backend makes falls on a
// multiple of it (ring half cycles of 25 and 20 ms from a ring start on a
// step, the 20 ms stop hold, the 50 ms duty-cycle recheck), so reading the
// lines after each step times every edge exactly, at a cost the TCG guest
// can pay (sysfs reads take about 1 ms there).
const step = 5 * time.Millisecond

// run advances the fake clock one step at a time for d, reading RM and F/R
// after each step.
func (o *simObserver) run(clk *haltest.FakeClock, d time.Duration) {
	for i := time.Duration(0); i < d; i += step {
		clk.Advance(step)
		o.read(false)
	}
}

func TestVMAg1171ModelOnBackend(t *testing.T) {
	needVM(t)
	pi := findSim(t, "mwi-sim-pi")
	_ = pi.pull(offPD, true)   // the Ag1171's own pull-up on PD
	_ = pi.pull(offSHK, false) // on-hook
	_ = pi.pull(offHV, false)
	clk := haltest.NewFakeClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	// A duty-cycle pause ends on the 50 ms recheck, off the step grid: the
	// edges after it are seen up to one step late.
	m := haltest.NewAg1171(clk, haltest.Ag1171Config{RingHz: 20, Tolerance: step + time.Millisecond})
	o := newSimObserver(t, pi, m)
	b, err := boards.Lookup("rpi-ata")
	if err != nil {
		t.Fatal(err)
	}
	def := *b.FXS
	def.HVRelay = boards.LineRef{Name: "GPIO16"}
	hook, err := OpenHook(def.SHK, 10*time.Millisecond, false, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close()
	l, err := OpenLine(def, hook, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	o.observe()
	if o.pd != haltest.PDReleased {
		t.Fatalf("PD %v after OpenLine, want released", o.pd)
	}
	setHook := func(off bool) {
		_ = pi.pull(offSHK, off)
		deadline := time.Now().Add(3 * time.Second)
		for got, _ := hook.OffHook(); got != off; got, _ = hook.OffHook() {
			if time.Now().After(deadline) {
				t.Fatalf("hook did not report off-hook=%v", off)
			}
			time.Sleep(5 * time.Millisecond)
		}
		o.observe()
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	o.run(clk, 100*time.Millisecond)
	must(l.SetPolarity(hal.PolarityReversed))
	o.run(clk, 200*time.Millisecond)
	must(l.SetRing(true)) // on a reversed line
	o.run(clk, time.Second)
	must(l.SetRing(false))
	o.run(clk, 500*time.Millisecond)
	must(l.SetRing(true)) // a request longer than the duty cycle allows: 2 s, pause, again
	o.run(clk, 7*time.Second)
	must(l.SetRing(false))
	o.run(clk, 200*time.Millisecond)
	must(l.SetPolarity(hal.PolarityForward))
	must(l.SetHighVoltage(true))
	o.observe()
	o.run(clk, 300*time.Millisecond)
	setHook(true)
	o.run(clk, 20*time.Millisecond)
	must(l.SetHighVoltage(false)) // the port drops HV on lift
	o.observe()
	o.run(clk, 500*time.Millisecond)
	setHook(false)
	o.run(clk, 3*time.Second) // let the duty cycle recover
	must(l.SetRing(true))
	o.run(clk, 700*time.Millisecond)
	setHook(true) // ring trip
	o.run(clk, 300*time.Millisecond)
	if v, _ := pi.value(offRM); v {
		t.Fatal("RM still high 300 ms after the handset was lifted")
	}
	setHook(false)
	o.run(clk, 100*time.Millisecond)
	must(l.Close())
	o.observe()
	m.Check(t)
	if t.Failed() {
		return
	}
	t.Logf("Ag1171 model: no rule broken on gpio-sim lines over %v of line activity", clk.Now().Sub(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)))
}

// The model on the same lines catches the old backend's sequence: PD held
// low push-pull while running and driven high at close, RM and F/R
// dropped at the same instant.
func TestVMAg1171ModelCatchesOldBackend(t *testing.T) {
	needVM(t)
	pi := findSim(t, "mwi-sim-pi")
	_ = pi.pull(offPD, true)
	_ = pi.pull(offSHK, false)
	clk := haltest.NewFakeClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	m := haltest.NewAg1171(clk, haltest.Ag1171Config{RingHz: 20})
	o := newSimObserver(t, pi, m)
	ls, err := gc.RequestLines(pi.name, []int{offRM, offFR, offPD}, gc.AsOutput(0, 1, 0), gc.WithConsumer("old-backend"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	o.observe()
	o.run(clk, 100*time.Millisecond)
	_ = ls.SetValues([]int{1, 1, 0}) // ring
	fr := 1
	for i := 0; i < 19; i++ { // ends with F/R low
		o.run(clk, 25*time.Millisecond)
		fr ^= 1
		_ = ls.SetValues([]int{1, fr, 0})
	}
	o.run(clk, 25*time.Millisecond)
	_ = ls.SetValues([]int{0, 1, 0}) // RM and F/R at the same instant
	o.run(clk, 100*time.Millisecond)
	_ = ls.SetValues([]int{0, 1, 1}) // "power down" at close
	o.observe()
	o.run(clk, 10*time.Millisecond)
	got := m.Broken()
	want := []haltest.Rule{haltest.RulePDHigh, haltest.RulePDDeadLine, haltest.RuleRingStopOrder}
	if len(got) != len(want) {
		t.Fatalf("broken %v, want %v\n%s", got, want, m.Trace())
	}
	for _, r := range want {
		found := false
		for _, g := range got {
			found = found || g == r
		}
		if !found {
			t.Fatalf("broken %v, want %v", got, want)
		}
	}
	t.Logf("the old backend's sequence on gpio-sim breaks %v", got)
}
