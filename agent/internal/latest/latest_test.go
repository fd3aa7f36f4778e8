package latest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
)

func TestSignalCoalesces(t *testing.T) {
	var s latest.Signal
	ch, cancel := s.Subscribe()
	for range 5 {
		s.Notify()
	}
	<-ch
	select {
	case <-ch:
		t.Fatal("five notices while unread gave two")
	default:
	}
	cancel()
	if s.Watchers() != 0 {
		t.Fatal("subscription not ended")
	}
	s.Notify() // no subscriber: nothing blocks
}

// A waiting reader gets a change after a quiet gap at once; a busy reader
// gets the latest after a burst, and get runs at most once per gap
// meanwhile.
func TestWatchKeepsOnlyTheLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s latest.Signal
		var v, gets atomic.Int64
		get := func() int64 { gets.Add(1); return v.Load() }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch := latest.Watch(ctx, &s, get, 10*time.Millisecond, nil)
		if got := <-ch; got != 0 {
			t.Fatalf("first value %d", got)
		}
		time.Sleep(time.Second) // quiet
		v.Store(1)
		t0 := time.Now()
		s.Notify()
		if got := <-ch; got != 1 {
			t.Fatalf("waiting reader got %d, want 1", got)
		}
		if d := time.Since(t0); d != 0 {
			t.Fatalf("a change after a quiet second came %v late", d)
		}
		// A burst of 1000 changes, 1 ms apart, while the reader is busy.
		gets.Store(0)
		for i := int64(2); i <= 1001; i++ {
			v.Store(i)
			s.Notify()
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if got := <-ch; got != 1001 {
			t.Fatalf("after the burst the reader got %d, want the latest (1001)", got)
		}
		if n := gets.Load(); n > 1000/10+3 {
			t.Fatalf("get ran %d times in a 1 s burst with a 10 ms gap", n)
		}
		cancel()
		if _, ok := <-ch; ok {
			t.Fatal("channel not closed when ctx ended")
		}
		if s.Watchers() != 0 {
			t.Fatal("subscription left open")
		}
	})
}

// A reader that waits for every value during a burst also makes get run
// at most once per gap, gets each folded value no later than one gap after
// the change, and the last one of the burst.
func TestWatchWaitingReaderInABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s latest.Signal
		var v, gets atomic.Int64
		get := func() int64 { gets.Add(1); return v.Load() }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch := latest.Watch(ctx, &s, get, 10*time.Millisecond, nil)
		<-ch
		gets.Store(0)
		type seen struct {
			v  int64
			at time.Time
		}
		var got []seen
		done := make(chan struct{})
		go func() {
			defer close(done)
			for x := range ch {
				got = append(got, seen{x, time.Now()})
			}
		}()
		changed := map[int64]time.Time{}
		for i := int64(1); i <= 1000; i++ {
			v.Store(i)
			changed[i] = time.Now()
			s.Notify()
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		if n := gets.Load(); n > 1000/10+3 {
			t.Errorf("get ran %d times in a 1 s burst with a 10 ms gap", n)
		}
		if len(got) == 0 || got[len(got)-1].v != 1000 {
			t.Fatalf("the reader did not end with the latest value (1000): %d values", len(got))
		}
		for _, g := range got {
			if late := g.at.Sub(changed[g.v]); late > 10*time.Millisecond {
				t.Errorf("value %d delivered %v after it changed", g.v, late)
			}
		}
	})
}
