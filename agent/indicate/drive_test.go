package indicate

import (
	"context"
	"fmt"
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
