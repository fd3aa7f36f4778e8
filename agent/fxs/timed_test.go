package fxs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/tone"
)

// stepLog records line steps and what a TimedSink is asked to do, in order.
type stepLog struct {
	mu  sync.Mutex
	log []string
	n   int // samples written since the last drain
}

func (l *stepLog) add(s string) { l.mu.Lock(); defer l.mu.Unlock(); l.log = append(l.log, s) }

type logLine struct{ l *stepLog }

func (x logLine) SetPolarity(p hal.Polarity) error { x.l.add("polarity " + p.String()); return nil }
func (x logLine) SetHighVoltage(on bool) error     { x.l.add(fmt.Sprint("hv ", on)); return nil }
func (x logLine) SetRing(on bool) error            { x.l.add(fmt.Sprint("ring ", on)); return nil }

type logSink struct{ l *stepLog }

func (x logSink) Write(p []int16) (int, error) {
	x.l.mu.Lock()
	defer x.l.mu.Unlock()
	x.l.n += len(p)
	return len(p), nil
}
func (x logSink) Drain() error {
	x.l.mu.Lock()
	defer x.l.mu.Unlock()
	x.l.log = append(x.l.log, fmt.Sprintf("audio %v, drained", time.Duration(x.l.n)*time.Second/8000))
	x.l.n = 0
	return nil
}
func (x logSink) Flush() error           { x.l.add("flush"); return nil }
func (x logSink) Latency() time.Duration { return 80 * time.Millisecond }
func (x logSink) Rate() int              { return 8000 }

// With a TimedSink the silences around the audio are played as silence in
// one stream, drained before the next line step: the line-reversal alert
// is one line step, one stretch of audio (150 ms, DT-AS, 150 ms, data,
// 200 ms) drained, then the polarity restored.
func TestTimedSinkSequenceIsOneDrainedStream(t *testing.T) {
	l := &stepLog{}
	cfg := Config{FSK: true, Format: tone.ETSI, Standard: tone.V23, Alert: tone.AlertLineReversal}
	seq := Sequence(cfg, true, 0, 8000, time.Time{})
	var dt, data time.Duration
	for _, st := range seq {
		switch st.Action {
		case tone.ActAudio:
			dt = st.Duration
		case tone.ActData:
			data = st.Duration
		}
	}
	if err := Transmit(context.Background(), Devices{Line: logLine{l}, Audio: logSink{l}}, seq, 8000); err != nil {
		t.Fatal(err)
	}
	audio := (tone.LRToDTAS + dt + tone.DTASToData + data + tone.DataToRestore).Round(time.Millisecond)
	want := []string{"polarity reversed", fmt.Sprintf("audio %v, drained", audio), "polarity forward"}
	if fmt.Sprint(l.log) != fmt.Sprint(want) {
		t.Fatalf("steps %q\nwant  %q", l.log, want)
	}
}
