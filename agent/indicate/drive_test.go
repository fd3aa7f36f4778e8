package indicate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

type chanWatcher chan state.Snapshot

func (c chanWatcher) Watch(ctx context.Context) <-chan state.Snapshot { return c }

// Each snapshot is applied; within a burst the latest is applied
// burstGap after the previous apply (on virtual time, testing/synctest).
func TestDrive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := sim.New(sim.Options{LEDs: 1})
		a := NewApplier(b.Devices(), ApplierOptions{})
		applied := make(chan Outputs, 10)
		a.OnApply(func(o Outputs) { applied <- o })
		src := make(chanWatcher, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- Drive(ctx, src, a, DefaultPolicy(1, 0), time.Minute) }()
		start := time.Now()
		for _, c := range []struct {
			acc  state.Account
			lamp string
			at   time.Duration // applied this long after start
		}{
			{acct("a", unk, state.HealthSubscribing, 0, 0, 0), "unknown", 0},
			{acct("a", yes, ok, 1, 0, 0), "steady", burstGap},
			{acct("a", no, ok, 0, 1, 0), "off", 2 * burstGap},
		} {
			src <- state.Snapshot{Accounts: []state.Account{c.acc}}
			o := <-applied
			if p, _ := b.Lamp.Pattern(); o.Lamp.Name != c.lamp || p.Name != c.lamp {
				t.Fatalf("lamp %s (device %s), want %s", o.Lamp.Name, p.Name, c.lamp)
			}
			if got := time.Since(start); got != c.at {
				t.Fatalf("%s applied after %v, want %v", c.lamp, got, c.at)
			}
		}
		// The refresh re-writes every output each minute, nothing between.
		time.Sleep(time.Minute - 2*burstGap - time.Millisecond)
		synctest.Wait()
		if len(applied) != 0 {
			t.Fatal("applied before the refresh interval")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if len(applied) != 1 {
			t.Fatal("no refresh after a minute")
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("Drive returned %v", err)
		}
	})
}

// A snapshot with two accounts, one with an urgent message: the lamp
// blinks fast, and each account's LED shows its own state.
func ExampleCompute() {
	s := state.Snapshot{Accounts: []state.Account{
		{Name: "desk", Waiting: state.WaitingYes, Health: state.HealthSubscribed,
			Classes: map[string]state.Counts{state.ClassVoice: {New: 2, UrgentNew: 1}}},
		{Name: "home", Waiting: state.WaitingNo, Health: state.HealthSubscribed},
	}}
	out := Compute(s, DefaultPolicy(2, 1))
	fmt.Println("lamp:", out.Lamp.Name, out.Lamp.Cadence)
	fmt.Println("leds:", out.LEDFor, out.LEDs[0].Name, out.LEDs[1].Name)
	fmt.Println("fxs stutter:", out.FXS[0].Stutter)
	// Output:
	// lamp: urgent [250ms 250ms]
	// leds: [desk home] urgent off
	// fxs stutter: true
}

var _ hal.Lamp = (*failingLamp)(nil)

// A burst of snapshots (hundreds of accounts registering at once) is
// coalesced: far fewer applies than snapshots, the first one at once and
// the latest one last.
func TestDriveCoalescesBursts(t *testing.T) {
	synctest.Test(t, testDriveCoalescesBursts)
}

func testDriveCoalescesBursts(t *testing.T) {
	b := sim.New(sim.Options{LEDs: 1})
	a := NewApplier(b.Devices(), ApplierOptions{})
	var mu sync.Mutex
	var seqs []uint64
	a.OnApply(func(o Outputs) {
		mu.Lock()
		seqs = append(seqs, uint64(len(o.Display.Accounts)))
		mu.Unlock()
	})
	got := func() []uint64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]uint64(nil), seqs...)
	}
	// Like agent.Watch: one buffered snapshot, replaced while unread.
	src := make(chanWatcher, 1)
	send := func(s state.Snapshot) {
		select {
		case <-src:
		default:
		}
		src <- s
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Drive(ctx, src, a, DefaultPolicy(1, 0), 0) }()
	const n = 200
	for i := 1; i <= n; i++ {
		accs := make([]state.Account, i)
		for j := range accs {
			accs[j] = acct(fmt.Sprint("a", j), unk, state.HealthRegistering, 0, 0, 0)
		}
		send(state.Snapshot{Seq: uint64(i), Accounts: accs})
		// A burst, but slower than Drive reads: without coalescing every
		// snapshot would be applied.
		synctest.Wait()
		if i == 1 && len(got()) != 1 {
			t.Fatal("first snapshot not applied at once")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(burstGap)
	synctest.Wait()
	applies := got()
	if len(applies) == 0 || applies[len(applies)-1] != n || applies[0] != 1 {
		t.Fatalf("applies %v: want the first snapshot first and the latest (%d) last", applies, n)
	}
	t.Logf("%d snapshots over %v: %d applies", n, n*time.Millisecond, len(applies))
	// 200 ms of snapshots: the first at once, then one per burstGap.
	if max := n*int(time.Millisecond)/int(burstGap) + 2; len(applies) > max {
		t.Fatalf("%d applies for a burst of %d snapshots over %v: not coalesced (want at most %d)", len(applies), n, n*time.Millisecond, max)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Drive returned %v", err)
	}
}
