package sipua

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// gateView is the part of an account that sipgo's goroutines and the
// gate read without asking the worker: set by the worker, read anywhere.
type gateView struct {
	subActive atomic.Bool                      // a subscription for the mailbox is active
	dest      atomic.Pointer[string]           // the worker's dest, for other goroutines (failover changes it)
	targets   atomic.Pointer[[]netip.AddrPort] // every located server target (failover.go)
	flow      atomic.Pointer[netip.AddrPort]   // TCP/TLS: the server end of the registration's connection
	unsol     *unsolState                      // an account that takes unsolicited NOTIFYs (set at its start, nil otherwise)
}

// unsolState is what an account that takes unsolicited NOTIFYs keeps
// about them.
type unsolState struct {
	budget  tokenBucket    // read by the gate's goroutines (locked)
	allowed []netip.Prefix // unsolicited_from
	seq     uint64         // worker only: arrival number of the last applied unsolicited NOTIFY
	at      time.Time      // worker only: when an unsolicited NOTIFY last confirmed the state
	old     bool           // worker only: tmUnsol fired
}

// unsolicitedRate and unsolicitedBurst bound the unsolicited NOTIFYs one
// account takes (a PBX sends one per change; more is a flood).
const (
	unsolicitedRate  = 2
	unsolicitedBurst = 10
)

// destAddrs are the resolved addresses requests go to (server or proxy),
// from the cache: never blocks.
func (a *account) destAddrs() ([]netip.AddrPort, bool) {
	aps, ok := a.u.dns.hostPortAddrs(a.sharedDest())
	// Every located target is one of the account's servers (failover.go):
	// its answers and NOTIFYs are expected too. The current one first.
	if ts := a.gv.targets.Load(); ts != nil {
		aps = append(aps[:len(aps):len(aps)], (*ts)...)
	}
	return aps, ok
}

// acceptsUnsolicited: this account takes an unsolicited NOTIFY that came
// over network from src. Only over the account's own transport; over UDP
// from the server's own address and port (or unsolicited_from), over TCP
// and TLS only on the registration's connection; and not while a
// subscription for the mailbox is active unless the account opted in.
func (a *account) acceptsUnsolicited(network, src string) bool {
	if !a.cfg.Unsolicited || network != a.sharedNetwork() {
		return false
	}
	if a.gv.subActive.Load() && !a.cfg.UnsolicitedAlways {
		return false
	}
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return false
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if network != "udp" {
		f := a.gv.flow.Load()
		return f != nil && *f == ap
	}
	if len(a.gv.unsol.allowed) > 0 { // unsolicited_from
		for _, p := range a.gv.unsol.allowed {
			if p.Contains(ap.Addr()) {
				return true
			}
		}
		return false
	}
	aps, _ := a.destAddrs()
	for _, x := range aps {
		if x == ap {
			return true
		}
	}
	return false
}

// setFlow records the server end of the connection a REGISTER used.
func (a *account) setFlow(conn any) {
	rc, ok := conn.(interface{ RemoteAddr() net.Addr })
	if !ok {
		return
	}
	if ap, ok := addrPortOf(rc.RemoteAddr()); ok {
		a.gv.flow.Store(&ap)
	}
}

func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// onLive: the server's prober says it answers again, or no longer does.
// Back: whatever backed off while it was away is retried now (a frozen
// server that had its refresh time out must not wait out a backoff), and
// a connection the prober closed is replaced by registering (or
// subscribing) anew over a new one.
func (a *account) onLive(ev liveEvent) {
	if ev.key != (serverKey{a.network, a.dest}) {
		// From the prober of a target the account moved away from: a
		// second "down" would otherwise move it on again, back to the
		// dead target (failover.go).
		a.log().Debug("sipua: liveness news about a server target left behind, ignored", "server", ev.key.dest, "transport", ev.key.network, "up", ev.up)
		return
	}
	a.flowLost = a.flowLost || ev.flowLost
	a.unreachable = !ev.up
	if !ev.up {
		a.failoverDown()
	}
	if ev.up {
		if a.reg.state == RegBackoff {
			a.reg.timer.stop()
			a.regEvent(EvTimer, Outcome{})
		}
		if a.sub.state == SubBackoff {
			a.sub.timer.stop()
			a.subEvent(EvTimer, Outcome{})
		}
		if a.flowLost {
			a.flowLost = false
			a.reconnect("connection replaced")
		}
	}
	a.report(nil)
}

// restartSpacing is the least time between two restart checks to one
// server: with n accounts on it a check runs every max(RestartCheck,
// n × restartSpacing), so a server sees at most one a second.
const restartSpacing = time.Second

// subRefreshDelay is when to refresh the subscription: at RefreshDelay of
// the grant, or sooner for the restart check (±10 % jitter).
func (a *account) subRefreshDelay() time.Duration {
	d := RefreshDelay(a.sub.granted)
	rc := a.u.opts.RestartCheck
	if rc <= 0 {
		return d
	}
	rc = max(rc, time.Duration(a.u.accountsOn(a.network, a.dest))*restartSpacing)
	rc = time.Duration(float64(rc) * (0.9 + 0.2*rand.Float64()))
	return min(d, rc)
}

// unsolicitedStale: the account depends on unsolicited NOTIFYs (it does
// not subscribe), has had one, and can no longer vouch for it: nothing
// confirmed it within UnsolicitedHorizon, or its registration failed (the
// server no longer knows where to send the next one).
func (a *account) unsolicitedStale() bool {
	if a.cfg.Subscribe || !a.cfg.Unsolicited || a.gv.unsol.at.IsZero() {
		return false
	}
	if a.gv.unsol.old {
		return true
	}
	if a.cfg.Register {
		switch a.reg.state {
		case RegBackoff, RegRefused, RegAuthFailed:
			return true
		}
	}
	return false
}

func (ev liveEvent) applyTo(a *account) { a.onLive(ev) }

// onUnsolicited applies an unsolicited NOTIFY unless a later one (by
// arrival) was applied already, and answers it.
func (a *account) onUnsolicited(n *notifyIn) {
	us := a.gv.unsol
	if n.seq != 0 && n.seq <= us.seq {
		a.log().Debug("sipua: unsolicited NOTIFY overtaken by a later one; not applied", "seq", n.seq, "applied", us.seq)
		n.outcome = NotifyOld
		n.reply(200, "OK")
		return
	}
	if n.seq != 0 {
		us.seq = n.seq
	}
	us.at = a.u.opts.Clock.Now()
	us.old = false
	if a.cfg.UnsolicitedHorizon > 0 {
		a.slot(tmUnsol).arm(a.u.opts.Clock, a.cfg.UnsolicitedHorizon)
	}
	a.log().Debug("sipua: unsolicited NOTIFY")
	a.report(n.mailbox)
	n.outcome = NotifyApplied
	n.reply(200, "OK")
}

// reconnect registers (or, without registration, subscribes) again over a
// new TCP/TLS connection: its new local port is a new Contact, and the
// subscription follows the registration.
func (a *account) reconnect(why string) {
	switch {
	case a.cfg.Register && a.reg.state == RegRegistered:
		a.log().Info("sipua: " + why + ", registering again")
		a.regEvent(EvContactChanged, Outcome{})
	case !a.cfg.Register && a.sub.state == SubActive:
		a.log().Info("sipua: " + why + ", subscribing again")
		a.subEvent(EvContactChanged, Outcome{})
	}
}
