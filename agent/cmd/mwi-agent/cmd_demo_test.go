package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/agent/web"
)

func eventually(t *testing.T, what string, limit time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The demo without a browser: the real agent registers and subscribes to
// the demo server over SIP on loopback and the sim lamp follows the
// mailboxes; the terminal phone shows the same.
func TestDemoEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rig, err := startDemo(ctx, "127.0.0.1:0", nil, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-rig.done }()
	lamp := func() string { p, _ := rig.Board.Lamp.Pattern(); return p.Name }
	subscribed := func() bool {
		for _, m := range rig.Server.Mailboxes() {
			if m.Subscriptions != 1 || !m.Registered || m.Notifies == 0 {
				return false
			}
		}
		return true
	}
	eventually(t, "all three accounts registered and subscribed", 10*time.Second, subscribed)
	eventually(t, "lamp off once every mailbox is known empty", 5*time.Second, func() bool { return lamp() == "off" })
	if strings.Contains(tuiFrame(rig, false), "(*)") {
		t.Fatalf("terminal phone shows a lit lamp:\n%s", tuiFrame(rig, false))
	}
	rig.Server.Leave("1002", false)
	eventually(t, "lamp steady after a voicemail", 2*time.Second, func() bool { return lamp() == "steady" })
	eventually(t, "LED 2 on for Home", time.Second, func() bool { return rig.Board.LEDs[1].Lit() && !rig.Board.LEDs[0].Lit() })
	frame := tuiFrame(rig, false)
	if !strings.Contains(frame, "MESSAGE (*)") || !strings.Contains(frame, "Home") {
		t.Fatalf("terminal phone:\n%s", frame)
	}
	rig.Server.Leave("1001", true)
	eventually(t, "lamp urgent", 2*time.Second, func() bool { return lamp() == "urgent" })
	rig.Server.Listen("1001")
	eventually(t, "lamp steady: Home still has a message", 2*time.Second, func() bool { return lamp() == "steady" })
	rig.Server.Delete("1002")
	eventually(t, "lamp off after the last mailbox emptied", 2*time.Second, func() bool { return lamp() == "off" })
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runRig is "mwi-agent run" with board: sim against a demo voicemail
// server: the device agent/rig builds (agent, indicators, FXS port, status
// page), without demo controls.
type runRig struct {
	srv  *demo.Server
	rig  *rig.Rig
	get  func() web.StateJSON // the status page's /api/state
	stop func()               // cancels and waits for the device to stop
}

func startRun(t *testing.T, edit func(*config.Config)) runRig {
	t.Helper()
	srv, err := demo.New(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg, err := demoConfig(srv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.StateDir = t.TempDir()
	if edit != nil {
		edit(cfg)
	}
	log := newLogger(os.Stderr, slog.LevelWarn)
	res, err := config.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	board, err := rig.Open(res, log)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rig.New(res, board, rig.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	get := func() (st web.StateJSON) {
		res, err := http.Get("http://" + r.PageAddr.String() + "/api/state")
		if err != nil {
			return st
		}
		defer res.Body.Close()
		json.NewDecoder(res.Body).Decode(&st)
		return st
	}
	stop := func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the device did not stop with the context")
		}
	}
	return runRig{srv: srv, rig: r, get: get, stop: stop}
}

// "mwi-agent run" with board: sim drives the indicators and serves the
// status page (no demo controls) from its run hook.
func TestRunDrivesIndicatorsAndStatusPage(t *testing.T) {
	r := startRun(t, nil)
	eventually(t, "status page shows the lamp off", 10*time.Second, func() bool { return r.get().Lamp.Name == "off" })
	r.srv.Leave("1003", false)
	eventually(t, "status page shows the lamp on", 3*time.Second, func() bool { s := r.get(); return s.Lamp.Name == "steady" && s.Lamp.LitNow })
	if st := r.get(); st.Demo != nil {
		t.Fatal("status page of run shows demo controls")
	}
	r.stop()
}

// Stopping the demo server: when the subscription lapses the lamp shows
// the "cannot know" pattern, never plain off, even for a mailbox that was
// empty; after a restart the agent recovers and the lamp is right again.
func TestDemoServerStopShowsCannotKnow(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 15 s")
	}
	srv, err := demo.New(demo.Options{MaxExpires: 5 * time.Second, MinExpires: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := demoConfig(srv)
	if err != nil {
		t.Fatal(err)
	}
	res, err := config.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := rig.Open(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rig.New(res, sb, rig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	board := sb.Sim
	lamp := func() string { p, _ := board.Lamp.Pattern(); return p.Name }
	eventually(t, "every mailbox subscribed", 10*time.Second, func() bool {
		for _, m := range srv.Mailboxes() {
			if m.Subscriptions != 1 || m.Notifies == 0 {
				return false
			}
		}
		return true
	})
	eventually(t, "lamp off with every mailbox known", 5*time.Second, func() bool { return lamp() == "off" })
	srv.Stop()
	start := time.Now()
	seen := map[string]bool{}
	eventually(t, "lamp shows cannot-know after the server stopped", 30*time.Second, func() bool {
		seen[lamp()] = true
		return lamp() == "unknown"
	})
	t.Logf("cannot-know shown %v after the server stopped (granted expiry 5 s)", time.Since(start).Round(100*time.Millisecond))
	if len(seen) != 2 {
		t.Fatalf("lamp went through %v", seen)
	}
	srv.Leave("1001", false)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	restart := time.Now()
	eventually(t, "lamp steady after the server came back with a message", 40*time.Second, func() bool { return lamp() == "steady" })
	t.Logf("lamp right again %v after the restart", time.Since(restart).Round(100*time.Millisecond))
}

// The page can lift and replace the handset far more often than the hook's
// event queue is deep: the demo consumes the events.
func TestDemoHookManyTimes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rig, err := startDemo(ctx, "127.0.0.1:0", nil, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-rig.done }()
	for i := 0; i < 200; i++ {
		if err := rig.Board.Hook.Set(i%2 == 0); err != nil {
			t.Fatalf("move %d: %v", i, err)
		}
		if i%50 == 49 {
			time.Sleep(50 * time.Millisecond) // let the consumer catch up
		}
	}
}
