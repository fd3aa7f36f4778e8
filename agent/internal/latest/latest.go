package latest

import (
	"context"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Signal broadcasts "something changed". The zero value is ready to use.
type Signal struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// Notify wakes every subscriber; it never blocks. A subscriber that has
// not taken its previous notice gets no second one.
func (s *Signal) Notify() {
	s.mu.Lock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

// Subscribe returns a channel that receives a notice after every Notify
// (coalesced: it holds at most one) and a function that ends the
// subscription.
func (s *Signal) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[chan struct{}]struct{}{}
	}
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// Watch returns a channel holding the latest value of get: get() at once,
// then get() after each notice of sig. A value the reader has not taken
// is replaced by a newer one, but at most once per gap (0: at once), so
// get — which may copy a lot — runs at most once per gap while the reader
// is busy; a reader that waits gets each change at once. The channel is
// closed when ctx ends. clk may be nil (wall clock).
func Watch[T any](ctx context.Context, sig *Signal, get func() T, gap time.Duration, clk clock.Clock) <-chan T {
	clk = clock.Or(clk)
	out := make(chan T, 1)
	kick, cancel := sig.Subscribe()
	out <- get()
	go func() {
		defer close(out)
		defer cancel()
		var (
			dirty    bool      // a change not yet copied
			replaced time.Time // last replacement of an unread value
			hold     clock.Timer
			holdC    <-chan time.Time
		)
		defer func() {
			if hold != nil {
				hold.Stop()
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				dirty = true
			case <-holdC:
				holdC, hold = nil, nil
			}
			if !dirty || holdC != nil {
				continue
			}
			if len(out) > 0 && gap > 0 { // unread: replace it, but not too often
				if wait := gap - clk.Now().Sub(replaced); wait > 0 {
					hold = clk.NewTimer(wait)
					holdC = hold.C()
					continue
				}
			}
			dirty = false
			v := get()
			select {
			case out <- v:
				continue
			default:
			}
			select { // replace the unread one
			case <-out:
			default:
			}
			replaced = clk.Now()
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
