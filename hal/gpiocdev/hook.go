package gpiocdev

import (
	"fmt"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// Hook is a hook switch (an SLIC's SHK output, or a push button) on one
// input line, watched on both edges. Debouncing is done by the kernel where
// it can (Linux 5.10+ emulates it for any chip) and otherwise in software:
// every raw edge restarts a timer, and when the line has been quiet for the
// debounce time its level is read and reported if it changed.
type Hook struct {
	name     string
	in       pin
	clk      clock.Clock
	debounce time.Duration
	software bool

	mu     sync.Mutex
	state  bool // debounced: true = off-hook
	stop   func() bool
	gen    uint64
	closed bool
	events chan hal.HookEvent
}

var _ hal.Hook = (*Hook)(nil)

// eventBuffer is how many hook events wait for a slow reader before the
// oldest is dropped (the latest state is never lost).
const eventBuffer = 32

func newHook(name string, in pin, clk clock.Clock, debounce time.Duration, software bool) (*Hook, error) {
	clk = clock.Or(clk)
	h := &Hook{name: name, in: in, clk: clk, debounce: debounce, software: software,
		events: make(chan hal.HookEvent, eventBuffer)}
	v, err := in.Get()
	if err != nil {
		return nil, fmt.Errorf("gpiocdev: hook %s: reading: %w", name, err)
	}
	h.state = v
	return h, nil
}

// Name is the line the hook is on, for logs.
func (h *Hook) Name() string { return h.name }

// SoftwareDebounce reports whether debouncing is done here rather than by
// the kernel.
func (h *Hook) SoftwareDebounce() bool { return h.software }

// Events delivers debounced changes in order; it is closed by Close.
func (h *Hook) Events() <-chan hal.HookEvent { return h.events }

// OffHook reports the current debounced state.
func (h *Hook) OffHook() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, fmt.Errorf("gpiocdev: hook %s: %w", h.name, hal.ErrClosed)
	}
	return h.state, nil
}

// edge is called for every edge the kernel reports (on the library's event
// goroutine): level is the new logical level, already debounced by the
// kernel unless h.software. It only hands off; it never blocks.
func (h *Hook) edge(level bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if !h.software {
		h.reportLocked(level)
		return
	}
	if h.stop != nil {
		h.stop()
	}
	h.gen++
	gen := h.gen
	h.stop = h.clk.AfterFunc(h.debounce, func() { h.settle(gen) })
}

// settle runs once the line has been quiet for the debounce time.
func (h *Hook) settle(gen uint64) {
	v, err := h.in.Get()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || gen != h.gen || err != nil {
		return
	}
	h.stop = nil
	h.reportLocked(v)
}

func (h *Hook) reportLocked(off bool) {
	if off == h.state {
		return
	}
	h.state = off
	ev := hal.HookEvent{OffHook: off, At: h.clk.Now()}
	for {
		select {
		case h.events <- ev:
			return
		default:
		}
		select { // full: drop the oldest, keep the newest
		case <-h.events:
		default:
		}
	}
}

// Close stops watching, closes Events and releases the line.
func (h *Hook) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.gen++
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
	close(h.events)
	h.mu.Unlock()
	// Outside the lock: closing the line waits for the event callback,
	// which takes the lock.
	return h.in.Close()
}
