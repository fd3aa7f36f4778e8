package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and each problem is one line.
func FuzzParse(f *testing.F) {
	if ex, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.example.yaml")); err == nil {
		f.Add(ex)
	}
	for _, s := range []string{
		"", "accounts:\n  - asterisk: 1:2:3@h:1/m\n", "listen: {udp: \"[::1]:0\"}\n",
		"a: &x {b: *x}\n", "accounts: [{aor: \"sip:1@[::1]:5\", led: 99999999999999999999}]\n",
		"keepalive: 1e400\nfxs: {quiet: .nan}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			return
		}
		var j interface{ Unwrap() []error }
		if errors.As(err, &j) {
			for _, e := range j.Unwrap() {
				if strings.Contains(e.Error(), "\n") {
					t.Fatalf("problem spans lines: %q", e.Error())
				}
			}
		}
	})
}
