package fxs

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/tone"
)

// Polarity and FSK together (the config default): every time MWI is
// signalled — not only the first — the line stays reversed after the FSK
// data, including after a lift and hang-up re-sends it.
func TestPolarityStaysReversedAfterEveryFSK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{Polarity: true, FSK: true, Format: tone.MDMF})
		r.advance(4 * time.Second)
		reversed := func() bool { return r.sim.Line.State().Polarity == hal.PolarityReversed }
		for i := 0; i < 3; i++ {
			if i == 0 {
				r.port.SetMWI(true, true)
			} else {
				r.hook(t, true)
				r.until(t, 100*time.Millisecond, "lift: forward", func() bool { return r.state() == OffHook && !reversed() })
				r.hook(t, false)
			}
			n := r.snk.samples()
			r.until(t, 5*time.Second, "sending", func() bool { return r.state() == Sending })
			r.until(t, 3*time.Second, "sent", func() bool { return r.state() == Idle })
			if !decode(t, r.snk.since(n)) {
				t.Fatalf("round %d: sent MWI off", i)
			}
			r.advance(500 * time.Millisecond)
			if !reversed() {
				t.Fatalf("round %d: line %+v after sending MWI on, want reversed", i, r.sim.Line.State())
			}
		}
	})
}

// MWI changing while a message is being sent: whatever was interrupted, the
// line ends with the polarity of the latest MWI state, and the last message
// sent says the latest state.
func TestPolarityFollowsMWIChangedMidSend(t *testing.T) {
	for _, alert := range []tone.Alert{tone.AlertNone, tone.AlertLineReversal} {
		t.Run(alert.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, Config{Polarity: true, FSK: true, Format: tone.MDMF, Alert: alert})
				r.advance(4 * time.Second)
				r.port.SetMWI(true, true)
				r.until(t, 5*time.Second, "sending on", func() bool { return r.state() == Sending })
				r.port.SetMWI(false, false)
				r.advance(10 * time.Millisecond)
				r.port.SetMWI(true, true)
				n := r.snk.samples()
				r.until(t, 10*time.Second, "sent", func() bool { return r.state() == Idle && r.snk.samples() > n })
				r.advance(500 * time.Millisecond)
				if got := r.sim.Line.State().Polarity; got != hal.PolarityReversed {
					t.Fatalf("line %v after MWI off→on mid-send, want reversed", got)
				}
				if !decode(t, r.snk.since(n)) {
					t.Fatal("last message sent says MWI off, want on")
				}
			})
		})
	}
}
