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
