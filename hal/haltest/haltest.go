package haltest

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
)

// Timeouts for the real-time parts of the suite (event delivery, closing).
const (
	eventTimeout = 2 * time.Second
	blockTimeout = time.Second
)

// LampHarness is one lamp under test and how to observe it.
type LampHarness struct {
	Lamp hal.Lamp
	// Lit reports whether the lamp is physically lit now (after any
	// active-low inversion), e.g. by reading gpio-sim's sysfs value file.
	Lit func() (bool, error)
	// Close closes the device. Nil skips the closed-device test.
	Close func() error
}

// TestLamp runs the lamp conformance suite. newLamp builds a fresh, dark
// lamp driven by clk for each subtest; resources are released with
// t.Cleanup.
func TestLamp(t *testing.T, newLamp func(t *testing.T, clk *FakeClock) LampHarness) {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("starts-dark", func(t *testing.T) {
		clk := NewFakeClock(start)
		h := newLamp(t, clk)
		expectLit(t, h, false, "a new lamp")
	})

	t.Run("steady-and-off", func(t *testing.T) {
		clk := NewFakeClock(start)
		h := newLamp(t, clk)
		set(t, h, hal.PatternSteady)
		expectLit(t, h, true, "after steady")
		clk.Advance(time.Hour)
		expectLit(t, h, true, "an hour after steady")
		set(t, h, hal.PatternOff)
		expectLit(t, h, false, "after off")
		clk.Advance(time.Hour)
		expectLit(t, h, false, "an hour after off")
	})

	cadences := []hal.Pattern{
		hal.Blink("slow", 500*time.Millisecond, 500*time.Millisecond),
		hal.Blink("urgent", 100*time.Millisecond, 100*time.Millisecond),
		hal.Blink("unknown", 100*time.Millisecond, 1900*time.Millisecond),
		{Name: "double", Cadence: []time.Duration{150 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 600 * time.Millisecond}},
	}
	for _, p := range cadences {
		t.Run("cadence-"+p.Name, func(t *testing.T) {
			clk := NewFakeClock(start)
			h := newLamp(t, clk)
			set(t, h, p)
			followCadence(t, h, clk, p, clk.Now(), 3)
		})
	}

	t.Run("replace-mid-cadence", func(t *testing.T) {
		clk := NewFakeClock(start)
		h := newLamp(t, clk)
		blink := hal.Blink("blink", 200*time.Millisecond, 300*time.Millisecond)
		set(t, h, blink)
		clk.Advance(250 * time.Millisecond) // in the off phase
		expectLit(t, h, false, "250ms into blink 200/300")
		set(t, h, hal.PatternSteady)
		expectLit(t, h, true, "steady set during an off phase")
		for i := 0; i < 10; i++ {
			clk.Advance(100 * time.Millisecond)
			expectLit(t, h, true, fmt.Sprintf("%dms after steady replaced a blink (old timer must not toggle)", (i+1)*100))
		}
		set(t, h, blink)
		followCadence(t, h, clk, blink, clk.Now(), 2)
		set(t, h, hal.PatternOff)
		for i := 0; i < 10; i++ {
			clk.Advance(100 * time.Millisecond)
			expectLit(t, h, false, "after off replaced a blink")
		}
	})

	t.Run("closed-returns-error", func(t *testing.T) {
		clk := NewFakeClock(start)
		h := newLamp(t, clk)
		if h.Close == nil {
			t.Skip("harness has no Close")
		}
		set(t, h, hal.Blink("blink", 100*time.Millisecond, 100*time.Millisecond))
		if err := h.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := noBlock(t, "SetPattern after Close", func() error { return h.Lamp.SetPattern(hal.PatternSteady) })
		if !errors.Is(err, hal.ErrClosed) {
			t.Fatalf("SetPattern after Close = %v, want an error wrapping hal.ErrClosed", err)
		}
		clk.Advance(time.Second) // timers of a closed lamp must not panic
	})
}

