package sipua

// A scripted SIP server on sipgo for the in-process tests: registrar and
// message-summary notifier whose answers each test scripts.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"github.com/icholy/digest"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

type pbxSub struct {
	callID, fromTag, toTag string // toTag: ours (the notifier's)
	from, to               sip.Uri
	contact                sip.Uri
	cseq                   uint32 // our NOTIFY CSeq
	transport              string
	source                 string
}

type pbx struct {
	t      testing.TB
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	udp    net.PacketConn
	client map[string]*sipgo.Client
	addr   map[string]string // transport -> host:port

	realm              string
	users              map[string]string // user -> password
	alg                string            // MD5 or SHA-256
	proxyAuthSubscribe bool              // challenge SUBSCRIBE with 407

	mu          sync.Mutex
	nonces      map[string]bool
	log         []*sip.Request
	at          map[*sip.Request]time.Time // when each arrived
	bad         []string                   // requests that failed checkWire or checkDigest
	ncs         map[string]map[int]bool    // nonce → nonce counts used
	subs        map[string]*pbxSub         // by Call-ID
	reqs        chan *sip.Request
	onReg       func(req *sip.Request) *sip.Response // nil: default (auth + 200)
	ignoreReg   func(req *sip.Request) bool          // true: no answer at all
	onSub       func(req *sip.Request, s *pbxSub) (code int, after func())
	grantReg    int
	grantSub    int
	body        string // current message-summary body sent on SUBSCRIBE
	notifyFirst bool   // send the NOTIFY before the 2xx
	noNotify    bool
	mute        atomic.Bool  // drop everything that arrives (a frozen server, a cut link)
	dropOptions atomic.Bool  // ignore OPTIONS (some servers do)
	options     atomic.Int32 // OPTIONS received
}

// filter drops everything while the PBX is muted, and counts OPTIONS.
func (p *pbx) filter(_ sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.mute.Load() {
		return nil, nil
	}
	if bytes.HasPrefix(data, []byte("OPTIONS ")) {
		p.options.Add(1)
		if p.dropOptions.Load() {
			return nil, nil
		}
	}
	return data, nil
}

func newPBX(t testing.TB, tlsConf *tls.Config) *pbx {
	t.Helper()
	p := &pbx{
		t: t, client: map[string]*sipgo.Client{}, addr: map[string]string{},
		realm: "test.local", users: map[string]string{}, alg: "MD5",
		nonces: map[string]bool{}, subs: map[string]*pbxSub{},
		reqs: make(chan *sip.Request, 1000), grantReg: 60, grantSub: 60,
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SIPUA_DEBUG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("pbx"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet), sip.WithTransportLayerReadFilter(p.filter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	p.ua = ua
	p.srv, _ = sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	p.srv.OnRegister(p.handleRegister)
	p.srv.OnSubscribe(p.handleSubscribe)
	p.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		p.record(req) // the liveness probes are checked on the wire too
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.udp = pc
	go p.srv.ServeUDP(pc)
	p.mu.Lock()
	p.addr["udp"] = pc.LocalAddr().String()
	p.mu.Unlock()
	p.client["udp"], _ = sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(pc.LocalAddr().String()), sipgo.WithClientLogger(quiet))

	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.srv.ServeTCP(tl)
	p.mu.Lock()
	p.addr["tcp"] = tl.Addr().String()
	p.mu.Unlock()
	p.client["tcp"], _ = sipgo.NewClient(ua, sipgo.WithClientLogger(quiet))
	if tlsConf != nil {
		ll, err := tls.Listen("tcp", "127.0.0.1:0", tlsConf)
		if err != nil {
			t.Fatal(err)
		}
		go p.srv.ServeTLS(ll)
		p.mu.Lock()
		p.addr["tls"] = ll.Addr().String()
		p.mu.Unlock()
		p.client["tls"] = p.client["tcp"]
		t.Cleanup(func() { ll.Close() })
	}
	t.Cleanup(func() {
		tl.Close()
		pc.Close()
		ua.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, b := range p.bad {
			t.Errorf("the agent sent an invalid request: %s", b)
		}
	})
	return p
}

func (p *pbx) record(req *sip.Request) {
	err := checkWire(req)
	p.mu.Lock()
	if e := p.checkDigest(req); e != nil && err == nil {
		err = e
	}
	p.log = append(p.log, req)
	if p.at == nil {
		p.at = map[*sip.Request]time.Time{}
	}
	p.at[req] = time.Now()
	if err != nil {
		p.bad = append(p.bad, err.Error())
	}
	p.mu.Unlock()
	select {
	case p.reqs <- req:
	default:
	}
}

// checkDigest: every credential's uri is the Request-URI exactly, and no
// nonce count is used twice for one nonce (counts start at 1 per nonce).
// Called with p.mu held.
func (p *pbx) checkDigest(req *sip.Request) error {
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		for _, h := range req.GetHeaders(name) {
			cred, err := digest.ParseCredentials(h.Value())
			if err != nil {
				return fmt.Errorf("%s does not parse: %v", name, err)
			}
			if cred.URI != req.Recipient.String() {
				return fmt.Errorf("%s uri %q, Request-URI %q", name, cred.URI, req.Recipient.String())
			}
			if !p.nonces[cred.Nonce] {
				continue // another server's nonce (failover): its counts are that server's
			}
			if p.ncs == nil {
				p.ncs = map[string]map[int]bool{}
			}
			used := p.ncs[cred.Nonce]
			if used == nil {
				used = map[int]bool{}
				p.ncs[cred.Nonce] = used
			}
			if used[cred.Nc] {
				return fmt.Errorf("%s nc=%d used twice with nonce %s", name, cred.Nc, cred.Nonce)
			}
			if len(used) == 0 && cred.Nc != 1 {
				return fmt.Errorf("%s: first use of nonce %s with nc=%d, want 1", name, cred.Nonce, cred.Nc)
			}
			if cred.Nc > len(used)+4 { // counts go up by one per request (a few may cross on the way)
				return fmt.Errorf("%s: nc=%d after %d uses of nonce %s", name, cred.Nc, len(used), cred.Nonce)
			}
			used[cred.Nc] = true
		}
	}
	return nil
}

