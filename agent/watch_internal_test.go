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
		setState(a, state.Snapshot{Seq: uint64(i), Accounts: []state.Account{{Name: "a"}}})
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

// setState replaces the state as the loop would (a copy of s) and tells
// the watchers.
func setState(a *Agent, s state.Snapshot) {
	a.mu.Lock()
	a.pub = s
	a.pub.Accounts = append([]state.Account(nil), s.Accounts...)
	a.mu.Unlock()
	a.publish()
}

// Every watcher gets the same copy of a change (one copy per change, not
// one per watcher), apart from the published state itself; Snapshot still
// returns a private copy.
func TestWatchersShareOneCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAgent(nil, uaSpec{}, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		accts := []state.Account{{Name: "a"}, {Name: "b"}}
		setState(a, state.Snapshot{Seq: 1, Accounts: accts})
		var ws []<-chan state.Snapshot
		for range 3 {
			w := a.Watch(ctx)
			<-w
			ws = append(ws, w)
		}
		time.Sleep(time.Second) // past the watchers' gap: the next change goes out at once
		changed := []state.Account{{Name: "a", Waiting: state.WaitingYes}, {Name: "b"}}
		setState(a, state.Snapshot{Seq: 2, Accounts: changed})
		synctest.Wait()
		var first *state.Account
		for i, w := range ws {
			var s state.Snapshot
			select {
			case s = <-w:
			default:
				t.Fatalf("watcher %d: no snapshot after the change", i)
			}
			if s.Seq != 2 || s.Accounts[0].Waiting != state.WaitingYes {
				t.Fatalf("watcher %d got %+v, want the change", i, s)
			}
			if first == nil {
				first = &s.Accounts[0]
			} else if &s.Accounts[0] != first {
				t.Errorf("watcher %d got a copy of its own", i)
			}
		}
		a.mu.Lock()
		pub := &a.pub.Accounts[0]
		a.mu.Unlock()
		if first == pub || first == &changed[0] {
			t.Error("the watchers' copy is the published state itself")
		}
		if s := a.Snapshot(); &s.Accounts[0] == first || &s.Accounts[0] == pub {
			t.Error("Snapshot returned a shared copy")
		}
	})
}
