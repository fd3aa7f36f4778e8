package sipua

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/mwi-agent/mwi-agent/agent/sipua/locate"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// AccountConfig is what the user agent needs to know about one account. The
// agent fills it from config.Account.
type AccountConfig struct {
	Name      string
	AOR       URI    // sip:1001@pbx.example.com, as config.Resolve typed it
	Username  string // auth user; default the AOR user
	Password  string
	Server    string // host:port the requests go to
	Transport string // udp|tcp|tls, or auto: the located target's (NAPTR/SRV, RFC 3263; failover.go); "" = udp
	Proxy     string // outbound proxy host:port ("" = none)

	Register        bool
	RegisterExpiry  time.Duration
	Subscribe       bool
	Mailbox         URI // what to SUBSCRIBE to; zero: the AOR
	SubscribeExpiry time.Duration

	Unsolicited       bool     // accept unsolicited NOTIFY (only while no subscription is active, unless UnsolicitedAlways)
	UnsolicitedAlways bool     // accept unsolicited NOTIFY also while the subscription is active
	UnsolicitedFrom   []string // UDP: allowed source IPs/CIDRs; empty = the server's resolved address and port
	// UnsolicitedHorizon: an account fed only by unsolicited NOTIFYs
	// (Subscribe false) goes stale when none arrived for this long; 0 = never.
	UnsolicitedHorizon time.Duration
}

// Mailbox is a message-summary as the agent stores it.
type Mailbox struct {
	Waiting        state.Waiting // WaitingUnknown for an empty body (no information)
	Classes        map[string]state.Counts
	MessageAccount string
	Source         state.Source
	Warnings       []string // lines the parser skipped, and why
}

// Update is what a worker tells the agent: the account's health now, and
// optionally new mailbox information. Mailbox == nil leaves it unchanged.
type Update struct {
	Account    string
	Health     state.Health
	LastStatus int
	LastReason string
	Mailbox    *Mailbox
	At         time.Time
}

// BodyParser turns a NOTIFY body into a Mailbox; an error means the body
// cannot be used at all (answered 400, state kept).
type BodyParser func(body []byte) (Mailbox, error)

// Options configure a UA. Zero values take the defaults in brackets.
type Options struct {
	Logger    *slog.Logger
	Clock     Clock  // [RealClock]
	UserAgent string // [mwi-agent]

	ListenUDP string // host:port of the UDP listener; "" = none (agent.New sets 0.0.0.0:0, an ephemeral port, when an account uses UDP and listen.udp is unset)
	TLSConfig *tls.Config

	Keepalive time.Duration // CRLF keepalive interval, 0 = off
	Liveness  time.Duration // server probe interval (UDP OPTIONS per server, TCP/TLS CRLF ping), 0 = off; see liveness.go
	// RestartCheck: refresh each subscription at least this often, so a
	// server that forgot it (restart) answers 481 and the account
	// subscribes again; stretched to one check per second per server. 0 = off.
	RestartCheck time.Duration
	ProbeTimeout time.Duration // [8 s] UDP OPTIONS probe bound (3 s while the server is unreachable)
	PongTimeout  time.Duration // [10 s] TCP/TLS CRLF ping → pong bound (RFC 5626 4.4.1)
	TimerN       time.Duration // [32 s] wait for the first NOTIFY after the 2xx
	StopTimeout  time.Duration // [3 s] un-SUBSCRIBE/un-REGISTER bound
	Backoff      Backoff       // [1 s doubling to 5 min, ±25 % jitter]
	SlowRetry    time.Duration // [5 min] after auth failed
	LongRetry    time.Duration // [30 min] after 403/404/rejected
	Parse        BodyParser    // [the RFC 3842 parser]
	MaxInFlight  int           // [32] transactions in flight at once per server (a dead server's timeouts do not hold up the others)
	ServerRate   float64       // [200] requests per second per server, all accounts together (token bucket; see governor.go)
	ServerBurst  int           // [1000] requests a server may get at once before ServerRate applies; each account on the server raises it by StartupShare (governor.go)
	Observer     Observer      // [none] told about requests, NOTIFYs, backoffs, rate-limit waits (metrics, diagnostics)

	UnsolicitedRate float64 // [2/s, burst 5 s' worth] unsolicited NOTIFYs one account takes; more are answered 500 Retry-After

	// DNSServers locate servers given by name (RFC 3263 NAPTR, SRV,
	// A/AAAA; failover.go): host[:port] each. Empty = /etc/resolv.conf.
	DNSServers []string
	Failback   time.Duration // [10 min] after failing over, go back to the preferred target at the first refresh this long after

	// OnUpdate receives every worker's updates. It is called from worker
	// goroutines and must not block for long (the agent sends to its loop).
	OnUpdate func(Update)
}

