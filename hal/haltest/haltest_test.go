package haltest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
)

// timerLamp is a reference lamp driven by clock timers, the way a GPIO
// backend drives a line: it sets the level at once and re-arms a timer at
// each cadence edge. It writes its level through set, which stands in for
// the GPIO line.
type timerLamp struct {
	clk   clock.Clock
	set   func(bool)
	mu    sync.Mutex
	gen   int
	stop  func() bool
	close bool
}

func (l *timerLamp) SetPattern(p hal.Pattern) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.close {
		return fmt.Errorf("timerlamp: %w", hal.ErrClosed)
	}
	if l.stop != nil {
		l.stop()
	}
	l.gen++
	start := l.clk.Now()
	l.set(p.At(0))
	if p.Period() > 0 {
		l.arm(l.gen, p, start, 0, 0)
	}
	return nil
}

// arm schedules the edge after phase i (which started at offset 'at').
func (l *timerLamp) arm(gen int, p hal.Pattern, start time.Time, i int, at time.Duration) {
	edge := at + p.Cadence[i%len(p.Cadence)]
	l.stop = l.clk.AfterFunc(start.Add(edge).Sub(l.clk.Now()), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if gen != l.gen || l.close {
			return
		}
		l.set(p.At(edge))
		l.arm(gen, p, start, i+1, edge)
	})
}

func (l *timerLamp) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.close = true
	if l.stop != nil {
		l.stop()
	}
	l.set(false)
	return nil
}

func TestTimerLampConforms(t *testing.T) {
	haltest.TestLamp(t, func(t *testing.T, clk *haltest.FakeClock) haltest.LampHarness {
		var mu sync.Mutex
		level := false
		l := &timerLamp{clk: clk, set: func(v bool) { mu.Lock(); level = v; mu.Unlock() }}
		return haltest.LampHarness{Lamp: l, Close: l.Close, Lit: func() (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return level, nil
		}}
	})
}

func TestFakeClockOrder(t *testing.T) {
	clk := haltest.NewFakeClock(time.Unix(0, 0))
	var got []string
	clk.AfterFunc(30*time.Millisecond, func() { got = append(got, fmt.Sprint("c@", clk.Now().UnixMilli())) })
	clk.AfterFunc(10*time.Millisecond, func() {
		got = append(got, fmt.Sprint("a@", clk.Now().UnixMilli()))
		clk.AfterFunc(10*time.Millisecond, func() { got = append(got, fmt.Sprint("b@", clk.Now().UnixMilli())) })
	})
	stop := clk.AfterFunc(20*time.Millisecond, func() { got = append(got, "stopped timer fired") })
	if !stop() {
		t.Fatal("stop of an armed timer returned false")
	}
	clk.Advance(25 * time.Millisecond)
	if fmt.Sprint(got) != "[a@10 b@20]" {
		t.Fatalf("after 25ms: %v", got)
	}
	clk.Advance(5 * time.Millisecond)
	if fmt.Sprint(got) != "[a@10 b@20 c@30]" || clk.Pending() != 0 {
		t.Fatalf("after 30ms: %v, pending %d", got, clk.Pending())
	}
}

// Example shows how a backend's test runs the lamp suite; the gpio backend
// passes a Lit function that reads gpio-sim's sysfs value file.
func Example() {
	// func TestLamp(t *testing.T) {
	// 	haltest.TestLamp(t, func(t *testing.T, clk *haltest.FakeClock) haltest.LampHarness {
	// 		lamp := mybackend.NewLamp(line, clk)
	// 		return haltest.LampHarness{Lamp: lamp, Close: lamp.Close,
	// 			Lit: func() (bool, error) { return readSysfsValue(t, chip, offset) }}
	// 	})
	// }
	fmt.Println("see TestTimerLampConforms")
	// Output: see TestTimerLampConforms
}
