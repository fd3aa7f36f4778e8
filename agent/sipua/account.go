package sipua

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// account is one account's worker: it owns the registration and the
// subscription — one leg each — and every piece of SIP state they need.
// Nothing here is touched by another goroutine except through its mailbox
// (box) and the fields marked otherwise; the pool runs it (worker.go).
type account struct {
	u   *UA
	cfg accountCfg

	box      mailbox // inputs waiting for the worker (worker.go)
	tm       timerSet
	tickFn   func()      // posts a tick (the clock timer's callback)
	killed   atomic.Bool // Close: finish at the next input, no un-REGISTER
	over     bool        // the worker finished
	counted  bool        // started by UA.Start: finishing is one less for UA.Wait
	stopping bool
	stale    bool
	started  bool
	// unreachable: the server's prober says it does not answer;
	// flowLost: the prober closed our dead TCP/TLS connection.
	unreachable, flowLost bool
	dirty                 bool        // status or reason changed since the last report
	ctxStop               func() bool // releases the shutdown hook on Start's ctx

	dest    string // host:port for out-of-dialog requests
	network string // udp, tcp, tls

	contact    hostPort // what we currently believe our Contact's address is (UDP)
	regContact hostPort // the Contact of the last successful REGISTER

	reg       leg[RegState]
	sub       leg[SubState]
	dlg       dialog // the subscription's remote side
	pendingMB *Mailbox
	notifyExp time.Duration // the NOTIFY being handled: Subscription-State expires=, -1 if absent
	inFlight  int           // transactions started and not yet answered
	budget    window        // the account's request budget (governor.go)

	health state.Health
	status int
	reason string

	gv        gateView
	resolveAt time.Duration // start-up: since when (since the UA's epoch, +1) it waits for the server's name to resolve
	loc       *serverLoc    // the located server and its failover targets (failover.go); nil for an IP address
	unwatch   func()        // leaves the current server's prober
	srv       *serverGate   // the server gate this account joined (governor.go); nil before its first request
}

// dialog is the remote side of the subscription dialog (RFC 6665 / RFC
// 3261 section 12); the local side (Call-ID, tag, CSeq) is the sub leg's.
type dialog struct {
	remoteTag      string
	remoteTarget   string // the notifier's Contact URI as text, "" for none (the mailbox): remoteTargetURI
	routeSet       []sip.Uri
	remoteCSeq     uint32
	haveRemoteCSeq bool
	confirmed      bool
	contact        hostPort // our Contact's address when it was created
	dest           string   // the server target it was made at: destKey (failover.go)
	notifyGrant    bool     // a NOTIFY's expires= came after the last SUBSCRIBE went out: newer than its 2xx
}

// hostPort is a Contact's address, all the dialog keeps of it.
type hostPort struct {
	Host string
	Port int
}

func contactAddr(u sip.Uri) hostPort { return hostPort{u.Host, u.Port} }

// contactURI is our Contact at h (zero when h is: not known yet).
func (a *account) contactURI(h hostPort) sip.Uri {
	if h.Host == "" && h.Port == 0 {
		return sip.Uri{}
	}
	return sip.Uri{Scheme: "sip", User: a.cfg.AOR.User, Host: h.Host, Port: h.Port}
}
func (h hostPort) String() string {
	return net.JoinHostPort(strings.Trim(h.Host, "[]"), strconv.Itoa(h.Port))
}

// finalNotifyWait is how long an answered un-SUBSCRIBE waits for the
// notifier's final NOTIFY, so that it is answered 200 rather than 481.
const finalNotifyWait = 500 * time.Millisecond

// txReq is one transaction the worker wants run.
type txReq struct {
	leg      legKind
	gen      int  // -1: best effort, answer ignored
	fresh    bool // answers a challenge received just before
	req      *sip.Request
	contact  sip.Uri
	stopping bool          // un-REGISTER/un-SUBSCRIBE: bounded by StopTimeout
	at       time.Time     // not before (the account's budget)
	timeout  time.Duration // 0: the transaction layer's (Timer B/F, 32 s)
}

// txResult is a transaction's final answer (or failure).
type txResult struct {
	leg     legKind
	gen     int
	fresh   bool
	res     *sip.Response
	err     error
	contact sip.Uri
}

func (r txResult) applyTo(a *account) {
	a.inFlight--
	if r.leg == legSub {
		a.onSubResult(r)
	} else {
		a.onRegResult(r)
	}
}

func (n *notifyIn) applyTo(a *account) { a.onNotify(n) }

// retryNow asks a worker to retry at once what it gave up on for a long
// time (refused, rejected, auth failed): a configuration reload.
type retryNow struct{}

