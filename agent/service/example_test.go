package service_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/mwi-agent/mwi-agent/agent/service"
)

// The shape "mwi-agent run" follows: READY=1 once the agent started its
// accounts, a watchdog tied to the agent loop, and reloads bracketed by
// RELOADING=1/READY=1. Outside systemd every call does nothing.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := service.New(slog.New(slog.NewTextHandler(os.Stderr, nil)))

	started := make(chan struct{}) // agent.Started()
	close(started)
	alive := func(ctx context.Context) error { return nil } // a round trip through the agent loop

	go n.RunWatchdog(ctx, alive)
	<-started
	_ = n.Ready()
	_ = n.Reload(func() error { return nil /* agent.Reload(newConfig) */ })
	_ = n.Stopping()
	// Output:
}
