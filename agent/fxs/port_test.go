package fxs

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/sim"
	"github.com/mwi-agent/mwi-agent/tone"
)

// recSink keeps every sample with the fake time it was written at.
type recSink struct {
	mu  sync.Mutex
	clk clock.Reader
	pcm []int16
	at  []time.Time // per write
	n   []int       // samples per write
}

func (r *recSink) Write(p []int16) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pcm = append(r.pcm, p...)
	r.at = append(r.at, r.clk.Now())
	r.n = append(r.n, len(p))
	return len(p), nil
}

func (r *recSink) samples() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.pcm) }
func (r *recSink) since(i int) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.pcm[i:]...)
}

type rig struct {
	port *Port
	sim  *sim.Board
	clk  clock.Reader
	snk  *recSink
	stop func()
}

// newRig runs a port on the sim board's line and hook and a recording sink.
// Call it inside a testing/synctest bubble: the port, the board and the
// sink use the real clock, which the bubble turns into a fake one that
// moves only when every goroutine of the test waits.
func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	b := sim.New(sim.Options{Hook: true, Line: true})
	return startRig(t, cfg, b, b.Line)
}

// startRig runs a port on line (the sim board's, or another backend's),
// the sim board's hook and a recording sink, on the (bubble's) real clock.
func startRig(t *testing.T, cfg Config, b *sim.Board, line hal.Line) *rig {
	t.Helper()
	clk := clock.Real{}
	snk := &recSink{clk: clk}
	p, err := New(cfg, Devices{Line: line, Hook: b.Hook, Audio: snk}, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	r := &rig{port: p, sim: b, clk: clk, snk: snk, stop: func() { cancel(); <-done }}
	t.Cleanup(r.stop)
	return r
}

// advance lets d pass on the bubble's clock, then waits until every
// goroutine of the port is blocked again: what it did by then is settled.
func (r *rig) advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// until advances the clock a millisecond at a time (at most max) until
// cond holds.
func (r *rig) until(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	for end := r.clk.Now().Add(max); !cond(); {
		if !r.clk.Now().Before(end) {
			t.Fatalf("%s: not within %v (status %+v, line %+v)", what, max, r.port.Status(), r.sim.Line.State())
		}
		r.advance(time.Millisecond)
	}
}

func (r *rig) state() State { return r.port.Status().State }

func (r *rig) hook(t *testing.T, off bool) {
	t.Helper()
	if err := r.sim.Hook.Set(off); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, pcm []int16) (on bool) {
	t.Helper()
	d, err := tone.DecodeMWI(pcm, 8000)
	if err != nil {
		t.Fatalf("decoding what the port sent: %v", err)
	}
	on, ok := d.Message.MWI()
	if !ok {
		t.Fatalf("decoded message %v has no MWI", d.Message)
	}
	return on
}

func TestFSKAfterQuietTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{FSK: true, Format: tone.MDMF})
		r.advance(time.Second) // on-hook for 1 s so far
		r.port.SetMWI(true, true)
		r.advance(1900 * time.Millisecond)
		if n := r.snk.samples(); n != 0 {
			t.Fatalf("%d samples sent before the line was quiet for 3 s", n)
		}
		r.until(t, 300*time.Millisecond, "sending starts at 3 s on-hook", func() bool { return r.state() == Sending })
		r.until(t, 3*time.Second, "sending ends", func() bool { return r.state() == Idle })
		if !decode(t, r.snk.since(0)) {
			t.Fatal("sent MWI off, want on")
		}
		if st := r.port.Status(); st.Pending {
			t.Fatalf("still pending after sending: %+v", st)
		}
		// And off again.
		n := r.snk.samples()
		r.port.SetMWI(false, false)
		r.until(t, 3*time.Second, "second message", func() bool { return r.snk.samples() > n && r.state() == Idle })
		if decode(t, r.snk.since(n)) {
			t.Fatal("sent MWI on, want off")
		}
	})
}

func TestOffHookAbortsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{FSK: true, Stutter: true, Format: tone.SDMF, Alert: tone.AlertDTAS})
		r.advance(4 * time.Second)
		r.port.SetMWI(true, true)
		r.until(t, time.Second, "sending", func() bool { return r.state() == Sending && r.snk.samples() > 0 })
		r.advance(100 * time.Millisecond) // in the middle of the transmission
		r.hook(t, true)
		r.until(t, 100*time.Millisecond, "abort", func() bool { return r.state() == OffHook })
		if st := r.port.Status(); !st.Pending {
			t.Fatalf("aborted message not owed: %+v", st)
		}
		// Off-hook for a minute: stutter tone only, no message however long.
		mark := r.snk.samples()
		r.advance(10 * time.Second)
		if r.state() != OffHook {
			t.Fatalf("state %v", r.state())
		}
		if _, err := tone.DecodeMWI(r.snk.since(mark), 8000); err == nil {
			t.Fatal("an FSK message was sent while off-hook")
		}
		// Hang up: after the flash window and the quiet time, the message is sent again.
		r.hook(t, false)
		hungUp := r.clk.Now()
		mark = r.snk.samples()
		r.until(t, 5*time.Second, "retry", func() bool { return r.state() == Sending })
		if d := r.clk.Now().Sub(hungUp); d < 3*time.Second {
			t.Fatalf("retry %v after hang-up, want ≥ 3 s quiet", d)
		}
		r.until(t, 3*time.Second, "retry done", func() bool { return r.state() == Idle })
		if !decode(t, r.snk.since(mark)) {
			t.Fatal("retry sent MWI off")
		}
	})
}

func TestRefreshInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{FSK: true, Format: tone.MDMF, Refresh: 20 * time.Second})
		r.advance(4 * time.Second)
		r.port.SetMWI(true, true)
		r.until(t, 3*time.Second, "first", func() bool { return r.state() == Sending })
		r.until(t, 3*time.Second, "first done", func() bool { return r.state() == Idle })
		first := r.clk.Now()
		mark := r.snk.samples()
		r.until(t, 25*time.Second, "refresh", func() bool { return r.state() == Sending })
		if d := r.clk.Now().Sub(first); d < 19*time.Second || d > 21*time.Second {
			t.Fatalf("refresh after %v, want 20 s", d)
		}
		r.until(t, 3*time.Second, "refresh done", func() bool { return r.state() == Idle })
		if !decode(t, r.snk.since(mark)) {
			t.Fatal("refresh sent MWI off")
		}
	})
}

// silentChunks counts 20 ms chunks that are (almost) silent.
func silentChunks(pcm []int16) (silent, total int) {
	for i := 0; i+160 <= len(pcm); i += 160 {
		quiet := true
		for _, v := range pcm[i : i+160] {
			if v > 100 || v < -100 {
				quiet = false
				break
			}
		}
		if quiet {
			silent++
		}
		total++
	}
	return
}

func TestStutterVersusDialTone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, waiting := range []bool{false, true} {
			r := newRig(t, Config{Stutter: true, DialTimeout: 5 * time.Second})
			r.port.SetMWI(waiting, waiting)
			r.advance(100 * time.Millisecond)
			r.hook(t, true)
			r.until(t, 100*time.Millisecond, "off-hook", func() bool { return r.state() == OffHook })
			r.advance(time.Second)
			silent, total := silentChunks(r.snk.since(0))
			if total < 40 {
				t.Fatalf("waiting=%v: only %d chunks of tone in 1 s", waiting, total)
			}
			if waiting && silent == 0 {
				t.Fatalf("messages waiting: tone has no gaps (want stutter), %d chunks", total)
			}
			if !waiting && silent != 0 {
				t.Fatalf("no messages: %d silent chunks of %d (want steady dial tone)", silent, total)
			}
			// Dial timeout: the tone stops.
			r.advance(5 * time.Second)
			n := r.snk.samples()
			r.advance(time.Second)
			if m := r.snk.samples(); m != n {
				t.Fatalf("tone still playing after the dial timeout (%d more samples)", m-n)
			}
			r.stop()
		}
	})
}

func TestPolarityAndHVFollowHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{Polarity: true, HV: true})
		r.advance(4 * time.Second)
		r.port.SetMWI(true, false)
		r.until(t, time.Second, "signalled", func() bool { return r.sim.Line.State().HighVoltage })
		if s := r.sim.Line.State(); s.Polarity != hal.PolarityReversed {
			t.Fatalf("line %+v, want reversed with HV", s)
		}
		r.hook(t, true)
		r.until(t, 50*time.Millisecond, "lift", func() bool { return r.state() == OffHook })
		if s := r.sim.Line.State(); s.HighVoltage || s.Polarity != hal.PolarityForward {
			t.Fatalf("off-hook line %+v: HV must be off and polarity forward", s)
		}
		// A hook flash is not a hang-up: nothing is re-signalled.
		r.hook(t, false)
		r.advance(300 * time.Millisecond)
		r.hook(t, true)
		r.advance(5 * time.Second)
		if s := r.sim.Line.State(); s.HighVoltage || r.state() != OffHook {
			t.Fatalf("after a flash: line %+v state %v", s, r.state())
		}
		// Hang up: restored after the quiet time.
		r.hook(t, false)
		r.advance(2 * time.Second)
		if r.sim.Line.State().HighVoltage {
			t.Fatal("HV back on before the line was quiet for 3 s")
		}
		r.until(t, 2*time.Second, "restored", func() bool { return r.sim.Line.State().HighVoltage })
		if s := r.sim.Line.State(); s.Polarity != hal.PolarityReversed {
			t.Fatalf("line %+v", s)
		}
		r.stop()
		if s := r.sim.Line.State(); s.HighVoltage || s.Polarity != hal.PolarityForward || s.Ring {
			t.Fatalf("after Run returned: line %+v, want safe", s)
		}
	})
}
