package fxs

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/gpiocdev"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
	"github.com/mwi-agent/mwi-agent/hal/sim"
	"github.com/mwi-agent/mwi-agent/tone"
)

// The port on the real SLIC backend (gpiocdev's Line) whose pins feed the
// Ag1171 model, with a recording sink, on a fake clock: for every
// signalling mix and every alert, MWI on then off, the line steps and the
// audio are checked against the ETSI EN 300 659-1 windows (MWI-FACTS), the
// final polarity and HV against the MWI state, the data against what was
// meant, and every pin sequence against the datasheet model.

type modelRig struct {
	*rig
	m *haltest.Ag1171
}

func newModelRig(t *testing.T, cfg Config) *modelRig {
	t.Helper()
	// Inside a synctest bubble the port, the backend and the model share
	// one clock that moves only when all of them wait: the model's
	// default tolerance holds.
	m := haltest.NewAg1171(clock.Real{}, haltest.Ag1171Config{RingHz: 20})
	line, err := gpiocdev.NewLine(m.Pin(haltest.AgRM), m.Pin(haltest.AgFR), m.PDPin(), m.Pin(haltest.AgHV), 20, nil, gpiocdev.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := startRig(t, cfg, sim.New(sim.Options{Hook: true}), line)
	return &modelRig{rig: r, m: m}
}

// span is one stretch of audio: the first and last sample's times.
type span struct{ start, end time.Time }

// audioSpans turns the recorded writes (each played from its write time
// on) into stretches of sound separated by 20 ms or more of nothing.
func (r *recSink) audioSpans(from time.Time) []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []span
	idx := 0
	for w, at := range r.at {
		n := r.n[w]
		if at.Before(from) {
			idx += n
			continue
		}
		for i := 0; i < n; i++ {
			v := r.pcm[idx+i]
			if v > 300 || v < -300 {
				t := at.Add(time.Duration(i) * time.Second / 8000)
				if k := len(out); k > 0 && t.Sub(out[k-1].end) < 20*time.Millisecond {
					out[k-1].end = t
				} else {
					out = append(out, span{t, t})
				}
			}
		}
		idx += n
	}
	return out
}

// inWindow reports whether d is inside [min, max] (max 0: no maximum).
func inWindow(d, min, max time.Duration) bool { return d >= min && (max == 0 || d <= max) }

func TestAlertSequencesETSIWindows(t *testing.T) {
	mixes := []struct {
		name    string
		pol, hv bool
	}{{"fsk", false, false}, {"fsk+polarity", true, false}, {"fsk+hv", false, true}, {"fsk+polarity+hv", true, true}}
	alerts := []tone.Alert{tone.AlertNone, tone.AlertLineReversal, tone.AlertDTAS, tone.AlertRingPulse}
	for _, mix := range mixes {
		for _, alert := range alerts {
			t.Run(mix.name+"/"+alert.String(), func(t *testing.T) {
				format := tone.ETSI
				if alert == tone.AlertNone {
					format = tone.MDMF
				}
				t.Parallel()
				// A short quiet time: this test is about the transmission.
				cfg := Config{FSK: true, Polarity: mix.pol, HV: mix.hv, Format: format, Standard: tone.V23, Alert: alert, Quiet: 300 * time.Millisecond}
				synctest.Test(t, func(t *testing.T) {
					r := newModelRig(t, cfg)
					r.advance(400 * time.Millisecond)
					for _, mwi := range []bool{true, false, true} {
						r.port.SetMWI(mwi, mwi)
						r.until(t, 5*time.Second, "sending", func() bool { return r.state() == Sending })
						start := r.clk.Now().Add(-10 * time.Millisecond)
						n := r.snk.samples()
						r.until(t, 5*time.Second, "sent", func() bool { return r.state() == Idle })
						r.advance(100 * time.Millisecond)
						end := r.clk.Now()
						checkTransmission(t, r, cfg, mwi, start, end, n)
					}
					r.m.Check(t)
				})
			})
		}
	}
}

