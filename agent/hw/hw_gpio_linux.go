//go:build linux

package hw

import (
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/gpiocdev"
)

// The gpio backend: every GPIO line of the board through the Linux GPIO
// character device. (On other systems no gpio backend registers, and Open
// says the backend is not available in this build.)
func init() {
	backends[boards.BackendGPIO] = func(b boards.Board, log *slog.Logger) (hal.Devices, error) {
		d, err := gpiocdev.Open(b, gpiocdev.Options{Logger: log})
		if err != nil {
			return hal.Devices{}, err
		}
		if b.Display != nil {
			log.Info("display is not opened by the gpio backend", "driver", b.Display.Driver, "bus", b.Display.Bus)
		}
		return d, nil
	}
}
