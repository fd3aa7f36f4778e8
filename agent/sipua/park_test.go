package sipua

import (
	"context"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// A parked request is the same request again: the same text on the wire
// (credentials, Via branch, route set and Contact included), the same
// transport and destination.
func TestParkedRequestIsTheSame(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		s := newSim(t, nil)
		a := s.a
		c, err := digest.ParseChallenge(`Digest realm="test.local", nonce="n1", algorithm=MD5, qop="auth"`)
		if err != nil {
			t.Fatal(err)
		}
		a.reg.auth.set("Authorization", c)
		a.sub.auth.set("Proxy-Authorization", c)
		reqs := map[string]*sip.Request{"REGISTER": a.registerRequest(3600*time.Second, 7)}
		a.newDialog()
		reqs["SUBSCRIBE out of dialog"] = a.subscribeRequest(3600*time.Second, 8)
		a.dlg.confirmed, a.dlg.remoteTag = true, "rt"
		a.dlg.remoteTarget = "sip:1001@192.0.2.1:5080;transport=udp"
		a.dlg.routeSet = []sip.Uri{{Scheme: "sip", Host: "192.0.2.2", Port: 5060, UriParams: sip.HeaderParams{{K: "lr", V: ""}}}}
		reqs["SUBSCRIBE in dialog"] = a.subscribeRequest(0, 9)
		for name, req := range reqs {
			got, err := park(req).request()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// What the transaction does with either (runTx).
			contact := sip.Uri{Scheme: "sip", User: "1001", Host: "192.0.2.10", Port: 5062}
			addContact(req, network, contact)
			addContact(got, network, contact)
			if req.String() != got.String() {
				t.Errorf("%s over %s: parked and unparked differ:\n%q\nwant\n%q", name, network, got, req)
			}
			if got.Transport() != req.Transport() || got.Destination() != req.Destination() {
				t.Errorf("%s: transport %q destination %q, want %q %q", name, got.Transport(), got.Destination(), req.Transport(), req.Destination())
			}
		}
	}
}

// With one transaction slot per server every account's requests but the
// first wait parked; all of them register and subscribe, over UDP and
// TCP, with valid requests and digests (the PBX checks each one).
func TestParkedRequestsOnTheWire(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, func(o *Options) { o.MaxInFlight = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var names []string
	for i := range 6 {
		tp := []string{"udp", "tcp"}[i%2]
		name := fmt.Sprintf("p%d%s", i, tp)
		names = append(names, name)
		h.start(ctx, h.account(name, tp))
	}
	for _, n := range names {
		h.waitHealth(n, state.HealthSubscribed, 3*time.Second)
		h.waitWaiting(n, state.WaitingYes, 2, time.Second)
	}
}

// The account fits Go's 1,024-byte size class (it was 1,792 before issue
// 14's fourth round); a field more takes every account to the 1,152-byte
// class: 128 bytes × accounts. See docs/memory.md.
func TestAccountSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(account{}); n > 1024 {
		t.Errorf("account is %d bytes, more than the 1,024-byte size class", n)
	}
}
