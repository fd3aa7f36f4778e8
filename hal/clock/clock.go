package clock

import "time"

// Clock is a time source.
type Clock interface {
	Now() time.Time
	// NewTimer returns a one-shot timer whose channel receives the time
	// once d has elapsed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f once d has elapsed: in its own goroutine on the real
	// clock, inside Advance on the fake. stop cancels it and reports whether
	// it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; false if it had fired or was
	// stopped already.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (Real) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Or returns c, or the wall clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}