func (retryNow) applyTo(a *account) { a.retry() }

// accountCfg is what an account keeps of its AccountConfig after its
// start (152 bytes of the 296).
type accountCfg struct {
	Name, Username, Password string
	AOR                      URI
	Mailbox                  *URI   // nil: the AOR
	Proxy                    string // outbound proxy host:port ("" = none)

	UnsolicitedHorizon                                  time.Duration
	Register, Subscribe, Unsolicited, UnsolicitedAlways bool

	_ [0]func() // never compared: no equality function in the binary
}

func newAccount(u *UA, cfg AccountConfig) (*account, error) {
	a := &account{
		u: u, cfg: accountCfg{
			Name: cfg.Name, Username: cfg.Username, Password: cfg.Password, AOR: cfg.AOR, Proxy: cfg.Proxy,
			UnsolicitedHorizon: cfg.UnsolicitedHorizon,
			Register:           cfg.Register, Subscribe: cfg.Subscribe, Unsolicited: cfg.Unsolicited, UnsolicitedAlways: cfg.UnsolicitedAlways,
		},
	}
	if cfg.Mailbox.Host != "" {
		mb := cfg.Mailbox
		a.cfg.Mailbox = &mb
	}
	a.reg.timer, a.sub.timer = timerSlot{a, tmReg}, timerSlot{a, tmSub}
	if cfg.AOR.Host == "" {
		return nil, fmt.Errorf("sipua: account %s: no aor", cfg.Name)
	}
	if a.cfg.Username == "" {
		a.cfg.Username = cfg.AOR.User
	}
	a.network = strings.ToLower(cfg.Transport)
	auto := a.network == "auto" // the located target's transport (failover.go)
	if a.network == "" || auto {
		a.network = "udp" // RFC 3263 section 4.1: without NAPTR or SRV
		if _, ok := u.client["udp"]; auto && !ok {
			a.network = "tcp"
		}
	}
	if _, ok := u.client[a.network]; !ok {
		return nil, fmt.Errorf("sipua: account %s: transport %s: no %s listener", cfg.Name, a.network, a.network)
	}
	a.dest = cfg.Server
	if cfg.Proxy != "" {
		a.dest = cfg.Proxy
	}
	if a.dest == "" {
		a.dest = cfg.AOR.Host
		if cfg.AOR.Port != 0 {
			a.dest = net.JoinHostPort(strings.Trim(cfg.AOR.Host, "[]"), strconv.Itoa(cfg.AOR.Port))
		}
	}
	_, _, err := net.SplitHostPort(a.dest)
	portGiven := err == nil
	if !portGiven {
		a.dest = net.JoinHostPort(strings.Trim(a.dest, "[]"), strconv.Itoa(int(sip.DefaultPort(a.network))))
	}
	dest0 := a.dest // a copy: the worker changes a.dest (failover.go)
	a.gv.dest.Store(&dest0)
	a.initLocate(portGiven, auto)
	allowed, perr := parsePrefixes(cfg.UnsolicitedFrom)
	if perr != nil {
		return nil, perr
	}
	if cfg.Unsolicited {
		a.gv.unsol = &unsolState{allowed: allowed, budget: tokenBucket{rate: u.opts.UnsolicitedRate, burst: max(unsolicitedBurst, 5*u.opts.UnsolicitedRate)}}
	}
	a.reg.kind, a.sub.kind = legReg, legSub
	a.reg.expiry = orDefault(cfg.RegisterExpiry, 3600*time.Second)
	a.sub.expiry = orDefault(cfg.SubscribeExpiry, 3600*time.Second)
	a.reg.callID = uuid.NewString()
	a.reg.localTag = sip.GenerateTagN(16)
	a.reg.cseq = firstCSeq()
	a.health = state.HealthDisabled
	a.u.dns.get(hostOf(a.dest)) // start resolving now, off the worker's goroutine
	return a, nil
}

// firstCSeq starts a Call-ID's CSeq somewhere in 1..30000 (RFC 3261 asks
// for less than 2^31; a varying start helps reading captures).
func firstCSeq() uint32 { return uint32(time.Now().UnixNano()%30000) + 1 }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// users are the names an unsolicited NOTIFY may be addressed to.
func (a *account) users() []string {
	out := []string{a.cfg.AOR.User}
	if mb := a.mailbox(); mb.User != "" && mb.User != a.cfg.AOR.User {
		out = append(out, mb.User)
	}
	return out
}

// kill makes the worker finish at once, without un-REGISTER (Close), and
// cancels its transactions.
func (a *account) kill() {
	a.killed.Store(true)
	m := &a.box
	m.mu.Lock()
	m.txKilled = true
	txs := m.txs
	m.txs = nil
	m.mu.Unlock()
	for _, cancel := range txs {
		(*cancel)()
	}
	a.enqueue(inputFunc(func(*account) {})) // wake it to finish
}

