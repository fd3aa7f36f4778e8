package sipua

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Liveness: one prober per server (transport + destination), shared by
// every account on it. Over UDP it sends an OPTIONS every Liveness and
// counts any answer — 200, 404, 401, anything — as "there"; over TCP/TLS
// it sends the RFC 5626 CRLF ping on the account's connection and waits
// pongTimeout for the pong (or any byte) from the server. A server that
// does not answer is unreachable: every account on it says so at once
// (health unreachable, the lamp's "cannot know"), and the prober keeps
// probing back-to-back so that the moment the server answers again the
// accounts are told and retry what they had backed off from.
//
// Cost in the steady state: one OPTIONS (UDP) or one 4-byte ping (TCP/TLS)
// per server per Liveness (default 20 s): 180 an hour per server, shared
// by its accounts.

// Timings of the probes. Detection of a dead server takes at most
// Liveness + probeTimeout (UDP) or Liveness + pongTimeout (TCP/TLS).
const (
	probeTimeout     = 8 * time.Second  // UDP OPTIONS (retransmitted at 0.5, 1, 2, 4 s)
	pongTimeout      = 10 * time.Second // RFC 5626 4.4.1 (libre and PJSIP use 10 s)
	downProbeTimeout = 3 * time.Second  // while unreachable: probes back to back
	pongPoll         = 50 * time.Millisecond
)

type serverKey struct{ network, dest string }

// prober watches one server.
type prober struct {
	u   *UA
	key serverKey

	mu     sync.Mutex
	watch  map[*account]func(liveEvent)
	up     bool
	cancel context.CancelFunc

	// prober goroutine only
	ignoresOpts bool      // the server answers the accounts but never OPTIONS
	downSince   time.Time // when it was last declared unreachable
}

// liveEvent tells an account's worker that its server became reachable
// or unreachable. flowLost: the prober closed a dead TCP/TLS connection,
// so the account must register (or subscribe) again over a new one. key
// names the prober: an event from a server the account has left (it was
// queued before the move) is ignored.
type liveEvent struct {
	key      serverKey
	up       bool
	flowLost bool
}

// watchServer adds a to its server's prober (creating it) and returns the
// function that removes it. notify is called from the prober's goroutine.
func (u *UA) watchServer(a *account, notify func(liveEvent)) func() {
	if u.opts.Liveness <= 0 {
		return func() {}
	}
	key := serverKey{a.network, a.dest}
	u.mu.Lock()
	p := u.probers[key]
	if p == nil {
		ctx, cancel := context.WithCancel(context.Background())
		p = &prober{u: u, key: key, watch: map[*account]func(liveEvent){}, up: true, cancel: cancel}
		u.probers[key] = p
		go p.run(ctx)
	}
	u.mu.Unlock()
	p.mu.Lock()
	p.watch[a] = notify
	p.mu.Unlock()
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		p.mu.Lock()
		delete(p.watch, a)
		empty := len(p.watch) == 0
		p.mu.Unlock()
		if empty && u.probers[key] == p {
			delete(u.probers, key)
			p.cancel()
		}
	}
}

// accountsOn is how many accounts use the server (for the restart check's
// spreading).
func (u *UA) accountsOn(network, dest string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, a := range u.accounts {
		if a.network == network && a.sharedDest() == dest {
			n++
		}
	}
	return max(1, n)
}

func (p *prober) run(ctx context.Context) {
	clock := p.u.opts.Clock
	// Start at a random point of the interval so that probers (and
	// agents) do not tick in step.
	wait := time.Duration(rand.Int64N(int64(p.u.opts.Liveness)))
	for {
		t := clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		// The accounts' own traffic is evidence enough: while the server
		// answered something within the last interval no probe is sent,
		// and the next look is one interval after that answer — so a dead
		// server is still found within one interval plus a probe's timeout
		// of its last sign of life.
		if p.isUp() {
			if last := p.lastHeardAny(); clock.Now().Sub(last) < p.u.opts.Liveness {
				wait = last.Add(p.u.opts.Liveness).Sub(clock.Now())
				continue
			}
			if p.ignoresOpts && p.key.network == "udp" {
				// No OPTIONS to a server that ignores them: its answers to
				// the restart checks are the evidence, and their absence
				// for longer than the checks' interval is the sign.
				wait = p.u.opts.Liveness
				if b, ok := p.silenceBound(); ok && clock.Now().Sub(p.lastHeardAny()) > b {
					p.set(false, false)
					wait = 0
				}
				continue
			}
		}
		up, flowLost := p.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		p.set(up, flowLost)
		wait = p.u.opts.Liveness
		if !up {
			wait = 0 // back to back (each probe waits its own timeout)
		}
	}
}

func (p *prober) set(up, flowLost bool) {
	p.mu.Lock()
	changed := up != p.up
	p.up = up
	if changed && !up {
		p.downSince = p.u.opts.Clock.Now()
	}
	var fns []func(liveEvent)
	if changed || flowLost {
		for _, f := range p.watch {
			fns = append(fns, f)
		}
	}
	p.mu.Unlock()
	if changed {
		if up {
			p.u.log.Info("sipua: server answers again", "server", p.key.dest, "transport", p.key.network)
		} else {
			p.u.log.Warn("sipua: server does not answer; its accounts cannot know their mailbox state", "server", p.key.dest, "transport", p.key.network)
		}
	}
	for _, f := range fns {
		f(liveEvent{key: p.key, up: up, flowLost: flowLost})
	}
}

func (p *prober) isUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.up
}

