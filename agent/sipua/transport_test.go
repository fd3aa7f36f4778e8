package sipua

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// testPKI makes a CA and a server certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (server *tls.Config, roots *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mwi-agent test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}

// One account over TCP and one over TLS (certificate verified against a
// CA made here): both register, subscribe and follow NOTIFYs sent back over
// their connections.
func TestTCPAndTLS(t *testing.T) {
	serverTLS, roots := testPKI(t)
	p := newPBX(t, serverTLS)
	p.setBody(bodyYes)
	h := newHarness(t, p, func(o *Options) { o.TLSConfig = &tls.Config{RootCAs: roots} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("2001", "tcp"))
	h.start(ctx, h.account("2002", "tls"))
	for _, name := range []string{"2001", "2002"} {
		h.waitWaiting(name, state.WaitingYes, 2, 5*time.Second)
		h.waitHealth(name, state.HealthSubscribed, time.Second)
	}
	p.mu.Lock()
	var subs []*pbxSub
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	if len(subs) != 2 {
		t.Fatalf("%d subscriptions, want 2", len(subs))
	}
	for _, s := range subs {
		if tp, _ := s.contact.UriParams.Get("transport"); !strings.EqualFold(tp, s.transport) {
			t.Errorf("Contact %s over %s: transport param %q", s.contact.String(), s.transport, tp)
		}
		res, err := p.notify(s, "active", bodyNo)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("NOTIFY over %s answered %v %v", s.transport, res, err)
		}
	}
	h.waitWaiting("2001", state.WaitingNo, 0, 2*time.Second)
	h.waitWaiting("2002", state.WaitingNo, 0, 2*time.Second)
}

// TLS with verification on refuses a server whose certificate the agent
// cannot verify: health unreachable, the reason names the certificate.
func TestTLSVerificationOn(t *testing.T) {
	serverTLS, _ := testPKI(t)
	p := newPBX(t, serverTLS)
	h := newHarness(t, p, func(o *Options) { o.TLSConfig = &tls.Config{} }) // system roots only
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("2003", "tls"))
	u := h.waitHealth("2003", state.HealthUnreachable, 5*time.Second)
	if !strings.Contains(u.LastReason, "certificate") {
		t.Errorf("reason %q does not mention the certificate", u.LastReason)
	}
}

// Wrong password: the answered challenge is refused again → auth failed,
// slow retry (no REGISTER storm).
func TestAuthFailed(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3001", "udp")
	cfg.Password = "wrong"
	h.start(ctx, cfg)
	u := h.waitHealth("3001", state.HealthAuthFailed, 3*time.Second)
	if u.LastStatus != 401 || u.LastReason != "register: 401 Unauthorized: credentials refused" {
		t.Errorf("status %d reason %q", u.LastStatus, u.LastReason)
	}
	p.next(sip.REGISTER, time.Second)
	p.next(sip.REGISTER, time.Second)
	p.none(sip.REGISTER, 500*time.Millisecond)
}