// txContext is a context for one transaction (or DNS query) of the
// account, from parent: done ends it; kill cancels it while it runs. The
// account keeps no context of its own (a cancelCtx and its channel, about
// 200 bytes an account): only the running transactions' cancel functions.
func (a *account) txContext(parent context.Context) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(parent)
	m := &a.box
	m.mu.Lock()
	if m.txKilled {
		m.mu.Unlock()
		cancel()
		return ctx, func() {}
	}
	m.txs = append(m.txs, &cancel)
	m.mu.Unlock()
	return ctx, func() {
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, c := range m.txs {
			if c == &cancel {
				last := len(m.txs) - 1
				m.txs[i], m.txs[last] = m.txs[last], nil
				m.txs = m.txs[:last]
				break
			}
		}
		if len(m.txs) == 0 {
			m.txs = nil
		}
	}
}

// ---- the worker loop -------------------------------------------------------

// timerKind names the worker's timers.
type timerKind uint8

const (
	tmReg     timerKind = iota // registration refresh or retry
	tmSub                      // subscription refresh or retry
	tmTimerN                   // no NOTIFY after the 2xx
	tmLapse                    // the subscription's grant ran out
	tmKeep                     // CRLF keepalive
	tmStop                     // shutdown bound
	tmUnsol                    // no unsolicited NOTIFY within UnsolicitedHorizon
	tmResolve                  // start-up: the server's name not resolved yet
	numTimers
)

// slot is the worker's timer k.
func (a *account) slot(k timerKind) timerSlot { return timerSlot{a, k} }

// resolveWait bounds how long an account waits at start for its server's
// name to resolve (off its goroutine) before it sends anyway.
const resolveWait = 5 * time.Second

// begin starts the legs the account wants, once the server's name is
// resolved: the UDP Contact is the local address toward the server, and
// finding it must not block the worker on DNS.
func (a *account) begin() {
	a.report(nil)
	if a.resolveAt == 0 {
		a.resolveAt = a.sinceEpoch() + 1
	}
	if a.loc != nil && !a.loc.done {
		a.startLocate() // begin runs again when it answers
		return
	}
	if _, ok := a.destAddrs(); !ok && a.sinceEpoch()+1-a.resolveAt < resolveWait {
		a.slot(tmResolve).arm(a.u.opts.Clock, 20*time.Millisecond)
		return
	}
	switch {
	case a.cfg.Register:
		a.regEvent(EvStart, Outcome{})
	case a.cfg.Subscribe:
		a.subEvent(EvStart, Outcome{})
	}
	if !a.cfg.Register {
		a.reg.state = RegStopped
	}
	if !a.cfg.Subscribe {
		a.sub.state = SubStopped
	}
	if a.u.opts.Keepalive > 0 {
		a.slot(tmKeep).arm(a.u.opts.Clock, a.u.opts.Keepalive)
	}
}

// stop begins the shutdown: un-SUBSCRIBE, un-REGISTER, bounded.
func (a *account) stop() {
	a.stopping = true
	a.slot(tmStop).arm(a.u.opts.Clock, a.u.opts.StopTimeout)
	a.slot(tmKeep).stop()
	a.subEvent(EvStop, Outcome{})
	a.regEvent(EvStop, Outcome{})
}

func (a *account) finished() bool {
	return a.stopping && a.reg.state == RegStopped && a.sub.state == SubStopped
}

// fire handles a timer that went off.
func (a *account) fire(k timerKind) {
	switch k {
	case tmReg:
		a.maybeFailback()
		a.regEvent(EvTimer, Outcome{})
	case tmSub:
		a.subEvent(EvTimer, Outcome{})
	case tmTimerN:
		a.setStatus("subscribe", 0, "no NOTIFY within Timer N")
		a.subEvent(EvTimerN, Outcome{})
	case tmLapse:
		a.subEvent(EvLapse, Outcome{})
	case tmKeep:
		a.keepalive()
		a.slot(tmKeep).arm(a.u.opts.Clock, a.u.opts.Keepalive)
	case tmUnsol:
		a.gv.unsol.old = true
		a.log().Warn("sipua: no unsolicited NOTIFY confirmed the mailbox state within unsolicited_horizon; it is stale", "horizon", a.cfg.UnsolicitedHorizon)
		a.report(nil)
	case tmResolve:
		if !a.stopping {
			a.begin()
		}
	case tmStop:
		a.subEvent(EvStopDone, Outcome{})
		a.regEvent(EvStopDone, Outcome{})
		a.reg.state, a.sub.state = RegStopped, SubStopped
	}
}