// UA is the SIP user agent shared by every account: one sipgo user agent,
// its listeners, the NOTIFY router and the accounts' workers, run by a
// small pool of goroutines (worker.go).
type UA struct {
	opts    Options
	log     *slog.Logger
	sua     *sipgo.UserAgent
	srv     *sipgo.Server
	udp     net.PacketConn
	client  map[string]*sipgo.Client // by lower-case transport
	servers serverGates              // per-server transaction slots and request rate (governor.go)
	dns     *addrCache               // server names, resolved off the workers' goroutines
	locator *locate.Resolver         // RFC 3263 server location (failover.go)
	gate    *gate                    // what reaches sipgo (UDP)
	runq    *runQueue                // the pool that runs the accounts' workers (worker.go)
	epoch   time.Time                // the workers' timers count from here

	// The property tests' hooks: exec runs a transaction (nil: runTx),
	// rnd is the jitter source (nil: math/rand).
	exec func(a *account, t txReq)
	rnd  func() float64

	probers map[serverKey]*prober // guarded by mu

	heardMu sync.Mutex
	heard   map[heardKey]time.Time // when a known server last sent something (UDP: a response; TCP/TLS: any byte)

	mu       sync.Mutex
	dialogs  map[string]*dialogRoute // by Call-ID: our subscriptions (also before the 2xx)
	accounts map[string]*account     // by name
	users    map[string][]*account   // by AOR/mailbox user, for unsolicited NOTIFY
	wg       sync.WaitGroup
}

type dialogRoute struct {
	acct      *account
	localTag  string
	remoteTag string // "" until the 2xx or the first NOTIFY names the notifier
}

// NewUA opens the listeners. Close releases them.
func NewUA(opts Options) (*UA, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "mwi-agent"
	}
	if opts.TimerN == 0 {
		opts.TimerN = 32 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 3 * time.Second
	}
	if opts.Backoff.Base == 0 {
		opts.Backoff = defaultBackoff()
	}
	if opts.SlowRetry == 0 {
		opts.SlowRetry = 5 * time.Minute
	}
	if opts.LongRetry == 0 {
		opts.LongRetry = 30 * time.Minute
	}
	if opts.Parse == nil {
		opts.Parse = ParseBody
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 32
	}
	if opts.ServerRate <= 0 {
		opts.ServerRate = 200
	}
	if opts.ServerBurst <= 0 {
		opts.ServerBurst = 1000
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = probeTimeout
	}
	if opts.PongTimeout <= 0 {
		opts.PongTimeout = pongTimeout
	}
	if opts.UnsolicitedRate <= 0 {
		opts.UnsolicitedRate = unsolicitedRate
	}
	if opts.OnUpdate == nil {
		opts.OnUpdate = func(Update) {}
	}
	if opts.Failback <= 0 {
		opts.Failback = failbackAfter
	}
	locator, err := locate.New(locate.Config{Servers: opts.DNSServers})
	if err != nil {
		return nil, fmt.Errorf("sipua: %w", err)
	}
	u := &UA{
		opts:     opts,
		log:      opts.Logger,
		client:   map[string]*sipgo.Client{},
		dialogs:  map[string]*dialogRoute{},
		accounts: map[string]*account{},
		users:    map[string][]*account{},
		dns:      newAddrCache(opts.Clock.Now),
		heard:    map[heardKey]time.Time{},
		probers:  map[serverKey]*prober{},
	}
	u.gate = newGate(u)
	u.epoch = opts.Clock.Now()
	u.locator = locator
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(opts.UserAgent)}
	if r := dnsResolver(opts.DNSServers); r != nil {
		// Names (a TLS target's, an A/AAAA-only server's) resolve through
		// the configured servers too.
		uaOpts = append(uaOpts, sipgo.WithUserAgentDNSResolver(r))
		u.dns.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return r.LookupNetIP(ctx, "ip", host)
		}
	}
	if opts.TLSConfig != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(opts.TLSConfig))
	}
	// sipgo logs every dropped retransmission at debug/info; keep it at warn.
	sipLog := opts.Logger.With("component", "sipgo")
	uaOpts = append(uaOpts,
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog), sip.WithTransportLayerReadFilter(u.gate.filter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog),
			// A response that matches no transaction is a late
			// retransmission (a transaction ends at its final answer):
			// dropped, at most a few debug lines a minute — sipgo's
			// default logs each one at info on the process's default logger.
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				u.gate.logs.Log(slog.LevelDebug, "unmatched-response", "sipua: response matching no transaction dropped", "status", r.StatusCode, "source", r.Source())
			})))
	sua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("sipua: %w", err)
	}
	u.sua = sua
	sua.TransportLayer().OnMessage(u.gate.onMessage)
	srv, err := sipgo.NewServer(sua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		sua.Close()
		return nil, fmt.Errorf("sipua: %w", err)
	}
	u.srv = srv
	srv.OnNotify(u.onNotify)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})

	if opts.ListenUDP != "" {
		pc, err := net.ListenPacket("udp", opts.ListenUDP)
		if err != nil {
			sua.Close()
			return nil, fmt.Errorf("sipua: listen udp %s: %w", opts.ListenUDP, err)
		}
		u.udp = pc
		go func() { _ = srv.ServeUDP(pc) }()
		// sipgo registers the listener in its pool on the serving
		// goroutine; a request sent before that binds a second socket
		// to the same address and fails.
		for i := 0; i < 200; i++ {
			if c, err := sua.TransportLayer().GetConnection("udp", pc.LocalAddr().String()); err == nil && c != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Send from the listening socket so that NOTIFYs come back to it
		// (sipgo trap: the address must equal LocalAddr().String()).
		c, err := sipgo.NewClient(sua, sipgo.WithClientConnectionAddr(pc.LocalAddr().String()), sipgo.WithClientLogger(sipLog))
		if err != nil {
			u.Close()
			return nil, fmt.Errorf("sipua: %w", err)
		}
		u.client["udp"] = c
	}
	for _, tp := range []string{"tcp", "tls"} {
		c, err := sipgo.NewClient(sua, sipgo.WithClientLogger(sipLog))
		if err != nil {
			u.Close()
			return nil, fmt.Errorf("sipua: %w", err)
		}
		u.client[tp] = c
	}
	u.runq = newRunQueue(0)
	return u, nil
}

