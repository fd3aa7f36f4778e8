package sipua

import (
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The gate sits in front of sipgo's transports (a TransportReadFilter): it
// sees every UDP datagram before sipgo parses it, adds its source to the
// connection pool or creates a transaction for it. What the agent will
// refuse anyway is answered here, statelessly, and never reaches sipgo, so
// a flood of spoofed packets from random ports costs no lasting state: no
// pool entry, no 32 s server transaction, one rate-limited log line a
// minute per kind. Admitted NOTIFYs get their arrival number here, where
// datagrams are still in the order the socket delivered them (sipgo hands
// each message to its own goroutine, in no order).
type gate struct {
	u      *UA
	parser *sip.Parser
	logs   *logLimiter
	seq    atomic.Uint64
	absorb *absorber // answers to recent UDP NOTIFYs, for their retransmissions (absorb.go)

	mu    sync.Mutex
	order map[uint64]uint64 // NOTIFY key (its absorber hash) → arrival number
	ring  []uint64          // keys in insertion order, to bound order
	next  int

	knownMu sync.Mutex
	known   map[netip.AddrPort]bool
	knownAt time.Time
	pending bool // some server not resolved yet
}

// orderKeep is how many admitted NOTIFYs' arrival numbers the gate keeps
// until their handler picks them up.
const orderKeep = 1024

func newGate(u *UA) *gate {
	return &gate{
		u: u, parser: sip.NewParser(), absorb: &absorber{seed: rand.Uint64(), tagSeed: rand.Uint64()},
		logs:  newLogLimiter(u.log, u.opts.Clock.Now),
		order: map[uint64]uint64{}, ring: make([]uint64, orderKeep),
	}
}

// refusal is the one answer to every refused NOTIFY, whatever the reason:
// unknown user, unsolicited not allowed, wrong source or transport,
// subscription active, unknown dialog, foreign tag. Different answers
// would tell a prober which extensions exist.
const (
	refusalCode   = 481
	refusalReason = "Subscription Does Not Exist"
)

// verdict is the gate's decision about one NOTIFY.
type verdict struct {
	code       int // 0: admitted
	reason     string
	retryAfter int
	acct       *account
	route      *dialogRoute // in-dialog NOTIFY
}

func refused() verdict { return verdict{code: refusalCode, reason: refusalReason} }

func notifyKey(req *sip.Request) string {
	var b strings.Builder
	if h := req.CallID(); h != nil {
		b.WriteString(h.Value())
	}
	b.WriteByte(0)
	if h := req.CSeq(); h != nil {
		b.WriteString(strconv.FormatUint(uint64(h.SeqNo), 10))
	}
	b.WriteByte(0)
	if v := req.Via(); v != nil {
		b.WriteString(v.Params.GetOr("branch", ""))
	}
	return b.String()
}

// admit decides whether a NOTIFY that came over transport (UDP, TCP, TLS)
// from src may reach an account. It is called by the UDP gate and again
// by the NOTIFY handler (the only check for TCP and TLS). An unsolicited
// NOTIFY takes a token of its account's rate only when charge is set:
// once per NOTIFY, where it is first admitted (the gate for UDP, the
// handler for TCP and TLS).
func (u *UA) admit(req *sip.Request, charge bool) verdict {
	if !isMessageSummary(eventHeader(req)) {
		return verdict{code: 489, reason: "Bad Event"}
	}
	network := strings.ToLower(req.Transport())
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
	if toTag != "" {
		u.mu.Lock()
		r := u.dialogs[callID]
		var ok bool
		if r != nil {
			ok = r.localTag == toTag && (r.remoteTag == "" || r.remoteTag == fromTag) && r.acct.network == network
		}
		u.mu.Unlock()
		if !ok {
			return refused()
		}
		return verdict{acct: r.acct, route: r}
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
	for _, a := range cands {
		if a.acceptsUnsolicited(network, req.Source()) {
			if charge && !a.gv.unsol.budget.take(u.opts.Clock.Now()) {
				return verdict{code: 500, reason: "Server Internal Error (too many unsolicited NOTIFYs)", retryAfter: 1}
			}
			return verdict{acct: a}
		}
	}
	return refused()
}

// filter is the sipgo TransportReadFilter. It runs on the transport's
// read goroutine, in arrival order.
func (g *gate) filter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "UDP" {
		if ra, ok := addrPortOf(p.RemoteAddr); ok && g.isKnown(ra) {
			g.u.noteHeard(strings.ToLower(p.Transport), ra)
		}
		return data, nil
	}
	src, ok := addrPortOf(p.RemoteAddr)
	if !ok {
		return nil, nil
	}
	if len(data) <= 4 && len(strings.Trim(string(data), "\r\n")) == 0 {
		return nil, nil // keepalive: nothing for sipgo to do
	}
	msg, err := g.parser.ParseSIP(data)
	if err != nil {
		g.logs.Log(slog.LevelWarn, "garbage", "sipua: unparseable datagram dropped", "source", src.String(), "err", err, "data", truncated(data))
		return nil, nil
	}
	switch m := msg.(type) {
	case *sip.Response:
		if !g.isKnown(src) {
			g.logs.Log(slog.LevelWarn, "stray-response", "sipua: response from an unknown source dropped", "source", src.String(), "status", m.StatusCode)
			return nil, nil
		}
		g.u.noteHeard("udp", src)
		return data, nil
	case *sip.Request:
		m.SetTransport("UDP")
		m.SetSource(src.String())
		switch m.Method {
		case sip.ACK:
			return nil, nil
		case sip.OPTIONS:
			g.answer(m, src, 200, "OK", 0)
			return nil, nil
		case sip.NOTIFY:
		default:
			g.logs.Log(slog.LevelInfo, "method", "sipua: request refused", "source", src.String(), "method", string(m.Method))
			g.answer(m, src, 405, "Method Not Allowed", 0)
			return nil, nil
		}
		key := notifyKey(m)
		if ans, ok := g.absorb.lookup(key, g.u.opts.Clock.Now()); ok {
			// A retransmission of a NOTIFY answered already: the same
			// answer again, nothing else (absorb.go).
			g.send(g.notifyResponse(m, key, int(ans.code), ans.reason, int(ans.retryAfter)), src)
			return nil, nil
		}
		v := g.u.admit(m, true)
		if v.code != 0 {
			g.logs.Log(slog.LevelWarn, "notify-refused", "sipua: NOTIFY refused", "source", src.String(), "code", v.code, "call_id", truncated([]byte(headerValue(m, "Call-ID"))))
			g.answer(m, src, v.code, v.reason, v.retryAfter)
			return nil, nil
		}
		g.stamp(key)
		return data, nil
	}
	return nil, nil
}

// answer sends a stateless response from the listening socket.
func (g *gate) answer(req *sip.Request, to netip.AddrPort, code int, reason string, retryAfter int) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if h := res.To(); h != nil && code >= 300 {
		if _, ok := h.Params.Get("tag"); !ok {
			h.Params.Add("tag", "gate")
		}
	}
	if retryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(retryAfter)))
	}
	g.send(res, to)
}

