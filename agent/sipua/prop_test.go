package sipua

// The property test: one account worker driven step by step on a fake
// clock against a fake server that answers at random — every status class,
// 0/short/huge grants, Min-Expires equal/below/above/huge, Retry-After
// 0..10^9, every termination reason, NOTIFYs before and after the 2xx, old
// CSeqs, bodies good and bad, no answer at all — for simulated hours. The
// invariants, checked after every step:
//
//   - no 60 s window holds more than AccountBudget requests;
//   - the worker never sits without a pending timer or transaction while
//     it is not stopped (no dead ends);
//   - the mailbox never reads "no messages" unless a NOTIFY said so;
//   - every request is valid on the wire (checkWire), and an in-dialog
//     SUBSCRIBE names a dialog the server made (Call-ID and To-tag);
//   - on shutdown the worker stops within StopTimeout.
//
// FuzzWorker is the same as a native fuzz target: the fuzzer's bytes make
// the server's choices (then a generator seeded from them).

import (
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// chooser makes the fake server's choices: the fuzzer's bytes first, then
// a generator seeded from them.
type chooser struct {
	data []byte
	rnd  *rand.Rand
}

func newChooser(data []byte) *chooser {
	h := fnv.New64a()
	h.Write(data)
	s := h.Sum64()
	return &chooser{data: data, rnd: rand.New(rand.NewPCG(s, s>>7|1))}
}

func (c *chooser) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if len(c.data) > 0 {
		b := c.data[0]
		c.data = c.data[1:]
		return int(b) % n
	}
	return c.rnd.IntN(n)
}

func (c *chooser) float() float64 { return c.rnd.Float64() }

func pick[T any](c *chooser, xs ...T) T { return xs[c.intn(len(xs))] }

type simEvent struct {
	at     time.Time
	seq    int
	result *txResult
	notify *simNotify
	retry  bool
}

type simNotify struct {
	callID   string
	subState string
	body     string
	oldCSeq  bool
}

// simDialog is the fake server's side of a subscription.
type simDialog struct {
	callID, subTag, srvTag string
	cseq                   uint32
}

type sim struct {
	t       testing.TB
	ch      *chooser
	clk     *clock.Fake
	a       *account
	q       []simEvent
	seq     int
	sends   []time.Time
	pending int // transactions whose result is queued
	dlgs    map[string]*simDialog
	sayNo   bool // the NOTIFY being delivered says "no messages"
	trace   []string
	reqs    int
}

