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
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// AccountConfig is what the user agent needs to know about one account. The
// agent fills it from config.Account.
type AccountConfig struct {
	Name      string
	AOR       string // sip:1001@pbx.example.com
	Username  string // auth user; default the AOR user
	Password  string
	Server    string // host:port the requests go to
	Transport string // udp|tcp|tls
	Proxy     string // outbound proxy host:port ("" = none)

	Register        bool
	RegisterExpiry  time.Duration
	Subscribe       bool
	Mailbox         string // URI to SUBSCRIBE to; default the AOR
	SubscribeExpiry time.Duration

	Unsolicited     bool     // accept unsolicited NOTIFY
	UnsolicitedFrom []string // allowed source IPs/CIDRs; empty = the server's resolved addresses
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

	ListenUDP string // [127.0.0.1:0 or 0.0.0.0:0, see DefaultListen] "" after defaults = no UDP listener
	TLSConfig *tls.Config

	Keepalive   time.Duration // CRLF keepalive interval, 0 = off
	TimerN      time.Duration // [32 s] wait for the first NOTIFY after the 2xx
	StopTimeout time.Duration // [3 s] un-SUBSCRIBE/un-REGISTER bound
	Backoff     Backoff       // [2 s doubling to 5 min, ±25 % jitter]
	SlowRetry   time.Duration // [5 min] after auth failed
	LongRetry   time.Duration // [30 min] after 403/404/rejected
	Parse       BodyParser    // [the RFC 3842 parser]
	MaxInFlight int           // [32] transactions in flight at once per server (a dead server's timeouts do not hold up the others)
	ServerRate  float64       // [100] requests per second per server, all accounts together (token bucket; see governor.go)
	ServerBurst int           // [200] requests a server may get at once before ServerRate applies

	// OnUpdate receives every worker's updates. It is called from worker
	// goroutines and must not block for long (the agent sends to its loop).
	OnUpdate func(Update)
}

// UA is the SIP user agent shared by every account: one sipgo user agent,
// its listeners, the NOTIFY router and one worker goroutine per account.
type UA struct {
	opts   Options
	log    *slog.Logger
	sua    *sipgo.UserAgent
	srv    *sipgo.Server
	udp    net.PacketConn
	client map[string]*sipgo.Client // by lower-case transport
	gates  gates                    // per-server slots and rate (governor.go)

	mu       sync.Mutex
	dialogs  map[string]*dialogRoute // by Call-ID: our subscriptions (also before the 2xx)
	accounts map[string]*account     // by name
	users    map[string][]*account   // by AOR/mailbox user, for unsolicited NOTIFY
	wg       sync.WaitGroup
}

type dialogRoute struct {
	acct     *account
	localTag string
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
		opts.ServerRate = 100
	}
	if opts.ServerBurst <= 0 {
		opts.ServerBurst = 200
	}
	if opts.OnUpdate == nil {
		opts.OnUpdate = func(Update) {}
	}
	u := &UA{
		opts:     opts,
		log:      opts.Logger,
		client:   map[string]*sipgo.Client{},
		dialogs:  map[string]*dialogRoute{},
		accounts: map[string]*account{},
		users:    map[string][]*account{},
	}
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(opts.UserAgent)}
	if opts.TLSConfig != nil {
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(opts.TLSConfig))
	}
	// sipgo logs every dropped retransmission at debug/info; keep it at warn.
	sipLog := opts.Logger.With("component", "sipgo")
	uaOpts = append(uaOpts,
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)))
	sua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return nil, fmt.Errorf("sipua: %w", err)
	}
	u.sua = sua
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
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		a.run(ctx)
		u.forget(a)
	}()
	return nil
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
	select {
	case a.in <- retryNow{}:
	case <-a.killc:
	case <-time.After(time.Second):
	}
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

// notifyIn is a NOTIFY handed from a sipgo handler to its account's worker.
type notifyIn struct {
	callID      string
	cseq        uint32
	fromTag     string
	contact     *sip.Uri
	recordRoute []sip.Uri
	subState    SubscriptionState
	mailbox     *Mailbox // nil: body unusable (answered 400) or not applied
	unsolicited bool
	at          time.Time
}

// onNotify runs on a sipgo goroutine: decide, answer, hand off, return.
// Every NOTIFY gets an answer.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	respond := func(code int, reason string) {
		if err := tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
			u.log.Debug("sipua: answering NOTIFY", "code", code, "err", err)
		}
	}
	if !isMessageSummary(eventHeader(req)) {
		respond(489, "Bad Event")
		return
	}
	var callID, toTag, fromTag string
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	if h := req.To(); h != nil {
		toTag, _ = h.Params.Get("tag")
	}
	if h := req.From(); h != nil {
		fromTag, _ = h.Params.Get("tag")
	}
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	parse := func(src state.Source) (*Mailbox, bool) {
		mb, err := u.opts.Parse(req.Body())
		if err != nil {
			u.log.Warn("sipua: NOTIFY body unusable; answered 400, state kept", "source", req.Source(), "call_id", callID, "err", err)
			return nil, false
		}
		if len(mb.Warnings) > 0 {
			u.log.Warn("sipua: NOTIFY body lines skipped", "source", req.Source(), "call_id", callID, "warnings", mb.Warnings)
		}
		mb.Source = src
		return &mb, true
	}

	u.mu.Lock()
	route := u.dialogs[callID]
	u.mu.Unlock()
	if route != nil && toTag == route.localTag {
		n := &notifyIn{callID: callID, cseq: cseq, fromTag: fromTag, at: u.opts.Clock.Now()}
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
		mb, ok := parse(state.SourceSubscribed)
		if ok {
			respond(200, "OK")
		} else {
			respond(400, "Bad Request (unusable message-summary body)")
		}
		n.mailbox = mb
		route.acct.deliver(n)
		return
	}
	if toTag != "" {
		respond(481, "Subscription Does Not Exist")
		return
	}
	// Unsolicited: route by Request-URI user, then To user.
	var cands []*account
	u.mu.Lock()
	for _, user := range []string{req.Recipient.User, toUser(req)} {
		if user != "" && len(cands) == 0 {
			cands = append(cands, u.users[user]...)
		}
	}
	u.mu.Unlock()
	if len(cands) == 0 {
		respond(481, "No Such Account")
		return
	}
	src := sourceIP(req.Source())
	var acct *account
	for _, a := range cands {
		if a.cfg.Unsolicited && a.allowedSource(src) {
			acct = a
			break
		}
	}
	if acct == nil {
		u.log.Warn("sipua: unsolicited NOTIFY refused", "source", req.Source(), "user", req.Recipient.User)
		respond(403, "Forbidden")
		return
	}
	mb, ok := parse(state.SourceUnsolicited)
	if !ok {
		respond(400, "Bad Request (unusable message-summary body)")
		return
	}
	respond(200, "OK")
	acct.deliver(&notifyIn{callID: callID, cseq: cseq, mailbox: mb, unsolicited: true, at: u.opts.Clock.Now()})
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

func sourceIP(hostport string) netip.Addr {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, _ := netip.ParseAddr(strings.Trim(host, "[]"))
	return a.Unmap()
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