// probe reports whether the server answered; flowLost when it closed a
// dead connection. An answer to anything else sent meanwhile counts too
// (a server that ignores OPTIONS but answers the accounts is there).
func (p *prober) probe(ctx context.Context) (up, flowLost bool) {
	sent := p.u.opts.Clock.Now()
	if p.key.network != "udp" {
		if ap, conn := p.streamConn(); conn != nil {
			if p.ping(ctx, ap, conn) || p.heardSince(sent) {
				return true, false
			}
			// RFC 5626 4.4.1: no pong, the flow is dead. Close it so that
			// nothing else waits on it; the accounts connect anew.
			_ = conn.Close()
			return false, true
		}
		// No connection at all: the accounts' flow is gone (the server
		// closed it, or a restart reset it). The OPTIONS below connects
		// anew; the accounts must register over the new connection.
		flowLost = true
	}
	timeout := p.u.opts.ProbeTimeout
	if !p.isUp() {
		timeout = min(timeout, downProbeTimeout)
	}
	if p.options(ctx, timeout) {
		p.ignoresOpts = false
		return true, flowLost
	}
	since := sent
	if !p.isUp() && p.downSince.Before(since) {
		since = p.downSince
	}
	if p.heardSince(since) {
		// OPTIONS go unanswered while the accounts' requests are: a
		// server that ignores OPTIONS (some do, from unregistered
		// sources). Stop asking.
		if !p.ignoresOpts {
			p.ignoresOpts = true
			p.u.log.Info("sipua: server answers the accounts but not OPTIONS; liveness follows its answers to them", "server", p.key.dest)
		}
		return true, flowLost
	}
	return false, flowLost
}

// silenceBound is how long a server that ignores OPTIONS may say nothing
// before it counts as unreachable: a restart-check interval (at its
// longest) plus a probe's timeout. ok is false without restart checks
// (the accounts' own failures then say it).
func (p *prober) silenceBound() (time.Duration, bool) {
	rc := p.u.opts.RestartCheck
	if rc <= 0 {
		return 0, false
	}
	rc = max(rc, time.Duration(p.u.accountsOn(p.key.network, p.key.dest))*restartSpacing)
	return max(p.u.opts.Liveness, rc*11/10) + p.u.opts.ProbeTimeout, true
}

// lastHeardAny is when the server last sent anything to any account.
func (p *prober) lastHeardAny() time.Time {
	var last time.Time
	aps, _ := p.u.dns.hostPortAddrs(p.key.dest)
	for _, ap := range aps {
		if h := p.u.lastHeard(p.key.network, ap); h.After(last) {
			last = h
		}
	}
	return last
}

// heardSince: the server sent something since t.
func (p *prober) heardSince(t time.Time) bool {
	aps, _ := p.u.dns.hostPortAddrs(p.key.dest)
	for _, ap := range aps {
		if p.u.lastHeard(p.key.network, ap).After(t) {
			return true
		}
	}
	return false
}

// streamConn is the pooled TCP/TLS connection to the server, if any.
func (p *prober) streamConn() (netip.AddrPort, sip.Connection) {
	aps, _ := p.u.dns.hostPortAddrs(p.key.dest)
	for _, ap := range aps {
		if c, err := p.u.sua.TransportLayer().GetConnection(p.key.network, ap.String()); err == nil && c != nil {
			return ap, c
		}
	}
	return netip.AddrPort{}, nil
}

// ping sends a CRLF ping and waits for the pong (or anything else the
// server sends on the connection).
func (p *prober) ping(ctx context.Context, ap netip.AddrPort, conn sip.Connection) bool {
	w, ok := conn.(io.Writer)
	if !ok {
		return true // cannot ping this kind of connection: assume alive
	}
	t0 := p.u.opts.Clock.Now()
	// The write runs apart: on a half-open connection with a full send
	// buffer it blocks until the connection is closed (below, at the pong
	// timeout).
	errc := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte("\r\n\r\n"))
		errc <- err
	}()
	clock := p.u.opts.Clock
	deadline := clock.NewTimer(p.u.opts.PongTimeout)
	defer deadline.Stop()
	for {
		tick := clock.NewTimer(pongPoll)
		select {
		case <-ctx.Done():
			tick.Stop()
			return true
		case err := <-errc:
			tick.Stop()
			if err != nil {
				return false
			}
		case <-deadline.C():
			tick.Stop()
			return !p.u.lastHeard(p.key.network, ap).Before(t0)
		case <-tick.C():
			if !p.u.lastHeard(p.key.network, ap).Before(t0) {
				return true
			}
		}
	}
}

// options sends one OPTIONS to the server; any final answer means it is
// there.
func (p *prober) options(ctx context.Context, timeout time.Duration) bool {
	client := p.u.client[p.key.network]
	if client == nil {
		return true
	}
	host, port := splitDest(p.key.dest)
	target := sip.Uri{Scheme: "sip", Host: host, Port: port}
	req := sip.NewRequest(sip.OPTIONS, target)
	tp := strings.ToUpper(p.key.network)
	req.SetTransport(tp)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "mwi-agent", Host: host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: target, Params: sip.NewParams()})
	cid := sip.CallIDHeader(uuid.NewString())
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("User-Agent", p.u.opts.UserAgent))
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	req.SetDestination(p.key.dest)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	release, err := p.u.serverGate(p.key.network, p.key.dest).acquire(ctx, p.u.opts.Clock, nil)
	if err != nil {
		return false
	}
	defer release()
	res, err := client.Do(ctx, req, sipgo.ClientRequestBuild)
	return err == nil && res != nil && res.StatusCode >= 200
}

func splitDest(dest string) (string, int) {
	host, port, err := net.SplitHostPort(dest)
	if err != nil {
		return dest, 0
	}
	n, _ := strconv.Atoi(port)
	return host, n
}
