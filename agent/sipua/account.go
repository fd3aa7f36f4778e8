package sipua

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// account is one account's worker: it owns the registration and the
// subscription state machines and every piece of SIP state they need.
// Nothing here is touched by another goroutine except through a.in.
type account struct {
	u     *UA
	cfg   AccountConfig
	log   *slog.Logger
	clock Clock

	in       chan any // *notifyIn, txResult
	killc    chan struct{}
	killOnce sync.Once
	txCtx    context.Context
	txCancel context.CancelFunc

	aor, mailbox, registrar sip.Uri
	dest                    string // host:port for out-of-dialog requests
	network                 string // udp, tcp, tls
	allowed                 []netip.Prefix

	contact    sip.Uri // what we currently believe our Contact is (UDP)
	regContact sip.Uri // Contact of the last successful REGISTER

	reg          RegState
	regCallID    string
	regTag       string
	regCSeq      uint32
	regAuth      authState
	regExpiry    time.Duration // requested
	regGranted   time.Duration
	regAttempts  int
	regGen       int
	regStaleRuns int
	regTimer     timerSlot

	sub          SubState
	dlg          dialog
	subAuth      authState
	subExpiry    time.Duration
	subGranted   time.Duration
	subAttempts  int
	subGen       int
	subStaleRuns int
	subTimer     timerSlot
	timerN       timerSlot
	lapse        timerSlot
	pendingMB    *Mailbox

	keep     timerSlot
	stopT    timerSlot
	stale    bool
	health   state.Health
	status   int
	reason   string
	started  bool
	lastSent [2]any

	gv gateView

	unreachable bool // the server's prober says it does not answer
	flowLost    bool // the prober closed our dead TCP/TLS connection
}

// dialog is the subscription dialog (RFC 6665 / RFC 3261 section 12).
type dialog struct {
	callID, localTag, remoteTag string
	remoteTarget                sip.Uri
	routeSet                    []sip.Uri
	localCSeq                   uint32
	remoteCSeq                  uint32
	haveRemoteCSeq              bool
	confirmed                   bool
	contact                     sip.Uri // our Contact when it was created
}

// finalNotifyWait is how long an answered un-SUBSCRIBE waits for the
// notifier's final NOTIFY, so that it is answered 200 rather than 481.
const finalNotifyWait = 500 * time.Millisecond

type txResult struct {
	sub     bool
	gen     int
	fresh   bool
	res     *sip.Response
	err     error
	contact sip.Uri
}

