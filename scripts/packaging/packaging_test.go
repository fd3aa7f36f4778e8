package packaging

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/boards"
)

// The example config installed as /etc/mwi-agent/config.yaml loads as it
// is, names a known board, and starts with no accounts (the service runs and
// shows "no accounts" until the admin fills it in).
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := config.Load("config.yaml")
	if err != nil {
		t.Fatalf("packaged example config: %v", err)
	}
	if _, err := boards.Lookup(cfg.Board); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 0 {
		t.Fatalf("example config has %d accounts, want none enabled", len(cfg.Accounts))
	}
}

// The commented-out account in the example is valid once uncommented, so
// the template an admin edits does not lead them into an error.
func TestExampleConfigCommentedAccountIsValid(t *testing.T) {
	data, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	inAccounts := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "accounts:":
			inAccounts = true
		case inAccounts && strings.TrimSpace(line) == "[]":
			continue
		case inAccounts && strings.HasPrefix(line, "  # ") &&
			(strings.HasPrefix(line, "  # -") || strings.HasPrefix(line, "  #   ")):
			line = "  " + strings.TrimPrefix(line, "  # ")
		}
		out = append(out, line)
	}
	cfg, err := config.Parse([]byte(strings.Join(out, "\n")))
	if err != nil {
		t.Fatalf("uncommented example: %v\n%s", err, strings.Join(out, "\n"))
	}
	if len(cfg.Accounts) != 2 {
		t.Fatalf("uncommented example has %d accounts, want 2 (one full, one asterisk shorthand)", len(cfg.Accounts))
	}
}

// The unit is Type=notify with a watchdog, reloads with SIGHUP, runs as the
// service user and lets it reach GPIO, I2C and ALSA devices only.
func TestUnitFile(t *testing.T) {
	data, err := os.ReadFile("mwi-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line without '=': %q", line)
		}
		keys[k] = append(keys[k], v)
	}
	want := map[string]string{
		"Type":                "notify",
		"Restart":             "on-failure",
		"User":                "mwi-agent",
		"SupplementaryGroups": "gpio i2c audio",
		"ExecStart":           "/usr/bin/mwi-agent run --config /etc/mwi-agent/config.yaml",
		"ExecReload":          "/bin/kill -HUP $MAINPID",
		"DevicePolicy":        "closed",
		"PrivateDevices":      "no",
		"NoNewPrivileges":     "yes",
	}
	for k, v := range want {
		if got := keys[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(keys["WatchdogSec"]) != 1 {
		t.Errorf("WatchdogSec missing")
	}
	devices := strings.Join(keys["DeviceAllow"], ";")
	for _, d := range []string{"char-gpiochip rw", "char-i2c rw", "char-alsa rw"} {
		if !strings.Contains(devices, d) {
			t.Errorf("DeviceAllow lacks %q (have %q)", d, devices)
		}
	}
}
