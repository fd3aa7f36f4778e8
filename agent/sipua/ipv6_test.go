package sipua

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// received/rport with IPv6 literals (RFC 5118): the server sees us at an
// IPv6 address, written with or without brackets in the Via's received
// parameter. The agent takes it as its Contact, written as a valid IPv6
// reference ([addr]:port), registers once more with it and then stops
// (no ping-pong between "2001:db8::5" and "[2001:db8::5]").
func TestReceivedRportIPv6(t *testing.T) {
	for _, received := range []string{"2001:db8::5", "[2001:db8::5]"} {
		t.Run(received, func(t *testing.T) {
			p := newPBX(t, nil)
			h := newHarness(t, p, nil)
			p.mu.Lock()
			p.onReg = func(req *sip.Request) *sip.Response {
				if ok, _ := p.authorized(req, "Authorization"); !ok {
					return nil
				}
				res := p.registerOK(req)
				v := res.Via()
				v.Params.Add("received", received)
				v.Params.Add("rport", "40999")
				return res
			}
			p.mu.Unlock()
			p.setBody(bodyNo)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := h.account("3107", "udp")
			cfg.Subscribe = false
			h.start(ctx, cfg)
			var contacts []string
			deadline := time.After(slack * 2 * time.Second)
			for len(contacts) < 3 {
				select {
				case r := <-p.reqs:
					if r.Method == sip.REGISTER {
						contacts = append(contacts, r.GetHeader("Contact").Value())
					}
				case <-deadline:
					t.Fatalf("REGISTER Contacts %v", contacts)
				}
			}
			if !strings.Contains(contacts[2], "@[2001:db8::5]:40999") {
				t.Errorf("third REGISTER Contact %q, want the learned [2001:db8::5]:40999", contacts[2])
			}
			p.none(sip.REGISTER, 300*time.Millisecond)
		})
	}
}