func newAccount(u *UA, cfg AccountConfig) (*account, error) {
	a := &account{
		u: u, cfg: cfg, clock: u.opts.Clock,
		log:   u.log.With("account", cfg.Name),
		in:    make(chan any, 16),
		killc: make(chan struct{}),
	}
	if err := sip.ParseUri(cfg.AOR, &a.aor); err != nil {
		return nil, fmt.Errorf("sipua: account %s: aor %q: %w", cfg.Name, cfg.AOR, err)
	}
	mb := cfg.Mailbox
	if mb == "" {
		mb = cfg.AOR
	}
	if err := sip.ParseUri(mb, &a.mailbox); err != nil {
		return nil, fmt.Errorf("sipua: account %s: mailbox %q: %w", cfg.Name, mb, err)
	}
	a.registrar = sip.Uri{Scheme: a.aor.Scheme, Host: a.aor.Host, Port: a.aor.Port}
	if a.cfg.Username == "" {
		a.cfg.Username = a.aor.User
	}
	a.network = strings.ToLower(cfg.Transport)
	if a.network == "" {
		a.network = "udp"
	}
	if _, ok := u.client[a.network]; !ok {
		return nil, fmt.Errorf("sipua: account %s: transport %s: no %s listener", cfg.Name, a.network, a.network)
	}
	a.dest = cfg.Server
	if cfg.Proxy != "" {
		a.dest = cfg.Proxy
	}
	if a.dest == "" {
		a.dest = net.JoinHostPort(a.aor.Host, strconv.Itoa(int(sip.DefaultPort(a.network))))
	}
	if _, _, err := net.SplitHostPort(a.dest); err != nil {
		a.dest = net.JoinHostPort(a.dest, strconv.Itoa(int(sip.DefaultPort(a.network))))
	}
	allowed, err := parsePrefixes(cfg.UnsolicitedFrom)
	if err != nil {
		return nil, err
	}
	a.allowed = allowed
	a.regExpiry = orDefault(cfg.RegisterExpiry, 3600*time.Second)
	a.subExpiry = orDefault(cfg.SubscribeExpiry, 3600*time.Second)
	a.regCallID = uuid.NewString()
	a.regTag = sip.GenerateTagN(16)
	a.regCSeq = uint32(time.Now().UnixNano()%30000) + 1
	a.health = state.HealthDisabled
	a.gv.unsolBudget = tokenBucket{rate: u.opts.UnsolicitedRate, burst: max(unsolicitedBurst, 5*u.opts.UnsolicitedRate)}
	a.u.dns.get(hostOf(a.dest)) // start resolving now, off this goroutine
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// users are the names an unsolicited NOTIFY may be addressed to.
func (a *account) users() []string {
	out := []string{a.aor.User}
	if a.mailbox.User != "" && a.mailbox.User != a.aor.User {
		out = append(out, a.mailbox.User)
	}
	return out
}

func (a *account) kill() { a.killOnce.Do(func() { close(a.killc) }) }

func (a *account) run(ctx context.Context) {
	a.txCtx, a.txCancel = context.WithCancel(context.Background())
	defer a.txCancel()
	defer a.stopTimers()
	unwatch := a.u.watchServer(a, func(ev liveEvent) {
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case a.in <- ev:
		case <-a.killc:
		case <-t.C:
		}
	})
	defer unwatch()
	a.report(nil)
	switch {
	case a.cfg.Register:
		a.regEvent(EvStart, Outcome{})
	case a.cfg.Subscribe:
		a.subEvent(EvStart, Outcome{})
	}
	if !a.cfg.Register {
		a.reg = RegStopped
	}
	if !a.cfg.Subscribe {
		a.sub = SubStopped
	}
	if a.u.opts.Keepalive > 0 {
		a.keep.arm(a.clock, a.u.opts.Keepalive)
	}
	done := ctx.Done()
	stopping := false
	for {
		if stopping && a.reg == RegStopped && a.sub == SubStopped {
			return
		}
		select {
		case <-done:
			done, stopping = nil, true
			a.stopT.arm(a.clock, a.u.opts.StopTimeout)
			a.keep.stop()
			a.subEvent(EvStop, Outcome{})
			a.regEvent(EvStop, Outcome{})
		case <-a.killc:
			return
		case m := <-a.in:
			switch m := m.(type) {
			case txResult:
				if m.sub {
					a.onSubResult(m)
				} else {
					a.onRegResult(m)
				}
			case *notifyIn:
				a.onNotify(m)
			case retryNow:
				a.retry()
			case liveEvent:
				a.onLive(m)
			}
		case <-a.regTimer.c():
			a.regTimer.t = nil
			a.regEvent(EvTimer, Outcome{})
		case <-a.subTimer.c():
			a.subTimer.t = nil
			a.subEvent(EvTimer, Outcome{})
		case <-a.timerN.c():
			a.timerN.t = nil
			a.setStatus("subscribe", 0, "no NOTIFY within Timer N")
			a.subEvent(EvTimerN, Outcome{})
		case <-a.lapse.c():
			a.lapse.t = nil
			a.subEvent(EvLapse, Outcome{})
		case <-a.gv.unsolT.c():
			a.gv.unsolT.t = nil
			a.gv.unsolOld = true
			a.log.Warn("sipua: no unsolicited NOTIFY confirmed the mailbox state within unsolicited_horizon; it is stale", "horizon", a.cfg.UnsolicitedHorizon)
			a.report(nil)
		case <-a.keep.c():
			a.keepalive()
			a.keep.arm(a.clock, a.u.opts.Keepalive)
		case <-a.stopT.c():
			a.stopT.t = nil
			a.subEvent(EvStopDone, Outcome{})
			a.regEvent(EvStopDone, Outcome{})
			a.reg, a.sub = RegStopped, SubStopped
		}
	}
}

// retryNow asks a worker to retry at once what it gave up on for a long
// time (refused, rejected, auth failed): a configuration reload.
type retryNow struct{}

func (a *account) retry() {
	switch a.reg {
	case RegRefused, RegAuthFailed:
		a.regTimer.stop()
		a.regEvent(EvTimer, Outcome{})
	}
	switch a.sub {
	case SubRejected, SubAuthFailed:
		a.subTimer.stop()
		a.subEvent(EvTimer, Outcome{})
	}
}

