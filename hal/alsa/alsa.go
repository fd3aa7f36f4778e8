package alsa

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options tune Open. The zero value is what the FXS port uses.
type Options struct {
	Rate    int           // samples per second wanted; 0 = 8000
	Period  time.Duration // one period; 0 = 10 ms
	Periods int           // periods in the buffer; 0 = 8 (80 ms at 10 ms)
}

func (o Options) withDefaults() Options {
	if o.Rate <= 0 {
		o.Rate = 8000
	}
	if o.Period <= 0 {
		o.Period = 10 * time.Millisecond
	}
	if o.Periods <= 0 {
		// The buffer bounds how late a writer may be, not the skew: the
		// port drains before each line step and flushes on off-hook.
		o.Periods = 8
	}
	return o
}

// ErrUnsupported is returned by Open on systems without ALSA.
var ErrUnsupported = errors.New("alsa: ALSA needs Linux")

// Device is a parsed ALSA device name.
type Device struct {
	Card   string // a number or a card id; "" = 0
	Device int
}

// ParseDevice reads "hw:CARD,DEV", "hw:CARD", "plughw:CARD,DEV" or
// "default" (card 0, device 0).
func ParseDevice(name string) (Device, error) {
	s := strings.TrimSpace(name)
	if s == "" || s == "default" {
		return Device{Card: "0"}, nil
	}
	rest, ok := strings.CutPrefix(s, "hw:")
	if !ok {
		rest, ok = strings.CutPrefix(s, "plughw:")
	}
	if !ok || rest == "" {
		return Device{}, fmt.Errorf("alsa: device %q: want hw:CARD,DEV (a kernel device: no ALSA plugins), or default", name)
	}
	card, dev, hasDev := strings.Cut(rest, ",")
	d := Device{Card: strings.TrimPrefix(card, "CARD=")}
	if hasDev {
		n, err := strconv.Atoi(strings.TrimPrefix(dev, "DEV="))
		if err != nil || n < 0 {
			return Device{}, fmt.Errorf("alsa: device %q: bad device number %q", name, dev)
		}
		d.Device = n
	}
	if d.Card == "" {
		return Device{}, fmt.Errorf("alsa: device %q: no card", name)
	}
	return d, nil
}
