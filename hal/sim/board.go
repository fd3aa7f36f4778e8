package sim

import (
	"errors"
	"strconv"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Options describe a simulated board.
type Options struct {
	Clock    clock.Reader    // nil: wall clock (the log's time stamps)
	LEDs     int             // account LEDs
	Display  hal.DisplayInfo // zero size: no display
	Hook     bool            // a hook switch
	Line     bool            // an FXS line (with an audio sink)
	Rate     int             // audio sample rate, 0 = 8000
	LogLimit int             // entries kept, 0 = 1000
}

// Board is a set of simulated devices sharing one log.
type Board struct {
	Rec     *Recorder
	Lamp    *Lamp
	LEDs    []*Lamp
	Display *Display // nil when Options.Display has no size
	Hook    *Hook    // nil unless Options.Hook
	Line    *Line    // nil unless Options.Line
	Audio   *Audio   // nil unless Options.Line
}

// New builds a simulated board.
func New(opt Options) *Board {
	rec := NewRecorder(opt.Clock, opt.LogLimit)
	b := &Board{Rec: rec, Lamp: NewLamp("lamp", rec)}
	for i := 0; i < opt.LEDs; i++ {
		b.LEDs = append(b.LEDs, NewLamp("led"+strconv.Itoa(i+1), rec))
	}
	if opt.Display.Width > 0 && opt.Display.Height > 0 {
		b.Display = NewDisplay("display", opt.Display, rec)
	}
	if opt.Hook {
		b.Hook = NewHook("hook", rec)
	}
	if opt.Line {
		b.Line = NewLine("line", rec)
		b.Audio = NewAudio("audio", opt.Rate, rec)
	}
	return b
}

// Devices returns the board as hal.Devices; its Closer closes the board.
// Absent devices are nil interfaces (not typed nils).
func (b *Board) Devices() hal.Devices {
	d := hal.Devices{Lamp: b.Lamp, Closer: b}
	for _, l := range b.LEDs {
		d.LEDs = append(d.LEDs, l)
	}
	if b.Display != nil {
		d.Display = b.Display
	}
	if b.Hook != nil {
		d.Hook = b.Hook
	}
	if b.Line != nil {
		d.Line = b.Line
		d.Audio = b.Audio
	}
	return d
}

// Close closes every device.
func (b *Board) Close() error {
	var errs []error
	errs = append(errs, b.Lamp.Close())
	for _, l := range b.LEDs {
		errs = append(errs, l.Close())
	}
	if b.Display != nil {
		errs = append(errs, b.Display.Close())
	}
	if b.Hook != nil {
		errs = append(errs, b.Hook.Close())
	}
	if b.Line != nil {
		errs = append(errs, b.Line.Close(), b.Audio.Close())
	}
	return errors.Join(errs...)
}