func (a *account) retry() {
	switch a.reg.state {
	case RegRefused, RegAuthFailed:
		a.reg.timer.stop()
		a.regEvent(EvTimer, Outcome{})
	}
	switch a.sub.state {
	case SubRejected, SubAuthFailed:
		a.sub.timer.stop()
		a.subEvent(EvTimer, Outcome{})
	}
}

// ---- registration ----------------------------------------------------------

func (a *account) regEvent(e Event, o Outcome) {
	l := &a.reg
	for _, act := range l.step(NextReg, e, a.log()) {
		if act == ActBackoffTimer {
			a.u.observeBackoff(a.cfg.Name, "register")
		}
		if l.common(act, o, a.u.opts.Clock, &a.u.opts, a.u.rnd) {
			continue
		}
		switch act {
		case ActSend:
			a.sendRegister(false, l.expiry)
		case ActSendAuth:
			exp := l.expiry
			if l.state == RegUnregistering {
				exp = 0
			}
			a.sendRegister(true, exp)
		case ActSendStop:
			l.timer.stop()
			a.sendRegister(false, 0)
		case ActDone:
			l.timer.stop()
		case ActSignalRegistered:
			a.onRegistered()
		}
	}
	a.report(nil)
}

func (a *account) onRegistered() {
	switch {
	case !a.cfg.Subscribe:
	case a.sub.state == SubIdle:
		a.subEvent(EvStart, Outcome{})
	case a.followRegistration():
	case a.dlg.confirmed && a.dlg.contact.Host != "" && !sameHostPort(a.dlg.contact, a.regContact):
		a.log().Info("sipua: contact changed, subscribing again", "old", a.dlg.contact.String(), "new", a.regContact.String())
		a.subEvent(EvContactChanged, Outcome{})
	}
}

func (a *account) onRegResult(r txResult) {
	o, ok := a.reg.outcome(r)
	if !ok {
		return
	}
	changed := false
	if o.Event == EvOK {
		a.regContact = contactAddr(r.contact)
		a.reg.granted = a.grantedRegistration(r.res, o, r.contact)
		changed = a.learnVia(r.res)
		if a.reg.state == RegUnregistering {
			a.log().Info("sipua: unregistered")
		} else if a.reg.granted == 0 {
			// The server dropped our binding; register again shortly.
			o.Event = EvTransient
			o.Reason = "registrar granted 0 s"
		}
	}
	a.setOutcome("register", o)
	a.regEvent(o.Event, o)
	if changed {
		a.regEvent(EvContactChanged, o)
	}
	a.afterFailure(o)
}

// grantedRegistration: our Contact's expires parameter in the 2xx, else the
// Expires header, else what we asked for.
func (a *account) grantedRegistration(res *sip.Response, o Outcome, ours sip.Uri) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || !sameHostPort(contactAddr(c.Address), contactAddr(ours)) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return clampGrant(seconds(n))
			}
		}
	}
	if o.Expires >= 0 {
		return clampGrant(o.Expires)
	}
	return clampGrant(a.reg.expiry)
}

// learnVia applies received/rport from a UDP response: when the server
// sees us at another address, that is our Contact (RFC 3581). Reports
// whether it changed.
func (a *account) learnVia(res *sip.Response) bool {
	if a.network != "udp" || res == nil {
		return false
	}
	v := res.Via()
	if v == nil {
		return false
	}
	host, port := a.contact.Host, a.contact.Port
	if r, ok := v.Params.Get("received"); ok && r != "" && r != host {
		host = strings.Clone(r) // not the parsed response it is cut from
	}
	if r, ok := v.Params.Get("rport"); ok && r != "" {
		if p, err := strconv.Atoi(r); err == nil {
			port = p
		}
	}
	if host == a.contact.Host && port == a.contact.Port {
		return false
	}
	a.log().Info("sipua: server sees us at another address", "contact", a.contact.String(), "seen", net.JoinHostPort(host, strconv.Itoa(port)))
	a.contact.Host, a.contact.Port = host, port
	return true
}

func sameHostPort(x, y hostPort) bool {
	return strings.EqualFold(strings.Trim(x.Host, "[]"), strings.Trim(y.Host, "[]")) && x.Port == y.Port
}

func (a *account) sendRegister(fresh bool, expires time.Duration) {
	cseq, gen := a.reg.next()
	req := a.registerRequest(expires, cseq)
	contact := a.contactURI(a.contact) // after registerRequest: it picks the UDP Contact
	if a.reg.state == RegUnregistering && a.regContact.Host != "" {
		contact = a.contactURI(a.regContact)
	}
	a.transact(txReq{leg: legReg, gen: gen, fresh: fresh, req: req, contact: contact, stopping: expires == 0})
}

