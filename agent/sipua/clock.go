package sipua

import "time"

// Clock is the time source the workers use; tests inject their own.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

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