// next waits for the next request of a method.
func (p *pbx) next(method sip.RequestMethod, within time.Duration) *sip.Request {
	p.t.Helper()
	deadline := time.After(slack * within)
	for {
		select {
		case r := <-p.reqs:
			if r.Method == method {
				return r
			}
		case <-deadline:
			p.t.Fatalf("no %s within %v", method, within)
			return nil
		}
	}
}

func (p *pbx) drain() {
	for len(p.reqs) > 0 {
		<-p.reqs
	}
}

// none asserts that no request of the method arrives within d.
func (p *pbx) none(method sip.RequestMethod, d time.Duration) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-p.reqs:
			if r.Method == method {
				p.t.Fatalf("unexpected %s:\n%s", method, r)
			}
		case <-deadline:
			return
		}
	}
}

func (p *pbx) challenge(req *sip.Request, code int, stale bool) *sip.Response {
	nonce := uuid.NewString()
	p.mu.Lock()
	p.nonces[nonce] = true
	p.mu.Unlock()
	name := "WWW-Authenticate"
	reason := "Unauthorized"
	if code == 407 {
		name, reason = "Proxy-Authenticate", "Proxy Authentication Required"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	p.mu.Lock()
	alg := p.alg
	p.mu.Unlock()
	c := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, p.realm, nonce, alg)
	if stale {
		c += ", stale=true"
	}
	res.AppendHeader(sip.NewHeader(name, c))
	return res
}

// authorized checks the request's digest answer.
func (p *pbx) authorized(req *sip.Request, header string) (bool, *digest.Credentials) {
	h := req.GetHeader(header)
	if h == nil {
		return false, nil
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return false, nil
	}
	p.mu.Lock()
	known := p.nonces[cred.Nonce]
	pw, ok := p.users[cred.Username]
	p.mu.Unlock()
	if !known || !ok {
		return false, cred
	}
	want, err := digest.Digest(&digest.Challenge{Realm: p.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, QOP: []string{"auth"}},
		digest.Options{Method: string(req.Method), URI: cred.URI, Username: cred.Username, Password: pw, Count: cred.Nc, Cnonce: cred.Cnonce})
	if err != nil {
		return false, cred
	}
	return want.Response == cred.Response, cred
}

func (p *pbx) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	p.mu.Lock()
	on, ignore := p.onReg, p.ignoreReg
	p.mu.Unlock()
	if ignore != nil && ignore(req) {
		return // like Asterisk 22 with an unusable Contact: no answer at all
	}
	if on != nil {
		if res := on(req); res != nil {
			tx.Respond(res)
			return
		}
	}
	if ok, _ := p.authorized(req, "Authorization"); !ok {
		tx.Respond(p.challenge(req, 401, false))
		return
	}
	tx.Respond(p.registerOK(req))
}

func (p *pbx) registerOK(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	exp := p.grantReg
	if h := req.GetHeader("Expires"); h != nil && h.Value() == "0" {
		exp = 0
	}
	if c := req.Contact(); c != nil {
		cc := c.Clone()
		cc.Params = sip.NewParams()
		cc.Params.Add("expires", strconv.Itoa(exp))
		res.AppendHeader(cc)
	}
	return res
}

