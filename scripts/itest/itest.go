package itest

// Integration tests run only when scripts/test.sh (or a developer) sets
// MWI_INTEGRATION=1; plain "go test ./..." skips them with a message naming
// the command that runs them. When integration tests were asked for, a
// missing tool is a failure, not a skip.

import (
	"os"
	"os/exec"
	"testing"
)

// Env is the variable scripts/test.sh sets to run integration tests.
const Env = "MWI_INTEGRATION"

// Enabled reports whether integration tests were asked for.
func Enabled() bool { return os.Getenv(Env) == "1" }

// Require skips t unless integration tests are enabled, and fails it if any
// of the named programs is not on PATH. It returns each program's path in
// order.
func Require(t testing.TB, programs ...string) []string {
	t.Helper()
	if !Enabled() {
		t.Skipf("integration test (needs %v): run scripts/test.sh, or set %s=1 with the tools installed", programs, Env)
	}
	paths := make([]string, len(programs))
	for i, p := range programs {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("integration test needs %q on PATH: %v (scripts/test.sh installs it)", p, err)
		}
		paths[i] = path
	}
	return paths
}