func set(t *testing.T, h LampHarness, p hal.Pattern) {
	t.Helper()
	if err := noBlock(t, "SetPattern", func() error { return h.Lamp.SetPattern(p) }); err != nil {
		t.Fatalf("SetPattern(%s): %v", p.Name, err)
	}
}

func expectLit(t *testing.T, h LampHarness, want bool, when string) {
	t.Helper()
	got, err := h.Lit()
	if err != nil {
		t.Fatalf("%s: observing the lamp: %v", when, err)
	}
	if got != want {
		t.Fatalf("%s: lamp lit = %v, want %v", when, got, want)
	}
}

// followCadence checks the lamp just before, at and halfway after every
// edge of the pattern for the given number of periods.
func followCadence(t *testing.T, h LampHarness, clk *FakeClock, p hal.Pattern, t0 time.Time, periods int) {
	t.Helper()
	expectLit(t, h, p.At(0), fmt.Sprintf("%s at start", p.Name))
	var checks []time.Duration
	var edge time.Duration
	for n := 0; n < periods; n++ {
		for _, c := range p.Cadence {
			checks = append(checks, edge+c/2)
			edge += c
			checks = append(checks, edge-time.Millisecond, edge)
		}
	}
	for _, at := range checks {
		now := clk.Now().Sub(t0)
		if at > now {
			clk.Advance(at - now)
		}
		expectLit(t, h, p.At(at), fmt.Sprintf("%s %v after it was set", p.Name, at))
	}
}

// noBlock runs f and fails the test if it takes longer than a second.
func noBlock(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(blockTimeout):
		t.Fatalf("%s blocked for more than %v", what, blockTimeout)
		return nil
	}
}

// HookHarness is one hook switch under test and how to move it.
type HookHarness struct {
	Hook hal.Hook
	// Set moves the physical switch: the sim injects an event, the gpio
	// backend's test sets gpio-sim's pull. The device starts on-hook.
	Set func(offHook bool) error
	// Settle is real time to wait after each Set (debounce); 0 = none.
	Settle time.Duration
	// Close closes the device. Nil skips the closed-device test.
	Close func() error
}

// TestHook runs the hook-switch conformance suite. newHook builds a fresh,
// on-hook switch for each subtest.
func TestHook(t *testing.T, newHook func(t *testing.T) HookHarness) {
	t.Helper()
	t.Run("events-in-order", func(t *testing.T) {
		h := newHook(t)
		off, err := h.Hook.OffHook()
		if err != nil || off {
			t.Fatalf("new hook: OffHook() = %v, %v; want false, nil", off, err)
		}
		seq := []bool{true, false, true, false, true}
		for _, s := range seq {
			if err := h.Set(s); err != nil {
				t.Fatalf("Set(%v): %v", s, err)
			}
			if h.Settle > 0 {
				time.Sleep(h.Settle)
			}
		}
		var last time.Time
		for i, want := range seq {
			select {
			case ev, ok := <-h.Hook.Events():
				if !ok {
					t.Fatalf("event %d: channel closed", i)
				}
				if ev.OffHook != want {
					t.Fatalf("event %d: OffHook = %v, want %v (sequence %v)", i, ev.OffHook, want, seq)
				}
				if ev.At.IsZero() {
					t.Fatalf("event %d: zero timestamp", i)
				}
				if ev.At.Before(last) {
					t.Fatalf("event %d: timestamp %v before previous %v", i, ev.At, last)
				}
				last = ev.At
			case <-time.After(eventTimeout):
				t.Fatalf("event %d (%v) not delivered within %v", i, want, eventTimeout)
			}
		}
		select {
		case ev := <-h.Hook.Events():
			t.Fatalf("extra event %+v after the sequence", ev)
		case <-time.After(50 * time.Millisecond):
		}
		off, err = h.Hook.OffHook()
		if err != nil || !off {
			t.Fatalf("after lifting: OffHook() = %v, %v; want true, nil", off, err)
		}
	})
	t.Run("closed-closes-events", func(t *testing.T) {
		h := newHook(t)
		if h.Close == nil {
			t.Skip("harness has no Close")
		}
		if err := h.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		deadline := time.After(blockTimeout)
		for closed := false; !closed; {
			select {
			case _, ok := <-h.Hook.Events():
				closed = !ok
			case <-deadline:
				t.Fatalf("Events() not closed within %v of Close", blockTimeout)
			}
		}
		err := noBlock(t, "OffHook after Close", func() error { _, err := h.Hook.OffHook(); return err })
		if !errors.Is(err, hal.ErrClosed) {
			t.Fatalf("OffHook after Close: err = %v, want hal.ErrClosed", err)
		}
	})
}

