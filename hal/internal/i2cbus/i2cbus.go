// Package i2cbus opens an I²C bus through periph for the display backends:
// it loads periph's host drivers and opens the bus by name ("1" or
// "/dev/i2c-1"), naming the driver in every error.
package i2cbus

import (
	"fmt"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// Open loads periph's host drivers (idempotent) and opens the named bus.
// driver prefixes the errors ("ssd1306: i2c bus "1": ...").
func Open(driver, name string) (i2c.BusCloser, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("%s: periph host drivers: %w", driver, err)
	}
	bus, err := i2creg.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: i2c bus %q: %w", driver, name, err)
	}
	return bus, nil
}