func checkTransmission(t *testing.T, r *modelRig, cfg Config, mwi bool, start, end time.Time, n int) {
	t.Helper()
	what := fmt.Sprintf("MWI %v", mwi)
	spans := r.snk.audioSpans(start)
	if len(spans) == 0 {
		t.Fatalf("%s: no audio", what)
	}
	data := spans[len(spans)-1]
	r.m.DataAt(data.start, true)
	r.m.DataAt(data.end, false)
	changes := func(p haltest.AgPin) []haltest.Change {
		var out []haltest.Change
		for _, c := range r.m.Changes(p) {
			if !c.At.Before(start) && !c.At.After(end) {
				out = append(out, c)
			}
		}
		return out
	}
	fr, rm, hv := changes(haltest.AgFR), changes(haltest.AgRM), changes(haltest.AgHV)
	check := func(name string, d, min, max time.Duration) {
		t.Helper()
		if !inWindow(d, min, max) {
			t.Errorf("%s: %s = %v, ETSI EN 300 659-1 window %v..%v", what, name, d, min, max)
		}
	}
	// HV is off for the whole data, and only back on after it.
	for _, c := range hv {
		if c.High && c.At.Before(data.end) {
			t.Errorf("%s: HV on at %v, before the data ended (%v)", what, c.At.Sub(start), data.end.Sub(start))
		}
		if !c.High && c.At.After(data.start) {
			t.Errorf("%s: HV dropped at %v, after the data started", what, c.At.Sub(start))
		}
	}
	var polChanges []haltest.Change // F/R changes that are not ringing
	for _, c := range fr {
		ringing := false
		for i := 0; i+1 < len(rm); i += 2 {
			// The ring signal, and the backend putting a reversed line
			// back to reversed just after RM drops.
			if rm[i].High && !c.At.Before(rm[i].At) && !c.At.After(rm[i+1].At.Add(50*time.Millisecond)) {
				ringing = true
			}
		}
		if !ringing {
			polChanges = append(polChanges, c)
		}
	}
	switch cfg.Alert {
	case tone.AlertLineReversal:
		if len(spans) < 2 || len(polChanges) == 0 {
			t.Fatalf("%s: spans %v, polarity changes %v: want a reversal, DT-AS and data", what, spans, polChanges)
		}
		dt := spans[len(spans)-2]
		check("line reversal → DT-AS", dt.start.Sub(polChanges[0].At), 100*time.Millisecond, 0)
		check("DT-AS length", dt.end.Sub(dt.start), 80*time.Millisecond, 110*time.Millisecond)
		check("DT-AS end → data", data.start.Sub(dt.end), 45*time.Millisecond, 500*time.Millisecond)
		if len(polChanges) > 1 {
			check("data end → polarity restored", polChanges[1].At.Sub(data.end), 200*time.Millisecond, 500*time.Millisecond)
		}
	case tone.AlertDTAS:
		dt := spans[len(spans)-2]
		check("DT-AS length", dt.end.Sub(dt.start), 80*time.Millisecond, 110*time.Millisecond)
		check("DT-AS end → data", data.start.Sub(dt.end), 45*time.Millisecond, 500*time.Millisecond)
	case tone.AlertRingPulse:
		if len(rm) < 2 {
			t.Fatalf("%s: RM %v: want one ring pulse", what, rm)
		}
		check("ring pulse", rm[1].At.Sub(rm[0].At), 200*time.Millisecond, 300*time.Millisecond)
		check("ring pulse end → data", data.start.Sub(rm[1].At), 500*time.Millisecond, 800*time.Millisecond)
	}
	if cfg.Alert != tone.AlertLineReversal {
		// A polarity change comes after the data, never before it (a
		// reversal before a DT-AS or a ring pulse would read as a
		// line-reversal alert) and never during it.
		for _, c := range polChanges {
			if c.At.Before(data.end) {
				t.Errorf("%s: polarity changed at %v, before the data ended", what, c.At.Sub(start))
			} else {
				check("data end → polarity change", c.At.Sub(data.end), 200*time.Millisecond, 500*time.Millisecond)
			}
		}
	}
	// The line rests as the MWI state says.
	rev := len(r.m.Changes(haltest.AgFR)) > 0 && !r.m.Changes(haltest.AgFR)[len(r.m.Changes(haltest.AgFR))-1].High
	if want := cfg.Polarity && mwi; rev != want {
		t.Errorf("%s: line reversed %v after the transmission, want %v", what, rev, want)
	}
	hvOn := len(r.m.Changes(haltest.AgHV)) > 0 && r.m.Changes(haltest.AgHV)[len(r.m.Changes(haltest.AgHV))-1].High
	if want := cfg.HV && mwi; hvOn != want {
		t.Errorf("%s: HV %v after the transmission, want %v", what, hvOn, want)
	}
	// The data says the MWI state, with a count of 1 (not 0) when on.
	d, err := tone.DecodeMWI(r.snk.since(n), 8000)
	if err != nil {
		t.Fatalf("%s: decoding: %v", what, err)
	}
	if on, _ := d.Message.MWI(); on != mwi {
		t.Errorf("%s: sent %v", what, d.Message)
	}
	if cfg.Format == tone.ETSI {
		if c, ok := d.Message.Count(); !ok || (mwi && c != 1) || (!mwi && c != 0) {
			t.Errorf("%s: ETSI count %d (%v), want %d", what, c, ok, map[bool]int{true: 1, false: 0}[mwi])
		}
	}
}
