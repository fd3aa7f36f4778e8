package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "accounts:\n  - aor: sip:1001@pbx.example.com\n    password: hunter22\n  - asterisk: 1002:hunter22@pbx.example.com/1002\n")
	bad := write("bad.yaml", "log_level: loud\naccounts:\n  - aor: sip:1001@pbx.example.com\n    password: hunter22\n    server: \"pbx:\"\n    regster: no\n")
	empty := write("empty.yaml", "board: sim\n")
	syntax := write("syntax.yaml", "accounts:\n  - aor: sip:1@pbx\n   password: hunter22\n")

	tests := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"check-config", good}, 0, "ok: 2 accounts\n", ""},
		{[]string{"check-config", "--config", good}, 0, "ok: 2 accounts\n", ""},
		{[]string{"check-config", bad}, 1, "", bad + ": accounts[0].regster: unknown key (line 6)\n" +
			bad + ": log_level: want debug, info, warn or error, not \"loud\"\n" +
			bad + ": accounts[0].server: missing port number in \"pbx:\"\n"},
		// No accounts: valid, but say that nothing will be registered.
		{[]string{"check-config", empty}, 0, "ok: 0 accounts\n", empty + ": warning: no accounts: nothing will be registered or subscribed"},
		{[]string{"check-config", filepath.Join(dir, "missing.yaml")}, 1, "", "no such file"},
		{[]string{"check-config", syntax}, 1, "", "config: line 3, column"},
		{[]string{"check-config"}, 2, "", "usage: mwi-agent check-config FILE"},
		{[]string{"check-config", good, bad}, 2, "", "usage:"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := runMain(context.Background(), tt.args, &out, &errb)
		if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want %d, %q, stderr containing %q", tt.args, code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
		}
		if tt.code == 1 && strings.Count(errb.String(), "\n") < 1 {
			t.Errorf("%q: no problem printed", tt.args)
		}
		if strings.Contains(out.String()+errb.String(), "hunter22") {
			t.Errorf("%q: output shows the password", tt.args)
		}
	}
}
