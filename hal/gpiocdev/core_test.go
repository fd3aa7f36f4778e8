package gpiocdev

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// fakePin records every level written.
type fakePin struct {
	mu     sync.Mutex
	level  bool
	writes int
	closed bool
	edges  []time.Time
	clk    *clock.Fake
}

func (p *fakePin) Set(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("fake pin closed")
	}
	if on != p.level && p.clk != nil {
		p.edges = append(p.edges, p.clk.Now())
	}
	p.level = on
	p.writes++
	return nil
}
func (p *fakePin) Get() (bool, error) { p.mu.Lock(); defer p.mu.Unlock(); return p.level, nil }
func (p *fakePin) Close() error       { p.mu.Lock(); defer p.mu.Unlock(); p.closed = true; return nil }
func (p *fakePin) get() bool          { v, _ := p.Get(); return v }

// newFakeClock is hal/clock's manual clock at a fixed start: callbacks run
// inside Advance in deadline order.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

func TestLampFollowsPatternWithoutDrift(t *testing.T) {
	clk := newFakeClock()
	p := &fakePin{clk: clk}
	l, err := newLamp("GPIO22", p, clk)
	if err != nil {
		t.Fatal(err)
	}
	pat := hal.Pattern{Name: "double", Cadence: []time.Duration{150 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond}}
	if err := l.SetPattern(pat); err != nil {
		t.Fatal(err)
	}
	t0 := clk.Now()
	// Step 7 ms at a time for 100 periods; the line must equal At() at every step.
	for i := 0; i < 100*1000/7; i++ {
		clk.Advance(7 * time.Millisecond)
		if got, want := p.get(), pat.At(clk.Now().Sub(t0)); got != want {
			t.Fatalf("at %v: lit %v, want %v", clk.Now().Sub(t0), got, want)
		}
	}
	if n := len(p.edges); n != 400 {
		t.Fatalf("%d edges in 100 periods of a 4-segment cadence, want 400", n)
	}
}

func TestLampReplaceAndClose(t *testing.T) {
	clk := newFakeClock()
	p := &fakePin{clk: clk}
	l, _ := newLamp("L", p, clk)
	_ = l.SetPattern(hal.Blink("b", 100*time.Millisecond, 100*time.Millisecond))
	clk.Advance(150 * time.Millisecond)
	if p.get() {
		t.Fatal("blink 100/100 lit at 150ms")
	}
	_ = l.SetPattern(hal.PatternSteady)
	clk.Advance(10 * time.Second)
	if !p.get() {
		t.Fatal("steady not lit; an old blink timer toggled it")
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d timers armed for a steady pattern", clk.Pending())
	}
	_ = l.SetPattern(hal.Blink("b", 100*time.Millisecond, 100*time.Millisecond))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if p.level || !p.closed {
		t.Fatalf("after Close: level %v closed %v; want dark and released", p.level, p.closed)
	}
	clk.Advance(time.Second)
	if err := l.SetPattern(hal.PatternSteady); !errors.Is(err, hal.ErrClosed) {
		t.Fatalf("SetPattern after Close = %v", err)
	}
}

func TestHookSoftwareDebounce(t *testing.T) {
	clk := newFakeClock()
	p := &fakePin{}
	h, err := newHook("SHK", p, clk, 20*time.Millisecond, true)
	if err != nil {
		t.Fatal(err)
	}
	// Contact bounce: 6 edges 2 ms apart, settling off-hook.
	for i := 0; i < 6; i++ {
		p.level = i%2 == 0
		h.edge(p.level)
		clk.Advance(2 * time.Millisecond)
	}
	p.level = true
	h.edge(true)
	select {
	case ev := <-h.Events():
		t.Fatalf("event %+v before the line was quiet for the debounce time", ev)
	default:
	}
	clk.Advance(20 * time.Millisecond)
	select {
	case ev := <-h.Events():
		if !ev.OffHook || !ev.At.Equal(clk.Now()) {
			t.Fatalf("event %+v, want off-hook at %v", ev, clk.Now())
		}
	default:
		t.Fatal("no event after the debounce time")
	}
	select {
	case ev := <-h.Events():
		t.Fatalf("extra event %+v", ev)
	default:
	}
	// A glitch shorter than the debounce that returns to the same level is no event.
	p.level = false
	h.edge(false)
	clk.Advance(5 * time.Millisecond)
	p.level = true
	h.edge(true)
	clk.Advance(50 * time.Millisecond)
	select {
	case ev := <-h.Events():
		t.Fatalf("glitch produced %+v", ev)
	default:
	}
	if off, _ := h.OffHook(); !off {
		t.Fatal("OffHook() false")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-h.Events(); ok {
		t.Fatal("Events not closed")
	}
	h.edge(false) // after close: ignored, no panic
	if _, err := h.OffHook(); !errors.Is(err, hal.ErrClosed) {
		t.Fatalf("OffHook after Close: %v", err)
	}
}

func TestHookKernelDebounceReportsChangesOnly(t *testing.T) {
	clk := newFakeClock()
	p := &fakePin{}
	h, _ := newHook("SHK", p, clk, 20*time.Millisecond, false)
	for _, lv := range []bool{true, true, false, false, true} {
		h.edge(lv)
	}
	var got []bool
	for len(h.Events()) > 0 {
		got = append(got, (<-h.Events()).OffHook)
	}
	if len(got) != 3 || !got[0] || got[1] || !got[2] {
		t.Fatalf("events %v, want [true false true]", got)
	}
}

func TestLineNotFoundMessage(t *testing.T) {
	err := &LineNotFoundError{Line: "GPIO22"}
	want := `hal: GPIO line "GPIO22" not found on any chip (is this a Raspberry Pi? is the user in group gpio?)`
	if err.Error() != want {
		t.Fatalf("got %q", err.Error())
	}
}
