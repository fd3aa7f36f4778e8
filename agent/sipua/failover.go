package sipua

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/sipua/locate"
)

// Server location and failover (RFC 3263). An account whose server (or
// outbound proxy) is a host name, not an IP address, locates it with
// package locate — NAPTR, SRV, A/AAAA, through Options.DNSServers — off
// the worker's goroutine, and sends to the first target. It moves to the
// next target when
//
//   - a REGISTER (or, for an account that does not register, a SUBSCRIBE
//     outside a dialog) times out, fails in the transport, or is answered
//     408 or 503; or
//   - the server's liveness prober says the target stopped answering;
//
// and then registers there at once; once registered, the subscription is
// made anew at the new target (a dialog belongs to the server that made
// it). When every target has failed, the usual backoff applies and the
// list is walked again from the top, re-resolved when its TTL ran out.
//
// Failback: the account stays where it moved to (no flapping while the
// preferred server restarts); at the first registration refresh at least
// Options.Failback (10 min) after the move it re-resolves and registers at
// the most preferred target again. If that fails, it fails over again.

// failbackAfter is the default Options.Failback.
const failbackAfter = 10 * time.Minute

// serverLoc is an account's located server: worker only.
type serverLoc struct {
	query    locate.Query
	targets  []locate.Target
	idx      int       // the target in use
	expires  time.Time // re-resolve after this
	inFlight bool      // a Locate is running
	done     bool      // located at least once (or gave up waiting)
	movedAt  time.Time // when it left the first target (zero: on it)
}

// located is a Locate's answer, posted to the worker.
type located struct {
	res locate.Result
	err error
}

func (l located) applyTo(a *account) { a.onLocated(l) }

// initLocate decides whether the account locates its server: only for a
// host name. portGiven: the configuration named a port (then A/AAAA only,
// no NAPTR/SRV, RFC 3263 section 4.2). auto: the configuration named no
// transport, so NAPTR (else SRV) chooses it, and the account uses each
// target's own (RFC 3263 section 4.1).
func (a *account) initLocate(portGiven, auto bool) {
	host, port, err := net.SplitHostPort(a.dest)
	if err != nil || a.u.locator == nil {
		return
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return // an IP literal: nothing to locate
	}
	q := locate.Query{Host: host, Transport: a.network, Secure: a.cfg.AOR.Secure && (a.network == "tls" || auto)}
	if auto {
		q.Transport = ""
	}
	if portGiven {
		q.Port, _ = strconv.Atoi(port)
	}
	a.loc = &serverLoc{query: q}
}

// startLocate runs Locate on its own goroutine; the answer comes back to
// the worker as a located input.
func (a *account) startLocate() {
	if a.loc == nil || a.loc.inFlight {
		return
	}
	a.loc.inFlight = true
	q, r := a.loc.query, a.u.locator
	go func() {
		tctx, done := a.txContext(context.Background())
		ctx, cancel := context.WithTimeout(tctx, resolveWait)
		res, err := r.Locate(ctx, q)
		cancel()
		done()
		a.enqueue(located{res, err})
	}()
}

// onLocated takes a new target list: the account stays on its current
// target if it is still listed, else goes to the first one.
func (a *account) onLocated(l located) {
	loc := a.loc
	loc.inFlight = false
	first := !loc.done
	loc.done = true
	if l.err != nil || len(l.res.Targets) == 0 {
		a.log().Warn("sipua: locating the server failed; using its name's addresses", "server", loc.query.Host, "err", l.err)
		loc.expires = a.u.opts.Clock.Now().Add(time.Minute)
		if first {
			a.rewatch()
			a.begin()
		}
		return
	}
	cur := ""
	if loc.idx < len(loc.targets) {
		cur = loc.targets[loc.idx].String()
	}
	loc.targets, loc.idx = a.usable(l.res.Targets), 0
	if len(loc.targets) == 0 {
		a.log().Warn("sipua: the server's targets all use a transport without a listener; using its name's addresses", "server", loc.query.Host, "targets", targetList(l.res.Targets))
		loc.expires = a.u.opts.Clock.Now().Add(time.Minute)
		if first {
			a.rewatch()
			a.begin()
		}
		return
	}
	for i, t := range loc.targets {
		if t.String() == cur {
			loc.idx = i
		}
	}
	aps := make([]netip.AddrPort, len(loc.targets))
	for i, t := range loc.targets {
		aps[i] = t.Addr
	}
	a.gv.targets.Store(&aps)
	loc.expires = a.u.opts.Clock.Now().Add(max(l.res.TTL, 30*time.Second))
	a.log().Info("sipua: server located", "server", loc.query.Host, "targets", targetList(loc.targets), "using", loc.targets[loc.idx].String())
	if first {
		a.dest = "" // so that setDest watches the located target's prober
	}
	a.setDest(loc.targets[loc.idx])
	if first {
		a.begin()
	}
}

