package hd44780

import (
	"fmt"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal/internal/i2cbus"
)

// Open opens the LCD a board describes (driver "hd44780-pcf8574", width and
// height in characters, the common backpack wiring): it loads periph's host
// drivers, opens the I²C bus by name ("1" or "/dev/i2c-1") and calls New.
// Close also closes the bus.
func Open(def boards.DisplayDef, log *slog.Logger) (*Display, error) {
	if def.Driver != "hd44780-pcf8574" {
		return nil, fmt.Errorf("hd44780: board display driver is %q", def.Driver)
	}
	bus, err := i2cbus.Open("hd44780", def.Bus)
	if err != nil {
		return nil, err
	}
	d, err := New(bus, Options{Cols: def.Width, Rows: def.Height, Addr: def.Address, Logger: log})
	if err != nil {
		bus.Close()
		return nil, err
	}
	d.bus = bus
	return d, nil
}
