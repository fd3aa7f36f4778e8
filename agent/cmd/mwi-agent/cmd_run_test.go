package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `mwi-agent run` serves the status socket that `mwi-agent status` reads,
// and stops cleanly when its context (SIGINT/SIGTERM) ends. The account
// points at a port nobody answers: health unreachable, the table says so.
func TestRunAndStatus(t *testing.T) {
	dir := t.TempDir()
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	cfgPath := filepath.Join(dir, "mwi.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("state_dir: %s\nlisten:\n  udp: \"127.0.0.1:0\"\naccounts:\n  - name: desk-1001\n    label: Desk\n    aor: sip:1001@127.0.0.1\n    password: hunter22\n    server: %s\n", dir, deadAddr)), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- runMain(ctx, []string{"run", "--config", cfgPath}, &bytes.Buffer{}, &stderr) }()

	var out bytes.Buffer
	deadline := time.Now().Add(5 * time.Second)
	for {
		out.Reset()
		var errb bytes.Buffer
		code := runMain(context.Background(), []string{"status", "--config", cfgPath}, &out, &errb)
		if code == 0 && strings.Contains(out.String(), "desk-1001") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status: %d %s %s\nrun log:\n%s", code, out.String(), errb.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(out.String(), "ACCOUNT") || !strings.Contains(out.String(), "Desk") || !strings.Contains(out.String(), "unknown") {
		t.Errorf("status table:\n%s", out.String())
	}
	if strings.Contains(stderr.String(), "hunter22") {
		t.Error("password in the log")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d:\n%s", code, stderr.String())
		}
	case <-time.After(6 * time.Second):
		t.Fatal("run did not stop")
	}
}