// UDPAddr is the UDP listener's address (nil without one).
func (u *UA) UDPAddr() net.Addr {
	if u.udp == nil {
		return nil
	}
	return u.udp.LocalAddr()
}

// Close stops every worker immediately (no un-REGISTER) and releases the
// listeners. Use Stop first for a clean shutdown.
func (u *UA) Close() error {
	u.mu.Lock()
	for _, a := range u.accounts {
		a.kill()
	}
	u.mu.Unlock()
	u.wg.Wait()
	u.runq.close()
	if u.udp != nil {
		u.udp.Close()
	}
	return u.sua.Close()
}

// Start starts a worker for the account. ctx bounds the worker's life:
// when it ends the worker un-SUBSCRIBEs and un-REGISTERs (bounded by
// StopTimeout) and then returns; Wait waits for all workers.
func (u *UA) Start(ctx context.Context, cfg AccountConfig) error {
	a, err := newAccount(u, cfg)
	if err != nil {
		return err
	}
	u.mu.Lock()
	if _, dup := u.accounts[cfg.Name]; dup {
		u.mu.Unlock()
		return fmt.Errorf("sipua: account %q started twice", cfg.Name)
	}
	u.accounts[cfg.Name] = a
	for _, user := range a.users() {
		u.users[user] = append(u.users[user], a)
	}
	u.mu.Unlock()
	a.startWorker(ctx)
	return nil
}

// Stop begins the named account's shutdown, as the end of its Start
// context does: un-SUBSCRIBE and un-REGISTER, bounded by StopTimeout;
// Wait waits for it. Starting with a context that never ends and stopping
// with Stop saves the context's bookkeeping (about 0.5 KB an account).
func (u *UA) Stop(name string) {
	u.mu.Lock()
	a := u.accounts[name]
	u.mu.Unlock()
	if a != nil {
		a.enqueue(inputFunc(stopOnce))
	}
}

// Retry makes the named account retry at once a registration or
// subscription it gave up on for a long interval (403/404, rejected,
// noresource, invariant, auth failed). Used on configuration reload.
func (u *UA) Retry(name string) {
	u.mu.Lock()
	a := u.accounts[name]
	u.mu.Unlock()
	if a == nil {
		return
	}
	a.enqueue(retryNow{})
}

// Wait blocks until every worker has returned.
func (u *UA) Wait() { u.wg.Wait() }

