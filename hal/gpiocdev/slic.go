package gpiocdev

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// ErrOffHook is returned when ringing or the MWI high voltage is asked for
// while the handset is off-hook: both would put high voltage on a line in use.
var ErrOffHook = errors.New("gpiocdev: refused while the handset is off-hook")

// Ringing limits from the Silvertel Ag1171 datasheet (V1.6); the
// executable form of these rules is hal/haltest's Ag1171 model.
const (
	// RingStopHold is how long F/R is held high (forward) before RM drops
	// when ringing stops: the datasheet wants more than 10 ms.
	RingStopHold = 20 * time.Millisecond
	// DutyWindow and DutyMaxOn bound ringing to the datasheet's maximum RM
	// duty cycle of 33 %: RM is high at most DutyMaxOn in any DutyWindow.
	DutyWindow = 6 * time.Second
	DutyMaxOn  = 2 * time.Second
	// dutyMargin keeps a late timer on a busy system inside the limit.
	dutyMargin = 50 * time.Millisecond
	// minBurst is the shortest ring burst worth starting; below it a
	// ringing request waits for the duty cycle to allow more.
	minBurst = 300 * time.Millisecond
	// dutyRecheck is how often a ringing request held back by the duty
	// cycle looks again.
	dutyRecheck = 50 * time.Millisecond
	// polaritySettle is the gap between RM dropping and a reversed line
	// going back to reversed.
	polaritySettle = 10 * time.Millisecond
)

// Line drives an Ag1171-style SLIC: RM (ring mode, active = ring), F/R
// (active = forward polarity), optional PD and an optional external HV MWI
// relay (active = neon voltage on).
//
// PD (power down, pin 14) is never driven high: the datasheet forbids it.
// The line is requested open-drain and released (high impedance: the SLIC
// runs) for the whole run; Close pulls it low (powered down) before
// releasing it. Without a PD line the pin stays unconnected.
//
// Ringing sets RM and toggles F/R at RingHz (a 20 or 25 Hz square wave: two
// edges per cycle). It stops by itself (ring trip) when the hook goes
// off-hook. Stopping puts F/R high (forward) first and drops RM
// RingStopHold later, then restores the polarity. A ringing request longer
// than the duty cycle allows is cut into bursts: RM is high at most
// DutyMaxOn in any DutyWindow (2 s on, 4 s off for a continuous request).
type Line struct {
	rm, fr, pd, hv pin // pd, hv may be nil
	hz             int
	clk            clock.Clock
	hook           *Hook // may be nil: no off-hook guard

	mu     sync.Mutex
	pol    hal.Polarity // wanted polarity, applied while not ringing
	want   bool         // ringing requested
	phase  ringPhase
	frHigh bool
	rmHigh bool
	hvOn   bool
	start  time.Time   // burst start (RM high)
	anchor time.Time   // origin of the F/R edge schedule: start, moved on by late wake-ups
	until  time.Time   // the burst must begin stopping by then (duty cycle)
	n      int         // half-cycles since start
	stop   func() bool // the pending ring timer
	gen    uint64
	hist   [][2]time.Time // RM-high intervals within the last DutyWindow
	closed bool
}

type ringPhase int

const (
	ringIdle     ringPhase = iota // RM low
	ringOn                        // RM high, F/R toggling
	ringStopping                  // F/R high for good, RM drops after RingStopHold
	ringPaused                    // requested, held back by the duty cycle
)

var _ hal.Line = (*Line)(nil)

// NewLine drives a SLIC through the given pins: rm and fr are required; pd
// (open-drain: true = released, false = pulled low) and hv may be nil;
// hook (may be nil) guards ringing and HV against an off-hook handset.
// OpenLine is NewLine on kernel GPIO lines.
func NewLine(rm, fr, pd, hv Pin, ringHz int, hook *Hook, opt Options) (*Line, error) {
	if rm == nil || fr == nil {
		return nil, errors.New("gpiocdev: line: rm and fr are required")
	}
	return newLine(rm, fr, pd, hv, ringHz, opt.Clock, hook)
}

