package sipua

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// notifyCounter is an Observer that counts the NOTIFYs handed to it.
type notifyCounter struct {
	mu sync.Mutex
	n  map[string]int // by outcome
}

func (c *notifyCounter) Answered(string, string, int, string, time.Time) {}
func (c *notifyCounter) BackedOff(string, string)                        {}
func (c *notifyCounter) Throttled(string)                                {}
func (c *notifyCounter) Notified(n NotifyInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[n.Outcome]++
}

func (c *notifyCounter) counts() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// A NOTIFY retransmitted over UDP after its answer (the answer was lost)
// gets the same answer again — code, reason, Retry-After, To-tag — and is
// not handed to the worker a second time, although its server transaction
// ended with the answer (absorb.go). Without the record the two
// retransmissions below would be answered differently: 481 for the
// terminating NOTIFY (its dialog is gone by then) and 500 for the
// unsolicited one (the account's unsolicited rate is spent).
func TestNotifyRetransmissionAbsorbed(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	obs := &notifyCounter{}
	h := newHarness(t, p, func(o *Options) {
		o.Observer = obs
		o.UnsolicitedRate = 0.01 // a burst of 10, then one every 100 s
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := h.ua.UDPAddr().String()

	// In a dialog: the notifier ends the subscription with a last state
	// (nothing waiting); the account applies it and subscribes again, and
	// the new subscription's first NOTIFY says yes.
	h.subscribed(ctx, "1130")
	sub := p.onlySub()
	notifier := listenUDP(t, "127.0.0.1:0")
	p.setBody(bodyYes)
	final := rawNotifyBytes(notifier, agent, "1130", bodyNo, sub.callID, sub.toTag, sub.fromTag, "terminated;reason=deactivated", int(sub.cseq)+10)
	first := sendRaw(t, notifier, agent, final, 3*time.Second)
	if first.code != 200 {
		t.Fatalf("terminating NOTIFY answered %+v, want 200", first)
	}
	h.waitFor("1130", time.Second, "the terminating NOTIFY's state, then yes again", func(_ Update, mb Mailbox, ok bool) bool {
		p.mu.Lock()
		n := len(p.subs)
		p.mu.Unlock()
		return ok && mb.Waiting == state.WaitingYes && n == 2
	})
	h.wantLamp("1130", indicate.PatternUrgent, "subscribed again")
	before := obs.counts()
	for i := range 2 {
		if again := sendRaw(t, notifier, agent, final, 3*time.Second); again != first {
			t.Fatalf("retransmission %d of the terminating NOTIFY answered %+v, first answer %+v", i+1, again, first)
		}
	}
	time.Sleep(50 * time.Millisecond)
	h.wantLamp("1130", indicate.PatternUrgent, "after the retransmitted terminating NOTIFY")
	if mb := h.mailbox("1130"); mb.Waiting != state.WaitingYes {
		t.Fatalf("the retransmission was applied: waiting %v", mb.Waiting)
	}
	if after := obs.counts(); after != before {
		t.Errorf("the retransmissions reached the worker: NOTIFY outcomes %s, before %s", after, before)
	}

	// Unsolicited: NOTIFYs until the account's rate is spent (a burst of
	// 10 tokens); the last one answered 200 is retransmitted.
	srv := listenUDP(t, "127.0.0.1:0")
	cfg := h.account("1131", "udp")
	cfg.Register, cfg.Subscribe, cfg.Server = false, false, srv.LocalAddr().String()
	h.start(ctx, cfg)
	var last []byte
	var lastAns rawAnswer
	applied := 0
	for i := range 20 {
		body := fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", i+1)
		raw := rawNotifyBytes(srv, agent, "1131", body, uuid.NewString(), "u", "", "active", 1)
		a := sendRaw(t, srv, agent, raw, 3*time.Second)
		if a.code != 200 {
			if a.code != 500 || a.retryAfter == "" {
				t.Fatalf("unsolicited NOTIFY %d answered %+v, want 200, or 500 with Retry-After once the rate is spent", i+1, a)
			}
			break
		}
		last, lastAns, applied = raw, a, i+1
	}
	if applied != unsolicitedBurst { // one token each, the burst: 10
		t.Fatalf("%d unsolicited NOTIFYs answered 200 before the first 500; want the burst, %d", applied, unsolicitedBurst)
	}
	h.waitWaiting("1131", state.WaitingYes, uint32(applied), time.Second)
	before = obs.counts()
	if again := sendRaw(t, srv, agent, last, 3*time.Second); again != lastAns {
		t.Fatalf("retransmitted unsolicited NOTIFY answered %+v, first answer %+v", again, lastAns)
	}
	if after := obs.counts(); after != before {
		t.Errorf("the retransmission reached the worker: NOTIFY outcomes %s, before %s", after, before)
	}
	// A new NOTIFY (another branch) is not a retransmission: over the rate.
	other := rawNotifyBytes(srv, agent, "1131", bodyNo, uuid.NewString(), "u", "", "active", 1)
	if a := sendRaw(t, srv, agent, other, 3*time.Second); a.code != 500 || a.retryAfter == "" {
		t.Fatalf("a new unsolicited NOTIFY over the rate answered %+v, want 500 with Retry-After", a)
	}
	h.waitWaiting("1131", state.WaitingYes, uint32(applied), time.Second)
}

// The record forgets an answer after Timer J (32 s) and keeps at most
// absorbMax, oldest first.
func TestAbsorberExpiry(t *testing.T) {
	b := &absorber{seed: 1, tagSeed: 2}
	t0 := time.Unix(1000, 0)
	b.remember("a", t0, 200, "OK", 0)
	b.remember("b", t0.Add(10*time.Second), 500, "Server Internal Error (busy)", 1)
	if a, ok := b.lookup("a", t0.Add(absorbFor-time.Millisecond)); !ok || a.code != 200 || a.reason != "OK" {
		t.Fatalf("a within Timer J: %+v %v", a, ok)
	}
	if _, ok := b.lookup("a", t0.Add(absorbFor)); ok {
		t.Fatal("a remembered after Timer J")
	}
	if a, ok := b.lookup("b", t0.Add(absorbFor)); !ok || a.code != 500 || a.retryAfter != 1 {
		t.Fatalf("b within its Timer J: %+v %v", a, ok)
	}
	if _, ok := b.lookup("c", t0); ok {
		t.Fatal("c never answered, found")
	}
	if _, ok := b.lookup("b", t0.Add(10*time.Second+absorbFor)); ok || b.byKey != nil || b.fifo != nil {
		t.Fatalf("after every answer expired the record holds %d/%d entries", len(b.byKey), len(b.fifo))
	}
	for i := range absorbMax + 5 {
		b.remember(fmt.Sprint(i), t0, 200, "OK", 0)
	}
	if len(b.byKey) != absorbMax || len(b.fifo) != absorbMax {
		t.Fatalf("%d/%d entries, want at most %d", len(b.byKey), len(b.fifo), absorbMax)
	}
	if _, ok := b.lookup("0", t0); ok {
		t.Error("the oldest answer kept over the bound")
	}
	if _, ok := b.lookup(fmt.Sprint(absorbMax+4), t0); !ok {
		t.Error("the newest answer dropped")
	}
}
