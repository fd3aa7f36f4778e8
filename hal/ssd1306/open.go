package ssd1306

import (
	"fmt"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal/internal/i2cbus"
)

// Open opens the module a board describes (driver "ssd1306"): it loads
// periph's host drivers, opens the I²C bus by name ("1" or "/dev/i2c-1"),
// and calls New with the board's size, address and rotation. Close also
// closes the bus.
func Open(def boards.DisplayDef, log *slog.Logger) (*Display, error) {
	if def.Driver != "ssd1306" {
		return nil, fmt.Errorf("ssd1306: board display driver is %q", def.Driver)
	}
	bus, err := i2cbus.Open("ssd1306", def.Bus)
	if err != nil {
		return nil, err
	}
	d, err := New(bus, Options{Width: def.Width, Height: def.Height, Addr: def.Address, Rotation: def.Rotation, Logger: log})
	if err != nil {
		bus.Close()
		return nil, err
	}
	d.bus = bus
	return d, nil
}