func newLine(rm, fr, pd, hv pin, hz int, clk clock.Clock, hook *Hook) (*Line, error) {
	clk = clock.Or(clk)
	if hz <= 0 {
		hz = 20
	}
	l := &Line{rm: rm, fr: fr, pd: pd, hv: hv, hz: hz, clk: clk, hook: hook}
	err := errors.Join(rm.Set(false), fr.Set(true))
	if hv != nil {
		err = errors.Join(err, hv.Set(false))
	}
	if pd != nil {
		err = errors.Join(err, pd.Set(true)) // open-drain released: the SLIC runs
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
// applied once RM has dropped.
func (l *Line) SetPolarity(p hal.Polarity) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	l.pol = p
	if l.rmHigh {
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

func (l *Line) setRM(high bool) error {
	if err := l.rm.Set(high); err != nil {
		return fmt.Errorf("gpiocdev: line: RM: %w", err)
	}
	now := l.clk.Now()
	if high && !l.rmHigh {
		l.start = now
	}
	if !high && l.rmHigh {
		l.hist = append(l.hist, [2]time.Time{l.start, now})
	}
	l.rmHigh = high
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

// SetRing starts or stops ringing. Starting is refused off-hook. Stopping
// returns at once; RM drops RingStopHold later.
func (l *Line) SetRing(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.checkOpen(); err != nil {
		return err
	}
	if !on {
		l.want = false
		switch l.phase {
		case ringOn:
			return l.beginStopLocked()
		case ringPaused:
			l.cancelTimerLocked()
			l.phase = ringIdle
			return l.setFR(l.pol == hal.PolarityForward)
		}
		return nil
	}
	if l.want {
		return nil
	}
	if l.offHook() {
		return ErrOffHook
	}
	l.want = true
	if l.phase == ringIdle {
		return l.tryStartLocked()
	}
	return nil // stopping: restarts when RM has dropped
}

func (l *Line) half() time.Duration { return time.Second / time.Duration(2*l.hz) }

func (l *Line) cancelTimerLocked() {
	l.gen++
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// after runs f under the lock after d, unless the timer is cancelled or
// the line closed first.
func (l *Line) afterLocked(d time.Duration, f func()) {
	l.cancelTimerLocked()
	gen := l.gen
	l.stop = l.clk.AfterFunc(d, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed || gen != l.gen {
			return
		}
		l.stop = nil
		f()
	})
}

// onIn is how long RM was high between from and to, by the history.
func (l *Line) onIn(from, to time.Time) time.Duration {
	var d time.Duration
	for _, b := range l.hist {
		s, e := b[0], b[1]
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		if e.After(s) {
			d += e.Sub(s)
		}
	}
	return d
}

// allowedBurst is the longest RM-high time starting now that keeps every
// DutyWindow at or under the duty limit. f(s) = on-time of the window
// ending at now+s is non-decreasing in s, so a binary search finds it.
func (l *Line) allowedBurst(now time.Time) time.Duration {
	keep := l.hist[:0]
	for _, b := range l.hist {
		if b[1].After(now.Add(-DutyWindow)) {
			keep = append(keep, b)
		}
	}
	l.hist = keep
	budget := DutyMaxOn - dutyMargin
	ok := func(s time.Duration) bool { return l.onIn(now.Add(s-DutyWindow), now)+s <= budget }
	lo, hi := time.Duration(0), budget
	if !ok(lo) {
		return 0
	}
	for hi-lo > time.Millisecond {
		mid := (lo + hi) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// tryStartLocked raises RM if the duty cycle allows a useful burst, or
// waits for it to.
func (l *Line) tryStartLocked() error {
	if l.offHook() {
		l.want, l.phase = false, ringIdle
		return nil
	}
	now := l.clk.Now()
	b := l.allowedBurst(now)
	if b < minBurst {
		l.phase = ringPaused
		l.afterLocked(dutyRecheck, func() {
			if l.want && l.phase == ringPaused {
				_ = l.tryStartLocked()
			}
		})
		return nil
	}
	if err := l.setRM(true); err != nil {
		return err
	}
	l.phase = ringOn
	l.until = now.Add(b - RingStopHold)
	l.n = 0
	l.anchor = l.start
	l.armLocked()
	return nil
}

// maxLate is how late an F/R edge may come and the schedule still keep
// its origin (edges do not drift with timer latency). A later wake-up (a
// stalled or overloaded system) moves the origin on by the delay: that
// half cycle is stretched, and the next edge is a whole half cycle later,
// instead of the missed edges following at once as sub-millisecond pulses
// on F/R while RM is high.
func (l *Line) maxLate() time.Duration { return l.half() / 5 }

// armLocked schedules the next F/R edge, or the start of the stop if the
// duty-cycle budget of this burst ends first.
func (l *Line) armLocked() {
	l.n++
	due := l.anchor.Add(time.Duration(l.n) * l.half())
	if !due.Before(l.until) {
		l.afterLocked(l.until.Sub(l.clk.Now()), func() { _ = l.beginStopLocked() })
		return
	}
	l.afterLocked(due.Sub(l.clk.Now()), func() {
		if l.offHook() { // ring trip
			l.want = false
			_ = l.beginStopLocked()
			return
		}
		_ = l.setFR(!l.frHigh)
		if late := l.clk.Now().Sub(due); late > l.maxLate() {
			l.anchor = l.anchor.Add(late)
		}
		l.armLocked()
	})
}

// beginStopLocked puts F/R high (forward) for good and drops RM
// RingStopHold later; then it applies the wanted polarity and, if ringing
// is still wanted (a duty-cycle pause), tries again.
func (l *Line) beginStopLocked() error {
	err := l.setFR(true)
	l.phase = ringStopping
	l.afterLocked(RingStopHold, func() {
		_ = l.setRM(false)
		l.phase = ringIdle
		if l.want {
			_ = l.tryStartLocked()
			return
		}
		if l.pol != hal.PolarityForward {
			// Reverse again once the SLIC has left ring mode, not at the
			// same instant.
			l.afterLocked(polaritySettle, func() {
				if !l.rmHigh {
					_ = l.setFR(l.pol == hal.PolarityForward)
				}
			})
		}
	})
	return err
}

// Close stops ringing (F/R high, then RM low RingStopHold later, waiting
// in real time), switches the HV relay off, restores forward polarity,
// powers the SLIC down by pulling PD low, and releases the lines.
func (l *Line) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.cancelTimerLocked()
	l.want = false
	l.pol = hal.PolarityForward
	var err error
	if l.rmHigh {
		if !l.frHigh {
			err = l.setFR(true)
		}
		// A real hardware wait, not the injected clock: the SLIC needs
		// F/R settled before RM drops, and Close returns with the
		// lines released, so it cannot wait for a callback.
		time.Sleep(RingStopHold)
		err = errors.Join(err, l.setRM(false))
	}
	l.phase = ringIdle
	err = errors.Join(err, l.setFR(true))
	l.closed = true
	if l.hv != nil {
		err = errors.Join(err, l.hv.Set(false))
	}
	if l.pd != nil {
		err = errors.Join(err, l.pd.Set(false)) // open-drain low: powered down
	}
	for _, p := range []pin{l.rm, l.fr, l.pd, l.hv} {
		if p != nil {
			err = errors.Join(err, p.Close())
		}
	}
	return err
}
