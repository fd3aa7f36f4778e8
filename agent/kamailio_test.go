package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

func kamailioConfig(t testing.TB, addr string, n int, expiry time.Duration) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "listen:\n  udp: \"127.0.0.1:0\"\nkeepalive: 0s\nstate_dir: %s\naccounts:\n", t.TempDir())
	for i := range n {
		u := 1001 + i
		fmt.Fprintf(&b, "  - name: desk-%d\n    aor: sip:%d@127.0.0.1\n    password: pw-%d\n    server: %s\n    register_expiry: %ds\n    subscribe_expiry: %ds\n",
			u, u, u, addr, int(expiry/time.Second), int(expiry/time.Second))
	}
	cfg, err := config.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MWI_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// waitSnap waits until cond holds for a snapshot (from Watch).
func waitSnap(t testing.TB, a *agent.Agent, within time.Duration, what string, cond func(state.Snapshot) bool) state.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last state.Snapshot
	for s := range a.Watch(ctx) {
		last = s
		if cond(s) {
			return s
		}
	}
	t.Fatalf("not %s within %v; last snapshot:\n%s", what, within, dump(last))
	return last
}

func dump(s state.Snapshot) string {
	var b strings.Builder
	for _, a := range s.Accounts {
		fmt.Fprintf(&b, "  %s waiting=%v voice=%+v health=%v status=%d reason=%q\n", a.Name, a.Waiting, a.Voice(), a.Health, a.LastStatus, a.LastReason)
	}
	return b.String()
}

func allHealth(h state.Health) func(state.Snapshot) bool {
	return func(s state.Snapshot) bool {
		for _, a := range s.Accounts {
			if a.Health != h {
				return false
			}
		}
		return len(s.Accounts) > 0
	}
}

// Eight accounts against a real Kamailio: all register and subscribe;
// PUBLISH for one mailbox lights exactly that account with the published
// counts within 2 s; a second PUBLISH clears it; Kamailio killed and
// restarted → every account registers and subscribes again and the state
// is right, without restarting the agent.
func TestKamailioEightAccounts(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3")
	k := kamailiotest.Start(t)
	cfg := kamailioConfig(t, k.Addr, 8, 6*time.Second)
	a, err := agent.New(agent.MustResolve(t, cfg), agent.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(agent.ShutdownTimeout + time.Second):
			t.Error("Run did not return within the shutdown bound")
		}
	}()

	t0 := time.Now()
	waitSnap(t, a, 10*time.Second, "all subscribed", allHealth(state.HealthSubscribed))
	t.Logf("8 accounts subscribed after %v", time.Since(t0))
	// Kamailio answers the SUBSCRIBE with 200 and, with nothing published,
	// a NOTIFY without a body: no information, not "no messages".
	for _, acc := range a.Snapshot().Accounts {
		if acc.Waiting != state.WaitingUnknown {
			t.Errorf("%s: waiting %v before any PUBLISH, want unknown (Kamailio's empty NOTIFY)", acc.Name, acc.Waiting)
		}
	}

	etag, err := k.Publish("1003", "Messages-Waiting: yes\r\nMessage-Account: sip:1003@127.0.0.1\r\nVoice-Message: 3/1 (1/0)\r\n", "")
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	s := waitSnap(t, a, 2*time.Second, "desk-1003 waiting", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1003")
		return acc.Waiting == state.WaitingYes
	})
	t.Logf("PUBLISH → waiting in %v", time.Since(t1))
	for _, acc := range s.Accounts {
		if acc.Name == "desk-1003" {
			if v := acc.Voice(); v.New != 3 || v.Old != 1 || v.UrgentNew != 1 || acc.Source != state.SourceSubscribed {
				t.Errorf("desk-1003: counts %+v source %v, want 3/1 (1/0) subscribed", v, acc.Source)
			}
		} else if acc.Waiting == state.WaitingYes {
			t.Errorf("%s lit by another account's PUBLISH", acc.Name)
		}
	}

	if _, err := k.Publish("1003", "Messages-Waiting: no\r\nVoice-Message: 0/4 (0/0)\r\n", etag); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "desk-1003 cleared", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1003")
		return acc.Waiting == state.WaitingNo && acc.Voice().New == 0 && acc.Voice().Old == 4
	})

	// Restart: registrations and subscriptions are in memory only, so the
	// new Kamailio knows none; the presentity (SQLite) survives.
	if _, err := k.Publish("1005", "Messages-Waiting: yes\r\nVoice-Message: 5/0\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "desk-1005 waiting", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1005")
		return acc.Waiting == state.WaitingYes
	})
	k.Restart()
	t2 := time.Now()
	deadline := time.Now().Add(20 * time.Second)
	for {
		log := k.Log()
		reg, sub := 0, 0
		for i := range 8 {
			if strings.Contains(log, fmt.Sprintf("mwi-test: registered %d ", 1001+i)) {
				reg++
			}
			if strings.Contains(log, fmt.Sprintf("mwi-test: subscribed %d ", 1001+i)) {
				sub++
			}
		}
		if reg == 8 && sub == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d registered, %d subscribed at the new Kamailio\n%s", reg, sub, dump(a.Snapshot()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("all 8 re-registered and re-subscribed %v after the restart", time.Since(t2))
	waitSnap(t, a, 5*time.Second, "state right after restart", func(s state.Snapshot) bool {
		ok := allHealth(state.HealthSubscribed)(s)
		a3, _ := s.Account("desk-1003")
		a5, _ := s.Account("desk-1005")
		return ok && a3.Waiting == state.WaitingNo && a5.Waiting == state.WaitingYes && a5.Voice().New == 5
	})
	// And the new subscriptions carry new PUBLISHes.
	if _, err := k.Publish("1008", "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "desk-1008 waiting after restart", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1008")
		return acc.Waiting == state.WaitingYes
	})
}

// One account over TCP against Kamailio: Kamailio sends the NOTIFYs back
// over the agent's connection (our Contact is that connection's address).
func TestKamailioTCP(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3")
	k := kamailiotest.Start(t)
	y := fmt.Sprintf("keepalive: 1s\nstate_dir: %s\naccounts:\n  - name: tcp-2001\n    aor: sip:2001@127.0.0.1\n    password: pw-2001\n    server: %s\n    transport: tcp\n    register_expiry: 60s\n    subscribe_expiry: 60s\n", t.TempDir(), k.Addr)
	a := runAgent(t, y)
	waitSnap(t, a, 10*time.Second, "subscribed over TCP", allHealth(state.HealthSubscribed))
	if _, err := k.Publish("2001", "Messages-Waiting: yes\r\nVoice-Message: 7/0\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "waiting over TCP", func(s state.Snapshot) bool {
		acc, _ := s.Account("tcp-2001")
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 7
	})
	// Restart: the connection drops; the keepalive notices, the account
	// registers and subscribes again over a new connection.
	k.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(k.Log(), "mwi-test: subscribed 2001 ") {
		if time.Now().After(deadline) {
			t.Fatalf("not subscribed again after the restart:\n%s", dump(a.Snapshot()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := k.Publish("2001", "Messages-Waiting: no\r\nVoice-Message: 0/7\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 3*time.Second, "cleared over the new connection", func(s state.Snapshot) bool {
		acc, _ := s.Account("tcp-2001")
		return acc.Waiting == state.WaitingNo
	})
}