// ---- subscription ----------------------------------------------------------

func (a *account) subEvent(e Event, o Outcome) {
	var follow []Event
	l := &a.sub
	for _, act := range l.step(NextSub, e, a.log()) {
		if act == ActBackoffTimer {
			a.u.observeBackoff(a.cfg.Name, "subscribe")
		}
		if act == ActRefreshTimer { // sooner than the grant asks: the restart check
			l.timer.arm(a.u.opts.Clock, a.subRefreshDelay())
			continue
		}
		if l.common(act, o, a.u.opts.Clock, &a.u.opts, a.u.rnd) {
			continue
		}
		switch act {
		case ActNewDialog:
			a.newDialog()
		case ActSend:
			a.sendSubscribe(false, l.expiry)
		case ActSendAuth:
			exp := l.expiry
			if l.state == SubUnsubscribing {
				exp = 0
			}
			a.sendSubscribe(true, exp)
		case ActLapseTimer:
			a.armLapse()
		case ActNotifyRefresh:
			if a.notifyExp >= 0 {
				l.timer.arm(a.u.opts.Clock, a.subRefreshDelay())
				a.armLapse()
			}
		case ActNotifyLapse:
			if a.notifyExp >= 0 {
				a.armLapse()
			}
		case ActDropDialog:
			a.dropDialog()
		case ActTimerN:
			a.slot(tmTimerN).arm(a.u.opts.Clock, a.u.opts.TimerN)
		case ActMailbox:
			if mb := a.pendingMB; mb != nil {
				a.pendingMB = nil
				a.stale = false
				a.report(mb)
			}
		case ActStale:
			if !a.stale {
				a.stale = true
				a.log().Warn("sipua: subscription lapsed; mailbox state is stale")
			}
		case ActForget:
			a.stale = false
			a.report(&Mailbox{Waiting: state.WaitingUnknown, Source: state.SourceSubscribed})
		case ActSendStop:
			l.timer.stop()
			a.slot(tmTimerN).stop()
			a.slot(tmLapse).stop()
			if a.dlg.confirmed {
				a.sendSubscribe(false, 0)
			} else {
				follow = append(follow, EvStopDone)
			}
		case ActFinalWait:
			l.timer.arm(a.u.opts.Clock, finalNotifyWait)
		case ActDone:
			l.timer.stop()
			a.slot(tmTimerN).stop()
			a.slot(tmLapse).stop()
		}
	}
	a.pendingMB = nil
	a.report(nil)
	for _, f := range follow {
		a.subEvent(f, Outcome{})
	}
}

// armLapse arms the lapse timer at the subscription's grant.
func (a *account) armLapse() {
	a.slot(tmLapse).arm(a.u.opts.Clock, a.sub.granted)
}

// newDialog forgets the subscription dialog: the next SUBSCRIBE starts a
// new one (new Call-ID and tag, no To-tag).
func (a *account) newDialog() {
	l := &a.sub
	if l.callID != "" {
		a.u.removeDialog(l.callID)
	}
	l.timer.stop()
	a.slot(tmTimerN).stop()
	a.dlg = dialog{dest: a.destKey()}
	l.gen++ // an answer still on its way belongs to the old dialog: dropped
	l.callID, l.localTag, l.cseq = uuid.NewString(), sip.GenerateTagN(16), firstCSeq()
	a.u.addDialog(l.callID, &dialogRoute{acct: a, localTag: l.localTag})
}

func (a *account) sendSubscribe(fresh bool, expires time.Duration) {
	cseq, gen := a.sub.next()
	a.dlg.notifyGrant = false
	req := a.subscribeRequest(expires, cseq)
	t := txReq{leg: legSub, gen: gen, fresh: fresh, req: req, contact: a.contactURI(a.contact), stopping: expires == 0}
	if a.dlg.confirmed && !t.stopping && a.slot(tmLapse).isArmed() {
		// An in-dialog refresh must fail early enough that a new dialog
		// still fits before the grant lapses (the remote target may be
		// dead): its timeout ends refreshMargin before the lapse.
		left := a.tm.due[tmLapse] - a.sinceEpoch() - refreshMargin
		t.timeout = min(max(left, minRefreshTimeout), maxTxTimeout)
	}
	a.transact(t)
}

