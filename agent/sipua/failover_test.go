package sipua

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// srvDNS answers SRV for _sip._udp.pbx.test with the two scripted
// servers (priority 10, then 20) and A 127.0.0.1 for their names.
func srvDNS(t *testing.T, p1, p2 *pbx) string {
	t.Helper()
	port := func(p *pbx) int { _, ps, _ := net.SplitHostPort(p.addr["udp"]); var n int; fmt.Sscan(ps, &n); return n }
	zone := []string{
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 10 0 %d one.pbx.test.", port(p1)),
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 20 0 %d two.pbx.test.", port(p2)),
		"one.pbx.test. 60 IN A 127.0.0.1",
		"two.pbx.test. 60 IN A 127.0.0.1",
	}
	var rrs []dns.RR
	for _, z := range zone {
		rr, err := dns.NewRR(z)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		for _, rr := range rrs {
			if strings.EqualFold(rr.Header().Name, q.Name) && rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// Two scripted servers behind SRV records. The preferred one answers
// REGISTER with 503: the account registers and subscribes at the second
// at once (no backoff). The first recovers: at the first refresh after
// Failback the account registers there again and makes a new
// subscription there.
func TestFailover503AndFailback(t *testing.T) {
	p1, p2 := newPBX(t, nil), newPBX(t, nil)
	p1.setBody(bodyYes)
	p2.setBody(bodyYes)
	refuse := make(chan bool, 1)
	refuse <- true
	p1.mu.Lock()
	p1.onReg = func(req *sip.Request) *sip.Response {
		r := <-refuse
		refuse <- r
		if r {
			return sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		}
		return nil
	}
	p1.mu.Unlock()
	resolver := srvDNS(t, p1, p2)
	h := newHarness(t, p1, func(o *Options) {
		o.DNSServers = []string{resolver}
		o.Failback = 1500 * time.Millisecond
	})
	cfg := h.account("4101", "udp")
	p2.mu.Lock()
	p2.users["4101"] = "pw-4101"
	p2.grantReg = 4
	p2.mu.Unlock()
	cfg.Server = "pbx.test" // no port: SRV
	cfg.RegisterExpiry = 4 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now()
	h.start(ctx, cfg)
	if r := p1.next(sip.REGISTER, 2*time.Second); r == nil {
		t.Fatal("no REGISTER at the preferred server")
	}
	p2.next(sip.REGISTER, time.Second)
	s2 := p2.next(sip.SUBSCRIBE, 2*time.Second)
	h.waitWaiting("4101", state.WaitingYes, 2, 2*time.Second)
	t.Logf("503 at the first target: subscribed at the second %v after start", time.Since(t0).Round(time.Millisecond))

	<-refuse
	refuse <- false
	p1.drain()
	// Refresh at 2 s of the 4 s grant, 1.5 s Failback passed: back to p1.
	r := p1.next(sip.REGISTER, 4*time.Second)
	if r == nil {
		t.Fatal("no failback REGISTER")
	}
	var s1 *sip.Request
	for deadline := time.Now().Add(3 * time.Second); s1 == nil && time.Now().Before(deadline); {
		if q := p1.next(sip.SUBSCRIBE, 3*time.Second); q != nil {
			s1 = q
		}
	}
	if s1.CallID().Value() == s2.CallID().Value() {
		t.Error("the subscription at the preferred server reused the other server's dialog")
	}
	if tag, _ := s1.To().Params.Get("tag"); tag != "" {
		t.Errorf("failback SUBSCRIBE has a To-tag %q: want a new dialog", tag)
	}
	h.waitHealth("4101", state.HealthSubscribed, 2*time.Second)
}

// The preferred server stops answering (muted): its liveness prober says
// so and the account moves to the second server and subscribes there.
func TestFailoverOnLiveness(t *testing.T) {
	p1, p2 := newPBX(t, nil), newPBX(t, nil)
	p1.setBody(bodyYes)
	p2.setBody(bodyYes)
	resolver := srvDNS(t, p1, p2)
	h := newHarness(t, p1, func(o *Options) {
		o.DNSServers = []string{resolver}
		o.Liveness = 300 * time.Millisecond
		o.ProbeTimeout = 300 * time.Millisecond
	})
	cfg := h.account("4102", "udp")
	p2.mu.Lock()
	p2.users["4102"] = "pw-4102"
	p2.mu.Unlock()
	cfg.Server = "pbx.test"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, cfg)
	p1.next(sip.SUBSCRIBE, 3*time.Second)
	h.waitWaiting("4102", state.WaitingYes, 2, 2*time.Second)
	// let the prober see OPTIONS answered once
	for deadline := time.Now().Add(3 * time.Second); p1.options.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no OPTIONS probe")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p1.mute.Store(true)
	t0 := time.Now()
	p2.next(sip.REGISTER, 3*time.Second)
	p2.next(sip.SUBSCRIBE, 3*time.Second)
	h.waitHealth("4102", state.HealthSubscribed, 2*time.Second)
	t.Logf("moved to the second server %v after the first went silent", time.Since(t0).Round(time.Millisecond))
	if mb := h.mailbox("4102"); mb.Waiting != state.WaitingYes {
		t.Errorf("mailbox %v after the move, want yes throughout", mb.Waiting)
	}
}