func (p *pbx) handleSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	hdr := "Authorization"
	p.mu.Lock()
	proxyAuth := p.proxyAuthSubscribe
	p.mu.Unlock()
	if proxyAuth {
		hdr = "Proxy-Authorization"
	}
	if ok, _ := p.authorized(req, hdr); !ok {
		code := 401
		if proxyAuth {
			code = 407
		}
		tx.Respond(p.challenge(req, code, false))
		return
	}
	callID := req.CallID().Value()
	fromTag, _ := req.From().Params.Get("tag")
	toTag, _ := req.To().Params.Get("tag")
	p.mu.Lock()
	s := p.subs[callID]
	if s == nil {
		if toTag != "" { // refresh of a subscription we do not know
			p.mu.Unlock()
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
			return
		}
		s = &pbxSub{callID: callID, fromTag: fromTag, toTag: sip.GenerateTagN(10), from: req.From().Address, to: req.To().Address, cseq: 100}
		p.subs[callID] = s
	}
	s.contact = req.Contact().Address
	s.transport = req.Transport()
	s.source = req.Source()
	on := p.onSub
	notifyFirst, noNotify, grant := p.notifyFirst, p.noNotify, p.grantSub
	p.mu.Unlock()

	code := 200
	var after func()
	if on != nil {
		code, after = on(req, s)
	}
	exp := grant
	if h := req.GetHeader("Expires"); h != nil {
		if n, _ := strconv.Atoi(h.Value()); n < exp {
			exp = n
		}
	}
	state := "active;expires=" + strconv.Itoa(exp)
	if exp == 0 {
		state = "terminated;reason=timeout"
	}
	if code != 200 {
		res := sip.NewResponseFromRequest(req, code, "Scripted", nil)
		tx.Respond(res)
		if after != nil {
			after()
		}
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", s.toTag)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p.port(s.transport), UriParams: transportParam(s.transport)}})
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(exp)))
	if notifyFirst {
		if _, err := p.notify(s, state, p.currentBody()); err != nil {
			p.t.Logf("notify before 2xx: %v", err)
		}
	}
	tx.Respond(res)
	if !notifyFirst && !noNotify {
		go p.notify(s, state, p.currentBody())
	}
	if after != nil {
		after()
	}
}

func transportParam(tp string) sip.HeaderParams {
	if strings.EqualFold(tp, "udp") || tp == "" {
		return nil
	}
	hp := sip.NewParams()
	hp.Add("transport", strings.ToLower(tp))
	return hp
}

func (p *pbx) port(tp string) int {
	p.mu.Lock()
	addr := p.addr[strings.ToLower(tp)]
	p.mu.Unlock()
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

func (p *pbx) currentBody() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.body
}

func (p *pbx) setBody(b string) {
	p.mu.Lock()
	p.body = b
	p.mu.Unlock()
}

func (p *pbx) onlySub() *pbxSub {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		var last *pbxSub
		for _, s := range p.subs {
			last = s
		}
		n := len(p.subs)
		p.mu.Unlock()
		if n == 1 {
			return last
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.t.Fatalf("want exactly one subscription")
	return nil
}

func (p *pbx) sub(callID string) *pbxSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subs[callID]
}

// notify sends a NOTIFY in the subscription's dialog and returns the answer.
func (p *pbx) notify(s *pbxSub, subState, body string) (*sip.Response, error) {
	p.mu.Lock()
	s.cseq++
	cseq := s.cseq
	p.mu.Unlock()
	return p.notifyCSeq(s, subState, body, cseq)
}

func (p *pbx) notifyCSeq(sp *pbxSub, subState, body string, cseq uint32) (*sip.Response, error) {
	p.mu.Lock()
	cp := *sp
	p.mu.Unlock()
	s := &cp
	req := sip.NewRequest(sip.NOTIFY, s.contact)
	tp := strings.ToUpper(s.transport)
	if tp == "" {
		tp = "UDP"
	}
	req.SetTransport(tp)
	from := &sip.FromHeader{Address: s.to, Params: sip.NewParams()}
	from.Params.Add("tag", s.toTag)
	to := &sip.ToHeader{Address: s.from, Params: sip.NewParams()}
	to.Params.Add("tag", s.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(to)
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Subscription-State", subState))
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p.port(tp), UriParams: transportParam(tp)}})
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/simple-message-summary"))
	}
	req.SetBody([]byte(body))
	if tp != "UDP" {
		// Back over the subscriber's connection.
		req.SetDestination(s.source)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.client[strings.ToLower(tp)].Do(ctx, req)
}