func (u *UA) forget(a *account) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.accounts[a.cfg.Name] == a {
		delete(u.accounts, a.cfg.Name)
	}
	for _, user := range a.users() {
		l := u.users[user]
		for i, x := range l {
			if x == a {
				l = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(u.users, user)
		} else {
			u.users[user] = l
		}
	}
	for id, r := range u.dialogs {
		if r.acct == a {
			delete(u.dialogs, id)
		}
	}
}

func (u *UA) addDialog(callID string, r *dialogRoute) {
	u.mu.Lock()
	u.dialogs[callID] = r
	u.mu.Unlock()
}

// setRemoteTag records the notifier's tag once the dialog is confirmed:
// from then on only NOTIFYs carrying it reach the worker.
func (u *UA) setRemoteTag(callID, tag string) {
	u.mu.Lock()
	if r := u.dialogs[callID]; r != nil {
		r.remoteTag = tag
	}
	u.mu.Unlock()
}

type heardKey struct {
	network string // udp, tcp, tls
	ap      netip.AddrPort
}

// noteHeard records that a known server sent something: over UDP a
// response, over TCP/TLS any byte (a message or an RFC 5626 pong). It is
// the liveness probe's evidence.
func (u *UA) noteHeard(network string, ap netip.AddrPort) {
	u.heardMu.Lock()
	u.heard[heardKey{network, ap}] = u.opts.Clock.Now()
	u.heardMu.Unlock()
}

// lastHeard is when the server last sent something over network.
func (u *UA) lastHeard(network string, ap netip.AddrPort) time.Time {
	u.heardMu.Lock()
	defer u.heardMu.Unlock()
	return u.heard[heardKey{network, ap}]
}

func (u *UA) removeDialog(callID string) {
	u.mu.Lock()
	delete(u.dialogs, callID)
	u.mu.Unlock()
}

// eventHeader returns the Event header, also in its compact form "o".
func eventHeader(m interface{ GetHeader(string) sip.Header }) string {
	for _, n := range []string{"Event", "o"} {
		if h := m.GetHeader(n); h != nil {
			return strings.TrimSpace(h.Value())
		}
	}
	return ""
}

func isMessageSummary(ev string) bool {
	pkg, _, _ := strings.Cut(ev, ";")
	return strings.EqualFold(strings.TrimSpace(pkg), "message-summary")
}

// notifyIn is a NOTIFY handed from a sipgo handler to its account's
// worker. The worker answers through answer; whoever claims it first —
// the worker, or the handler giving up after notifyAnswerWait — decides,
// so a NOTIFY is either applied and answered 2xx, or answered 500 and
// left alone (the server sends it again): never answered 200 and lost.
type notifyIn struct {
	callID      string
	cseq        uint32
	fromTag     string
	contact     *sip.Uri
	recordRoute []sip.Uri
	subState    SubscriptionState
	mailbox     *Mailbox // nil: body unusable (answered 400) or not applied
	unsolicited bool
	seq         uint64 // arrival number (UDP); 0 = unknown
	at          time.Time

	claimed atomic.Bool
	answer  chan notifyAnswer
	outcome string // Notify*, set by the worker before it replies (for the Observer)
}

type notifyAnswer struct {
	code   int
	reason string
}

// claim takes the right to answer; false when the other side has it.
func (n *notifyIn) claim() bool { return n.claimed.CompareAndSwap(false, true) }

// reply is the worker's answer (after claim).
func (n *notifyIn) reply(code int, reason string) {
	n.answer <- notifyAnswer{code, reason}
}

// notifyAnswerWait bounds how long a NOTIFY waits for its worker before it
// is answered 500 with Retry-After. A worker never blocks, so this is only
// reached when it is stopping or the machine is overloaded.
const notifyAnswerWait = time.Second

