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

// failoverRig is two independent Kamailios, both fed by the voicemail
// server, and a dnsmasq that names them for mwi.test: NAPTR → SRV
// (sip1 priority 10, sip2 priority 20) → A, for one transport.
type failoverRig struct {
	k1, k2 *kamailiotest.Server
	dns    *kamailiotest.DNS
	users  []string
}

func newFailoverRig(t *testing.T, tp string, o1 kamailiotest.Options, users ...string) *failoverRig {
	t.Helper()
	r := &failoverRig{k1: kamailiotest.StartWith(t, o1), k2: kamailiotest.Start(t), users: users}
	svc, srv := map[string][2]string{
		"udp": {"SIP+D2U", "_sip._udp.mwi.test"},
		"tcp": {"SIP+D2T", "_sip._tcp.mwi.test"},
	}[tp][0], map[string][2]string{
		"udp": {"SIP+D2U", "_sip._udp.mwi.test"},
		"tcp": {"SIP+D2T", "_sip._tcp.mwi.test"},
	}[tp][1]
	r.dns = kamailiotest.StartDNS(t,
		"--naptr-record=mwi.test,10,50,s,"+svc+",,"+srv,
		fmt.Sprintf("--srv-host=%s,sip1.mwi.test,%d,10,100", srv, r.k1.Port),
		fmt.Sprintf("--srv-host=%s,sip2.mwi.test,%d,20,100", srv, r.k2.Port),
		"--host-record=sip1.mwi.test,127.0.0.1",
		"--host-record=sip2.mwi.test,127.0.0.1",
	)
	return r
}

// config: accounts on sip:USER@mwi.test with no server and no port, so
// the agent locates mwi.test through dns.servers.
func (r *failoverRig) config(t *testing.T, tp string) string {
	y := fmt.Sprintf("state_dir: %s\ndns: {servers: [\"%s\"]}\naccounts:\n", t.TempDir(), r.dns.Addr)
	for _, u := range r.users {
		y += fmt.Sprintf("  - name: fo-%s\n    aor: sip:%s@mwi.test\n    password: pw-%s\n    transport: %s\n", u, u, u, tp)
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
// subscription for every user after mark (a log offset).
func allAt(t *testing.T, k *kamailiotest.Server, users []string, mark int, within time.Duration) time.Duration {
	t.Helper()
	t0 := time.Now()
	for {
		log := k.Log()
		if mark > len(log) {
			mark = 0 // a new run's log
		}
		log = log[mark:]
		done := 0
		for _, u := range users {
			// Either order: Kamailio's 200 to the REGISTER goes out before
			// its log line, and another child may log the SUBSCRIBE first.
			if strings.Contains(log, "mwi-test: registered "+u+" ") && strings.Contains(log, "mwi-test: subscribed "+u+" totag=<null>") {
				done++
			}
		}
		if done == len(users) {
			return time.Since(t0)
		}
		if time.Since(t0) > within {
			t.Fatalf("%d of %d accounts registered and subscribed at %s within %v", done, len(users), k.Addr, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

func testFailover(t *testing.T, tp string) {
	itest.Require(t, "kamailio", "sqlite3", "dnsmasq")
	users := []string{"8101", "8102", "8103", "8104"}
	r := newFailoverRig(t, tp, kamailiotest.Options{}, users...)
	want := map[string]int{"fo-8101": 3, "fo-8102": 0, "fo-8103": 1, "fo-8104": 0}
	for _, u := range users {
		r.publish(t, u, want["fo-"+u])
	}
	start1 := len(r.k1.Log()) // the harness's own OPTIONS are before this
	a := runAgent(t, r.config(t, tp))
	d := allAt(t, r.k1, users, 0, 15*time.Second)
	t.Logf("all %d accounts registered and subscribed at sip1 (priority 10) after %v", len(users), d.Round(time.Millisecond))
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

	if tp == "udp" {
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
	d = allAt(t, r.k2, users, mark, 60*time.Second)
	t.Logf("FAILOVER %s: all %d accounts registered and subscribed at sip2 %v after sip1 was killed", tp, len(users), d.Round(time.Millisecond))
	waitSnap(t, a, 5*time.Second, "all subscribed at sip2", allHealth(state.HealthSubscribed))
	t.Logf("all subscribed (agent's view) %v after the kill", time.Since(t0).Round(time.Millisecond))
	stop()
	w.check(t)

	r.publish(t, "8102", 2, r.k2)
	waitSnap(t, a, 3*time.Second, "a change arrives from sip2", accountIs("fo-8102", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 2
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
	a := runAgent(t, r.config(t, "udp"))
	d := allAt(t, r.k2, users, 0, 10*time.Second)
	t.Logf("503 at sip1: registered and subscribed at sip2 after %v", d.Round(time.Millisecond))
	waitSnap(t, a, 5*time.Second, "subscribed at sip2", allHealth(state.HealthSubscribed))
	if n := strings.Count(r.k1.Log(), "mwi-test: answered 503 to REGISTER"); n != len(users) {
		t.Errorf("sip1 answered 503 to %d REGISTERs, want one per account (%d)", n, len(users))
	}
	t.Logf("all subscribed %v after start", time.Since(t0).Round(time.Millisecond))
}
