package agent_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

func freeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// unsolicitedConfig: accounts that neither register nor subscribe but take
// unsolicited NOTIFYs from loopback, on a known UDP port.
func unsolicitedConfig(t testing.TB, listen string, names ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "listen:\n  udp: %q\nkeepalive: 0s\nstate_dir: %s\naccounts:\n", listen, t.TempDir())
	for i, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    label: L%d\n    aor: sip:%s@127.0.0.1\n    password: x\n    register: false\n    subscribe: false\n    unsolicited: accept\n    unsolicited_from: [127.0.0.1]\n", n, i, n)
	}
	cfg, err := config.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return cfg
}

func notify(t testing.TB, addr, user, body string) {
	t.Helper()
	code, err := kamailiotest.Send(addr, "NOTIFY", "sip:"+user+"@"+addr,
		[]string{"Event: message-summary", "Content-Type: application/simple-message-summary"}, body, 2*time.Second)
	if err != nil || code != 200 {
		t.Fatalf("NOTIFY for %s: %d %v", user, code, err)
	}
}

func startAgent(t *testing.T, cfg *config.Config, log *slog.Logger) (*agent.Agent, context.CancelFunc, chan error) {
	t.Helper()
	return startAgentOpts(t, cfg, agent.Options{Logger: log})
}

// startAgentOpts starts an agent with opts, waits for Started and stops it
// at the test's end.
func startAgentOpts(t *testing.T, cfg *config.Config, opts agent.Options) (*agent.Agent, context.CancelFunc, chan error) {
	t.Helper()
	a, err := agent.New(agent.MustResolve(t, cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("Started not closed")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return a, cancel, done
}

// The loop end to end: Started, Watch (current first, then changes),
// Snapshot is a deep copy, one log line per change, clean shutdown.
func TestAgentLoop(t *testing.T) {
	listen := freeUDP(t)
	cfg := unsolicitedConfig(t, listen, "desk-1001", "desk-1002")
	var logs syncbuf.Buffer
	a, cancel, done := startAgent(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))

	wctx, wcancel := context.WithCancel(context.Background())
	w := a.Watch(wctx)
	first := <-w
	if len(first.Accounts) != 2 || first.Accounts[0].Name != "desk-1001" || first.Accounts[1].Label != "L1" {
		t.Fatalf("first snapshot %+v", first)
	}
	if first.Accounts[0].Health != state.HealthDisabled || first.Accounts[0].Waiting != state.WaitingUnknown {
		t.Errorf("initial account %+v", first.Accounts[0])
	}

	notify(t, listen, "desk-1001", "Messages-Waiting: yes\r\nVoice-Message: 2/1 (1/0)\r\n")
	var got state.Snapshot
	deadline := time.After(2 * time.Second)
	for got.Seq == 0 || func() bool { acc, _ := got.Account("desk-1001"); return acc.Waiting != state.WaitingYes }() {
		select {
		case got = <-w:
		case <-deadline:
			t.Fatalf("no change on Watch; last %+v", got)
		}
	}
	acc, _ := got.Account("desk-1001")
	if acc.Voice() != (state.Counts{New: 2, Old: 1, UrgentNew: 1}) || acc.Source != state.SourceUnsolicited || acc.Updated.IsZero() {
		t.Errorf("account after NOTIFY %+v", acc)
	}
	if other, _ := got.Account("desk-1002"); other.Waiting != state.WaitingUnknown {
		t.Errorf("the other account changed: %+v", other)
	}
	if got.Seq <= first.Seq {
		t.Errorf("Seq %d after %d", got.Seq, first.Seq)
	}
	s1 := a.Snapshot()
	s1.Accounts[0].Classes[state.ClassVoice] = state.Counts{New: 99}
	if s2 := a.Snapshot(); s2.Accounts[0].Voice().New != 2 {
		t.Error("Snapshot is not a deep copy")
	}
	time.Sleep(50 * time.Millisecond)
	if want := "account=desk-1001 waiting=yes new=2 old=1 urgent=1 source=unsolicited"; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs.String())
	}

	wcancel()
	for range w { // closed when its context ends
	}
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
		if d := time.Since(t0); d > agent.ShutdownTimeout {
			t.Errorf("shutdown took %v", d)
		}
	case <-time.After(agent.ShutdownTimeout + time.Second):
		t.Fatal("Run did not return")
	}
	done <- nil // for the cleanup
}

// Reload keeps unchanged accounts (and their state), adds new ones and
// drops removed ones.
func TestAgentReload(t *testing.T) {
	listen := freeUDP(t)
	a, _, _ := startAgent(t, unsolicitedConfig(t, listen, "desk-1001", "desk-1002"), nil)
	notify(t, listen, "desk-1001", "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n")
	waitSnap(t, a, 2*time.Second, "desk-1001 waiting", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1001")
		return acc.Waiting == state.WaitingYes
	})
	cfg2 := unsolicitedConfig(t, listen, "desk-1001", "desk-1003")
	if err := a.Reload(agent.MustResolve(t, cfg2)); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if len(s.Accounts) != 2 || s.Accounts[1].Name != "desk-1003" {
		t.Fatalf("accounts after reload: %s", dump(s))
	}
	if acc, _ := s.Account("desk-1001"); acc.Waiting != state.WaitingYes {
		t.Errorf("unchanged account lost its state: %+v", acc)
	}
	notify(t, listen, "desk-1003", "Messages-Waiting: yes\r\nVoice-Message: 4/0\r\n")
	waitSnap(t, a, 2*time.Second, "new account works", func(s state.Snapshot) bool {
		acc, _ := s.Account("desk-1003")
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 4
	})
	code, err := kamailiotest.Send(listen, "NOTIFY", "sip:desk-1002@"+listen,
		[]string{"Event: message-summary"}, "Messages-Waiting: yes\r\n", 2*time.Second)
	if err != nil || code != 481 {
		t.Errorf("NOTIFY for the removed account: %d %v, want 481", code, err)
	}
}

// The status socket serves the snapshot that `mwi-agent status` prints.
func TestStatusSocket(t *testing.T) {
	listen := freeUDP(t)
	cfg := unsolicitedConfig(t, listen, "desk-1001")
	a, _, _ := startAgent(t, cfg, nil)
	notify(t, listen, "desk-1001", "Messages-Waiting: yes\r\nVoice-Message: 3/0\r\n")
	waitSnap(t, a, 2*time.Second, "waiting", func(s state.Snapshot) bool { return s.Accounts[0].Waiting == state.WaitingYes })
	sock := filepath.Join(cfg.StateDir, agent.StatusSocket)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.ServeStatus(ctx, sock)
	var s state.Snapshot
	var err error
	for range 100 {
		if s, err = agent.ReadStatus(ctx, sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if acc, _ := s.Account("desk-1001"); acc.Waiting != state.WaitingYes || acc.Voice().New != 3 {
		t.Errorf("status socket says %+v", acc)
	}
}

// resolve is agent.MustResolve (the name other test files use).
func resolve(tb testing.TB, c *config.Config) *config.Resolved { return agent.MustResolve(tb, c) }