func (a *account) stopTimers() {
	for _, t := range []*timerSlot{&a.regTimer, &a.subTimer, &a.timerN, &a.lapse, &a.keep, &a.stopT, &a.gv.unsolT} {
		t.stop()
	}
}

// ---- registration ----------------------------------------------------------

func (a *account) regEvent(e Event, o Outcome) {
	prev := a.reg
	next, actions := NextReg(a.reg, e)
	a.reg = next
	if prev != next || len(actions) > 0 {
		a.log.Debug("sipua: registration", "from", prev, "event", e, "to", next, "actions", actions)
	}
	for _, act := range actions {
		switch act {
		case ActSend:
			a.sendRegister(false, a.regExpiry)
		case ActSendAuth:
			exp := a.regExpiry
			if a.reg == RegUnregistering {
				exp = 0
			}
			a.sendRegister(true, exp)
		case ActUseMinExpires:
			a.regExpiry = o.MinExpires
		case ActRefreshTimer:
			a.regTimer.arm(a.clock, RefreshDelay(a.regGranted))
		case ActBackoffTimer:
			a.regTimer.arm(a.clock, a.u.opts.Backoff.Delay(a.regAttempts, o.RetryAfter, nil))
		case ActSlowTimer:
			a.regTimer.arm(a.clock, max(a.u.opts.SlowRetry, o.RetryAfter))
		case ActLongTimer:
			a.regTimer.arm(a.clock, max(a.u.opts.LongRetry, o.RetryAfter))
		case ActResetAttempts:
			a.regAttempts = 0
		case ActCountAttempt:
			a.regAttempts++
		case ActSendStop:
			a.regTimer.stop()
			a.sendRegister(false, 0)
		case ActDone:
			a.regTimer.stop()
		case ActSignalRegistered:
			a.onRegistered()
		}
	}
	a.report(nil)
}

func (a *account) onRegistered() {
	switch {
	case !a.cfg.Subscribe:
	case a.sub == SubIdle:
		a.subEvent(EvStart, Outcome{})
	case a.dlg.confirmed && a.dlg.contact.Host != "" && !sameHostPort(a.dlg.contact, a.regContact):
		a.log.Info("sipua: contact changed, subscribing again", "old", a.dlg.contact.HostPort(), "new", a.regContact.HostPort())
		a.subEvent(EvContactChanged, Outcome{})
	}
}