func targetList(ts []locate.Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// destOf is where sipgo sends for a target: the address, except over TLS
// where the name is kept so that SNI and certificate verification use it.
func destOf(t locate.Target) string {
	if t.Transport == "tls" && t.Name != "" {
		return net.JoinHostPort(t.Name, strconv.Itoa(int(t.Addr.Port())))
	}
	return t.Addr.String()
}

// usable are the targets over a transport the user agent has: a target
// over UDP without a UDP listener is left out, with a log line.
func (a *account) usable(ts []locate.Target) []locate.Target {
	out := make([]locate.Target, 0, len(ts))
	for _, t := range ts {
		if _, ok := a.u.client[t.Transport]; ok {
			out = append(out, t)
		} else {
			a.log().Warn("sipua: server target skipped: no listener for its transport", "target", t.String())
		}
	}
	return out
}

// setDest makes t where requests go, over its transport, and changes
// which prober watches for us. A new transport (an account with
// transport auto whose targets differ, RFC 3263) starts with no Contact:
// UDP picks it toward the new target, TCP/TLS take the new connection's.
// The caller registers (or subscribes) again, so Contact and Via follow;
// the subscription is then made anew (followRegistration).
func (a *account) setDest(t locate.Target) {
	d, network := destOf(t), t.Transport
	if d == a.dest && network == a.network {
		return
	}
	if network != a.network {
		a.log().Info("sipua: the server target uses another transport", "from", a.network, "to", network)
		a.contact = hostPort{}
	}
	a.u.mu.Lock()
	a.dest, a.network = d, network
	a.u.mu.Unlock()
	a.gv.dest.Store(&d)
	a.rewatch()
	a.u.dns.get(hostOf(d))
}

// rewatch (re)subscribes the account to its current server's prober.
func (a *account) rewatch() {
	if a.unwatch != nil {
		a.unwatch()
	}
	if a.loc != nil && !a.loc.done {
		a.unwatch = func() {} // no prober for a name not located yet
		return
	}
	a.unwatch = a.u.watchServer(a, func(ev liveEvent) { a.enqueue(ev) })
}

// failoverWorthy: the target did not answer, or said it cannot serve.
func failoverWorthy(o Outcome) bool {
	return o.Event == EvTransient && (o.Status == 0 || o.Status == 408 || o.Status == 503)
}

// afterFailure is called with the outcome of a REGISTER (or of a
// SUBSCRIBE outside a dialog when the account does not register) after
// the leg took it. When the target failed and another one is left, the
// account moves there and sends again at once instead of backing off.
func (a *account) afterFailure(o Outcome) {
	loc := a.loc
	if loc == nil || !failoverWorthy(o) || a.stopping {
		return
	}
	if len(loc.targets) < 2 {
		return
	}
	if loc.idx+1 >= len(loc.targets) {
		// Every target failed: back off as usual and start again from
		// the top, with a fresh list if it is old.
		a.log().Warn("sipua: every server target failed; backing off", "targets", targetList(loc.targets))
		a.moveTo(0, "all failed", false)
		return
	}
	a.moveTo(loc.idx+1, o.Reason, true)
}

// failoverDown: the prober says the current target stopped answering.
func (a *account) failoverDown() {
	if loc := a.loc; loc != nil && len(loc.targets) > 1 && !a.stopping {
		a.moveTo((loc.idx+1)%len(loc.targets), "server does not answer", true)
	}
}

// moveTo makes target i current; with kick, the account registers (or
// subscribes) there at once.
func (a *account) moveTo(i int, why string, kick bool) {
	loc := a.loc
	from := loc.targets[loc.idx]
	loc.idx = i
	if i == 0 {
		loc.movedAt = time.Time{}
	} else {
		loc.movedAt = a.u.opts.Clock.Now()
	}
	if a.u.opts.Clock.Now().After(loc.expires) {
		a.startLocate()
	}
	a.log().Warn("sipua: failing over to the next server target", "from", from.String(), "to", loc.targets[i].String(), "why", why)
	a.setDest(loc.targets[i])
	a.unreachable = false
	// A nonce belongs to the server that issued it: no pre-emptive
	// answers with the old target's challenges (even in the same realm).
	a.reg.auth, a.sub.auth = authState{}, authState{}
	if !kick {
		return
	}
	a.reg.attempts, a.sub.attempts = 0, 0
	a.kick(legReg)
	a.report(nil)
}

// kick sends the account's first request at the current target now,
// whatever its leg is doing: an answer still outstanding from the old
// target is then ignored (the new request has a newer generation).
func (a *account) kick(k legKind) {
	if !a.cfg.Register || k == legSub {
		a.subEvent(EvContactChanged, Outcome{}) // a new dialog at the new target
		return
	}
	switch a.reg.state {
	case RegRegistered:
		a.regEvent(EvContactChanged, Outcome{})
	case RegBackoff:
		a.reg.timer.stop()
		a.regEvent(EvTimer, Outcome{})
	case RegSending, RegRefreshing:
		a.sendRegister(false, a.reg.expiry)
	}
}

// followRegistration: registered at a target the subscription's dialog
// was not made at: subscribe there anew.
func (a *account) followRegistration() bool {
	if a.loc == nil || !a.dlg.confirmed || a.dlg.dest == "" || a.dlg.dest == a.destKey() {
		return false
	}
	a.log().Info("sipua: registered at another server target, subscribing there", "old", a.dlg.dest, "new", a.destKey())
	a.subEvent(EvContactChanged, Outcome{})
	return true
}

// maybeFailback: at a registration refresh, long enough after a move,
// go back to the most preferred target.
func (a *account) maybeFailback() {
	loc := a.loc
	if loc == nil || loc.idx == 0 || loc.movedAt.IsZero() || a.reg.state != RegRegistered {
		return
	}
	if a.u.opts.Clock.Now().Sub(loc.movedAt) < a.u.opts.Failback {
		if a.u.opts.Clock.Now().After(loc.expires) {
			a.startLocate()
		}
		return
	}
	a.log().Info("sipua: failing back to the preferred server target", "to", loc.targets[0].String())
	a.moveTo(0, "failback", false)
}

// destKey names the current target with its transport: "tcp host:port".
func (a *account) destKey() string { return a.network + " " + a.dest }

// sharedNetwork is the current transport, for other goroutines (the
// worker changes it under u.mu).
func (a *account) sharedNetwork() string {
	a.u.mu.Lock()
	defer a.u.mu.Unlock()
	return a.network
}

// sharedDest is the current destination, for other goroutines.
func (a *account) sharedDest() string {
	if p := a.gv.dest.Load(); p != nil {
		return *p
	}
	return ""
}

// dnsResolver is a standard library resolver that asks the configured
// servers (in turn), or nil for the system's.
func dnsResolver(servers []string) *net.Resolver {
	var addrs []string
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		addrs = append(addrs, s)
	}
	if len(addrs) == 0 {
		return nil
	}
	var next atomic.Uint32
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addrs[int(next.Add(1)-1)%len(addrs)])
	}}
}
