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
// then get() after each notice of sig, at most once per gap (0: after
// every notice). A change after a quiet gap is delivered at once; changes
// that follow each other closer than gap are folded into one value at the
// end of the gap, so get — which may copy a lot — runs at most once per
// gap during a burst, whether the reader waits or is busy. A value the
// reader has not taken is replaced by the newer one. The channel is
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
			dirty   bool        // a change not yet copied
			lastGet = clk.Now() // the first get ran just above
			hold    clock.Timer
			holdC   <-chan time.Time
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
			if gap > 0 { // not more often than once per gap
				if wait := gap - clk.Now().Sub(lastGet); wait > 0 {
					hold = clk.NewTimer(wait)
					holdC = hold.C()
					continue
				}
			}
			dirty = false
			lastGet = clk.Now()
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
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
