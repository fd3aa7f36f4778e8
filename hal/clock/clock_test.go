package clock_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestFakeFiresInDeadlineOrderAtTheirTimes(t *testing.T) {
	c := clock.NewFake(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(1*time.Second, at("a"))
	c.AfterFunc(1*time.Second, at("a2")) // tie: armed later, fires later
	stop := c.AfterFunc(2*time.Second, at("never"))
	c.AfterFunc(10*time.Second, at("late"))
	if !stop() {
		t.Fatal("stop of an armed timer reported false")
	}
	if stop() {
		t.Fatal("second stop reported true")
	}
	c.Advance(5 * time.Second)
	want := []string{"a@1s", "a2@1s", "c@3s"}
	if !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if c.Now() != t0.Add(5*time.Second) {
		t.Fatalf("now %v after Advance(5s)", c.Now())
	}
	if c.Pending() != 1 {
		t.Fatalf("pending %d, want 1", c.Pending())
	}
	if next, ok := c.Next(); !ok || next != t0.Add(10*time.Second) {
		t.Fatalf("next %v %v", next, ok)
	}
}

func TestFakeCallbackArmsTimerFiredInSameAdvance(t *testing.T) {
	c := clock.NewFake(t0)
	n := 0
	var tick func()
	tick = func() {
		n++
		c.AfterFunc(time.Second, tick)
	}
	c.AfterFunc(time.Second, tick)
	c.Advance(10 * time.Second)
	if n != 10 {
		t.Fatalf("periodic callback ran %d times in 10 s, want 10", n)
	}
}

func TestFakeChannelTimer(t *testing.T) {
	c := clock.NewFake(t0)
	tm := c.NewTimer(2 * time.Second)
	c.Advance(time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(time.Second)
	select {
	case at := <-tm.C():
		if at != t0.Add(2*time.Second) {
			t.Fatalf("timer sent %v", at)
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	if tm.Stop() {
		t.Fatal("Stop of a fired timer reported true")
	}
	tm2 := c.NewTimer(time.Second)
	if !tm2.Stop() {
		t.Fatal("Stop of an armed timer reported false")
	}
	c.Advance(time.Hour)
	select {
	case <-tm2.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeSetNeverGoesBack(t *testing.T) {
	c := clock.NewFake(t0)
	c.Set(t0.Add(-time.Hour))
	c.Advance(-time.Second)
	if c.Now() != t0 {
		t.Fatalf("clock went back to %v", c.Now())
	}
	fired := false
	c.AfterFunc(time.Minute, func() { fired = true })
	c.Set(t0.Add(time.Minute))
	if !fired || c.Now() != t0.Add(time.Minute) {
		t.Fatalf("Set: fired=%v now=%v", fired, c.Now())
	}
}

// Property: whatever timers are armed and however the clock is advanced,
// each unstopped timer fires exactly once, at its deadline, in order.
func TestFakeProperty(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 1))
		c := clock.NewFake(t0)
		type rec struct {
			at, due time.Time
		}
		var fired []rec
		want := 0
		for range r.IntN(20) {
			d := time.Duration(r.IntN(5000)) * time.Millisecond
			due := c.Now().Add(d)
			stop := c.AfterFunc(d, func() { fired = append(fired, rec{c.Now(), due}) })
			if r.IntN(4) == 0 {
				stop()
			} else {
				want++
			}
			if r.IntN(3) == 0 {
				c.Advance(time.Duration(r.IntN(2000)) * time.Millisecond)
			}
		}
		c.Advance(time.Hour)
		if len(fired) != want {
			t.Fatalf("seed %d: %d fired, want %d", seed, len(fired), want)
		}
		for i, f := range fired {
			if !f.at.Equal(f.due) {
				t.Fatalf("seed %d: timer due %v fired at %v", seed, f.due, f.at)
			}
			if i > 0 && f.at.Before(fired[i-1].at) {
				t.Fatalf("seed %d: out of order", seed)
			}
		}
	}
}

func TestRealInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.Or(nil)
		start := c.Now()
		tm := c.NewTimer(time.Minute)
		done := make(chan time.Time, 1)
		c.AfterFunc(30*time.Second, func() { done <- c.Now() })
		at := <-done
		if got := at.Sub(start); got != 30*time.Second {
			t.Fatalf("AfterFunc ran after %v", got)
		}
		<-tm.C()
		if got := c.Now().Sub(start); got != time.Minute {
			t.Fatalf("timer fired after %v", got)
		}
		stop := c.AfterFunc(time.Second, func() { t.Error("stopped callback ran") })
		if !stop() {
			t.Fatal("stop reported false")
		}
		time.Sleep(2 * time.Second)
	})
}

func TestOrKeepsGivenClock(t *testing.T) {
	f := clock.NewFake(t0)
	if clock.Or(f) != clock.Clock(f) {
		t.Fatal("Or replaced a non-nil clock")
	}
}
