package indicate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

type chanWatcher chan state.Snapshot

func (c chanWatcher) Watch(ctx context.Context) <-chan state.Snapshot { return c }

func TestDrive(t *testing.T) {
	b := sim.New(sim.Options{LEDs: 1})
	a := NewApplier(b.Devices(), nil, nil)
	applied := make(chan Outputs, 10)
	a.OnApply(func(o Outputs) { applied <- o })
	src := make(chanWatcher, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Drive(ctx, src, a, DefaultPolicy(1, 0), 0) }()
	for _, c := range []struct {
		acc  state.Account
		lamp string
	}{
		{acct("a", unk, state.HealthSubscribing, 0, 0, 0), "unknown"},
		{acct("a", yes, ok, 1, 0, 0), "steady"},
		{acct("a", no, ok, 0, 1, 0), "off"},
	} {
		src <- state.Snapshot{Accounts: []state.Account{c.acc}}
		select {
		case o := <-applied:
			if p, _ := b.Lamp.Pattern(); o.Lamp.Name != c.lamp || p.Name != c.lamp {
				t.Fatalf("lamp %s (device %s), want %s", o.Lamp.Name, p.Name, c.lamp)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("snapshot not applied")
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Drive returned %v", err)
	}
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
	b := sim.New(sim.Options{LEDs: 1})
	a := NewApplier(b.Devices(), nil, nil)
	var mu sync.Mutex
	var seqs []uint64
	a.OnApply(func(o Outputs) {
		mu.Lock()
		seqs = append(seqs, uint64(len(o.Display.Accounts)))
		mu.Unlock()
	})
	// Like agent.Watch: one buffered snapshot, replaced while unread.
	src := make(chanWatcher, 1)
	send := func(s state.Snapshot) {
		for {
			select {
			case src <- s:
				return
			default:
			}
			select {
			case <-src:
			default:
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
		time.Sleep(time.Millisecond)
		if i == 1 { // the first one is applied at once
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				mu.Lock()
				k := len(seqs)
				mu.Unlock()
				if k > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("first snapshot not applied")
				}
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([]uint64(nil), seqs...)
		mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == n {
			if got[0] != 1 {
				t.Fatalf("first apply had %d accounts, want the first snapshot (1)", got[0])
			}
			if len(got) > n/4 {
				t.Fatalf("%d applies for a burst of %d snapshots: not coalesced", len(got), n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("latest snapshot never applied; applies: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Drive returned %v", err)
	}
}
