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
	return zoneDNS(t,
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 10 0 %d one.pbx.test.", port(p1)),
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 20 0 %d two.pbx.test.", port(p2)),
		"one.pbx.test. 60 IN A 127.0.0.1",
		"two.pbx.test. 60 IN A 127.0.0.1",
	)
}

// zoneDNS answers from the zone (text RRs) on a loopback UDP port.
func zoneDNS(t *testing.T, zone ...string) string {
	t.Helper()
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
	h := startLocated(t, p1, p2, srvDNS(t, p1, p2), "4102", "udp")
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

// startLocated starts account name, known to both servers, on server
// pbx.test located through resolver, with 300 ms liveness timers.
func startLocated(t *testing.T, p1, p2 *pbx, resolver, name, transport string) *harness {
	t.Helper()
	h := newHarness(t, p1, func(o *Options) {
		o.DNSServers = []string{resolver}
		o.Liveness = 300 * time.Millisecond
		o.ProbeTimeout = 300 * time.Millisecond
		o.PongTimeout = 300 * time.Millisecond
	})
	cfg := h.account(name, transport)
	p2.mu.Lock()
	p2.users[name] = "pw-" + name
	p2.mu.Unlock()
	cfg.Server = "pbx.test"
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.start(ctx, cfg)
	return h
}

// transport auto (RFC 3263 section 4.1): NAPTR prefers TCP at the first
// server, then UDP at the second. The account registers and subscribes
// over TCP (Via, Contact ;transport=tcp); when the first server goes
// silent its liveness prober says so and the account moves to the second
// target over UDP: REGISTER and a new subscription there with a UDP Via
// and Contact, the mailbox state kept throughout.
func TestAutoTransportAndCrossTransportFailover(t *testing.T) {
	p1, p2 := newPBX(t, nil), newPBX(t, nil)
	p1.setBody(bodyYes)
	p2.setBody(bodyYes)
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	resolver := zoneDNS(t,
		`pbx.test. 60 IN NAPTR 10 50 "s" "SIP+D2T" "" _sip._tcp.pbx.test.`,
		`pbx.test. 60 IN NAPTR 20 50 "s" "SIP+D2U" "" _sip._udp.pbx.test.`,
		"_sip._tcp.pbx.test. 60 IN SRV 10 0 "+port(p1.addr["tcp"])+" one.pbx.test.",
		"_sip._udp.pbx.test. 60 IN SRV 10 0 "+port(p2.addr["udp"])+" two.pbx.test.",
		"one.pbx.test. 60 IN A 127.0.0.1",
		"two.pbx.test. 60 IN A 127.0.0.1",
	)
	h := startLocated(t, p1, p2, resolver, "4103", "auto")
	for _, m := range []sip.RequestMethod{sip.REGISTER, sip.SUBSCRIBE} {
		r := p1.next(m, 3*time.Second)
		if r == nil {
			t.Fatalf("no %s at the NAPTR-preferred TCP target", m)
		}
		if r.Transport() != "TCP" || r.Via().Transport != "TCP" {
			t.Errorf("%s over %s, Via %s: want TCP (NAPTR order)", m, r.Transport(), r.Via().Transport)
		}
		if tp, _ := r.Contact().Address.UriParams.Get("transport"); tp != "tcp" {
			t.Errorf("%s Contact %s: want ;transport=tcp", m, r.Contact().Address.String())
		}
	}
	h.waitHealth("4103", state.HealthSubscribed, 2*time.Second)
	h.waitWaiting("4103", state.WaitingYes, 2, 2*time.Second)
	p1.mute.Store(true)
	t0 := time.Now()
	for _, m := range []sip.RequestMethod{sip.REGISTER, sip.SUBSCRIBE} {
		r := p2.next(m, 5*time.Second)
		if r == nil {
			t.Fatalf("no %s at the UDP target after the TCP one went silent", m)
		}
		if r.Transport() != "UDP" || r.Via().Transport != "UDP" {
			t.Errorf("%s at the second target over %s, Via %s: want UDP", m, r.Transport(), r.Via().Transport)
		}
		if _, ok := r.Contact().Address.UriParams.Get("transport"); ok {
			t.Errorf("%s Contact %s over UDP has a transport parameter", m, r.Contact().Address.String())
		}
		if m == sip.SUBSCRIBE {
			if tag, _ := r.To().Params.Get("tag"); tag != "" {
				t.Errorf("SUBSCRIBE at the second target has a To-tag %q: want a new dialog", tag)
			}
		}
	}
	h.waitHealth("4103", state.HealthSubscribed, 3*time.Second)
	t.Logf("moved from tcp to udp %v after the first target went silent", time.Since(t0).Round(time.Millisecond))
	if mb := h.mailbox("4103"); mb.Waiting != state.WaitingYes {
		t.Errorf("mailbox %v after the move, want yes throughout", mb.Waiting)
	}

	// The old target's prober says "down" again (its news was queued
	// before the move): the account stays where it is.
	h.ua.mu.Lock()
	a := h.ua.accounts["4103"]
	h.ua.mu.Unlock()
	a.enqueue(liveEvent{key: serverKey{"tcp", p1.addr["tcp"]}, up: false, flowLost: true})
	p2.none(sip.REGISTER, 500*time.Millisecond)
	if d := a.sharedDest(); d != p2.addr["udp"] {
		t.Errorf("after a stale liveness event from the old target the account sends to %s, want %s", d, p2.addr["udp"])
	}
	h.waitHealth("4103", state.HealthSubscribed, time.Second)
}
