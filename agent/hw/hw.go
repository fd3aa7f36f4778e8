package hw

import (
	"fmt"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
)

// opener opens one backend family's devices.
type opener func(b boards.Board, log *slog.Logger) (hal.Devices, error)

// backends is filled by init functions of the backend files (hw_sim.go,
// and the gpio backend's file on Linux) and never changed afterwards.
var backends = map[boards.Backend]opener{}

// Open validates b and opens its devices with the board's backend.
// Close the returned Devices to release them (the lamp goes dark).
func Open(b boards.Board, log *slog.Logger) (hal.Devices, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := b.Validate(); err != nil {
		return hal.Devices{}, fmt.Errorf("hw: board %s: %w", b.Name, err)
	}
	open, ok := backends[b.Backend]
	if !ok {
		return hal.Devices{}, fmt.Errorf("hw: board %s: backend %q is not available in this build", b.Name, b.Backend)
	}
	d, err := open(b, log.With("board", b.Name))
	if err != nil {
		return hal.Devices{}, fmt.Errorf("hw: board %s: %w", b.Name, err)
	}
	return d, nil
}