// send writes a response from the listening socket.
func (g *gate) send(res *sip.Response, to netip.AddrPort) {
	if g.u.udp != nil {
		_, _ = g.u.udp.WriteTo([]byte(res.String()), net.UDPAddrFromAddrPort(to))
	}
}

// notifyResponse is our answer to an admitted NOTIFY (key: its notifyKey).
// Without a To-tag in the NOTIFY the answer's is derived from key, so
// that the answer given again to a retransmission carries the same one.
func (g *gate) notifyResponse(req *sip.Request, key string, code int, reason string, retryAfter int) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if h := req.To(); h != nil && !h.Params.Has("tag") {
		if rt := res.To(); rt != nil {
			rt.Params.Add("tag", g.absorb.toTag(key))
		}
	}
	if retryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(retryAfter)))
	}
	return res
}

// stamp records the next arrival number for an admitted NOTIFY; a
// retransmission keeps its first number.
func (g *gate) stamp(notifyKey string) {
	key := g.absorb.hash(notifyKey) // not the text: 1,024 of them are kept
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.order[key]; ok {
		return
	}
	if old := g.ring[g.next]; old != 0 {
		delete(g.order, old)
	}
	g.ring[g.next] = key
	g.next = (g.next + 1) % len(g.ring)
	g.order[key] = g.seq.Add(1)
}

// onMessage is a sipgo transport-layer message handler: it runs on a
// TCP/TLS connection's read goroutine, in the connection's order, right
// after the transaction layer handed the message to a goroutine of its
// own. It numbers stream NOTIFYs as the filter numbers UDP ones.
func (g *gate) onMessage(msg sip.Message) {
	if req, ok := msg.(*sip.Request); ok && req.Method == sip.NOTIFY && req.Transport() != "UDP" {
		g.stamp(notifyKey(req))
	}
}

// streamStampWait bounds how long a stream NOTIFY's handler waits for
// onMessage to number it (it runs a moment after the handler starts).
const streamStampWait = 20 * time.Millisecond

// arrival is the NOTIFY's arrival number (0 when unknown); key is its
// notifyKey.
func (g *gate) arrival(req *sip.Request, notifyKey string) uint64 {
	key := g.absorb.hash(notifyKey)
	deadline := time.Now().Add(streamStampWait)
	for {
		g.mu.Lock()
		n := g.order[key]
		g.mu.Unlock()
		if n != 0 || req.Transport() == "UDP" || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

// isKnown: src is one of the servers' addresses. While a server's name is
// not resolved yet every source counts as known (responses must not be
// lost to a slow DNS lookup at start-up).
func (g *gate) isKnown(src netip.AddrPort) bool {
	g.knownMu.Lock()
	defer g.knownMu.Unlock()
	if g.known == nil || g.u.opts.Clock.Now().Sub(g.knownAt) >= time.Second {
		g.known, g.pending = map[netip.AddrPort]bool{}, false
		g.knownAt = g.u.opts.Clock.Now()
		g.u.mu.Lock()
		for _, a := range g.u.accounts {
			aps, ok := a.destAddrs()
			if !ok {
				g.pending = true
			}
			for _, ap := range aps {
				g.known[ap] = true
			}
		}
		g.u.mu.Unlock()
	}
	return g.pending || g.known[src]
}

func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	case nil:
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// tokenBucket bounds how many unsolicited NOTIFYs one account takes.
type tokenBucket struct {
	mu     sync.Mutex
	tokens float64
	at     time.Time
	rate   float64 // per second
	burst  float64
}

func (b *tokenBucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.at.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
