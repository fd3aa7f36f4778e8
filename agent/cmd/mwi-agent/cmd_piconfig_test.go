package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPiConfigFromBoardAndFromConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"pi-config", "--board", "rpi-ata"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "\ngpio=5=op,dl\n") || !strings.Contains(out.String(), "\ndtparam=audio=on\n") {
		t.Fatalf("rpi-ata:\n%s", out.String())
	}

	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("board: devboard-leds\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"pi-config", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "board devboard-leds") || !strings.Contains(out.String(), "\ngpio=27=ip,pu\n") {
		t.Fatalf("devboard-leds:\n%s", out.String())
	}

	errb.Reset()
	if code := runMain(context.Background(), []string{"pi-config", "--board", "sim"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no Raspberry Pi hardware") {
		t.Fatalf("sim: exit %d, %q", code, errb.String())
	}
}
