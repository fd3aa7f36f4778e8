package indicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Renderer turns a view into a frame for a display (display.RenderMono or
// display.RenderText, chosen by the display's kind).
type Renderer func(v View, info hal.DisplayInfo) hal.Frame

// Applier writes Outputs to devices, touching only what changed since the
// last successful write. A failed write is retried on the next Apply.
// It is safe for concurrent use: applies are serialized, and Last, Err and
// Writes never wait for a device write or an OnApply callback.
type Applier struct {
	dev    hal.Devices
	render Renderer
	log    *slog.Logger
	clock  clock.Clock

	applyMu sync.Mutex // serializes Apply (device writes and callbacks)
	lamp    *hal.Pattern
	leds    []*hal.Pattern
	view    *View

	mu      sync.Mutex // guards what readers see
	last    Outputs
	lastAt  time.Time
	lastErr error
	writes  int
	onApply []func(Outputs)
	changed latest.Signal
}

// ApplierOptions are an Applier's injected dependencies.
type ApplierOptions struct {
	Render Renderer     // nil: the display (if any) is not drawn
	Logger *slog.Logger // nil: discard
	Clock  clock.Clock  // nil: the wall clock (Drive's timers use it too)
}

// NewApplier returns an Applier for dev.
func NewApplier(dev hal.Devices, opt ApplierOptions) *Applier {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Applier{dev: dev, render: opt.Render, log: opt.Logger, clock: clock.Or(opt.Clock), leds: make([]*hal.Pattern, len(dev.LEDs))}
}

// OnApply registers f to be called (synchronously, in order, one Apply at
// a time) with every applied Outputs, e.g. to hand FXS outputs to the line
// controller or to push them to the status page.
func (a *Applier) OnApply(f func(Outputs)) {
	a.mu.Lock()
	a.onApply = append(a.onApply, f)
	a.mu.Unlock()
}

// Last returns the Outputs most recently applied.
func (a *Applier) Last() Outputs {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// LastChanged returns the Outputs most recently applied and when the lamp
// last changed its pattern (the start of its cadence); zero before the
// first apply.
func (a *Applier) LastChanged() (Outputs, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last, a.lastAt
}

// Changes returns a channel told (coalesced) after every Apply, and a
// function that ends the subscription (the status page follows it).
func (a *Applier) Changes() (<-chan struct{}, func()) { return a.changed.Subscribe() }

// Err returns the device errors of the most recent Apply (nil when every
// write succeeded).
func (a *Applier) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// Apply writes what differs from the last successful write; force writes
// everything (a periodic refresh heals glitches on real hardware). It
// returns every device error joined.
func (a *Applier) Apply(out Outputs, force bool) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	var errs []error
	writes := 0
	if a.dev.Lamp != nil && (force || a.lamp == nil || !a.lamp.Equal(out.Lamp)) {
		writes++
		if err := a.dev.Lamp.SetPattern(out.Lamp); err != nil {
			a.lamp = nil
			errs = append(errs, fmt.Errorf("indicate: lamp: %w", err))
		} else {
			p := out.Lamp
			a.lamp = &p
			a.log.Info("lamp", "pattern", p.Name, "why", out.Why)
		}
	}
	for i, led := range a.dev.LEDs {
		if led == nil || i >= len(out.LEDs) {
			continue
		}
		if force || a.leds[i] == nil || !a.leds[i].Equal(out.LEDs[i]) {
			writes++
			if err := led.SetPattern(out.LEDs[i]); err != nil {
				a.leds[i] = nil
				errs = append(errs, fmt.Errorf("indicate: led %d: %w", i+1, err))
			} else {
				p := out.LEDs[i]
				a.leds[i] = &p
				a.log.Debug("led", "led", i+1, "account", out.LEDFor[i], "pattern", p.Name)
			}
		}
	}
	if a.dev.Display != nil && a.render != nil && (force || a.view == nil || !reflect.DeepEqual(*a.view, out.Display)) {
		writes++
		if err := a.dev.Display.Show(a.render(out.Display, a.dev.Display.Info())); err != nil {
			a.view = nil
			errs = append(errs, fmt.Errorf("indicate: display: %w", err))
		} else {
			v := out.Display
			v.Accounts = append([]AccountView(nil), v.Accounts...)
			a.view = &v
		}
	}
	err := errors.Join(errs...)
	a.mu.Lock()
	if a.lastAt.IsZero() || !a.last.Lamp.Equal(out.Lamp) {
		a.lastAt = a.clock.Now()
	}
	a.last, a.lastErr = out, err
	a.writes += writes
	cbs := a.onApply
	a.mu.Unlock()
	for _, f := range cbs {
		f(out)
	}
	a.changed.Notify()
	return err
}

// Watcher is the part of *agent.Agent that Drive needs.
type Watcher interface {
	Watch(ctx context.Context) <-chan state.Snapshot
}

// burstGap is the shortest time between two applies while snapshots
// arrive in a burst (hundreds of accounts registering at start-up): the
// first snapshot after a quiet spell is applied at once, later ones in the
// burst are coalesced and the latest is applied burstGap after the last
// apply. Nobody sees a lamp or a display change faster; computing,
// comparing and rendering every intermediate snapshot cost more CPU than
// the SIP work itself at 256 accounts.
const burstGap = 50 * time.Millisecond

// Drive applies Compute(snapshot, pol) for every snapshot src delivers
// until ctx ends, and re-writes every output each refresh interval
// (0 = never). After an apply it reads the next snapshot only once
// burstGap has passed: the watcher keeps only the latest snapshot
// meanwhile (agent.Watch is latest.Watch), so a burst is coalesced into one
// apply per burstGap, the latest last, and the first snapshot after a quiet
// spell is applied at once. Device errors are logged, not fatal: the next
// snapshot or refresh retries. It returns ctx.Err().
func Drive(ctx context.Context, src Watcher, a *Applier, pol Policy, refresh time.Duration) error {
	clk := a.clock
	var (
		last           *state.Snapshot // latest snapshot applied
		refreshT, gapT clock.Timer
		tick, gap      <-chan time.Time
	)
	armRefresh := func() {
		if refresh > 0 {
			refreshT = clk.NewTimer(refresh)
			tick = refreshT.C()
		}
	}
	armRefresh()
	defer func() {
		for _, t := range []clock.Timer{refreshT, gapT} {
			if t != nil {
				t.Stop()
			}
		}
	}()
	ch := src.Watch(ctx)
	apply := func(force bool) {
		note := "indicators"
		if force {
			note = "indicators refresh"
		}
		if err := a.Apply(Compute(*last, pol), force); err != nil {
			a.log.Warn(note, "err", err)
		}
	}
	for {
		in := ch
		if gap != nil {
			in = nil // leave updates in the watcher until the gap has passed
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s, ok := <-in:
			if !ok {
				<-ctx.Done()
				return ctx.Err()
			}
			last = &s
			apply(false)
			gapT = clk.NewTimer(burstGap)
			gap = gapT.C()
		case <-gap:
			gap = nil
		case <-tick:
			armRefresh()
			if last != nil {
				apply(true)
			}
		}
	}
}