// LineState is what an observer sees of an FXS line.
type LineState struct {
	Polarity    hal.Polarity
	HighVoltage bool
	Ring        bool
}

// LineHarness is one FXS line under test.
type LineHarness struct {
	Line  hal.Line
	State func() (LineState, error)
	Close func() error
}

// TestLine runs the FXS line conformance suite.
func TestLine(t *testing.T, newLine func(t *testing.T) LineHarness) {
	t.Helper()
	t.Run("outputs", func(t *testing.T) {
		h := newLine(t)
		check := func(step string, want LineState) {
			t.Helper()
			got, err := h.State()
			if err != nil {
				t.Fatalf("%s: observing the line: %v", step, err)
			}
			if got != want {
				t.Fatalf("%s: line = %+v, want %+v", step, got, want)
			}
		}
		check("new line", LineState{})
		steps := []struct {
			name string
			do   func() error
			want LineState
		}{
			{"reverse", func() error { return h.Line.SetPolarity(hal.PolarityReversed) }, LineState{Polarity: hal.PolarityReversed}},
			{"hv on", func() error { return h.Line.SetHighVoltage(true) }, LineState{Polarity: hal.PolarityReversed, HighVoltage: true}},
			{"forward", func() error { return h.Line.SetPolarity(hal.PolarityForward) }, LineState{HighVoltage: true}},
			{"hv off", func() error { return h.Line.SetHighVoltage(false) }, LineState{}},
			{"ring on", func() error { return h.Line.SetRing(true) }, LineState{Ring: true}},
			{"ring off", func() error { return h.Line.SetRing(false) }, LineState{}},
		}
		for _, s := range steps {
			if err := noBlock(t, s.name, s.do); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			check(s.name, s.want)
		}
	})
	t.Run("closed-returns-error", func(t *testing.T) {
		h := newLine(t)
		if h.Close == nil {
			t.Skip("harness has no Close")
		}
		if err := h.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for name, f := range map[string]func() error{
			"SetPolarity":    func() error { return h.Line.SetPolarity(hal.PolarityReversed) },
			"SetHighVoltage": func() error { return h.Line.SetHighVoltage(true) },
			"SetRing":        func() error { return h.Line.SetRing(true) },
		} {
			if err := noBlock(t, name, f); !errors.Is(err, hal.ErrClosed) {
				t.Errorf("%s after Close = %v, want hal.ErrClosed", name, err)
			}
		}
	})
}

// AudioHarness is one audio sink under test.
type AudioHarness struct {
	Sink hal.AudioSink
	Rate int // samples per second; 0 means 8000
	// Samples reports how many samples the sink has consumed; nil skips
	// that check (e.g. a real sound card).
	Samples func() (int, error)
	Close   func() error
}

