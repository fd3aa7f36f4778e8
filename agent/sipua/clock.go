package sipua

import "github.com/mwi-agent/mwi-agent/hal/clock"

// Clock is the time source the workers use (hal/clock: the agent's one
// time source); tests inject clock.Fake.
type Clock = clock.Clock

// Timer is a stoppable one-shot timer.
type Timer = clock.Timer

// RealClock is the wall clock.
type RealClock = clock.Real