// stale=true is answered once more without counting as a failure.
func TestStaleNonce(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	var staleSent atomic.Bool
	p.mu.Lock()
	p.onReg = func(req *sip.Request) *sip.Response {
		if ok, _ := p.authorized(req, "Authorization"); ok && staleSent.CompareAndSwap(false, true) {
			return p.challenge(req, 401, true)
		}
		return nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3002", "udp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	h.waitHealth("3002", state.HealthRegistered, 3*time.Second)
	if !staleSent.Load() {
		t.Fatal("stale challenge never sent")
	}
}

// 403 stops fast (health rejected, no retry soon); 503 with Retry-After
// backs off at least that long.
func TestRefusedAndRetryAfter(t *testing.T) {
	t.Run("403", func(t *testing.T) {
		p := newPBX(t, nil)
		h := newHarness(t, p, nil)
		p.mu.Lock()
		p.onReg = func(req *sip.Request) *sip.Response { return sip.NewResponseFromRequest(req, 403, "Forbidden", nil) }
		p.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h.start(ctx, h.account("3003", "udp"))
		u := h.waitHealth("3003", state.HealthRejected, 2*time.Second)
		if u.LastStatus != 403 || !strings.Contains(u.LastReason, "403") {
			t.Errorf("status %d reason %q", u.LastStatus, u.LastReason)
		}
		p.next(sip.REGISTER, time.Second)
		p.none(sip.REGISTER, 500*time.Millisecond)
	})
	t.Run("503 Retry-After", func(t *testing.T) {
		p := newPBX(t, nil)
		h := newHarness(t, p, nil)
		var n atomic.Int32
		p.mu.Lock()
		p.onReg = func(req *sip.Request) *sip.Response {
			if n.Add(1) == 1 {
				res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
				res.AppendHeader(sip.NewHeader("Retry-After", "1"))
				return res
			}
			return nil
		}
		p.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := h.account("3004", "udp")
		cfg.Subscribe = false
		h.start(ctx, cfg)
		p.next(sip.REGISTER, time.Second)
		t0 := time.Now()
		h.waitHealth("3004", state.HealthUnreachable, time.Second)
		p.next(sip.REGISTER, 3*time.Second)
		if d := time.Since(t0); d < 900*time.Millisecond {
			t.Errorf("retried after %v despite Retry-After: 1", d)
		}
		h.waitHealth("3004", state.HealthRegistered, 2*time.Second)
	})
}

// No NOTIFY within Timer N after the 2xx: subscribe again.
func TestTimerN(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.noNotify = true
	p.mu.Unlock()
	h := newHarness(t, p, func(o *Options) { o.TimerN = 300 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3005", "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	first := p.next(sip.SUBSCRIBE, time.Second)
	p.next(sip.SUBSCRIBE, time.Second) // answered challenge → 200, no NOTIFY
	again := p.next(sip.SUBSCRIBE, 2*time.Second)
	if again.CallID().Value() == first.CallID().Value() {
		t.Error("retry after Timer N reused the Call-ID")
	}
	u := h.health("3005")
	if !strings.Contains(u.LastReason, "Timer N") && u.Health != state.HealthSubscribing {
		t.Errorf("health %v reason %q", u.Health, u.LastReason)
	}
}

// The subscription lapses while refreshes fail: the state turns stale,
// keeps the last counts (never silently "no messages"), and recovers.
func TestLapseStale(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.grantSub = 2
	p.mu.Unlock()
	p.setBody(bodyYes)
	h := newHarness(t, p, func(o *Options) { o.Backoff = Backoff{Base: 5 * time.Second, Max: 5 * time.Second} })
	fail := make(chan bool, 1)
	fail <- false
	p.mu.Lock()
	p.onSub = func(req *sip.Request, s *pbxSub) (int, func()) {
		f := <-fail
		fail <- f
		if f {
			return 503, nil
		}
		return 200, nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3006", "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	h.waitWaiting("3006", state.WaitingYes, 2, 3*time.Second)
	<-fail
	fail <- true
	h.waitHealth("3006", state.HealthStale, 4*time.Second)
	if mb := h.mailbox("3006"); mb.Waiting != state.WaitingYes {
		t.Errorf("stale state lost its last value: waiting %v", mb.Waiting)
	}
	<-fail
	fail <- false
	h.waitHealth("3006", state.HealthSubscribed, 8*time.Second)
}

// The server sees us at another address (received/rport, e.g. behind a
// NAT): re-register with that Contact, and subscribe with it.
func TestReceivedRport(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	p.mu.Lock()
	p.onReg = func(req *sip.Request) *sip.Response {
		if ok, _ := p.authorized(req, "Authorization"); !ok {
			return nil
		}
		res := p.registerOK(req)
		v := res.Via()
		v.Params.Add("received", "127.0.0.1")
		v.Params.Add("rport", "40999") // the NAT's port, every time
		return res
	}
	p.mu.Unlock()
	p.setBody(bodyNo)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("3007", "udp"))
	var regPorts, subPorts []int
	deadline := time.After(slack * 2 * time.Second)
	for len(subPorts) == 0 || len(regPorts) < 3 {
		select {
		case r := <-p.reqs:
			switch r.Method {
			case sip.REGISTER:
				regPorts = append(regPorts, r.Contact().Address.Port)
			case sip.SUBSCRIBE:
				subPorts = append(subPorts, r.Contact().Address.Port)
			}
		case <-deadline:
			t.Fatalf("REGISTER Contact ports %v, SUBSCRIBE %v", regPorts, subPorts)
		}
	}
	// 401, 200 (server sees 40999), REGISTER again with 40999.
	if regPorts[2] != 40999 {
		t.Errorf("REGISTER Contact ports %v: want the learned 40999 third", regPorts)
	}
	if subPorts[0] != 40999 {
		t.Errorf("SUBSCRIBE Contact port %d, want the learned 40999", subPorts[0])
	}
	p.none(sip.REGISTER, 300*time.Millisecond) // and no ping-pong
}

// CRLF keepalives go to the server from the listening socket.
func TestKeepalive(t *testing.T) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := newHarness(t, &pbx{t: t, users: map[string]string{}, addr: map[string]string{"udp": srv.LocalAddr().String()}}, func(o *Options) { o.Keepalive = 100 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3008", "udp")
	cfg.Register, cfg.Subscribe = false, false
	h.start(ctx, cfg)
	buf := make([]byte, 100)
	srv.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := srv.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "\r\n\r\n" || from.String() != h.ua.UDPAddr().String() {
		t.Errorf("got %q from %v, want CRLFCRLF from %v", buf[:n], from, h.ua.UDPAddr())
	}
}

// The TCP connection drops (server restart): the keepalive notices, the
// account registers again over a new connection (new Contact) and the
// subscription follows, so NOTIFYs reach it again.
func TestTCPReconnect(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, func(o *Options) { o.Keepalive = 100 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("2004", "tcp"))
	h.waitWaiting("2004", state.WaitingYes, 2, 3*time.Second)
	first := p.onlySub()
	p.drain()
	if err := p.ua.TransportLayer().Pool("tcp").Clear(); err != nil {
		t.Fatal(err)
	}
	reg := p.next(sip.REGISTER, 3*time.Second)
	if reg.Contact().Address.Port == first.contact.Port {
		t.Errorf("re-REGISTER kept the old Contact port %d", first.contact.Port)
	}
	var sub *sip.Request
	for sub == nil || sub.CallID().Value() == first.callID {
		sub = p.next(sip.SUBSCRIBE, 3*time.Second)
	}
	h.waitHealth("2004", state.HealthSubscribed, 3*time.Second)
	s := p.sub(sub.CallID().Value())
	if res, err := p.notify(s, "active", bodyNo); err != nil || res.StatusCode != 200 {
		t.Fatalf("NOTIFY over the new connection: %v %v", res, err)
	}
	h.waitWaiting("2004", state.WaitingNo, 0, 2*time.Second)
}

// With an outbound proxy every out-of-dialog request goes to the proxy;
// the Request-URI still names the registrar domain.
func TestOutboundProxy(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("3009", "udp")
	cfg.Server = "registrar.invalid:5060"
	cfg.Proxy = p.addr["udp"]
	h.start(ctx, cfg)
	r := p.next(sip.REGISTER, 2*time.Second)
	if r.Recipient.Host != "test.local" {
		t.Errorf("REGISTER Request-URI %s, want the AOR domain", r.Recipient.String())
	}
	h.waitWaiting("3009", state.WaitingYes, 2, 3*time.Second)
}
