package gpiocdev

import "time"

// Clock is the time source for lamp patterns, software debounce and ringing.
// It uses only unnamed types, so hal/haltest's FakeClock satisfies it.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has elapsed; stop cancels it and reports
	// whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Pin is one GPIO line as the backend drives it. Values are logical:
// true = active, after the line's active-low inversion. The Open functions
// request kernel lines; NewLine takes any Pin (hal/haltest's Ag1171 model
// pins in tests).
type Pin interface {
	Set(on bool) error
	Get() (bool, error)
	Close() error
}

type pin = Pin
