package gpiocdev

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
)

// ErrOffHook is returned when ringing or the MWI high voltage is asked for
// while the handset is off-hook: both would put high voltage on a line in use.
var ErrOffHook = errors.New("gpiocdev: refused while the handset is off-hook")

// Line drives an Ag1171-style SLIC: RM (ring mode, active = ring), F/R
// (active = forward polarity), optional PD (active = power down) and an
// optional external HV MWI relay (active = neon voltage on). Ringing sets RM
// and toggles F/R at RingHz (a 20 or 25 Hz square wave: two edges per
// cycle); it stops by itself (ring trip) when the hook goes off-hook.
type Line struct {
	rm, fr, pd, hv pin // pd, hv may be nil
	hz             int
	clk            Clock
	hook           *Hook // may be nil: no off-hook guard

	mu      sync.Mutex
	pol     hal.Polarity
	ringing bool
	frHigh  bool
	hvOn    bool
	start   time.Time
	n       int // half-cycles since start
	stop    func() bool
	gen     uint64
	closed  bool
}

var _ hal.Line = (*Line)(nil)

func newLine(rm, fr, pd, hv pin, hz int, clk Clock, hook *Hook) (*Line, error) {
	if clk == nil {
		clk = realClock{}
	}
	if hz <= 0 {
		hz = 20
	}
	l := &Line{rm: rm, fr: fr, pd: pd, hv: hv, hz: hz, clk: clk, hook: hook}
	err := errors.Join(rm.Set(false), fr.Set(true))
	if hv != nil {
		err = errors.Join(err, hv.Set(false))
	}
	if pd != nil {
		err = errors.Join(err, pd.Set(false)) // powered up
	}
	if err != nil {
		return nil, fmt.Errorf("gpiocdev: line: initial state: %w", err)
	}
	l.frHigh = true
	return l, nil
}

// RingHz is the ringing frequency.
func (l *Line) RingHz() int { return l.hz }

func (l *Line) offHook() bool {
	if l.hook == nil {
		return false
	}
	off, err := l.hook.OffHook()
	return err == nil && off
}

func (l *Line) checkOpen() error {
	if l.closed {
		return fmt.Errorf("gpiocdev: line: %w", hal.ErrClosed)
	}
	return nil
}

// SetPolarity sets F/R (forward = active). While ringing, the polarity is
// applied when ringing stops.
func (l *Line) SetPolarity(p hal.Polarity) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	l.pol = p
	if l.ringing {
		return nil
	}
	return l.setFR(p == hal.PolarityForward)
}

func (l *Line) setFR(high bool) error {
	if err := l.fr.Set(high); err != nil {
		return fmt.Errorf("gpiocdev: line: F/R: %w", err)
	}
	l.frHigh = high
	return nil
}

// SetHighVoltage switches the HV MWI relay. Turning it on is refused
// off-hook, and on a board without an HV relay line.
func (l *Line) SetHighVoltage(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	if l.hv == nil {
		if !on {
			return nil
		}
		return errors.New("gpiocdev: line: this board has no HV relay line (fxs.hv_relay)")
	}
	if on && l.offHook() {
		return ErrOffHook
	}
	if err := l.hv.Set(on); err != nil {
		return fmt.Errorf("gpiocdev: line: HV relay: %w", err)
	}
	l.hvOn = on
	return nil
}

// SetRing starts or stops ringing. Starting is refused off-hook.
func (l *Line) SetRing(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	if !on {
		return l.ringOffLocked()
	}
	if l.ringing {
		return nil
	}
	if l.offHook() {
		return ErrOffHook
	}
	if err := l.rm.Set(true); err != nil {
		return fmt.Errorf("gpiocdev: line: RM: %w", err)
	}
	l.ringing = true
	l.start = l.clk.Now()
	l.n = 0
	l.gen++
	l.armLocked(l.gen)
	return nil
}

func (l *Line) half() time.Duration { return time.Second / time.Duration(2*l.hz) }

func (l *Line) armLocked(gen uint64) {
	l.n++
	due := l.start.Add(time.Duration(l.n) * l.half())
	l.stop = l.clk.AfterFunc(due.Sub(l.clk.Now()), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed || !l.ringing || gen != l.gen {
			return
		}
		if l.offHook() { // ring trip
			_ = l.ringOffLocked()
			return
		}
		_ = l.setFR(!l.frHigh)
		l.armLocked(gen)
	})
}

func (l *Line) ringOffLocked() error {
	l.gen++
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
	wasRinging := l.ringing
	l.ringing = false
	err := l.setFR(l.pol == hal.PolarityForward)
	if e := l.rm.Set(false); e != nil && wasRinging {
		err = errors.Join(err, fmt.Errorf("gpiocdev: line: RM: %w", e))
	}
	return err
}

// Close stops ringing, switches the HV relay off, restores forward polarity,
// powers the SLIC down (PD) and releases the lines.
func (l *Line) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.pol = hal.PolarityForward
	err := l.ringOffLocked()
	l.closed = true
	if l.hv != nil {
		err = errors.Join(err, l.hv.Set(false))
	}
	if l.pd != nil {
		err = errors.Join(err, l.pd.Set(true))
	}
	for _, p := range []pin{l.rm, l.fr, l.pd, l.hv} {
		if p != nil {
			err = errors.Join(err, p.Close())
		}
	}
	return err
}
