package agent

import (
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

// MustResolve resolves a configuration for a test (internal and external
// tests share it).
func MustResolve(tb testing.TB, c *config.Config) *config.Resolved {
	tb.Helper()
	r, err := config.Resolve(c)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// HoldLoop parks the agent's loop goroutine until release is called, so a
// test can queue worker updates and a command behind it.
func (a *Agent) HoldLoop(tb testing.TB) (release func()) {
	tb.Helper()
	parked, hold := make(chan struct{}), make(chan struct{})
	go a.do(func(*loop) { close(parked); <-hold })
	<-parked
	return func() { close(hold) }
}
