//go:build unix

package agent_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// failoverRig is two independent Kamailios (each listening on UDP and
// TCP), both fed by the voicemail server, and a dnsmasq that names them
// for mwi.test: NAPTR → SRV (sip1 priority 10, sip2 priority 20) → A.
// The DNS depends on the rig's kind:
//
//	udp, tcp  one NAPTR (SIP+D2U or SIP+D2T) and its SRV records
//	auto      NAPTR prefers TCP (order 10) over UDP (order 20); both SRV
//	          names list both servers
//	cross     NAPTR prefers TCP over UDP, but only sip1 has TCP SRV and
//	          only sip2 UDP: failing over changes the transport
type failoverRig struct {
	k1, k2   *kamailiotest.Server
	dns      *kamailiotest.DNS
	kind     string
	users    []string
	failback string // dns.failback; "" = the default
	// noOptions: the accounts' own requests are frequent enough that the
	// liveness prober need not send OPTIONS before sip1 is killed.
	noOptions bool
	acct      string // more configuration for each account
}

func newFailoverRig(t *testing.T, kind string, o1 kamailiotest.Options, users ...string) *failoverRig {
	t.Helper()
	r := &failoverRig{k1: kamailiotest.StartWith(t, o1), k2: kamailiotest.Start(t), kind: kind, users: users}
	const udp, tcp = "_sip._udp.mwi.test", "_sip._tcp.mwi.test"
	naptr := func(order int, svc, srv string) string {
		return fmt.Sprintf("--naptr-record=mwi.test,%d,50,s,%s,,%s", order, svc, srv)
	}
	srv := func(name string, k *kamailiotest.Server, host string, prio int) string {
		return fmt.Sprintf("--srv-host=%s,%s,%d,%d,100", name, host, k.Port, prio)
	}
	recs := []string{"--host-record=sip1.mwi.test,127.0.0.1", "--host-record=sip2.mwi.test,127.0.0.1"}
	switch kind {
	case "udp":
		recs = append(recs, naptr(10, "SIP+D2U", udp), srv(udp, r.k1, "sip1.mwi.test", 10), srv(udp, r.k2, "sip2.mwi.test", 20))
	case "tcp":
		recs = append(recs, naptr(10, "SIP+D2T", tcp), srv(tcp, r.k1, "sip1.mwi.test", 10), srv(tcp, r.k2, "sip2.mwi.test", 20))
	case "auto":
		recs = append(recs, naptr(10, "SIP+D2T", tcp), naptr(20, "SIP+D2U", udp),
			srv(tcp, r.k1, "sip1.mwi.test", 10), srv(tcp, r.k2, "sip2.mwi.test", 20),
			srv(udp, r.k1, "sip1.mwi.test", 10), srv(udp, r.k2, "sip2.mwi.test", 20))
	case "cross":
		recs = append(recs, naptr(10, "SIP+D2T", tcp), naptr(20, "SIP+D2U", udp),
			srv(tcp, r.k1, "sip1.mwi.test", 10), srv(udp, r.k2, "sip2.mwi.test", 10))
	default:
		t.Fatalf("rig kind %q", kind)
	}
	r.dns = kamailiotest.StartDNS(t, recs...)
	return r
}

// protos are the transports the accounts must use at sip1 and at sip2.
func (r *failoverRig) protos() (string, string) {
	switch r.kind {
	case "udp":
		return "udp", "udp"
	case "cross":
		return "tcp", "udp"
	}
	return "tcp", "tcp"
}

// config: accounts on sip:USER@mwi.test with no server and no port, so
// the agent locates mwi.test through dns.servers. Kinds auto and cross
// name no transport: the default, auto, lets NAPTR choose.
func (r *failoverRig) config(t *testing.T) string {
	fb := ""
	if r.failback != "" {
		fb = ", failback: " + r.failback
	}
	y := fmt.Sprintf("state_dir: %s\ndns: {servers: [\"%s\"]%s}\naccounts:\n", t.TempDir(), r.dns.Addr, fb)
	for _, u := range r.users {
		y += fmt.Sprintf("  - name: fo-%s\n    aor: sip:%s@mwi.test\n    password: pw-%s\n", u, u, u)
		if r.kind == "udp" || r.kind == "tcp" {
			y += "    transport: " + r.kind + "\n"
		}
		y += r.acct
	}
	return y
}