// dropDialog un-SUBSCRIBEs the dialog best effort — only when the budget
// allows it now, answer ignored — and forgets it.
func (a *account) dropDialog() {
	if a.dlg.confirmed && !a.budget.earliest(a.u.opts.Clock.Now()).After(a.u.opts.Clock.Now()) {
		a.sub.cseq++
		req := a.subscribeRequest(0, a.sub.cseq)
		a.transact(txReq{leg: legSub, gen: -1, req: req, contact: a.contactURI(a.contact), timeout: minRefreshTimeout})
	}
	a.newDialog()
}

const (
	refreshMargin     = 5 * time.Second  // an in-dialog refresh gives up this long before the lapse
	minRefreshTimeout = 4 * time.Second  // but waits at least this long for an answer
	maxTxTimeout      = 32 * time.Second // the transaction layer's own bound (64*T1)
)

func (a *account) onSubResult(r txResult) {
	o, ok := a.sub.outcome(r)
	if !ok {
		return
	}
	if o.Event == EvOK && a.sub.state != SubUnsubscribing {
		d := &a.dlg
		d.contact = contactAddr(r.contact)
		if !d.confirmed {
			if h := r.res.To(); h != nil {
				tag, _ := h.Params.Get("tag")
				d.remoteTag = strings.Clone(tag) // not the parsed header it is cut from
			}
			d.remoteTarget = ""
			if h := r.res.Contact(); h != nil {
				d.remoteTarget = h.Address.String()
			}
			rr := r.res.GetHeaders("Record-Route")
			d.routeSet = nil
			for i := len(rr) - 1; i >= 0; i-- {
				if h, ok := rr[i].(*sip.RecordRouteHeader); ok {
					d.routeSet = append(d.routeSet, h.Address)
				}
			}
			d.confirmed = true
			a.u.setRemoteTag(a.sub.callID, d.remoteTag)
		}
		switch {
		case d.notifyGrant:
			// A NOTIFY overtook this 2xx and granted: the NOTIFY is newer.
		case o.Expires >= 0:
			a.sub.granted = clampGrant(o.Expires)
		default:
			a.sub.granted = clampGrant(a.sub.expiry)
		}
		if a.sub.granted == 0 {
			o.Event, o.Reason = EvTerminatedNow, "subscription granted 0 s"
		}
	}
	a.setOutcome("subscribe", o)
	a.subEvent(o.Event, o)
	if !a.cfg.Register && !a.dlg.confirmed {
		a.afterFailure(o)
	}
}

