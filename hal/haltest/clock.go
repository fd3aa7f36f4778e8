package haltest

import (
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// FakeClock is hal/clock's manual clock (callbacks run inside Advance, in
// deadline order, with the clock showing each timer's deadline); the name
// stays for the conformance suites' signatures.
type FakeClock = clock.Fake

// NewFakeClock returns a fake clock showing t0.
func NewFakeClock(t0 time.Time) *FakeClock { return clock.NewFake(t0) }
