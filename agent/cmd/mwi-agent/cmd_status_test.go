package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// With no flags, status finds the running agent through the packaged
// install's configuration file (its state_dir) when that file exists; an
// explicit --socket wins and the file is not read.
func TestStatusDefaultsToPackagedConfig(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	yaml := "state_dir: " + state + "\nlisten: {udp: \"127.0.0.1:0\"}\naccounts:\n  - name: desk-1001\n    aor: sip:1001@127.0.0.1:9\n    password: x\n    register: false\n    subscribe: false\n"
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadResolved(file)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := filepath.Join(state, agent.StatusSocket)
	go a.ServeStatus(ctx, sock)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("status socket not served")
		}
	}
	old := packagedConfig
	t.Cleanup(func() { packagedConfig = old })

	packagedConfig = file
	var out, errb bytes.Buffer
	if err := runStatus(ctx, nil, &out, &errb); err != nil {
		t.Fatalf("status with the packaged config: %v", err)
	}
	if !strings.Contains(out.String(), "desk-1001") {
		t.Fatalf("status printed:\n%s", out.String())
	}

	// A missing packaged file: the built-in default state dir, not this one.
	packagedConfig = filepath.Join(dir, "absent.yaml")
	out.Reset()
	if err := runStatus(ctx, nil, &out, &errb); err == nil && strings.Contains(out.String(), "desk-1001") {
		t.Fatal("status found the agent without the packaged config")
	}

	// --socket given: the packaged file is not read (it is broken here).
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("accounts: [\n"), 0o600)
	packagedConfig = broken
	out.Reset()
	if err := runStatus(ctx, []string{"--socket", sock}, &out, &errb); err != nil || !strings.Contains(out.String(), "desk-1001") {
		t.Fatalf("status --socket: %v\n%s", err, out.String())
	}
}

// A normal user cannot read the packaged config (0600, user mwi-agent):
// status then looks in the packaged state_dir; another unreadable config
// and an unreadable socket say what to do instead of a bare "permission
// denied". (Tests run as root here, so the errors are made up; the real
// ones are checked as a normal user under systemd by
// scripts/integration/ship-systemd.sh.)
func TestStatusPermissionHints(t *testing.T) {
	denied := func(p string) (*config.Config, error) {
		return nil, fmt.Errorf("config: %w", &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission})
	}
	dir, err := statusDir(packagedConfig, denied)
	if err != nil || dir != packagedStateDir {
		t.Fatalf("packaged config unreadable: %q, %v; want %q", dir, err, packagedStateDir)
	}
	_, err = statusDir("/srv/other.yaml", denied)
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "sudo mwi-agent status") {
		t.Fatalf("other config unreadable: %v", err)
	}
	broken := func(string) (*config.Config, error) { return nil, errors.New("config: line 1: bad") }
	if _, err := statusDir(packagedConfig, broken); err == nil || err.Error() != "config: line 1: bad" {
		t.Fatalf("a broken packaged config is reported as it is: %v", err)
	}
	err = statusHint(fmt.Errorf("agent: status: is mwi-agent running? %w", &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)}), "/var/lib/mwi-agent/mwi-agent.sock")
	for _, want := range []string{"permission denied", "sudo mwi-agent status", "adduser $USER mwi-agent"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("socket hint %q lacks %q", err, want)
		}
	}
	if err := statusHint(os.ErrNotExist, "x"); err != os.ErrNotExist {
		t.Fatalf("other errors unchanged: %v", err)
	}
}

// `mwi-agent status` counts like the page and the display: voice messages
// when the server reports them by class (a waiting fax is not "3 new").
func TestStatusShowsVoiceFirst(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, state.Snapshot{Accounts: []state.Account{
		{Name: "desk", Label: "Desk", Waiting: state.WaitingYes, Health: state.HealthSubscribed,
			Classes: map[string]state.Counts{state.ClassVoice: {New: 1, Old: 4}, state.ClassFax: {New: 2}}},
		{Name: "total-only", Label: "Other", Waiting: state.WaitingYes, Health: state.HealthSubscribed,
			Classes: map[string]state.Counts{state.ClassFax: {New: 2}, state.ClassText: {New: 3}}},
	}}, time.Now())
	lines := strings.Split(b.String(), "\n")
	if f := strings.Fields(lines[1]); f[0] != "desk" || f[2] != "yes" || f[3] != "1" || f[4] != "4" {
		t.Errorf("voice account row %q, want NEW 1 OLD 4", lines[1])
	}
	if f := strings.Fields(lines[2]); f[3] != "5" {
		t.Errorf("no-voice account row %q, want the total (5 new)", lines[2])
	}
}