var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB, data []byte) *sim {
	s := &sim{t: t, ch: newChooser(data), clk: clock.NewFake(simStart), dlgs: map[string]*simDialog{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	u := &UA{
		opts: Options{
			Logger: quiet, Clock: s.clk, UserAgent: "mwi-agent", TimerN: 32 * time.Second, StopTimeout: 3 * time.Second,
			Backoff: defaultBackoff(), SlowRetry: 5 * time.Minute, LongRetry: 30 * time.Minute, Parse: ParseBody,
			MaxInFlight: 32, ServerRate: 200, ServerBurst: 1000, OnUpdate: s.onUpdate,
		},
		log:      quiet,
		client:   map[string]*sipgo.Client{"udp": nil},
		dialogs:  map[string]*dialogRoute{},
		accounts: map[string]*account{},
		users:    map[string][]*account{},
		dns:      newAddrCache(s.clk.Now),
		probers:  map[serverKey]*prober{},
		epoch:    s.clk.Now(),
	}
	cfg := AccountConfig{
		Name: "prop", AOR: testURI("sip:1001@pbx.example"), Password: "pw", Server: "192.0.2.1:5060",
		Register: true, Subscribe: true,
		RegisterExpiry:  pick(s.ch, 0, 60*time.Second, 120*time.Second, 3600*time.Second),
		SubscribeExpiry: pick(s.ch, 0, 60*time.Second, 300*time.Second, 3600*time.Second),
	}
	switch s.ch.intn(6) {
	case 0:
		cfg.Register = false
	case 1:
		cfg.Subscribe = false
	}
	a, err := newAccount(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.exec = func(_ *account, t txReq) { s.exec(t) }
	u.rnd = s.ch.float
	a.contact = hostPort{"192.0.2.10", 5060}
	s.a = a
	return s
}

func (s *sim) logf(format string, args ...any) {
	line := s.clk.Now().Sub(simStart).String() + " " + fmt.Sprintf(format, args...)
	if len(s.trace) >= 60 {
		copy(s.trace, s.trace[1:])
		s.trace = s.trace[:59]
	}
	s.trace = append(s.trace, line)
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s\nreg=%v sub=%v inFlight=%d at %v\nlast steps:\n  %s", fmt.Sprintf(format, args...),
		s.a.reg.state, s.a.sub.state, s.a.inFlight, s.clk.Now().Sub(simStart), strings.Join(s.trace, "\n  "))
}

func (s *sim) push(ev simEvent) {
	s.seq++
	ev.seq = s.seq
	i := sort.Search(len(s.q), func(i int) bool {
		return s.q[i].at.After(ev.at) || s.q[i].at.Equal(ev.at) && s.q[i].seq > ev.seq
	})
	s.q = append(s.q, simEvent{})
	copy(s.q[i+1:], s.q[i:])
	s.q[i] = ev
}

func (s *sim) onUpdate(u Update) {
	if u.Mailbox != nil {
		s.logf("update health=%v waiting=%v", u.Health, u.Mailbox.Waiting)
		if u.Mailbox.Waiting == state.WaitingNo && !s.sayNo {
			s.fail("mailbox reads \"no messages\" without a NOTIFY saying so")
		}
	}
}

// exec is the fake network: it checks the request and schedules an answer.
func (s *sim) exec(t txReq) {
	addContact(t.req, "udp", t.contact)
	if err := checkWire(t.req); err != nil {
		s.fail("invalid request: %v", err)
	}
	if tag, ok := t.req.To().Params.Get("tag"); ok && t.req.Method == sip.SUBSCRIBE {
		// In-dialog: the Call-ID and To-tag of one dialog the server made.
		if d := s.dlgs[t.req.CallID().Value()]; d == nil || d.srvTag != tag {
			s.fail("SUBSCRIBE with To-tag %s in Call-ID %s: not a dialog of the server", tag, t.req.CallID().Value())
		}
	}
	at := s.clk.Now()
	if t.at.After(at) {
		at = t.at
	}
	if !t.stopping {
		s.sends = append(s.sends, at)
	}
	s.reqs++
	s.pending++
	s.logf("send %s cseq=%d gen=%d at +%v expires=%s to-tag=%v", t.req.Method, t.req.CSeq().SeqNo, t.gen, at.Sub(s.clk.Now()), headerValue(t.req, "Expires"), hasToTag(t.req))
	s.answer(t, at)
}

func hasToTag(req *sip.Request) bool {
	_, ok := req.To().Params.Get("tag")
	return ok
}

var simCodes = []int{200, 200, 200, 200, 200, 200, 202, 401, 401, 407, 403, 404, 408, 423, 423, 480, 481, 481, 489, 500, 503, 503, 504, 603, 302}

func (s *sim) answer(t txReq, at time.Time) {
	r := txResult{leg: t.leg, gen: t.gen, fresh: t.fresh, contact: t.contact}
	lat := time.Duration(s.ch.intn(4)) * 500 * time.Millisecond
	if s.ch.intn(8) == 0 { // no answer at all
		to := maxTxTimeout
		if t.timeout > 0 && t.timeout < to {
			to = t.timeout
		}
		r.err = fmt.Errorf("sim: %w", sip.ErrTransactionTimeout)
		s.push(simEvent{at: at.Add(to), result: &r})
		return
	}
	req := t.req
	code := pick(s.ch, simCodes...)
	res := sip.NewResponseFromRequest(req, code, "Sim", nil)
	switch {
	case code == 401 || code == 407:
		name := "WWW-Authenticate"
		if code == 407 {
			name = "Proxy-Authenticate"
		}
		for i := 0; i <= s.ch.intn(2); i++ {
			c := fmt.Sprintf(`Digest realm="r%d", nonce="n%d", algorithm=%s, qop="auth"`, s.ch.intn(2), s.ch.intn(4), pick(s.ch, "MD5", "SHA-256", "bogus"))
			if s.ch.intn(4) == 0 {
				c += ", stale=true"
			}
			res.AppendHeader(sip.NewHeader(name, c))
		}
	case code == 423:
		asked := 60
		fmt.Sscan(headerValue(req, "Expires"), &asked)
		switch s.ch.intn(5) {
		case 0:
			res.AppendHeader(sip.NewHeader("Min-Expires", fmt.Sprint(asked)))
		case 1:
			res.AppendHeader(sip.NewHeader("Min-Expires", fmt.Sprint(asked/2)))
		case 2:
			res.AppendHeader(sip.NewHeader("Min-Expires", fmt.Sprint(asked+60)))
		case 3:
			res.AppendHeader(sip.NewHeader("Min-Expires", "1000000000"))
		}
	case code >= 300:
		if ra := pick(s.ch, "", "0", "1", "30", "3600", "1000000000", "junk"); ra != "" {
			res.AppendHeader(sip.NewHeader("Retry-After", ra))
		}
	case req.Method == sip.REGISTER:
		exp := pick(s.ch, "", "0", "1", "3", "60", "3600", "1000000000")
		if c := req.Contact(); c != nil && exp != "" && s.ch.intn(2) == 0 {
			cc := c.Clone()
			cc.Params = sip.NewParams()
			cc.Params.Add("expires", exp)
			res.AppendHeader(cc)
		} else if exp != "" {
			res.AppendHeader(sip.NewHeader("Expires", exp))
		}
		if s.ch.intn(10) == 0 {
			res.Via().Params.Add("received", "192.0.2.77")
			res.Via().Params.Add("rport", fmt.Sprint(40000+s.ch.intn(3)))
		}
	default: // 2xx to SUBSCRIBE
		callID := req.CallID().Value()
		d := s.dlgs[callID]
		if d == nil {
			tag, _ := req.From().Params.Get("tag")
			d = &simDialog{callID: callID, subTag: tag, srvTag: sip.GenerateTagN(8), cseq: uint32(s.ch.intn(100))}
			s.dlgs[callID] = d
		}
		if !hasToTag(req) || s.ch.intn(10) > 0 {
			res.To().Params.Add("tag", d.srvTag)
		}
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "mwi", Host: "192.0.2.1", Port: 5060}})
		if exp := pick(s.ch, "", "0", "1", "3", "60", "3600", "1000000000"); exp != "" {
			res.AppendHeader(sip.NewHeader("Expires", exp))
		}
	}
	r.res = res
	s.push(simEvent{at: at.Add(lat), result: &r})
	if req.Method == sip.SUBSCRIBE && (code < 300 || s.ch.intn(8) == 0) {
		s.scheduleNotify(req.CallID().Value(), at, lat)
	}
}