// publish plays the voicemail server, which tells both servers.
func (r *failoverRig) publish(t *testing.T, user string, n int, only ...*kamailiotest.Server) {
	t.Helper()
	body := "Messages-Waiting: no\r\nVoice-Message: 0/0\r\n"
	if n > 0 {
		body = fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", n)
	}
	to := only
	if len(to) == 0 {
		to = []*kamailiotest.Server{r.k1, r.k2}
	}
	for _, k := range to {
		if _, err := k.PublishTo("sip:"+user+"@mwi.test", body, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// allAt waits until Kamailio k logged a registration and a new
// subscription for every user after mark (a log offset), over proto
// ("udp", "tcp"; "" = any) as Kamailio saw it (source=PROTO:).
func allAt(t *testing.T, k *kamailiotest.Server, users []string, mark int, within time.Duration, proto string) time.Duration {
	t.Helper()
	t0 := time.Now()
	arrivals(t, k, users, mark, within, proto)
	return time.Since(t0)
}

// arrivals is allAt returning when each user was first seen registered
// and subscribed (polled every 50 ms).
func arrivals(t *testing.T, k *kamailiotest.Server, users []string, mark int, within time.Duration, proto string) map[string]time.Time {
	t.Helper()
	t0 := time.Now()
	seen := map[string]time.Time{}
	for {
		log := k.Log()
		if mark > len(log) {
			mark = 0 // a new run's log
		}
		log = log[mark:]
		for _, u := range users {
			// Either order: Kamailio's 200 to the REGISTER goes out before
			// its log line, and another child may log the SUBSCRIBE first.
			if seen[u].IsZero() && logged(log, "mwi-test: registered "+u+" ", proto) && logged(log, "mwi-test: subscribed "+u+" totag=<null>", proto) {
				seen[u] = time.Now()
			}
		}
		if len(seen) == len(users) {
			return seen
		}
		if time.Since(t0) > within {
			t.Fatalf("%d of %d accounts registered and subscribed at %s (over %q) within %v", len(seen), len(users), k.Addr, proto, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logged: a line of log has prefix and, unless proto is "", Kamailio's
// source=PROTO: for it.
func logged(log, prefix, proto string) bool {
	for line := range strings.Lines(log) {
		if strings.Contains(line, prefix) && (proto == "" || strings.Contains(line, " source="+proto+":")) {
			return true
		}
	}
	return false
}

// lampWatch records every snapshot and every moment an account's mailbox
// reading differed from what the voicemail server holds.
type lampWatch struct {
	mu         sync.Mutex
	want       map[string]int // account -> new messages (0 = no)
	wrong      []string
	notSubbed  map[string]time.Duration
	downSince  map[string]time.Time
	healthSeen map[string]map[state.Health]bool
}

func watchLamps(t *testing.T, a *agent.Agent, want map[string]int) (*lampWatch, func()) {
	w := &lampWatch{want: want, notSubbed: map[string]time.Duration{}, downSince: map[string]time.Time{}, healthSeen: map[string]map[state.Health]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range a.Watch(ctx) {
			now := time.Now()
			w.mu.Lock()
			for _, acc := range s.Accounts {
				n, ok := w.want[acc.Name]
				if !ok {
					continue
				}
				wantW := state.WaitingNo
				if n > 0 {
					wantW = state.WaitingYes
				}
				if acc.Waiting != wantW || int(acc.Voice().New) != n {
					w.wrong = append(w.wrong, fmt.Sprintf("%s: waiting=%v new=%d health=%v (want %v/%d)", acc.Name, acc.Waiting, acc.Voice().New, acc.Health, wantW, n))
				}
				if w.healthSeen[acc.Name] == nil {
					w.healthSeen[acc.Name] = map[state.Health]bool{}
				}
				w.healthSeen[acc.Name][acc.Health] = true
				if acc.Health != state.HealthSubscribed {
					if w.downSince[acc.Name].IsZero() {
						w.downSince[acc.Name] = now
					}
				} else if !w.downSince[acc.Name].IsZero() {
					w.notSubbed[acc.Name] += now.Sub(w.downSince[acc.Name])
					w.downSince[acc.Name] = time.Time{}
				}
			}
			w.mu.Unlock()
		}
	}()
	return w, func() { cancel(); <-done }
}

func (w *lampWatch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.wrong) > 0 {
		t.Errorf("%d snapshots with a wrong mailbox state, first: %s", len(w.wrong), w.wrong[0])
	}
	for name, d := range w.notSubbed {
		t.Logf("%s: not 'subscribed' for %v during the failover; health seen %v", name, d.Round(time.Millisecond), w.healthSeen[name])
	}
}

// RFC 3263 failover against real servers, default timers: four accounts
// locate mwi.test through dnsmasq (NAPTR → SRV → A), register and
// subscribe at the priority-10 Kamailio; it is killed; the liveness probe
// notices, every account registers and subscribes at the priority-20
// Kamailio within the liveness bound (60 s), and the lamps show the
// voicemail server's state throughout (never "no messages" for a mailbox
// with messages, never a wrong count). A change published afterwards
// arrives through the new subscriptions.
func TestKamailioFailoverUDP(t *testing.T) { testFailover(t, "udp") }

// The same over TCP: the dead connection is noticed by the CRLF ping or
// the connect attempt.
func TestKamailioFailoverTCP(t *testing.T) { testFailover(t, "tcp") }

// RFC 3263 transport choice (section 4.1): the accounts name no transport
// (the default, auto); NAPTR prefers TCP (SIP+D2T, order 10) to UDP
// (SIP+D2U, order 20). Kamailio sees every REGISTER and SUBSCRIBE come
// over TCP (its log: source=tcp:), at sip1 and after the failover at
// sip2, lamps right throughout.
func TestKamailioTransportNAPTR(t *testing.T) { testFailover(t, "auto") }

// Failing over to a target of another transport: NAPTR prefers TCP, whose
// SRV names only sip1; UDP's names only sip2. sip1 killed → every account
// registers and subscribes at sip2 over UDP (Contact and Via follow the
// new transport), lamps right throughout.
func TestKamailioFailoverCrossTransport(t *testing.T) { testFailover(t, "cross") }

func testFailover(t *testing.T, kind string) {
	itest.Require(t, "kamailio", "sqlite3", "dnsmasq")
	users := []string{"8101", "8102", "8103", "8104"}
	r := newFailoverRig(t, kind, kamailiotest.Options{}, users...)
	want := map[string]int{"fo-8101": 3, "fo-8102": 0, "fo-8103": 1, "fo-8104": 0}
	a, w, stop, _ := r.failover(t, want)
	stop()
	w.check(t)

	r.publish(t, "8102", 2, r.k2)
	waitSnap(t, a, 3*time.Second, "a change arrives from sip2", accountIs("fo-8102", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 2
	}))
}

// failover publishes want, starts the agent, waits until every account
// is registered and subscribed at sip1 with the lamps right, starts
// watching the lamps, kills sip1 and waits until every account is
// registered and subscribed at sip2. It returns when each account was
// seen at sip2.
func (r *failoverRig) failover(t *testing.T, want map[string]int) (*agent.Agent, *lampWatch, func(), map[string]time.Time) {
	t.Helper()
	users := r.users
	for _, u := range users {
		r.publish(t, u, want["fo-"+u])
	}
	start1 := len(r.k1.Log()) // the harness's own OPTIONS are before this
	a := runAgent(t, r.config(t))
	at1, at2 := r.protos()
	d := allAt(t, r.k1, users, 0, 15*time.Second, at1)
	t.Logf("all %d accounts registered and subscribed at sip1 (priority 10) over %s after %v", len(users), at1, d.Round(time.Millisecond))
	if r.kind == "auto" || r.kind == "cross" {
		if q := r.dns.Log(); !strings.Contains(q, "query[NAPTR] mwi.test") {
			t.Errorf("the agent did not ask NAPTR for mwi.test; dnsmasq log:\n%s", q)
		}
		if strings.Contains(r.k1.Log(), "source=udp:") {
			t.Errorf("sip1 saw REGISTER or SUBSCRIBE over UDP though NAPTR prefers TCP")
		}
	}
	waitSnap(t, a, 5*time.Second, "lamps right at sip1", func(s state.Snapshot) bool {
		for name, n := range want {
			acc, ok := s.Account(name)
			if !ok || acc.Health != state.HealthSubscribed || int(acc.Voice().New) != n {
				return false
			}
		}
		return true
	})
	if strings.Contains(r.k2.Log(), "mwi-test: registered ") {
		t.Errorf("sip2 (priority 20) got registrations while sip1 was up")
	}

	if at1 == "udp" && !r.noOptions {
		// Steady state: the liveness prober has found that sip1 answers
		// OPTIONS (its first probe comes at a random point of the first
		// 20 s interval). A server never seen answering OPTIONS is taken
		// for one that ignores them, and then only failing refreshes
		// show it is gone.
		deadline := time.Now().Add(25 * time.Second)
		for !strings.Contains(r.k1.Log()[start1:], "mwi-test: request OPTIONS") {
			if time.Now().After(deadline) {
				t.Fatal("the agent's liveness probe never reached sip1")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	w, stop := watchLamps(t, a, want)
	mark := len(r.k2.Log())
	r.k1.Stop()
	t0 := time.Now()
	moved := arrivals(t, r.k2, users, mark, 60*time.Second, at2)
	last := t0
	for _, at := range moved {
		last = maxTime(last, at)
	}
	t.Logf("FAILOVER %s: all %d accounts registered and subscribed at sip2 over %s %v after sip1 was killed", r.kind, len(users), at2, last.Sub(t0).Round(time.Millisecond))
	waitSnap(t, a, 5*time.Second, "all subscribed at sip2", allHealth(state.HealthSubscribed))
	t.Logf("all subscribed (agent's view) %v after the kill", time.Since(t0).Round(time.Millisecond))
	return a, w, stop, moved
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// The failback policy against real servers (docs/sip.md "Failback
// policy"): after sip1 is killed and every account moved to sip2, sip1
// comes back at once; the accounts stay at sip2 until their first
// registration refresh at least dns.failback after their move, then
// register and subscribe at sip1 again, lamps right throughout. The test
// is about that timer, so it shortens it: dns.failback 30 s (default
// 10 min) and register_expiry 20 s (default 3600 s; a refresh every 10 s)
// — the return is due 30–40 s after each account's move. Liveness,
// restart check and the rest are the defaults.
func TestKamailioFailback(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3", "dnsmasq")
	const failback, refresh = 30 * time.Second, 10 * time.Second
	users := []string{"8301", "8302", "8303"}
	r := newFailoverRig(t, "udp", kamailiotest.Options{}, users...)
	r.failback = "30s"
	r.acct = "    register_expiry: 20s\n"
	r.noOptions = true // a REGISTER refresh every 10 s shows sip1 is there
	want := map[string]int{"fo-8301": 2, "fo-8302": 0, "fo-8303": 1}
	a, w, stop, moved := r.failover(t, want)
	r.k1.Restart() // on the same port, with the same presentity database
	restarted := time.Now()
	back := arrivals(t, r.k1, users, 0, failback+refresh+20*time.Second, "udp")
	stop()
	w.check(t)
	for _, u := range users {
		d := back[u].Sub(moved[u])
		t.Logf("FAILBACK fo-%s: at sip1 again %v after its move (%v after sip1 restarted)", u, d.Round(time.Millisecond), back[u].Sub(restarted).Round(time.Millisecond))
		// The move happened just before the account was seen at sip2
		// (by the registration's and the subscription's round trips and
		// a 50 ms poll): 1 s of slack below; above, one refresh interval
		// and 5 s for a loaded machine.
		if d < failback-time.Second || d > failback+refresh+5*time.Second {
			t.Errorf("fo-%s back at sip1 %v after its move, want %v to %v (the first registration refresh at least dns.failback after the move)", u, d, failback, failback+refresh)
		}
	}
	waitSnap(t, a, 5*time.Second, "all subscribed at sip1 again", allHealth(state.HealthSubscribed))
	r.publish(t, "8302", 4, r.k1)
	waitSnap(t, a, 3*time.Second, "a change arrives from sip1", accountIs("fo-8302", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 4
	}))
}

// A server that answers 503 is skipped: with sip1 refusing REGISTER and
// SUBSCRIBE with 503, every account goes on to sip2 at once.
func TestKamailioFailover503(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3", "dnsmasq")
	users := []string{"8201", "8202"}
	r := newFailoverRig(t, "udp", kamailiotest.Options{Defines: []string{"ANSWER_503"}}, users...)
	for _, u := range users {
		r.publish(t, u, 1)
	}
	t0 := time.Now()
	a := runAgent(t, r.config(t))
	d := allAt(t, r.k2, users, 0, 10*time.Second, "udp")
	t.Logf("503 at sip1: registered and subscribed at sip2 after %v", d.Round(time.Millisecond))
	waitSnap(t, a, 5*time.Second, "subscribed at sip2", allHealth(state.HealthSubscribed))
	if n := strings.Count(r.k1.Log(), "mwi-test: answered 503 to REGISTER"); n != len(users) {
		t.Errorf("sip1 answered 503 to %d REGISTERs, want one per account (%d)", n, len(users))
	}
	t.Logf("all subscribed %v after start", time.Since(t0).Round(time.Millisecond))
}