// unsolicited sends an out-of-dialog NOTIFY from conn's address (nil: the
// PBX's own UDP socket) to addr.
func (p *pbx) unsolicited(addr, user, body string, compact bool, from net.PacketConn) (int, error) {
	raw := fmt.Sprintf("NOTIFY sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:voicemail@test.local>;tag=%s\r\n"+
		"To: <sip:%s@test.local>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 NOTIFY\r\n"+
		"Max-Forwards: 70\r\n"+
		"%s: message-summary\r\n"+
		"Content-Type: application/simple-message-summary\r\n"+
		"Content-Length: %d\r\n\r\n%s",
		user, addr, from.LocalAddr().String(), sip.GenerateBranchN(10), sip.GenerateTagN(8), user, uuid.NewString(),
		map[bool]string{true: "o", false: "Event"}[compact], len(body), body)
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, err
	}
	if _, err := from.WriteTo([]byte(raw), ua); err != nil {
		return 0, err
	}
	buf := make([]byte, 4096)
	from.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, _, err := from.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "SIP/2.0" {
			code, _ := strconv.Atoi(f[1])
			if code >= 200 {
				return code, nil
			}
		}
	}
}

// ---- the agent side of the tests ------------------------------------------------

type harness struct {
	t       testing.TB
	ua      *UA
	pbx     *pbx
	updates chan Update
	mu      sync.Mutex
	last    map[string]Update
	mb      map[string]Mailbox
}

func newHarness(t testing.TB, p *pbx, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, pbx: p, updates: make(chan Update, 10000), last: map[string]Update{}, mb: map[string]Mailbox{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("SIPUA_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts := Options{
		Logger:      log,
		ListenUDP:   "127.0.0.1:0",
		StopTimeout: time.Second,
		Backoff:     Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		SlowRetry:   time.Hour,
		LongRetry:   time.Hour,
		OnUpdate: func(u Update) {
			h.mu.Lock()
			h.last[u.Account] = u
			if u.Mailbox != nil {
				h.mb[u.Account] = *u.Mailbox
			}
			h.mu.Unlock()
			select {
			case h.updates <- u:
			default:
			}
		},
	}
	if mod != nil {
		mod(&opts)
	}
	ua, err := NewUA(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.ua = ua
	t.Cleanup(func() { ua.Close() })
	return h
}

func (h *harness) account(name, transport string) AccountConfig {
	h.pbx.mu.Lock()
	h.pbx.users[name] = "pw-" + name
	h.pbx.mu.Unlock()
	return AccountConfig{
		Name: name, AOR: testURI("sip:" + name + "@test.local"), Password: "pw-" + name,
		Server: h.pbx.addr[transport], Transport: transport,
		Register: true, RegisterExpiry: 60 * time.Second,
		Subscribe: true, SubscribeExpiry: 60 * time.Second,
		Unsolicited: true,
	}
}

func (h *harness) start(ctx context.Context, cfg AccountConfig) {
	h.t.Helper()
	if err := h.ua.Start(ctx, cfg); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor waits until cond holds for the account's latest update.
func (h *harness) waitFor(name string, within time.Duration, what string, cond func(u Update, mb Mailbox, haveMB bool) bool) Update {
	h.t.Helper()
	deadline := time.Now().Add(slack * within)
	for {
		h.mu.Lock()
		u, ok := h.last[name]
		mb, haveMB := h.mb[name]
		h.mu.Unlock()
		if ok && cond(u, mb, haveMB) {
			return u
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not %s within %v; last update %+v mailbox %+v", name, what, within, u, mb)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitHealth(name string, want state.Health, within time.Duration) Update {
	h.t.Helper()
	return h.waitFor(name, within, "health "+want.String(), func(u Update, _ Mailbox, _ bool) bool { return u.Health == want })
}

func (h *harness) waitWaiting(name string, want state.Waiting, newMsgs uint32, within time.Duration) Mailbox {
	h.t.Helper()
	h.waitFor(name, within, fmt.Sprintf("waiting %v new %d", want, newMsgs), func(_ Update, mb Mailbox, ok bool) bool {
		return ok && mb.Waiting == want && mb.Classes[state.ClassVoice].New == newMsgs
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mb[name]
}

func (h *harness) mailbox(name string) Mailbox {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mb[name]
}

func (h *harness) health(name string) Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[name]
}

// slack stretches "within" bounds: the suite runs under -race on a
// shared two-core machine. Bounds only matter when a test fails.
const slack = 3

const (
	bodyYes = "Messages-Waiting: yes\r\nMessage-Account: sip:*97@test.local\r\nVoice-Message: 2/1 (1/0)\r\n"
	bodyNo  = "Messages-Waiting: no\r\nVoice-Message: 0/3 (0/0)\r\n"
)

// testURI types a URI for a test's AccountConfig as config.Resolve would
// (sipgo's parser here; the agent's come from config).
func testURI(s string) URI {
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		panic(err)
	}
	t, _ := u.UriParams.Get("transport")
	return URI{Secure: u.Scheme == "sips", User: u.User, Host: u.Host, Port: u.Port, Transport: t}
}