var (
	simStates = []string{"active", "active;expires=0", "active;expires=1", "active;expires=3", "active;expires=60", "active;expires=3600", "active;expires=1000000000", "pending",
		"terminated", "terminated;reason=deactivated", "terminated;reason=timeout", "terminated;reason=probation;retry-after=1000000000", "terminated;reason=giveup;retry-after=0",
		"terminated;reason=rejected", "terminated;reason=noresource", "terminated;reason=invariant", "terminated;reason=whatever", ""}
	simBodies = []string{bodyYes, bodyYes, bodyNo, "", "Messages-Waiting: maybe\r\n", "Messages-Waiting: yes\r\n", "garbage"}
)

// scheduleNotify: none, before the 2xx, or after it; sometimes one more later.
func (s *sim) scheduleNotify(callID string, at time.Time, lat time.Duration) {
	mk := func() *simNotify {
		return &simNotify{callID: callID, subState: pick(s.ch, simStates...), body: pick(s.ch, simBodies...), oldCSeq: s.ch.intn(12) == 0}
	}
	switch s.ch.intn(4) {
	case 0: // none
	case 1: // before the 2xx
		s.push(simEvent{at: at.Add(lat / 2), notify: mk()})
	default:
		s.push(simEvent{at: at.Add(lat + time.Duration(s.ch.intn(5))*500*time.Millisecond), notify: mk()})
	}
	if s.ch.intn(4) == 0 {
		s.push(simEvent{at: at.Add(time.Duration(1+s.ch.intn(7200)) * time.Second), notify: mk()})
	}
	if s.ch.intn(50) == 0 {
		s.push(simEvent{at: at.Add(time.Duration(1+s.ch.intn(3600)) * time.Second), retry: true})
	}
}

// deliverNotify is what ua.go's NOTIFY handler does, synchronously.
func (s *sim) deliverNotify(sn *simNotify) {
	d := s.dlgs[sn.callID]
	route := s.a.u.dialogs[sn.callID]
	if d == nil || route == nil || route.localTag != d.subTag {
		s.logf("NOTIFY %s → 481 (no such dialog)", sn.subState)
		return
	}
	if !sn.oldCSeq {
		d.cseq++
	}
	n := &notifyIn{callID: sn.callID, cseq: d.cseq, fromTag: d.srvTag, subState: ParseSubscriptionState(sn.subState), at: s.clk.Now(), answer: make(chan notifyAnswer, 1)}
	n.contact = &sip.Uri{Scheme: "sip", User: "mwi", Host: "192.0.2.1", Port: 5060}
	if mb, err := ParseBody([]byte(sn.body)); err == nil {
		mb.Source = state.SourceSubscribed
		n.mailbox = &mb
	}
	s.sayNo = n.mailbox != nil && n.mailbox.Waiting == state.WaitingNo
	s.logf("NOTIFY %q body=%q cseq=%d", sn.subState, strings.SplitN(sn.body, "\r", 2)[0], d.cseq)
	s.a.handle(n)
	s.sayNo = false
	select {
	case ans := <-n.answer:
		s.logf("NOTIFY answered %d", ans.code)
	default:
		s.fail("NOTIFY not answered by the worker")
	}
}