func (a *account) onRegResult(r txResult) {
	if r.gen != a.regGen {
		return
	}
	o := Classify(r.res, r.err, r.fresh)
	o = a.challenge(&a.regAuth, &a.regStaleRuns, r, o)
	changed := false
	if o.Event == EvOK {
		a.regContact = r.contact
		a.regGranted = a.grantedRegistration(r.res, o, r.contact)
		changed = a.learnVia(r.res)
		if a.reg == RegUnregistering {
			a.log.Info("sipua: unregistered")
		} else if a.regGranted == 0 {
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
}

// challenge learns a 401/407's challenge; a challenge we cannot answer is
// a refusal; three stale challenges in a row count as auth failed.
func (a *account) challenge(as *authState, staleRuns *int, r txResult, o Outcome) Outcome {
	switch o.Event {
	case EvChallenge, EvChallengeStale:
		if err := as.learn(r.res); err != nil {
			o.Event, o.Reason = EvRefused, err.Error()
			return o
		}
		if o.Event == EvChallengeStale {
			*staleRuns++
			if *staleRuns > 3 {
				o.Event = EvChallengeRepeat
			}
		} else {
			*staleRuns = 0
		}
	case EvChallengeRepeat:
		*staleRuns = 0
		o.Reason += ": credentials refused"
	default:
		*staleRuns = 0
	}
	return o
}

// grantedRegistration: our Contact's expires parameter in the 2xx, else the
// Expires header, else what we asked for.
func (a *account) grantedRegistration(res *sip.Response, o Outcome, ours sip.Uri) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || !sameHostPort(c.Address, ours) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if o.Expires >= 0 {
		return o.Expires
	}
	return a.regExpiry
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
	if r, ok := v.Params.Get("received"); ok && r != "" {
		host = r
	}
	if r, ok := v.Params.Get("rport"); ok && r != "" {
		if p, err := strconv.Atoi(r); err == nil {
			port = p
		}
	}
	if host == a.contact.Host && port == a.contact.Port {
		return false
	}
	a.log.Info("sipua: server sees us at another address", "contact", a.contact.HostPort(), "seen", net.JoinHostPort(host, strconv.Itoa(port)))
	a.contact.Host, a.contact.Port = host, port
	return true
}

func sameHostPort(x, y sip.Uri) bool {
	return strings.EqualFold(strings.Trim(x.Host, "[]"), strings.Trim(y.Host, "[]")) && x.Port == y.Port
}

func (a *account) sendRegister(fresh bool, expires time.Duration) {
	req := sip.NewRequest(sip.REGISTER, a.registrar)
	a.regCSeq++
	contact := a.contact
	if a.reg == RegUnregistering && a.regContact.Host != "" {
		contact = a.regContact
	}
	a.baseHeaders(req, sip.Uri{Scheme: a.aor.Scheme, User: a.aor.User, Host: a.aor.Host, Port: a.aor.Port}, a.regTag, "", a.regCallID, a.regCSeq)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.SetDestination(a.dest)
	if err := a.regAuth.apply(req, a.cfg.Username, a.cfg.Password); err != nil {
		a.log.Warn("sipua: register", "err", err)
	}
	a.regGen++
	a.transact(false, a.regGen, fresh, req, contact, expires == 0)
}

// ---- subscription ----------------------------------------------------------

func (a *account) subEvent(e Event, o Outcome) {
	var follow []Event
	prev := a.sub
	next, actions := NextSub(a.sub, e)
	a.sub = next
	if prev != next || len(actions) > 0 {
		a.log.Debug("sipua: subscription", "from", prev, "event", e, "to", next, "actions", actions)
	}
	for _, act := range actions {
		switch act {
		case ActNewDialog:
			a.newDialog()
		case ActSend:
			a.sendSubscribe(false, a.subExpiry)
		case ActSendAuth:
			exp := a.subExpiry
			if a.sub == SubUnsubscribing {
				exp = 0
			}
			a.sendSubscribe(true, exp)
		case ActUseMinExpires:
			a.subExpiry = o.MinExpires
		case ActRefreshTimer:
			a.subTimer.arm(a.clock, a.subRefreshDelay())
		case ActLapseTimer:
			a.lapse.arm(a.clock, a.subGranted)
		case ActTimerN:
			a.timerN.arm(a.clock, a.u.opts.TimerN)
		case ActBackoffTimer:
			a.subTimer.arm(a.clock, a.u.opts.Backoff.Delay(a.subAttempts, o.RetryAfter, nil))
		case ActSlowTimer:
			a.subTimer.arm(a.clock, max(a.u.opts.SlowRetry, o.RetryAfter))
		case ActLongTimer:
			a.subTimer.arm(a.clock, max(a.u.opts.LongRetry, o.RetryAfter))
		case ActResetAttempts:
			a.subAttempts = 0
		case ActCountAttempt:
			a.subAttempts++
		case ActMailbox:
			if mb := a.pendingMB; mb != nil {
				a.pendingMB = nil
				a.stale = false
				a.report(mb)
			}
		case ActStale:
			if !a.stale {
				a.stale = true
				a.log.Warn("sipua: subscription lapsed; mailbox state is stale")
			}
		case ActForget:
			a.stale = false
			a.report(&Mailbox{Waiting: state.WaitingUnknown, Source: state.SourceSubscribed})
		case ActSendStop:
			a.subTimer.stop()
			a.timerN.stop()
			a.lapse.stop()
			if a.dlg.confirmed {
				a.sendSubscribe(false, 0)
			} else {
				follow = append(follow, EvStopDone)
			}
		case ActFinalWait:
			a.subTimer.arm(a.clock, finalNotifyWait)
		case ActDone:
			a.subTimer.stop()
			a.timerN.stop()
			a.lapse.stop()
		}
	}
	a.pendingMB = nil
	a.report(nil)
	for _, f := range follow {
		a.subEvent(f, Outcome{})
	}
}

func (a *account) newDialog() {
	if a.dlg.callID != "" {
		a.u.removeDialog(a.dlg.callID)
	}
	a.subTimer.stop()
	a.timerN.stop()
	a.dlg = dialog{
		callID:    uuid.NewString(),
		localTag:  sip.GenerateTagN(16),
		localCSeq: uint32(time.Now().UnixNano()%30000) + 1,
	}
	a.u.addDialog(a.dlg.callID, &dialogRoute{acct: a, localTag: a.dlg.localTag})
}

func (a *account) sendSubscribe(fresh bool, expires time.Duration) {
	d := &a.dlg
	d.localCSeq++
	var req *sip.Request
	to := sip.Uri{Scheme: a.mailbox.Scheme, User: a.mailbox.User, Host: a.mailbox.Host, Port: a.mailbox.Port}
	if d.confirmed {
		req = sip.NewRequest(sip.SUBSCRIBE, d.remoteTarget)
		a.baseHeaders(req, to, d.localTag, d.remoteTag, d.callID, d.localCSeq)
		for _, r := range d.routeSet {
			req.AppendHeader(&sip.RouteHeader{Address: r})
		}
		if len(d.routeSet) == 0 && a.cfg.Proxy != "" {
			req.SetDestination(a.dest)
		}
	} else {
		req = sip.NewRequest(sip.SUBSCRIBE, a.mailbox)
		a.baseHeaders(req, to, d.localTag, "", d.callID, d.localCSeq)
		req.SetDestination(a.dest)
	}
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Accept", "application/simple-message-summary"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	a.subAuth.seedFrom(&a.regAuth, "SUBSCRIBE")
	if err := a.subAuth.apply(req, a.cfg.Username, a.cfg.Password); err != nil {
		a.log.Warn("sipua: subscribe", "err", err)
	}
	a.subGen++
	a.transact(true, a.subGen, fresh, req, a.contact, expires == 0)
}

func (a *account) onSubResult(r txResult) {
	if r.gen != a.subGen {
		return
	}
	o := Classify(r.res, r.err, r.fresh)
	o = a.challenge(&a.subAuth, &a.subStaleRuns, r, o)
	if o.Event == EvOK && a.sub != SubUnsubscribing {
		d := &a.dlg
		d.contact = r.contact
		if !d.confirmed {
			if h := r.res.To(); h != nil {
				d.remoteTag, _ = h.Params.Get("tag")
			}
			if h := r.res.Contact(); h != nil {
				d.remoteTarget = h.Address
			} else {
				d.remoteTarget = a.mailbox
			}
			rr := r.res.GetHeaders("Record-Route")
			d.routeSet = nil
			for i := len(rr) - 1; i >= 0; i-- {
				if h, ok := rr[i].(*sip.RecordRouteHeader); ok {
					d.routeSet = append(d.routeSet, h.Address)
				}
			}
			d.confirmed = true
			a.u.setRemoteTag(d.callID, d.remoteTag)
		}
		a.subGranted = a.subExpiry
		if o.Expires >= 0 {
			a.subGranted = o.Expires
		}
		if a.subGranted == 0 {
			o.Event, o.Reason = EvTerminatedNow, "subscription granted 0 s"
		}
	}
	a.setOutcome("subscribe", o)
	a.subEvent(o.Event, o)
}

// onNotify applies a NOTIFY and answers it: 2xx only once it is applied
// (or known to be superseded by what is), 481 for a dialog that is not
// ours, 400 for an unusable body.
func (a *account) onNotify(n *notifyIn) {
	if !n.claim() {
		return // its handler gave up waiting and answered 500: the server resends
	}
	if n.unsolicited {
		if n.seq != 0 && n.seq <= a.gv.unsolSeq {
			a.log.Debug("sipua: unsolicited NOTIFY overtaken by a later one; not applied", "seq", n.seq, "applied", a.gv.unsolSeq)
			n.reply(200, "OK")
			return
		}
		if n.seq != 0 {
			a.gv.unsolSeq = n.seq
		}
		a.gv.unsolAt = a.clock.Now()
		a.gv.unsolOld = false
		if a.cfg.UnsolicitedHorizon > 0 {
			a.gv.unsolT.arm(a.clock, a.cfg.UnsolicitedHorizon)
		}
		a.log.Debug("sipua: unsolicited NOTIFY")
		a.report(n.mailbox)
		n.reply(200, "OK")
		return
	}
	d := &a.dlg
	a.log.Debug("sipua: NOTIFY", "state", n.subState.State, "reason", n.subState.Reason, "cseq", n.cseq, "usable", n.mailbox != nil, "current", n.callID == d.callID)
	if n.callID != d.callID || (d.confirmed && n.fromTag != d.remoteTag) {
		n.reply(refusalCode, refusalReason) // a dialog we left, or not the notifier
		return
	}
	if n.mailbox == nil {
		defer n.reply(400, "Bad Request (unusable message-summary body)")
	} else {
		defer n.reply(200, "OK")
	}
	if d.haveRemoteCSeq && n.cseq <= d.remoteCSeq {
		a.log.Debug("sipua: old NOTIFY ignored", "cseq", n.cseq, "last", d.remoteCSeq)
		return
	}
	d.remoteCSeq, d.haveRemoteCSeq = n.cseq, true
	if !d.confirmed { // NOTIFY before the 2xx: it creates the dialog
		d.remoteTag = n.fromTag
		if n.contact != nil {
			d.remoteTarget = *n.contact
		} else {
			d.remoteTarget = a.mailbox
		}
		d.routeSet = n.recordRoute
		d.contact = a.contact
		d.confirmed = true
		a.u.setRemoteTag(d.callID, d.remoteTag)
	} else if n.contact != nil {
		d.remoteTarget = *n.contact
	}
	a.timerN.stop()
	ss := n.subState
	e := ss.Event()
	o := Outcome{}
	if ss.RetryAfter > 0 {
		o.RetryAfter = ss.RetryAfter
	}
	if e == EvNotify && a.sub == SubSending {
		a.subGranted = a.subExpiry
		if ss.Expires > 0 {
			a.subGranted = ss.Expires
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
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- sending ---------------------------------------------------------------

// baseHeaders adds Via (fresh branch), From, To, Call-ID, CSeq,
// Max-Forwards, User-Agent. Contact is added in transact once the local
// address is known.
func (a *account) baseHeaders(req *sip.Request, to sip.Uri, fromTag, toTag, callID string, cseq uint32) {
	tp := strings.ToUpper(a.network)
	req.SetTransport(tp)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	if a.network == "udp" {
		a.ensureUDPContact()
		via.Host, via.Port = a.contact.Host, a.contact.Port
	}
	req.AppendHeader(via)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: a.aor.Scheme, User: a.aor.User, Host: a.aor.Host, Port: a.aor.Port}, Params: sip.NewParams()}
	from.Params.Add("tag", fromTag)
	req.AppendHeader(from)
	toH := &sip.ToHeader{Address: to, Params: sip.NewParams()}
	if toTag != "" {
		toH.Params.Add("tag", toTag)
	}
	req.AppendHeader(toH)
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: req.Method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("User-Agent", a.u.opts.UserAgent))
}

// ensureUDPContact picks the Contact address for UDP: the listener's
// address, with the local IP toward the server when it listens on any.
func (a *account) ensureUDPContact() {
	if a.contact.Host != "" {
		return
	}
	la := a.u.udp.LocalAddr().(*net.UDPAddr)
	ip := la.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
		if c, err := net.Dial("udp", a.dest); err == nil {
			ip = c.LocalAddr().(*net.UDPAddr).IP
			c.Close()
		}
	}
	a.contact = sip.Uri{Scheme: "sip", User: a.aor.User, Host: ip.String(), Port: la.Port}
}

