package agent

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// A watcher that does not read while the state changes many times gets
// the latest state once it reads again: replacing the unread snapshot is
// rate-limited, never dropped.
func TestWatchSlowReaderGetsLatest(t *testing.T) {
	synctest.Test(t, testWatchSlowReaderGetsLatest)
}

func testWatchSlowReaderGetsLatest(t *testing.T) {
	a := newAgent(nil, uaSpec{}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := a.Watch(ctx)
	<-w
	// A burst that lasts several replacement gaps, the reader not reading.
	const n = 300
	for i := 1; i <= n; i++ {
		a.publish(state.Snapshot{Seq: uint64(i), Accounts: []state.Account{{Name: "a"}}}, nil)
		time.Sleep(100 * time.Microsecond)
	}
	deadline := time.After(3 * time.Second)
	var got []uint64
	for {
		select {
		case s := <-w:
			got = append(got, s.Seq)
			if s.Seq == n {
				if len(got) > 10 {
					t.Errorf("a slow reader got %d snapshots after a burst, want the latest few", len(got))
				}
				return
			}
		case <-deadline:
			t.Fatalf("latest snapshot (Seq %d) never delivered; got %v", n, got)
		}
	}
}
