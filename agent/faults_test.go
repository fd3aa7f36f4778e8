//go:build linux

package agent_test

// Faults against a real Kamailio with the configuration a new user
// writes — aor, server, password, nothing else, every timer at its
// default — asserting what the lamp shows (issue 11):
//
//   - kill -9 and restart, a new count published 5 s later: the new count
//     is shown within 60 s of the PUBLISH;
//   - SIGSTOP: "cannot know" (health unreachable, the lamp's unknown
//     pattern, never plain off) within 60 s; SIGCONT: back within 5 s;
//   - the same for a link cut (loopback drops everything in a network
//     namespace of the test's own), over UDP and over TCP.
//
// MWI_FAULT_BOUND (e.g. 150s) widens the 60 s bound to measure code that
// misses it; the times are logged either way.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// faultBound is the promise: 60 s, unless MWI_FAULT_BOUND says otherwise.
func faultBound(t testing.TB) time.Duration {
	if v := os.Getenv("MWI_FAULT_BOUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("MWI_FAULT_BOUND: %v", err)
		}
		return d
	}
	return 60 * time.Second
}

// defaultConfig names only aor, server and password per account (and a
// loopback listener and a state directory, which are not timers).
func defaultConfig(t testing.TB, addr string, users []string, aorParams string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "listen:\n  udp: \"127.0.0.1:0\"\nstate_dir: %s\naccounts:\n", t.TempDir())
	for _, u := range users {
		fmt.Fprintf(&b, "  - aor: sip:%s@127.0.0.1%s\n    server: %s\n    password: pw-%s\n", u, aorParams, addr, u)
	}
	return b.String()
}

func lampOf(s state.Snapshot) string {
	return indicate.Compute(s, indicate.DefaultPolicy(0, 0)).Lamp.Name
}

type faultRig struct {
	t     *testing.T
	k     *kamailiotest.Server
	a     *agent.Agent
	users []string
}

func startFaultRig(t *testing.T, users []string, aorParams string) *faultRig {
	itest.Require(t, "kamailio", "sqlite3")
	k := kamailiotest.Start(t)
	a := runAgent(t, defaultConfig(t, k.Addr, users, aorParams))
	waitSnap(t, a, 20*time.Second, "all subscribed", allHealth(state.HealthSubscribed))
	return &faultRig{t: t, k: k, a: a, users: users}
}

func (r *faultRig) publish(user, body string) {
	r.t.Helper()
	if _, err := r.k.Publish(user, body, ""); err != nil {
		r.t.Fatal(err)
	}
}

func (r *faultRig) name(user string) string { return user + "-127.0.0.1" }

