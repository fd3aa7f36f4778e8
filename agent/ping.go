package agent

import (
	"context"
	"errors"
	"fmt"
)

// Ping returns nil once the agent's loop goroutine has run a no-op: the
// loop is alive and not wedged. The systemd watchdog (agent/service) pings
// only while Ping succeeds. It fails when Run is not running or ctx ends
// first.
func (a *Agent) Ping(ctx context.Context) error {
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running {
		return errors.New("agent: not running")
	}
	done := make(chan struct{})
	select {
	case a.cmds <- func(*loop) { close(done) }:
	case <-ctx.Done():
		return fmt.Errorf("agent: loop not answering: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent: loop not answering: %w", ctx.Err())
	}
}
