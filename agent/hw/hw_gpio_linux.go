//go:build linux

package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/gpiocdev"
	"github.com/mwi-agent/mwi-agent/tone"
)

// The gpio backend: every GPIO line of the board through the Linux GPIO
// character device, and for an FXS port the aplay sink on the board's ALSA
// device. (On other systems no gpio backend registers, and Open says the
// backend is not available in this build.) The I2C display is not opened
// here.
func init() {
	backends[boards.BackendGPIO] = openGPIO
}

func openGPIO(b boards.Board, log *slog.Logger) (hal.Devices, error) {
	d, err := gpiocdev.Open(b, gpiocdev.Options{Logger: log})
	if err != nil {
		return hal.Devices{}, err
	}
	if b.FXS != nil && b.FXS.AudioDev != "" {
		a, err := tone.NewAplay(context.Background(), b.FXS.AudioDev, tone.DefaultSampleRate)
		if err != nil {
			d.Close()
			return hal.Devices{}, fmt.Errorf("fxs audio %q: %w", b.FXS.AudioDev, err)
		}
		d.Audio = a
		d.Closer = closers{d.Closer, a} // lamp dark and lines released first
	}
	if b.Display != nil {
		log.Info("display is not opened by the gpio backend", "driver", b.Display.Driver, "bus", b.Display.Bus)
	}
	return d, nil
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