// onNotify runs on a sipgo goroutine: admit, parse, hand off, wait for the
// worker's answer, answer. Every NOTIFY gets an answer.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	key := notifyKey(req)
	udp := req.Transport() == "UDP"
	respond := func(code int, reason string, retryAfter int) {
		res := u.gate.notifyResponse(req, key, code, reason, retryAfter)
		if udp {
			// The gate answers a retransmission from this record; the
			// transaction (the NOTIFY, this answer, two timers) ends now
			// instead of after Timer J (absorb.go).
			u.gate.absorb.remember(key, u.opts.Clock.Now(), code, reason, retryAfter)
			defer tx.Terminate()
		}
		if err := tx.Respond(res); err != nil {
			u.log.Debug("sipua: answering NOTIFY", "code", code, "err", err)
		}
	}
	// What the Observer is told once the NOTIFY is answered.
	info := newNotifyInfo(req.Source(), req.Transport(), headerValue(req, "Subscription-State"), req.Body(), u.opts.Clock.Now())
	info.Outcome = NotifyRefused
	if obs := u.opts.Observer; obs != nil {
		// Told before the answer leaves: whoever sees the answer can
		// already see it counted.
		answer := respond
		respond = func(code int, reason string, retryAfter int) {
			info.Answer = code
			obs.Notified(info)
			answer(code, reason, retryAfter)
		}
	}
	v := u.admit(req, !udp) // the gate has charged a UDP one already
	if v.acct != nil {
		info.Account = v.acct.cfg.Name
	}
	if v.code != 0 {
		u.gate.logs.Log(slog.LevelWarn, "notify-refused", "sipua: NOTIFY refused", "source", req.Source(), "transport", req.Transport(), "code", v.code)
		if v.retryAfter > 0 {
			u.observeThrottled(info.Account) // the unsolicited rate limit
		}
		respond(v.code, v.reason, v.retryAfter)
		return
	}
	n := &notifyIn{at: u.opts.Clock.Now(), seq: u.gate.arrival(req, key), answer: make(chan notifyAnswer, 1)}
	if h := req.CallID(); h != nil {
		n.callID = h.Value()
	}
	if h := req.From(); h != nil {
		n.fromTag, _ = h.Params.Get("tag")
	}
	if h := req.CSeq(); h != nil {
		n.cseq = h.SeqNo
	}
	src := state.SourceSubscribed
	if v.route == nil {
		src, n.unsolicited = state.SourceUnsolicited, true
	} else {
		n.subState = ParseSubscriptionState(headerValue(req, "Subscription-State"))
		if h := req.Contact(); h != nil {
			c := h.Address
			n.contact = &c
		}
		for _, h := range req.GetHeaders("Record-Route") {
			if rr, ok := h.(*sip.RecordRouteHeader); ok {
				n.recordRoute = append(n.recordRoute, rr.Address)
			}
		}
	}
	mb, err := u.opts.Parse(req.Body())
	if err != nil {
		u.gate.logs.Log(slog.LevelWarn, "notify-body", "sipua: NOTIFY body unusable; answered 400, state kept", "source", req.Source(), "call_id", n.callID, "err", err)
		if n.unsolicited {
			info.Outcome = NotifyMalformed
			respond(400, "Bad Request (unusable message-summary body)", 0)
			return
		}
	} else {
		if len(mb.Warnings) > 0 {
			u.gate.logs.Log(slog.LevelWarn, "notify-lines", "sipua: NOTIFY body lines skipped", "source", req.Source(), "call_id", n.callID, "warnings", mb.Warnings)
		}
		mb.Source = src
		n.mailbox = &mb
	}
	a := v.acct
	if !a.put(n, notifyQueueMax) {
		if a.gone() {
			respond(refusalCode, refusalReason, 0) // removed (reload) or stopping: no subscription here any more
			return
		}
		u.gate.logs.Log(slog.LevelWarn, "notify-busy", "sipua: worker queue full; NOTIFY answered 500 to be sent again", "account", a.cfg.Name)
		respond(500, "Server Internal Error (busy)", 1)
		return
	}
	t := time.NewTimer(notifyAnswerWait)
	defer t.Stop()
	select {
	case ans := <-n.answer:
		info.Outcome = orText(n.outcome, NotifyRefused)
		respond(ans.code, ans.reason, 0)
		return
	case <-t.C:
	}
	if n.claim() {
		if a.gone() {
			// The account finished between admit and its worker: it was
			// removed (reload) or the agent is stopping. Its
			// subscription is over, which 481 says; 500 would ask
			// the server to send it again.
			respond(refusalCode, refusalReason, 0)
			return
		}
		u.gate.logs.Log(slog.LevelWarn, "notify-busy", "sipua: worker did not take the NOTIFY in time; answered 500 to be sent again", "account", a.cfg.Name)
		respond(500, "Server Internal Error (busy)", 1)
		return
	}
	ans := <-n.answer // the worker has it and answers at once
	info.Outcome = orText(n.outcome, NotifyRefused)
	respond(ans.code, ans.reason, 0)
}

func toUser(req *sip.Request) string {
	if h := req.To(); h != nil {
		return h.Address.User
	}
	return ""
}

func headerValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// parsePrefixes reads IPs and CIDRs.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("sipua: unsolicited_from: %q is not an IP address or CIDR", s))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, errors.Join(errs...)
}
