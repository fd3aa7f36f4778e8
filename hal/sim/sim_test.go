package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/haltest"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

func TestLampConformance(t *testing.T) {
	haltest.TestLamp(t, func(t *testing.T, clk *haltest.FakeClock) haltest.LampHarness {
		l := sim.NewLamp("lamp", sim.NewRecorder(clk, 0))
		return haltest.LampHarness{Lamp: l, Lit: func() (bool, error) { return l.Lit(), nil }, Close: l.Close}
	})
}

func TestHookConformance(t *testing.T) {
	haltest.TestHook(t, func(t *testing.T) haltest.HookHarness {
		h := sim.NewHook("hook", sim.NewRecorder(nil, 0))
		t.Cleanup(func() { h.Close() })
		return haltest.HookHarness{Hook: h, Set: h.Set, Close: h.Close}
	})
}

func TestLineConformance(t *testing.T) {
	haltest.TestLine(t, func(t *testing.T) haltest.LineHarness {
		l := sim.NewLine("line", sim.NewRecorder(nil, 0))
		return haltest.LineHarness{Line: l, Close: l.Close, State: func() (haltest.LineState, error) {
			s := l.State()
			return haltest.LineState{Polarity: s.Polarity, HighVoltage: s.HighVoltage, Ring: s.Ring}, nil
		}}
	})
}

func TestAudioConformance(t *testing.T) {
	haltest.TestAudioSink(t, func(t *testing.T) haltest.AudioHarness {
		a := sim.NewAudio("audio", 8000, sim.NewRecorder(nil, 0))
		return haltest.AudioHarness{Sink: a, Rate: a.Rate(), Close: a.Close, Samples: func() (int, error) { n, _ := a.Samples(); return n, nil }}
	})
}

func TestDisplayConformance(t *testing.T) {
	for _, info := range []hal.DisplayInfo{{Kind: hal.DisplayGraphic, Width: 128, Height: 64}, {Kind: hal.DisplayText, Width: 16, Height: 2}} {
		haltest.TestDisplay(t, func(t *testing.T) haltest.DisplayHarness {
			d := sim.NewDisplay("display", info, sim.NewRecorder(nil, 0))
			return haltest.DisplayHarness{Display: d, Close: d.Close, Shown: func() (hal.Frame, error) { f, _ := d.Frame(); return f, nil }}
		})
	}
}

// The log records every output in order with the clock's time, and
// subscribers hear about changes.
func TestBoardLog(t *testing.T) {
	clk := haltest.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	b := sim.New(sim.Options{Clock: clk, LEDs: 2, Display: hal.DisplayInfo{Width: 128, Height: 64}, Hook: true, Line: true})
	changes := 0
	b.Rec.OnChange(func() { changes++ })
	d := b.Devices()
	if len(d.LEDs) != 2 || d.Display == nil || d.Hook == nil || d.Line == nil || d.Audio == nil {
		t.Fatalf("Devices() = %+v: missing devices", d)
	}
	steps := []func() error{
		func() error { return d.Lamp.SetPattern(hal.PatternSteady) },
		func() error {
			clk.Advance(time.Second)
			return d.LEDs[1].SetPattern(hal.Blink("urgent", 100*time.Millisecond, 100*time.Millisecond))
		},
		func() error { return b.Hook.Set(true) },
		func() error { return d.Line.SetPolarity(hal.PolarityReversed) },
		func() error { _, err := d.Audio.Write(make([]int16, 160)); return err },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if changes != len(steps) {
		t.Fatalf("OnChange called %d times for %d changes", changes, len(steps))
	}
	var got []string
	for _, e := range b.Rec.Log() {
		got = append(got, e.At.Format("05")+" "+e.Device+" "+e.What)
	}
	want := []string{"00 lamp pattern steady", "01 led2 pattern urgent [100ms 100ms]", "01 hook off-hook", "01 line polarity reversed", "01 audio 160 samples"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Lamp.SetPattern(hal.PatternSteady); err == nil {
		t.Fatal("lamp accepts a pattern after the board was closed")
	}
	if b.Lamp.Lit() {
		t.Fatal("closed board left the lamp lit")
	}
}

// Setting the same hook state twice is not an event.
func TestHookSameStateNoEvent(t *testing.T) {
	h := sim.NewHook("hook", sim.NewRecorder(nil, 0))
	if err := h.Set(false); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-h.Events():
		t.Fatalf("unexpected event %+v", ev)
	default:
	}
}
