package hw

import (
	"fmt"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

func init() {
	backends[boards.BackendSim] = func(b boards.Board, log *slog.Logger) (hal.Devices, error) {
		sb, err := OpenSim(b, nil)
		if err != nil {
			return hal.Devices{}, err
		}
		return sb.Devices(), nil
	}
}

// OpenSim builds the simulated devices of a sim-backend board and returns
// the *sim.Board itself, so the demo can move the hook and read the lamp.
// clock may be nil (wall clock).
func OpenSim(b boards.Board, clk clock.Reader) (*sim.Board, error) {
	if b.Backend != boards.BackendSim {
		return nil, fmt.Errorf("hw: board %s: backend %q is not sim", b.Name, b.Backend)
	}
	opt := sim.Options{Clock: clk, LEDs: len(b.LEDs), Hook: b.Hook.IsSet(), Line: b.FXS != nil}
	if d := b.Display; d != nil {
		kind := hal.DisplayGraphic
		if d.Driver == "hd44780-pcf8574" || d.Driver == "text" {
			kind = hal.DisplayText
		}
		opt.Display = hal.DisplayInfo{Kind: kind, Width: d.Width, Height: d.Height}
	}
	if b.FXS != nil && b.FXS.SHK.IsSet() {
		opt.Hook = true
	}
	return sim.New(opt), nil
}
