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
	badFXS := write("badfxs.yaml", "board: rpi-ata\ntones: {country: de}\nfxs:\n  signalling: [polarity, hv]\n  alert: foo\n  fsk_standard: V.23\n  flash_min: 500ms\n  flash_max: 400ms\n  dial_timeout: 0\naccounts:\n  - aor: sip:1001@pbx.example.com\n    password: hunter22\n")
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
		// A bad fxs: section: one line per broken field, nothing derived
		// (the whole of stderr: checked below).
		{[]string{"check-config", badFXS}, 1, "", badFXS + ": fxs.signalling[1]: board \"rpi-ata\" cannot do \"hv\"\n" +
			badFXS + ": fxs.fsk_standard: want bell202 or v23, not \"V.23\"\n" +
			badFXS + ": fxs.alert: want none, line-reversal, dt-as or ring-pulse, not \"foo\"\n" +
			badFXS + ": fxs.flash_max: must be longer than fxs.flash_min (500ms): \"400ms\"\n" +
			badFXS + ": fxs.dial_timeout: must be at least 1s: \"0s\"\n"},
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
		if len(tt.args) == 2 && tt.args[1] == badFXS && errb.String() != tt.stderr {
			t.Errorf("%q: stderr %q, want exactly %q", tt.args, errb.String(), tt.stderr)
		}
		if strings.Contains(out.String()+errb.String(), "hunter22") {
			t.Errorf("%q: output shows the password", tt.args)
		}
	}
}
