package mqtt

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

type chanSource struct{ ch chan state.Snapshot }

func (c chanSource) Snapshot() state.Snapshot                        { return state.Snapshot{} }
func (c chanSource) Watch(ctx context.Context) <-chan state.Snapshot { return c.ch }

// With the broker unreachable, the client still takes every snapshot at
// once (the agent never waits for it) and keeps one payload per topic.
func TestPublishingNeverBlocks(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every connect fails
	src := chanSource{ch: make(chan state.Snapshot)}
	c, err := New(Options{Broker: "tcp://" + addr, DeviceID: "d", DiscoveryPrefix: "homeassistant", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for i := range 2000 {
		s := state.Snapshot{Seq: uint64(i), Accounts: []state.Account{
			{Name: "a", Waiting: state.WaitingYes, Classes: map[string]state.Counts{state.ClassVoice: {New: uint32(i)}}},
			{Name: "b", Waiting: state.WaitingNo}}}
		select {
		case src.ch <- s:
		case <-time.After(2 * time.Second):
			t.Fatalf("snapshot %d not taken: the client blocks its source", i)
		}
	}
	var n, p int
	var latest string
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		c.mu.Lock() // the last snapshot taken may still be on its way in
		n, p = len(c.want), len(c.pending)
		latest = string(c.want[c.StateTopic("a")])
		c.mu.Unlock()
		if strings.Contains(latest, `"new":1999`) {
			break
		}
	}
	if n != 2+6 || p != n { // 2 state topics, 6 discovery topics
		t.Errorf("%d topics kept, %d pending; want 8 and 8", n, p)
	}
	if want := `"new":1999`; !contains(latest, want) {
		t.Errorf("latest payload %s lacks %s", latest, want)
	}
	cancel()
	<-done
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBackoffJitterBounds(t *testing.T) {
	c := &Client{opt: Options{BackoffBase: time.Second, BackoffMax: 2 * time.Minute, Jitter: 0.25}}
	seen := map[time.Duration]bool{}
	for attempt := range 20 {
		want := min(time.Second<<attempt, 2*time.Minute)
		for range 50 {
			d := c.backoff(attempt)
			if d < want*3/4 || d > want*5/4 {
				t.Fatalf("attempt %d: %v outside %v ±25 %%", attempt, d, want)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct delays: no jitter?", len(seen))
	}
}

func TestNewValidates(t *testing.T) {
	src := chanSource{}
	for _, o := range []Options{
		{Broker: "tcp://x:1", DeviceID: "bad id", Source: src},
		{Broker: "http://x:1", DeviceID: "d", Source: src},
		{Broker: "tcp://x:1", DeviceID: "d"},
		{Broker: "tcp://x:1", DeviceID: "d", Source: src, Commands: true},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v accepted", o)
		} else {
			t.Log(err)
		}
	}
}
