package latest

import (
	"context"
	"log/slog"
	"sync"

	"github.com/mwi-agent/mwi-agent/hal"
)

// Worker draws jobs of type T with its draw function, one at a time, on its
// own goroutine.
type Worker[T any] struct {
	draw func(T) error
	log  *slog.Logger

	mu      sync.Mutex
	pending T
	has     bool
	busy    bool
	err     error // last draw error, reported once by Put
	closed  bool
	idle    []chan struct{}
	dropped uint64

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Start starts a worker. log may be nil.
func Start[T any](draw func(T) error, log *slog.Logger) *Worker[T] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker[T]{
		draw: draw,
		log:  log,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// Put makes job the next one to draw, replacing any job not yet started. It
// never waits for the device. It returns hal.ErrClosed after Close, and
// otherwise the error of the last draw that failed since the previous Put
// (the job is queued all the same).
func (w *Worker[T]) Put(job T) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return hal.ErrClosed
	}
	if w.has {
		w.dropped++
	}
	w.pending, w.has = job, true
	err := w.err
	w.err = nil
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return err
}

// Dropped is how many jobs were replaced before they were drawn.
func (w *Worker[T]) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Flush waits until every job put so far has been drawn (or dropped), or ctx
// ends.
func (w *Worker[T]) Flush(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return hal.ErrClosed
	}
	if !w.has && !w.busy {
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.idle = append(w.idle, ch)
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the worker after the job being drawn, if any, dropping any
// pending job. Later Puts return hal.ErrClosed. It is safe to call twice.
func (w *Worker[T]) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return nil
}

func (w *Worker[T]) run() {
	defer func() {
		w.mu.Lock()
		for _, ch := range w.idle {
			close(ch)
		}
		w.idle = nil
		w.mu.Unlock()
		close(w.done)
	}()
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			if !w.has || w.closed {
				for _, ch := range w.idle {
					close(ch)
				}
				w.idle = nil
				w.mu.Unlock()
				break
			}
			job := w.pending
			var zero T
			w.pending, w.has, w.busy = zero, false, true
			w.mu.Unlock()

			err := w.draw(job)

			w.mu.Lock()
			w.busy = false
			if err != nil {
				w.err = err
			}
			w.mu.Unlock()
			if err != nil {
				w.log.Warn("display update failed", "err", err)
			}
		}
	}
}
