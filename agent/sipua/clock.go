package sipua

import (
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Clock is the time source the workers use (hal/clock: the agent's one
// time source); tests inject clock.Fake.
type Clock = clock.Clock

// Timer is a stoppable one-shot timer.
type Timer = clock.Timer

// RealClock is the wall clock.
type RealClock = clock.Real

// timerSlot is one re-armable timer in a worker's select.
type timerSlot struct {
	t Timer
}

func (s *timerSlot) arm(c Clock, d time.Duration) {
	s.stop()
	if d < 0 {
		d = 0
	}
	s.t = c.NewTimer(d)
}

func (s *timerSlot) stop() {
	if s.t != nil {
		s.t.Stop()
		s.t = nil
	}
}

// c is nil (blocks forever in a select) when the slot is not armed.
func (s *timerSlot) c() <-chan time.Time {
	if s.t == nil {
		return nil
	}
	return s.t.C()
}
