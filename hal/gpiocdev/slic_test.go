package gpiocdev

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

func get(p *haltest.ModelPin) bool { v, _ := p.Get(); return v }

// slicRig is a Line on model-watched pins, with a hook switch whose SHK
// output the model sees too.
type slicRig struct {
	clk            *haltest.FakeClock
	m              *haltest.Ag1171
	rm, fr, pd, hv *haltest.ModelPin
	shk            *fakePin
	hook           *Hook
	line           *Line
}

func newSlicRig(t *testing.T, hz int) *slicRig {
	t.Helper()
	clk := haltest.NewFakeClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	m := haltest.NewAg1171(clk, haltest.Ag1171Config{RingHz: hz})
	r := &slicRig{clk: clk, m: m,
		rm: m.Pin(haltest.AgRM), fr: m.Pin(haltest.AgFR), pd: m.PDPin(), hv: m.Pin(haltest.AgHV), shk: &fakePin{}}
	var err error
	if r.hook, err = newHook("SHK", r.shk, clk, 10*time.Millisecond, false); err != nil {
		t.Fatal(err)
	}
	if r.line, err = NewLine(r.rm, r.fr, r.pd, r.hv, hz, r.hook, Options{Clock: clk}); err != nil {
		t.Fatal(err)
	}
	return r
}

// lift moves the hook switch (the kernel has debounced it).
func (r *slicRig) lift(off bool) {
	r.shk.level = off
	r.m.Set(haltest.AgSHK, off)
	r.hook.edge(off)
}

func TestLineRingsAtFrequencyAndTrips(t *testing.T) {
	for _, hz := range []int{20, 25} {
		r := newSlicRig(t, hz)
		if !get(r.fr) || get(r.rm) || !get(r.pd) {
			t.Fatalf("initial: fr %v rm %v pd released %v; want forward, not ringing, PD released", get(r.fr), get(r.rm), get(r.pd))
		}
		_ = r.line.SetPolarity(hal.PolarityReversed)
		if err := r.line.SetRing(true); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(1500 * time.Millisecond)
		if !get(r.rm) {
			t.Fatal("RM low while ringing")
		}
		// Off-hook during ringing: ring trip at the next half cycle, RM
		// RingStopHold later, then the reversed polarity again.
		r.lift(true)
		r.clk.Advance(time.Second / time.Duration(2*hz))
		if !get(r.rm) || !get(r.fr) {
			t.Fatalf("ring trip: rm %v fr %v; want F/R high first, RM still high", get(r.rm), get(r.fr))
		}
		r.clk.Advance(RingStopHold + polaritySettle)
		if get(r.rm) || get(r.fr) {
			t.Fatalf("after ring trip: rm %v fr %v; want not ringing, reversed", get(r.rm), get(r.fr))
		}
		if err := r.line.SetRing(true); !errors.Is(err, ErrOffHook) {
			t.Fatalf("SetRing off-hook = %v, want ErrOffHook", err)
		}
		if err := r.line.SetHighVoltage(true); !errors.Is(err, ErrOffHook) {
			t.Fatalf("SetHighVoltage off-hook = %v, want ErrOffHook", err)
		}
		r.clk.Advance(time.Second)
		if err := r.line.Close(); err != nil {
			t.Fatal(err)
		}
		if get(r.pd) || get(r.hv) || !get(r.fr) || !r.rm.Closed() || !r.fr.Closed() || !r.pd.Closed() || !r.hv.Closed() {
			t.Fatal("Close must pull PD low, HV off, forward, and release every line")
		}
		if err := r.line.SetRing(true); !errors.Is(err, hal.ErrClosed) {
			t.Fatalf("SetRing after Close = %v", err)
		}
		r.m.Check(t)
	}
}

