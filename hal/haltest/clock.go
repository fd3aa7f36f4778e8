package haltest

import (
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Clock is the time source a lamp backend uses. Its methods use only
// unnamed types, so a backend can declare its own identical interface and
// both RealClock and *FakeClock satisfy it.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (real clock) or inside Advance
	// (fake clock) once d has elapsed; stop cancels it and reports whether
	// it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// RealClock returns the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// FakeClock is hal/clock's manual clock (callbacks run inside Advance, in
// deadline order, with the clock showing each timer's deadline).
type FakeClock = clock.Fake

var _ Clock = (*FakeClock)(nil)

// NewFakeClock returns a fake clock showing t0.
func NewFakeClock(t0 time.Time) *FakeClock { return clock.NewFake(t0) }
