package hw

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/hd44780"
	"github.com/mwi-agent/mwi-agent/hal/ssd1306"
)

// displayCloser is a display that can be released (both drivers switch
// the module off and close the I²C bus).
type displayCloser interface {
	hal.Display
	io.Closer
}

// openDisplay opens a board's I²C display with its driver (periph; the
// drivers call host.Init themselves). A bus that does not exist on this
// machine is one clear line naming it.
func openDisplay(def boards.DisplayDef, log *slog.Logger) (displayCloser, error) {
	var d displayCloser
	var err error
	switch def.Driver {
	case "ssd1306":
		d, err = ssd1306.Open(def, log)
	case "hd44780-pcf8574":
		d, err = hd44780.Open(def, log)
	default:
		return nil, fmt.Errorf("hal: display %s: no such driver on a gpio board (ssd1306, hd44780-pcf8574)", def.Driver)
	}
	if err != nil {
		if dev, ok := busDevice(def.Bus); ok {
			if _, serr := os.Stat(dev); errors.Is(serr, os.ErrNotExist) {
				return nil, fmt.Errorf("hal: display %s: no I2C bus %q found (enable I2C: dtparam=i2c_arm=on)", def.Driver, def.Bus)
			}
		}
		return nil, fmt.Errorf("hal: display %s: %w", def.Driver, err)
	}
	return d, nil
}

// busDevice is the character device of a numbered I²C bus ("1" or
// "/dev/i2c-1"); false for other names (a bus some periph driver names).
func busDevice(bus string) (string, bool) {
	if strings.HasPrefix(bus, "/dev/i2c-") {
		return bus, true
	}
	if n, err := strconv.Atoi(bus); err == nil && n >= 0 {
		return "/dev/i2c-" + bus, true
	}
	return "", false
}

// attachDisplay opens b's display into d and chains its closer after d's
// (the lamp goes dark and the lines are released first, then the display
// is switched off). The policy: a display that cannot be opened is a
// warning and the board runs without it (Display nil) — the lamp is what
// must not stop working because an optional module is missing or I²C is
// not enabled — unless nothing else on the board shows anything (no lamp,
// LEDs nor FXS line), then it is an error.
func attachDisplay(d *hal.Devices, b boards.Board, log *slog.Logger) error {
	if b.Display == nil {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	disp, err := openDisplay(*b.Display, log)
	if err != nil {
		if d.Lamp == nil && len(d.LEDs) == 0 && d.Line == nil {
			return err
		}
		log.Warn("display not opened; running without it", "err", err)
		return nil
	}
	d.Display = disp
	if d.Closer == nil {
		d.Closer = disp
	} else {
		d.Closer = closers{d.Closer, disp}
	}
	return nil
}

// closers closes each in order, joining the errors.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