// TestAudioSink runs the audio sink conformance suite.
func TestAudioSink(t *testing.T, newSink func(t *testing.T) AudioHarness) {
	t.Helper()
	t.Run("write", func(t *testing.T) {
		h := newSink(t)
		rate := h.Rate
		if rate == 0 {
			rate = 8000
		}
		pcm := make([]int16, rate/10) // 100 ms
		for i := range pcm {
			pcm[i] = int16((i % 16) * 1000)
		}
		start := time.Now()
		n, err := h.Sink.Write(pcm)
		if err != nil || n != len(pcm) {
			t.Fatalf("Write(%d samples) = %d, %v", len(pcm), n, err)
		}
		if d := time.Since(start); d > 100*time.Millisecond+blockTimeout {
			t.Fatalf("Write of 100 ms took %v", d)
		}
		if h.Samples != nil {
			got, err := h.Samples()
			if err != nil || got != len(pcm) {
				t.Fatalf("Samples() = %d, %v; want %d", got, err, len(pcm))
			}
		}
	})
	t.Run("closed-returns-error", func(t *testing.T) {
		h := newSink(t)
		if h.Close == nil {
			t.Skip("harness has no Close")
		}
		if err := h.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := noBlock(t, "Write after Close", func() error { _, err := h.Sink.Write(make([]int16, 80)); return err })
		if !errors.Is(err, hal.ErrClosed) {
			t.Fatalf("Write after Close = %v, want hal.ErrClosed", err)
		}
	})
}

// DisplayHarness is one display under test.
type DisplayHarness struct {
	Display hal.Display
	// Shown returns the frame the display shows now; nil skips the check
	// (hardware that cannot be read back).
	Shown func() (hal.Frame, error)
	Close func() error
}

// TestDisplay runs the display conformance suite.
func TestDisplay(t *testing.T, newDisplay func(t *testing.T) DisplayHarness) {
	t.Helper()
	t.Run("show", func(t *testing.T) {
		h := newDisplay(t)
		info := h.Display.Info()
		if info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("Info() = %+v: size must be positive", info)
		}
		f := TestFrame(info)
		if err := noBlock(t, "Show", func() error { return h.Display.Show(f) }); err != nil {
			t.Fatalf("Show: %v", err)
		}
		if h.Shown == nil {
			return
		}
		got, err := h.Shown()
		if err != nil {
			t.Fatalf("Shown: %v", err)
		}
		if info.Kind == hal.DisplayText {
			if fmt.Sprint(got.Text) != fmt.Sprint(f.Text) {
				t.Fatalf("shown text %q, want %q", got.Text, f.Text)
			}
			return
		}
		if got.Image == nil || !litEqual(got.Image, f.Image) {
			t.Fatalf("shown image differs from the frame given to Show")
		}
	})
	t.Run("closed-returns-error", func(t *testing.T) {
		h := newDisplay(t)
		if h.Close == nil {
			t.Skip("harness has no Close")
		}
		if err := h.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := noBlock(t, "Show after Close", func() error { return h.Display.Show(TestFrame(h.Display.Info())) })
		if !errors.Is(err, hal.ErrClosed) {
			t.Fatalf("Show after Close = %v, want hal.ErrClosed", err)
		}
	})
}

// TestFrame returns a recognisable frame for a display: a diagonal and a
// border for graphic displays, "haltest" and the row number for text.
func TestFrame(info hal.DisplayInfo) hal.Frame {
	if info.Kind == hal.DisplayText {
		rows := make([]string, info.Height)
		for i := range rows {
			s := fmt.Sprintf("haltest row %d", i)
			if len(s) > info.Width {
				s = s[:info.Width]
			}
			rows[i] = s
		}
		return hal.Frame{Text: rows}
	}
	img := image.NewGray(image.Rect(0, 0, info.Width, info.Height))
	for x := 0; x < info.Width; x++ {
		img.SetGray(x, 0, color.Gray{255})
		img.SetGray(x, info.Height-1, color.Gray{255})
		if y := x * info.Height / info.Width; y < info.Height {
			img.SetGray(x, y, color.Gray{255})
		}
	}
	return hal.Frame{Image: img}
}

func litEqual(a, b image.Image) bool {
	if a.Bounds().Size() != b.Bounds().Size() {
		return false
	}
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			if lit(a.At(ab.Min.X+x, ab.Min.Y+y)) != lit(b.At(bb.Min.X+x, bb.Min.Y+y)) {
				return false
			}
		}
	}
	return true
}

func lit(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r|g|b != 0
}
