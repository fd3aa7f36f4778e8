// Package i2cbus opens an I²C bus through periph for the display backends:
// a bus by number ("1", "/dev/i2c-1", "I2C1") through periph's sysfs I²C
// driver (the Linux i2c-dev character device), any other name from periph's
// bus registry, naming the driver in every error.
//
// It deliberately does not load periph's host drivers (periph.io/x/host/v3
// host.Init): that links and registers every board's GPIO, SPI and PWM
// drivers (Allwinner, BCM283x, BeagleBone, ...) — about 0.4 MB of the armv6
// binary, and pages touched at start-up — while a display needs only
// /dev/i2c-N.
package i2cbus

import (
	"fmt"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3/sysfs"
)

// Open opens the named bus. driver prefixes the errors
// ("ssd1306: i2c bus "1": ...").
func Open(driver, name string) (i2c.BusCloser, error) {
	if name != "" {
		if bus, err := i2creg.Open(name); err == nil {
			return bus, nil // a registered bus (a test's fake, another driver's)
		}
	}
	n, ok := Number(name)
	if !ok {
		return nil, fmt.Errorf("%s: i2c bus %q: not a bus number (1, /dev/i2c-1, I2C1) nor a registered bus", driver, name)
	}
	bus, err := sysfs.NewI2C(n)
	if err != nil {
		return nil, fmt.Errorf("%s: i2c bus %q: %w", driver, name, err)
	}
	return bus, nil
}

// Number is the bus number of "1", "/dev/i2c-1" or "I2C1".
func Number(name string) (int, bool) {
	s := name
	for _, p := range []string{"/dev/i2c-", "I2C"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			s = rest
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}