// lit publishes n new messages for user and waits until the lamp is steady.
func (r *faultRig) lit(user string, n int) {
	r.t.Helper()
	r.publish(user, fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", n))
	waitSnap(r.t, r.a, 5*time.Second, "lit", func(s state.Snapshot) bool {
		acc, _ := s.Account(r.name(user))
		return acc.Voice().New == uint32(n) && lampOf(s) == "steady"
	})
}

// cannotKnow waits until every account is unreachable and the lamp shows
// the unknown pattern, failing if the lamp is ever plain off meanwhile.
func (r *faultRig) cannotKnow(what string, bound time.Duration) time.Duration {
	r.t.Helper()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var last state.Snapshot
	for s := range r.a.Watch(ctx) {
		last = s
		if l := lampOf(s); l == "off" {
			r.t.Fatalf("%s: the lamp went plain off after %v:\n%s", what, time.Since(t0), dump(s))
		}
		if allHealth(state.HealthUnreachable)(s) && lampOf(s) == indicate.PatternUnknown.Name {
			d := time.Since(t0)
			r.t.Logf("FAULT %s: cannot know (all unreachable, lamp %s) after %v", what, lampOf(s), d.Round(100*time.Millisecond))
			return d
		}
	}
	log := r.k.Log()
	if len(log) > 3000 {
		log = log[len(log)-3000:]
	}
	r.t.Fatalf("%s: not 'cannot know' within %v; lamp %s\n%s\nKamailio's log ends:\n%s", what, bound, lampOf(last), dump(last), log)
	return 0
}

// back waits until every account is subscribed again and the lamp is
// steady (the lit account's messages still wait).
func (r *faultRig) back(what string, bound time.Duration) time.Duration {
	r.t.Helper()
	t0 := time.Now()
	waitSnap(r.t, r.a, bound, what+": back", func(s state.Snapshot) bool {
		return allHealth(state.HealthSubscribed)(s) && lampOf(s) == "steady"
	})
	d := time.Since(t0)
	r.t.Logf("FAULT %s: back (all subscribed, lamp steady) after %v", what, d.Round(100*time.Millisecond))
	return d
}

var eightUsers = []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"}

// Kamailio killed (-9) and restarted: it forgets every registration and
// subscription; 5 s later the voicemail server publishes a new count.
func TestFaultKamailioRestart(t *testing.T) {
	r := startFaultRig(t, eightUsers, "")
	r.lit("1003", 2)
	r.k.Restart()
	time.Sleep(5 * time.Second)
	r.publish("1003", "Messages-Waiting: yes\r\nVoice-Message: 5/0\r\n")
	t0 := time.Now()
	waitSnap(t, r.a, faultBound(t), "the new count after the restart", func(s state.Snapshot) bool {
		acc, _ := s.Account(r.name("1003"))
		return acc.Voice().New == 5 && acc.Known() && lampOf(s) == "steady"
	})
	t.Logf("FAULT restart: new count shown %v after the PUBLISH", time.Since(t0).Round(100*time.Millisecond))
	// And the state stays right: every account subscribed again.
	waitSnap(t, r.a, faultBound(t), "all subscribed after the restart", allHealth(state.HealthSubscribed))
}

// Kamailio frozen (SIGSTOP), then continued (SIGCONT).
func TestFaultKamailioFrozen(t *testing.T) {
	r := startFaultRig(t, eightUsers, "")
	r.lit("1003", 2)
	r.k.Freeze()
	r.cannotKnow("frozen", faultBound(t))
	r.k.Thaw()
	r.back("thawed", 5*time.Second)
}

// The link to Kamailio cut (every packet dropped, both ways) and
// restored, over UDP and over TCP.
func TestFaultLinkCut(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3", "unshare", "tc", "ip")
	for _, c := range []struct{ name, params string }{{"udp", ""}, {"tcp", ";transport=tcp"}} {
		t.Run(c.name, func(t *testing.T) {
			if !kamailiotest.InOwnNetns(t) {
				return
			}
			r := startFaultRig(t, []string{"2001", "2002"}, c.params)
			r.lit("2001", 3)
			kamailiotest.CutLink(t)
			r.cannotKnow("link cut ("+c.name+")", faultBound(t))
			kamailiotest.RestoreLink(t)
			r.back("link restored ("+c.name+")", 5*time.Second)
		})
	}
}

// The steady-state cost of the trust timers against a real Kamailio with
// default settings: requests per method the server receives from 8
// accounts over MWI_PROBE_COST (e.g. 10m), per account per hour. A
// measurement, run on demand; it fails if the cost exceeds the budget
// docs/sip.md states.
func TestProbeCost(t *testing.T) {
	window := os.Getenv("MWI_PROBE_COST")
	if window == "" {
		t.Skip("a measurement: set MWI_PROBE_COST=10m (and MWI_INTEGRATION=1)")
	}
	d, err := time.ParseDuration(window)
	if err != nil {
		t.Fatalf("MWI_PROBE_COST: %v", err)
	}
	r := startFaultRig(t, eightUsers, "")
	time.Sleep(5 * time.Second) // start-up traffic out of the way
	before := requestCounts(r.k.Log())
	time.Sleep(d)
	after := requestCounts(r.k.Log())
	perHour := float64(time.Hour) / float64(d)
	for _, m := range []string{"REGISTER", "SUBSCRIBE", "OPTIONS", "NOTIFY", "PUBLISH"} {
		n := after[m] - before[m]
		t.Logf("COST %-9s %5d in %v: %6.1f per account per hour (%d accounts, one server)", m, n, d, float64(n)*perHour/float64(len(r.users)), len(r.users))
	}
	if sub := float64(after["SUBSCRIBE"]-before["SUBSCRIBE"]) * perHour / float64(len(r.users)); sub > 200 {
		t.Errorf("%.0f SUBSCRIBEs per account per hour; the restart check's budget is 2 × 80", sub)
	}
	if opt := float64(after["OPTIONS"]-before["OPTIONS"]) * perHour; opt > 200 {
		t.Errorf("%.0f OPTIONS per server per hour; the liveness probe's budget is 180", opt)
	}
}

func requestCounts(log string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(l, "mwi-test: request "); ok {
			m, _, _ := strings.Cut(rest, " ")
			out[m]++
		}
	}
	return out
}