func (s *sim) deliver(ev simEvent) {
	switch {
	case ev.result != nil:
		s.pending--
		r := ev.result
		if r.res != nil {
			s.logf("answer %d %s gen=%d", r.res.StatusCode, r.leg, r.gen)
		} else {
			s.logf("answer: %v %s gen=%d", r.err, r.leg, r.gen)
		}
		s.a.handle(*r)
	case ev.notify != nil:
		s.deliverNotify(ev.notify)
	case ev.retry:
		s.logf("reload")
		s.a.handle(retryNow{})
	}
}

// fireDue runs what the worker's mailbox holds (the ticks of its clock
// timer, posted by the fake clock's callbacks), if anything.
func (s *sim) fireDue() bool {
	s.a.box.mu.Lock()
	n := len(s.a.box.q)
	s.a.box.mu.Unlock()
	if n == 0 {
		return false
	}
	s.logf("%d inputs queued (timers fired)", n)
	s.a.serve(1 << 30)
	return true
}

func (s *sim) armed() bool { return s.a.tm.armed != 0 }

func (s *sim) check() {
	if s.a.inFlight != s.pending {
		s.fail("worker counts %d transactions in flight, the network has %d", s.a.inFlight, s.pending)
	}
	if !s.a.finished() && s.a.inFlight == 0 && !s.armed() {
		s.fail("dead end: not stopped, no timer, no transaction")
	}
	// Every armed timer has the clock timer set to go off by its deadline.
	if at, k, ok := s.a.tm.earliest(); ok && (s.a.tm.wake == nil || s.a.tm.wakeAt > at) {
		s.fail("timer %d armed for +%v, but the clock timer is not set by then (set: %v)", k, at, s.a.tm.wake != nil)
	}
}

// step advances to the next thing that happens; false when nothing is
// left before end.
func (s *sim) step(end time.Time) bool {
	if s.fireDue() {
		return true
	}
	next, ok := s.clk.Next()
	if len(s.q) > 0 && (!ok || !s.q[0].at.After(next)) {
		ev := s.q[0]
		if ev.at.After(end) {
			return false
		}
		s.q = s.q[1:]
		s.clk.Set(ev.at)
		s.deliver(ev)
		return true
	}
	if !ok || next.After(end) {
		return false
	}
	s.clk.Set(next)
	return true
}

func (s *sim) run(horizon time.Duration, maxSteps int) {
	s.t.Helper()
	end := simStart.Add(horizon)
	s.a.handle(inputFunc((*account).begin))
	s.check()
	for i := 0; i < maxSteps && s.step(end); i++ {
		s.check()
	}
	s.checkBudget()
	// Shutdown: stopped within StopTimeout whatever the server does.
	s.a.handle(inputFunc((*account).stop))
	stopBy := s.clk.Now().Add(s.a.u.opts.StopTimeout)
	for i := 0; i < 10000 && !s.a.finished() && s.step(stopBy); i++ {
	}
	if !s.a.finished() {
		s.fail("not stopped within StopTimeout")
	}
}

// checkBudget: no BudgetWindow holds more than AccountBudget requests.
func (s *sim) checkBudget() {
	sort.Slice(s.sends, func(i, j int) bool { return s.sends[i].Before(s.sends[j]) })
	for i := AccountBudget; i < len(s.sends); i++ {
		if d := s.sends[i].Sub(s.sends[i-AccountBudget]); d < BudgetWindow {
			s.fail("%d requests within %v (from +%v)", AccountBudget+1, d, s.sends[i-AccountBudget].Sub(simStart))
		}
	}
}

func runSim(t testing.TB, data []byte, horizon time.Duration) *sim {
	s := newSim(t, data)
	s.run(horizon, 200000)
	return s
}

func TestWorkerProperty(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	total := 0
	for seed := range seeds {
		data := []byte(fmt.Sprintf("seed-%d", seed))
		s := runSim(t, data, 6*time.Hour)
		total += s.reqs
	}
	t.Logf("%d runs of 6 simulated hours, %d requests", seeds, total)
}

func FuzzWorker(f *testing.F) {
	for _, seed := range []string{"", "a", "\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff", "seed-1", "seed-2"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runSim(t, data, 3*time.Hour)
	})
}