// A reversed line that rings and stops: F/R goes high for good, RM drops
// more than 10 ms later, then the line is reversed again.
func TestLineRingStopOrderOnReversedLine(t *testing.T) {
	r := newSlicRig(t, 20)
	_ = r.line.SetPolarity(hal.PolarityReversed)
	_ = r.line.SetRing(true)
	r.clk.Advance(262 * time.Millisecond) // F/R low after 10 edges... stop mid-cycle
	_ = r.line.SetRing(false)
	if !get(r.fr) || !get(r.rm) {
		t.Fatalf("stop: fr %v rm %v; want F/R high at once, RM still high", get(r.fr), get(r.rm))
	}
	_ = r.line.SetPolarity(hal.PolarityReversed) // asked for while stopping: applied after RM drops
	r.clk.Advance(RingStopHold)
	if get(r.rm) || !get(r.fr) {
		t.Fatalf("after stop: rm %v fr %v; want RM low, still forward", get(r.rm), get(r.fr))
	}
	r.clk.Advance(polaritySettle)
	if get(r.rm) || get(r.fr) {
		t.Fatalf("after stop: rm %v fr %v; want RM low, reversed", get(r.rm), get(r.fr))
	}
	r.m.Check(t)
}

// A ringing request that never ends becomes 2 s on, 4 s off.
func TestLineRingDutyCycle(t *testing.T) {
	r := newSlicRig(t, 25)
	_ = r.line.SetRing(true)
	var rises []time.Duration
	t0 := r.clk.Now()
	last := false
	for i := 0; i < 30000; i++ { // 30 s in 1 ms steps
		r.clk.Advance(time.Millisecond)
		if v := get(r.rm); v != last {
			if v {
				rises = append(rises, r.clk.Now().Sub(t0))
			}
			last = v
		}
	}
	if len(rises) < 4 || len(rises) > 6 {
		t.Fatalf("RM rose at %v in 30 s; want a burst every ~6 s", rises)
	}
	_ = r.line.SetRing(false)
	r.clk.Advance(time.Second)
	r.m.Check(t)
	t.Logf("continuous ringing request: bursts at %v", rises)
}

// Ring pulses (RP-AS) back to back and ringing requests while stopping.
func TestLineRingPulsesAndRestart(t *testing.T) {
	r := newSlicRig(t, 20)
	for i := 0; i < 5; i++ {
		_ = r.line.SetRing(true)
		r.clk.Advance(250 * time.Millisecond)
		_ = r.line.SetRing(false)
		_ = r.line.SetRing(true) // restart while stopping
		r.clk.Advance(5 * time.Millisecond)
		_ = r.line.SetRing(false)
		r.clk.Advance(time.Second)
	}
	if get(r.rm) {
		t.Fatal("still ringing")
	}
	r.m.Check(t)
}

func TestLineCloseWhileRinging(t *testing.T) {
	r := newSlicRig(t, 20)
	_ = r.line.SetPolarity(hal.PolarityReversed)
	_ = r.line.SetRing(true)
	r.clk.Advance(500 * time.Millisecond)
	start := time.Now()
	if err := r.line.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < RingStopHold {
		t.Fatalf("Close while ringing took %v: RM must drop %v after F/R", d, RingStopHold)
	}
	if get(r.rm) || !get(r.fr) || get(r.pd) {
		t.Fatalf("after Close: rm %v fr %v pd released %v", get(r.rm), get(r.fr), get(r.pd))
	}
	// The model sees no time pass on the fake clock during Close's real
	// wait, so it reports the stop order; nothing else.
	if got := r.m.Broken(); len(got) != 1 || got[0] != haltest.RuleRingStopOrder {
		t.Fatalf("broken %v, want only the stop order seen on a frozen fake clock", got)
	}
}

