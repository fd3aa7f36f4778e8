package agent

import (
	"context"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

func TestPingAnswersOnlyWhileTheLoopRuns(t *testing.T) {
	cfg := config.Default()
	cfg.Listen.UDP = "127.0.0.1:0"
	a, err := New(MustResolve(t, cfg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if err := a.Ping(short()); err == nil {
		t.Fatal("Ping succeeded before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Started():
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if err := a.Ping(pctx); err != nil {
		t.Fatalf("Ping while running: %v", err)
	}

	// A wedged loop: block it with a command that does not return.
	release, blocked := make(chan struct{}), make(chan struct{})
	go a.do(func(*loop) { close(blocked); <-release })
	<-blocked
	if err := a.Ping(short()); err == nil {
		t.Fatal("Ping succeeded while the loop was blocked")
	}
	close(release)
	if err := a.Ping(pctx); err != nil {
		t.Fatalf("Ping after the loop recovered: %v", err)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if err := a.Ping(short()); err == nil {
		t.Fatal("Ping succeeded after Run returned")
	}
}