// transact runs one transaction on its own goroutine and posts the result
// to the worker. For TCP/TLS the Contact is the connection's local address,
// known only once it is connected.
func (a *account) transact(sub bool, gen int, fresh bool, req *sip.Request, contact sip.Uri, stopping bool) {
	client := a.u.client[a.network]
	ctx := a.txCtx
	var cancel context.CancelFunc = func() {}
	if stopping {
		ctx, cancel = context.WithTimeout(ctx, a.u.opts.StopTimeout)
	}
	go func() {
		defer cancel()
		select {
		case a.u.slots <- struct{}{}:
			defer func() { <-a.u.slots }()
		case <-ctx.Done():
			a.post(txResult{sub: sub, gen: gen, fresh: fresh, err: ctx.Err(), contact: contact})
			return
		}
		if a.network != "udp" {
			if err := a.streamContact(ctx, req, &contact); err != nil {
				a.post(txResult{sub: sub, gen: gen, fresh: fresh, err: err, contact: contact})
				return
			}
		}
		ch := &sip.ContactHeader{Address: contact}
		if a.network != "udp" {
			ch.Address.UriParams = sip.NewParams()
			ch.Address.UriParams.Add("transport", a.network)
		}
		req.AppendHeader(ch)
		req.SetBody(nil)
		res, err := client.Do(ctx, req, sipgo.ClientRequestBuild)
		a.post(txResult{sub: sub, gen: gen, fresh: fresh, res: res, err: err, contact: contact})
	}()
}

