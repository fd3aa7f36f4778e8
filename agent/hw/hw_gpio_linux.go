//go:build linux

package hw

import (
	"fmt"
	"log/slog"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/alsa"
	"github.com/mwi-agent/mwi-agent/hal/gpiocdev"
)

// The gpio backend: every GPIO line of the board through the Linux GPIO
// character device, for an FXS port the hal/alsa sink on the board's ALSA
// device (an 80 ms buffer on the kernel device: audio in step with the line), and the board's I2C display through periph (hw_display.go: a
// display that cannot be opened is a warning, the lamp runs without it).
// On other systems no gpio backend registers, and Open says the backend is
// not available in this build.
func init() {
	backends[boards.BackendGPIO] = openGPIO
}

func openGPIO(b boards.Board, log *slog.Logger) (hal.Devices, error) {
	d, err := gpiocdev.Open(b, gpiocdev.Options{Logger: log})
	if err != nil {
		return hal.Devices{}, err
	}
	if b.FXS != nil && b.FXS.AudioDev != "" {
		a, err := alsa.Open(b.FXS.AudioDev, alsa.Options{})
		if err != nil {
			d.Close()
			return hal.Devices{}, fmt.Errorf("fxs audio %q: %w", b.FXS.AudioDev, err)
		}
		d.Audio = a
		log.Info("fxs audio", "device", b.FXS.AudioDev, "rate", a.Rate(), "channels", a.Channels(), "buffer", a.Latency())
		d.Closer = closers{d.Closer, a} // lamp dark and lines released first
	}
	if err := attachDisplay(&d, b, log); err != nil {
		d.Close()
		return hal.Devices{}, err
	}
	return d, nil
}
