package gpiocdev

import (
	"fmt"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Lamp is a lamp or LED on one output line. Its pattern is timed by a single
// pending clock callback at a time (the next edge), computed from the moment
// the pattern was applied with hal.Pattern.At, so edges never drift.
type Lamp struct {
	name string
	out  pin

	mu      sync.Mutex
	clk     clock.Clock
	pat     hal.Pattern
	start   time.Time
	stop    func() bool
	gen     uint64 // bumped by every SetPattern and Close; stale callbacks compare
	lit     bool
	written bool
	closed  bool
	err     error // last write error from a timer callback
}

var _ hal.Lamp = (*Lamp)(nil)

func newLamp(name string, out pin, clk clock.Clock) (*Lamp, error) {
	clk = clock.Or(clk)
	l := &Lamp{name: name, out: out, clk: clk, pat: hal.PatternOff}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.write(false); err != nil {
		return nil, err
	}
	return l, nil
}

// Name is the line the lamp is on, for logs.
func (l *Lamp) Name() string { return l.name }

// SetPattern shows p from now on. The first level is on the line when it
// returns; later edges follow the injected clock.
func (l *Lamp) SetPattern(p hal.Pattern) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("gpiocdev: lamp %s: %w", l.name, hal.ErrClosed)
	}
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
	l.gen++
	l.pat = p
	l.start = l.clk.Now()
	err := l.tickLocked(l.gen)
	if err == nil {
		err, l.err = l.err, nil
	}
	return err
}

// tickLocked writes the level for now and arms the callback for the next edge.
func (l *Lamp) tickLocked(gen uint64) error {
	elapsed := l.clk.Now().Sub(l.start)
	err := l.write(l.pat.At(elapsed))
	period := l.pat.Period()
	if period <= 0 {
		return err
	}
	wait := nextEdge(l.pat, elapsed)
	l.stop = l.clk.AfterFunc(wait, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed || l.gen != gen {
			return // replaced or closed while this callback was on its way
		}
		if err := l.tickLocked(gen); err != nil {
			l.err = err
		}
	})
	return err
}

// nextEdge is how long after elapsed the pattern's level next changes (or
// its current segment ends).
func nextEdge(p hal.Pattern, elapsed time.Duration) time.Duration {
	period := p.Period()
	if elapsed < 0 {
		elapsed = 0
	}
	pos := elapsed % period
	var end time.Duration
	for _, c := range p.Cadence {
		end += c
		if pos < end {
			return end - pos
		}
	}
	return period - pos
}

func (l *Lamp) write(on bool) error {
	if l.written && on == l.lit {
		return nil
	}
	if err := l.out.Set(on); err != nil {
		return fmt.Errorf("gpiocdev: lamp %s: %w", l.name, err)
	}
	l.lit, l.written = on, true
	return nil
}

// Close darkens the lamp and releases its line. Later calls return
// hal.ErrClosed.
func (l *Lamp) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.gen++
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
	errOff := l.out.Set(false)
	errClose := l.out.Close()
	if errOff != nil {
		return fmt.Errorf("gpiocdev: lamp %s: darkening before release: %w", l.name, errOff)
	}
	return errClose
}
