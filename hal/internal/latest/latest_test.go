package latest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/hal"
)

// While the device is stuck drawing, Put returns at once, and when it frees
// up only the newest job is drawn.
func TestPutNeverBlocksAndKeepsLatest(t *testing.T) {
	release := make(chan struct{})
	started := make(chan int, 10)
	var mu sync.Mutex
	var drawn []int
	w := Start(func(n int) error {
		started <- n
		if n == 0 {
			<-release
		}
		mu.Lock()
		drawn = append(drawn, n)
		mu.Unlock()
		return nil
	}, nil)
	defer w.Close()
	if err := w.Put(0); err != nil {
		t.Fatal(err)
	}
	<-started // job 0 is in the device and stuck
	t0 := time.Now()
	for i := 1; i <= 100; i++ {
		if err := w.Put(i); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("100 Puts took %v while the device was busy", d)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(drawn) != 2 || drawn[0] != 0 || drawn[1] != 100 {
		t.Errorf("drawn %v, want [0 100]", drawn)
	}
	if got := w.Dropped(); got != 99 {
		t.Errorf("Dropped() = %d, want 99", got)
	}
}

func TestErrorReportedOnceThenClosed(t *testing.T) {
	boom := errors.New("bus gone")
	w := Start(func(n int) error {
		if n == 1 {
			return boom
		}
		return nil
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.Put(1); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(2); !errors.Is(err, boom) {
		t.Errorf("Put after a failed draw = %v, want %v", err, boom)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(3); err != nil {
		t.Errorf("error reported twice: %v", err)
	}
	w.Close()
	w.Close()
	if err := w.Put(4); !errors.Is(err, hal.ErrClosed) {
		t.Errorf("Put after Close = %v, want hal.ErrClosed", err)
	}
	if err := w.Flush(ctx); !errors.Is(err, hal.ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
}