func (a *account) post(r txResult) {
	select {
	case a.in <- r:
	case <-a.killc:
	case <-a.txCtx.Done():
	}
}

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
	*contact = sip.Uri{Scheme: "sip", User: a.aor.User, Host: ap.Addr().Unmap().String(), Port: int(ap.Port())}
	return nil
}

// keepalive sends a CRLF keepalive (RFC 5626 section 4.4.1 style) to the
// server from the socket the account uses.
func (a *account) keepalive() {
	if a.network == "udp" {
		ua, err := net.ResolveUDPAddr("udp", a.dest)
		if err == nil {
			_, err = a.u.udp.WriteTo([]byte("\r\n\r\n"), ua)
		}
		if err != nil {
			a.log.Debug("sipua: keepalive", "err", err)
		}
		return
	}
	ta, err := net.ResolveTCPAddr("tcp", a.dest)
	if err != nil {
		return
	}
	conn, err := a.u.sua.TransportLayer().GetConnection(a.network, ta.String())
	if err != nil || conn == nil {
		// The connection is gone (server restart, NAT timeout): the server
		// cannot reach us until we connect again, so do it now. The new
		// connection has a new local port: a new Contact, and the
		// subscription follows.
		switch {
		case a.cfg.Register && a.reg == RegRegistered:
			a.log.Info("sipua: connection lost, registering again")
			a.regEvent(EvContactChanged, Outcome{})
		case !a.cfg.Register && a.sub == SubActive:
			a.log.Info("sipua: connection lost, subscribing again")
			a.subEvent(EvContactChanged, Outcome{})
		}
		return
	}
	if w, ok := conn.(io.Writer); ok {
		if _, err := w.Write([]byte("\r\n\r\n")); err != nil {
			a.log.Debug("sipua: keepalive", "err", err)
		}
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
	a.status = status
	a.reason = what + ": " + reason
}

func (a *account) computeHealth() state.Health {
	if !a.cfg.Register && !a.cfg.Subscribe {
		return state.HealthDisabled
	}
	if a.unreachable {
		return state.HealthUnreachable
	}
	if a.stale || a.unsolicitedStale() {
		return state.HealthStale
	}
	if a.cfg.Register {
		switch a.reg {
		case RegAuthFailed:
			return state.HealthAuthFailed
		case RegBackoff:
			return state.HealthUnreachable
		case RegRefused:
			return state.HealthRejected
		}
	}
	if a.cfg.Subscribe {
		switch a.sub {
		case SubActive, SubRefreshing, SubUnsubscribing:
			return state.HealthSubscribed
		case SubBackoff:
			return state.HealthUnreachable
		case SubAuthFailed:
			return state.HealthAuthFailed
		case SubRejected:
			return state.HealthRejected
		case SubStopped:
			return a.health
		}
		if a.cfg.Register && (a.reg == RegSending || a.reg == RegIdle) {
			return state.HealthRegistering
		}
		return state.HealthSubscribing
	}
	switch a.reg {
	case RegRegistered, RegRefreshing, RegUnregistering:
		return state.HealthRegistered
	case RegStopped:
		return a.health
	}
	return state.HealthRegistering
}

// report sends an update when health, status or reason changed, or when
// there is mailbox information.
func (a *account) report(mb *Mailbox) {
	a.gv.subActive.Store(a.sub == SubActive || a.sub == SubRefreshing)
	h := a.computeHealth()
	if a.started && mb == nil && h == a.health && a.lastSent == [2]any{a.status, a.reason} {
		return
	}
	a.started = true
	a.health = h
	a.lastSent = [2]any{a.status, a.reason}
	a.u.opts.OnUpdate(Update{Account: a.cfg.Name, Health: h, LastStatus: a.status, LastReason: a.reason, Mailbox: mb, At: a.clock.Now()})
}
