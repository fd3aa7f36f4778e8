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

// Reader is the part of a Clock that only reads the time (e.g. to stamp a
// log entry); every Clock is a Reader.
type Reader interface {
	Now() time.Time
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

// ReaderOr returns r, or the wall clock when r is nil.
func ReaderOr(r Reader) Reader {
	if r == nil {
		return Real{}
	}
	return r
}

// Or returns c, or the wall clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}