// onNotify applies a NOTIFY and answers it: 2xx only once it is applied
// (or known to be superseded by what is), 481 for a dialog that is not
// ours, 400 for an unusable body.
func (a *account) onNotify(n *notifyIn) {
	if !n.claim() {
		return // its handler gave up waiting and answered 500: the server resends
	}
	if n.unsolicited {
		a.onUnsolicited(n)
		return
	}
	d := &a.dlg
	a.log().Debug("sipua: NOTIFY", "state", n.subState.State, "reason", n.subState.Reason, "cseq", n.cseq, "usable", n.mailbox != nil, "current", n.callID == a.sub.callID)
	if n.callID != a.sub.callID || (d.confirmed && n.fromTag != d.remoteTag) {
		n.outcome = NotifyRefused
		n.reply(refusalCode, refusalReason) // a dialog we left, or not the notifier
		return
	}
	if n.mailbox == nil {
		n.outcome = NotifyMalformed
		defer n.reply(400, "Bad Request (unusable message-summary body)")
	} else {
		n.outcome = NotifyApplied
		defer n.reply(200, "OK")
	}
	if d.haveRemoteCSeq && n.cseq <= d.remoteCSeq {
		a.log().Debug("sipua: old NOTIFY ignored", "cseq", n.cseq, "last", d.remoteCSeq)
		if n.mailbox != nil {
			n.outcome = NotifyOld
		}
		return
	}
	d.remoteCSeq, d.haveRemoteCSeq = n.cseq, true
	ss := n.subState
	if !d.confirmed { // NOTIFY before the 2xx (or after a lost one): it creates the dialog
		a.sub.granted = clampGrant(a.sub.expiry)
		d.remoteTag = strings.Clone(n.fromTag) // not the parsed header it is cut from
		d.remoteTarget = ""
		if n.contact != nil {
			d.remoteTarget = n.contact.String()
		}
		d.routeSet = n.recordRoute
		d.contact = a.contact
		d.confirmed = true
		a.u.setRemoteTag(a.sub.callID, d.remoteTag)
	} else if n.contact != nil {
		d.remoteTarget = n.contact.String()
	}
	a.slot(tmTimerN).stop()
	e := ss.Event()
	o := Outcome{}
	if ss.RetryAfter > 0 {
		o.RetryAfter = ss.RetryAfter
	}
	a.notifyExp = -1
	if e == EvNotify && ss.Expires >= 0 {
		// Subscription-State expires= reschedules the refresh, shorter or
		// longer; 0 is "the server will not keep it": a failure.
		if ss.Expires == 0 {
			e = EvTerminatedNow
			ss.Reason = "active with expires=0"
		} else {
			a.notifyExp = ss.Expires
			a.sub.granted = clampGrant(ss.Expires)
			d.notifyGrant = true
		}
	}
	if e != EvNotify {
		a.setStatus("notify", 0, "terminated;reason="+orText(ss.Reason, "none"))
	}
	if n.mailbox == nil {
		a.setStatus("notify", 400, "unusable message-summary body (state kept)")
	}
	a.pendingMB = n.mailbox
	if e != EvNotify && n.mailbox != nil && n.mailbox.Waiting == state.WaitingUnknown {
		// A terminating NOTIFY without a body (Kamailio's reason=timeout)
		// says nothing about the mailbox: keep what we know while we
		// subscribe again.
		a.pendingMB = nil
	}
	a.subEvent(e, o)
	a.notifyExp = -1
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- sending ---------------------------------------------------------------

// transact hands a transaction to runTx (the fake server's exec in the
// property tests: UA.exec).
func (a *account) transact(t txReq) {
	a.inFlight++
	t.at = a.u.opts.Clock.Now()
	if !t.stopping {
		t.at = a.budget.reserve(t.at)
	}
	if !t.at.After(a.u.opts.Clock.Now()) {
		t.at = time.Time{}
	} else {
		a.log().Info("sipua: request budget spent, request delayed", "method", t.req.Method, "until", t.at)
	}
	if a.u.exec != nil {
		a.u.exec(a, t)
		return
	}
	a.runTx(t)
}

// runTx runs one transaction off the pool — on one of its server's
// MaxInFlight goroutines, once a slot is free and the rate allows (it may
// wait there, and for the answer up to 32 s) — and posts the result to the
// worker. For TCP/TLS the Contact is the connection's local address,
// known only once it is connected. A request that has to wait for a slot
// (or for the account's budget) waits parked as its wire text (park).
func (a *account) runTx(t txReq) {
	req := t.req
	t.req = nil // the closures below get the request as an argument
	client := a.u.client[a.network]
	parent := context.Background()
	var cancel context.CancelFunc = func() {}
	if t.stopping { // the bound counts from now, waiting for a slot included
		parent, cancel = context.WithTimeout(parent, a.u.opts.StopTimeout)
	}
	// The worker may move to another target, even over another transport
	// (failover.go): this transaction keeps the ones it was built for.
	dest, network := a.dest, a.network
	gate := a.joinGate(dest)
	throttled := false // the request waited for a slot or the rate (counted once)
	waited := func() {
		if !throttled {
			throttled = true
			a.u.observeThrottled(a.cfg.Name)
		}
	}
	job := func(req *sip.Request, perr error) { // on a slot of the server (governor.go: submit)
		defer cancel()
		ctx, done := a.txContext(parent)
		defer done()
		r := txResult{leg: t.leg, gen: t.gen, fresh: t.fresh, contact: t.contact, err: perr}
		if r.err == nil {
			r.err = ctx.Err()
		}
		if r.err == nil {
			r.err = gate.rateWait(ctx, a.u.opts.Clock, waited)
		}
		if r.err != nil {
			a.post(r)
			return
		}
		if t.timeout > 0 {
			var cancelT context.CancelFunc
			ctx, cancelT = context.WithTimeout(ctx, t.timeout)
			defer cancelT()
		}
		if network != "udp" {
			if err := a.streamContact(ctx, req, &r.contact); err != nil {
				r.err = err
				a.post(r)
				return
			}
		}
		addContact(req, network, r.contact)
		r.res, r.err = client.Do(ctx, req, sipgo.ClientRequestBuild)
		a.u.observeAnswer(a.cfg.Name, string(req.Method), r.res, r.err, a.u.opts.Clock.Now())
		a.post(r)
	}
	if d := t.at.Sub(a.u.opts.Clock.Now()); !t.at.IsZero() && d > 0 {
		// Over the account's budget: queued for the server when it is due
		// (a timer, not a waiting goroutine).
		p := park(req)
		a.u.opts.Clock.AfterFunc(d, func() { gate.submit(p.job(job), waited) })
		return
	}
	if gate.start(func() { job(req, nil) }) {
		return
	}
	p := park(req)
	gate.submit(p.job(job), waited)
}

// parked is a request waiting for its server: its wire text, about a
// quarter of sipgo's parsed form (a 1,000-account start-up queues a
// request per account behind its server's MaxInFlight slots), and what
// the text does not carry.
type parked struct {
	text      []byte
	transport string
	dest      string
}

func park(req *sip.Request) parked {
	b := parkBuf.Get().(*bytes.Buffer)
	b.Reset()
	req.StringWrite(b)
	p := parked{text: bytes.Clone(b.Bytes()), transport: req.Transport(), dest: req.Destination()}
	parkBuf.Put(b)
	return p
}

// parkBuf: park writes the text here first, so that what it keeps is one
// allocation of the text's size (req.String grows a builder step by step).
var parkBuf = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// request is the parked request as sipgo's object again.
func (p parked) request() (*sip.Request, error) {
	m, err := sip.ParseMessage(p.text)
	if err != nil {
		return nil, fmt.Errorf("sipua: parked request: %w", err)
	}
	req, ok := m.(*sip.Request)
	if !ok {
		return nil, errors.New("sipua: parked request parses as a response")
	}
	req.SetTransport(p.transport)
	if p.dest != "" {
		req.SetDestination(p.dest)
	}
	return req, nil
}

// job is a queued job that runs run with the request unparked.
func (p parked) job(run func(*sip.Request, error)) func() {
	return func() { run(p.request()) }
}

// joinGate is the server gate for dest; the account joins it at its first
// request there, bringing its start-up share of the rate the first time
// it joins any server (governor.go).
func (a *account) joinGate(dest string) *serverGate {
	g := a.u.serverGate(a.network, dest)
	if g != a.srv {
		if a.srv != nil {
			a.srv.leave()
		}
		g.join(a.srv == nil)
		a.srv = g
	}
	return g
}

// leaveGate leaves the server gate (the account stops).
func (a *account) leaveGate() {
	if a.srv != nil {
		a.srv.leave()
		a.srv = nil
	}
}

func (a *account) post(r txResult) { a.enqueue(r) }

// streamContact connects (or reuses the connection) and takes its local
// address as our Contact.
func (a *account) streamContact(ctx context.Context, req *sip.Request, contact *sip.Uri) error {
	conn, err := a.u.sua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		return err
	}
	defer conn.TryClose()
	a.setFlow(conn)
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil {
		return err
	}
	*contact = sip.Uri{Scheme: "sip", User: a.cfg.AOR.User, Host: ap.Addr().Unmap().String(), Port: int(ap.Port())}
	return nil
}

