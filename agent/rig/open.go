package rig

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/hw"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
	"github.com/mwi-agent/mwi-agent/tone"
)

// Board is an opened board: its resolved definition, its devices and, for
// the sim backend, the simulated board behind them.
type Board struct {
	Def     boards.Board
	Devices hal.Devices
	Sim     *sim.Board // nil unless the backend is sim
}

// Open opens the devices of cfg's board (board + board_overrides) with the
// board's backend. A device that cannot open is an error, except an
// optional display (hw.Open runs without it; New lists it in Problems).
func Open(cfg *config.Resolved, log *slog.Logger) (Board, error) {
	b := cfg.Board
	if b.Backend == boards.BackendSim {
		sb, err := hw.OpenSim(b, nil)
		if err != nil {
			return Board{}, fmt.Errorf("rig: board %s: %w", b.Name, err)
		}
		return Board{Def: b, Devices: sb.Devices(), Sim: sb}, nil
	}
	dev, err := hw.Open(b, log)
	if err != nil {
		return Board{}, fmt.Errorf("rig: board %s: %w", b.Name, err)
	}
	return Board{Def: b, Devices: dev}, nil
}

// ToneWAV renders a country's dial or stutter tone (20 s) as WAV, for the
// status page's handset.
func ToneWAV(country string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		c, err := tone.LookupCountry(country)
		if err != nil {
			return nil, err
		}
		p, err := c.Plan(name)
		if err != nil {
			return nil, err
		}
		opt := tone.Options{Rate: 8000, LevelDBm0: -13}
		pcm := tone.Render(p, opt, 20*time.Second)
		var b bytes.Buffer
		if err := tone.WriteWAV(&b, 8000, pcm); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}
