package gpiocdev

import (
	"errors"
	"fmt"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"log/slog"
	"time"
)

// Consumer is the label every requested line carries (see `gpioinfo`).
const Consumer = "mwi-agent"

// DefaultDebounce is used when neither Options nor the board set one.
const DefaultDebounce = 20 * time.Millisecond

// Options tune Open and the Open* functions. The zero value is usable.
type Options struct {
	Consumer string       // line consumer label; default Consumer
	Clock    clock.Clock  // pattern, debounce and ring timing; nil = wall clock
	Logger   *slog.Logger // nil = discard
	// Debounce for the hook switch; 0 = the board's debounce_ms, else
	// DefaultDebounce.
	Debounce time.Duration
	// SoftwareDebounce skips the kernel's debounce (it is used otherwise,
	// and software debounce only when the kernel refuses it).
	SoftwareDebounce bool
}

func (o Options) consumer() string {
	if o.Consumer == "" {
		return Consumer
	}
	return o.Consumer
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// ErrUnsupported is returned by Open on systems without the GPIO character
// device.
var ErrUnsupported = errors.New("gpiocdev: the GPIO character device needs Linux")

// LineNotFoundError says a board's line exists on no GPIO chip of this
// machine.
type LineNotFoundError struct {
	Line string // the line as the board names it: "GPIO22" or "gpiochip0:22"
	Why  string // extra detail, may be empty
}

func (e *LineNotFoundError) Error() string {
	s := fmt.Sprintf("hal: GPIO line %q not found on any chip (is this a Raspberry Pi? is the user in group gpio?)", e.Line)
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}
