package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manual clock: time moves only in Advance and Set. Due timers
// fire inside Advance in deadline order (ties in the order they were armed),
// with Now showing each timer's deadline while it fires; AfterFunc callbacks
// run synchronously there, channel timers get a non-blocking send. Timers
// armed by a callback during an Advance fire in the same Advance if due.
//
// For code that waits in its own goroutines, prefer the Real clock inside a
// testing/synctest bubble; Fake is for stepping a single goroutine's logic.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[uint64]*fakeTimer
}

type fakeTimer struct {
	id uint64
	at time.Time
	f  func()         // AfterFunc
	ch chan time.Time // NewTimer
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock showing t0.
func NewFake(t0 time.Time) *Fake {
	return &Fake{now: t0, timers: map[uint64]*fakeTimer{}}
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Fake) arm(d time.Duration, t *fakeTimer) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d < 0 {
		d = 0
	}
	c.seq++
	t.id = c.seq
	t.at = c.now.Add(d)
	c.timers[t.id] = t
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[t.id]
		delete(c.timers, t.id)
		return ok
	}
}

// AfterFunc schedules f at Now()+d; it runs inside Advance.
func (c *Fake) AfterFunc(d time.Duration, f func()) func() bool {
	return c.arm(d, &fakeTimer{f: f})
}

// NewTimer returns a timer whose channel receives at Now()+d.
func (c *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{ch: make(chan time.Time, 1)}
	return fakeTimerHandle{ch: t.ch, stop: c.arm(d, t)}
}

type fakeTimerHandle struct {
	ch   chan time.Time
	stop func() bool
}

func (h fakeTimerHandle) C() <-chan time.Time { return h.ch }
func (h fakeTimerHandle) Stop() bool          { return h.stop() }

// Pending returns how many timers are armed.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the deadline of the earliest armed timer, false if none.
func (c *Fake) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	found := false
	for _, t := range c.timers {
		if !found || t.at.Before(next) {
			next, found = t.at, true
		}
	}
	return next, found
}

// Advance moves the clock forward by d, firing every timer that falls due,
// including timers armed by callbacks during the advance. A negative d is
// treated as zero.
func (c *Fake) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.advanceTo(end)
}

// Set moves the clock to t (forward only; an earlier t leaves it as is),
// firing due timers as Advance does.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	if t.Before(c.now) {
		t = c.now
	}
	c.mu.Unlock()
	c.advanceTo(t)
}

func (c *Fake) advanceTo(end time.Time) {
	for {
		c.mu.Lock()
		var due []*fakeTimer
		for _, t := range c.timers {
			if !t.at.After(end) {
				due = append(due, t)
			}
		}
		if len(due) == 0 {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		sort.Slice(due, func(i, j int) bool {
			if !due[i].at.Equal(due[j].at) {
				return due[i].at.Before(due[j].at)
			}
			return due[i].id < due[j].id
		})
		t := due[0]
		delete(c.timers, t.id)
		if t.at.After(c.now) {
			c.now = t.at
		}
		now := c.now
		c.mu.Unlock()
		if t.f != nil {
			t.f()
		} else {
			select {
			case t.ch <- now:
			default:
			}
		}
	}
}