// keepalive sends a CRLF keepalive (RFC 5626 section 4.4.1 style) to the
// server from the socket the account uses.
func (a *account) keepalive() {
	aps, ok := a.destAddrs() // from the cache: no DNS on the worker
	if !ok {
		return
	}
	if a.network == "udp" {
		if _, err := a.u.udp.WriteTo([]byte("\r\n\r\n"), net.UDPAddrFromAddrPort(aps[0])); err != nil {
			a.log().Debug("sipua: keepalive", "err", err)
		}
		return
	}
	conn, err := a.u.sua.TransportLayer().GetConnection(a.network, aps[0].String())
	if err != nil || conn == nil {
		// The connection is gone (server restart, NAT timeout): the server
		// cannot reach us until we connect again, so do it now.
		a.reconnect("connection lost")
		return
	}
	if w, ok := conn.(io.Writer); ok {
		// Off the worker: a write to a half-open connection whose send
		// buffer is full blocks (the liveness ping finds such a flow).
		go func() {
			if _, err := w.Write([]byte("\r\n\r\n")); err != nil {
				a.log().Debug("sipua: keepalive", "err", err)
			}
		}()
	}
}

// ---- reporting -------------------------------------------------------------

func (a *account) setOutcome(what string, o Outcome) {
	r := o.Reason
	if o.Status != 0 {
		r = strconv.Itoa(o.Status) + " " + o.Reason
	}
	a.setStatus(what, o.Status, r)
}

func (a *account) setStatus(what string, status int, reason string) {
	r := what + ": " + reason
	if status != a.status || r != a.reason {
		a.status, a.reason, a.dirty = status, r, true
	}
}

// report sends an update when health, status or reason changed, or when
// there is mailbox information.
func (a *account) report(mb *Mailbox) {
	a.gv.subActive.Store(a.sub.state == SubActive || a.sub.state == SubRefreshing)
	h := health(a.cfg.Register, a.cfg.Subscribe, a.reg.state, a.sub.state, a.stale || a.unsolicitedStale(), a.unreachable, a.health)
	if a.started && mb == nil && h == a.health && !a.dirty {
		return
	}
	a.started = true
	a.health = h
	a.dirty = false
	a.u.opts.OnUpdate(Update{Account: a.cfg.Name, Health: h, LastStatus: a.status, LastReason: a.reason, Mailbox: mb, At: a.u.opts.Clock.Now()})
}