// The hal conformance suite for lines, on model-watched pins; the model
// must find nothing wrong with what the suite makes the line do.
func TestConformanceLineAg1171Model(t *testing.T) {
	haltest.TestLine(t, func(t *testing.T) haltest.LineHarness {
		r := newSlicRig(t, 20)
		t.Cleanup(func() { r.clk.Advance(time.Second); r.m.Check(t) })
		state := func() (haltest.LineState, error) {
			r.clk.Advance(RingStopHold) // let a stop finish
			s := haltest.LineState{Ring: get(r.rm), HighVoltage: get(r.hv)}
			if !get(r.fr) && !get(r.rm) {
				s.Polarity = hal.PolarityReversed
			}
			return s, nil
		}
		return haltest.LineHarness{Line: r.line, State: state, Close: r.line.Close}
	})
}

// lateClock is a fake clock whose next AfterFunc fires stall later than
// asked, as on a stalled or overloaded system.
type lateClock struct {
	*clock.Fake
	mu    sync.Mutex
	stall time.Duration
}

func (c *lateClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	s := c.stall
	c.stall = 0
	c.mu.Unlock()
	return c.Fake.AfterFunc(d+s, f)
}

func (c *lateClock) stallNext(d time.Duration) { c.mu.Lock(); c.stall = d; c.mu.Unlock() }

// A ring edge that comes late stretches that half cycle; the missed edges
// do not follow at once as sub-millisecond F/R pulses while RM is high,
// and the edges after it are a whole half cycle apart again. A wake-up
// late by less than maxLate keeps the schedule's origin (no drift).
func TestLineRingLateWakeUpStretchesOneHalfCycle(t *testing.T) {
	for _, hz := range []int{20, 25} {
		half := time.Second / time.Duration(2*hz)
		for _, c := range []struct {
			stall   time.Duration
			stretch bool // the schedule moves on by the stall
		}{{half/5 - time.Millisecond, false}, {half/5 + time.Millisecond, true}, {3*half + 7*time.Millisecond, true}} {
			clk := &lateClock{Fake: newFakeClock()}
			rm, fr := &fakePin{}, &fakePin{clk: clk.Fake}
			l, err := NewLine(rm, fr, nil, nil, hz, nil, Options{Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			t0 := clk.Now()
			if err := l.SetRing(true); err != nil {
				t.Fatal(err)
			}
			for range 200 {
				clk.Advance(time.Millisecond)
			}
			clk.stallNext(c.stall) // the edge armed last, due at or before 225 ms
			for range 1000 {
				clk.Advance(time.Millisecond)
			}
			if !rm.get() {
				t.Fatalf("%d Hz: RM low while ringing", hz)
			}
			fr.mu.Lock()
			edges := append([]time.Time(nil), fr.edges...) // [0]: F/R forward at NewLine, t0
			fr.mu.Unlock()
			var stretched []time.Duration
			for i := 1; i < len(edges); i++ {
				d := edges[i].Sub(edges[i-1])
				switch {
				case d < half-c.stall && !c.stretch:
					t.Fatalf("%d Hz, stall %v: half cycle %d is %v, want ≥ %v", hz, c.stall, i, d, half-c.stall)
				case d < half && c.stretch:
					t.Fatalf("%d Hz, stall %v: half cycle %d is %v, want ≥ %v", hz, c.stall, i, d, half)
				case d > half:
					stretched = append(stretched, d)
				}
			}
			want := []time.Duration{half + c.stall}
			if !reflect.DeepEqual(stretched, want) {
				t.Errorf("%d Hz, stall %v: stretched half cycles %v, want %v", hz, c.stall, stretched, want)
			}
			// Without moving on, every edge after the stall is where it was
			// due; with it, the edges after it are on a schedule late by the stall.
			last := edges[len(edges)-1].Sub(t0)
			shift := time.Duration(0)
			if c.stretch {
				shift = c.stall
			}
			if (last-shift)%half != 0 {
				t.Errorf("%d Hz, stall %v: last edge at %v, not on the %v grid shifted by %v", hz, c.stall, last, half, shift)
			}
			l.Close()
		}
	}
}
