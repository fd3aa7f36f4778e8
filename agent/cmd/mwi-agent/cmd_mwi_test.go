package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
)

// mwi set/clear through the status socket (flags before or after the
// account), the source "manual" in status, and status --verbose showing
// the last NOTIFY.
func TestMWICommandAndVerboseStatus(t *testing.T) {
	listen := kamailiotest.FreeUDP(t)
	dir := t.TempDir()
	yaml := "state_dir: " + dir + "\nlisten: {udp: \"" + listen + "\"}\naccounts:\n" +
		"  - {name: room-101, aor: \"sip:room-101@127.0.0.1\", password: x, register: false, subscribe: false, unsolicited: accept, unsolicited_from: [127.0.0.1]}\n" +
		"  - {name: room-102, aor: \"sip:room-102@127.0.0.1\", password: x, register: false, subscribe: false}\n"
	file := filepath.Join(dir, "config.yaml")
	os.WriteFile(file, []byte(yaml), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := config.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(rc, agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-a.Started()
	sock := filepath.Join(dir, agent.StatusSocket)
	go a.ServeStatus(ctx, sock)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		} else if time.Now().After(end) {
			t.Fatal("no status socket")
		}
	}
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n")

	var out, errb bytes.Buffer
	run := func(args ...string) error {
		out.Reset()
		errb.Reset()
		return runMWI(ctx, args, &out, &errb)
	}
	if err := run("set", "room-102", "--new", "3", "--urgent", "1", "--config", file); err != nil || !strings.Contains(out.String(), "set: room-102 (source manual)") {
		t.Fatalf("mwi set: %v %s %s", err, out.String(), errb.String())
	}
	if acc, _ := a.Snapshot().Account("room-102"); acc.Voice().New != 3 || acc.Voice().UrgentNew != 1 || acc.Source.String() != "manual" {
		t.Errorf("after mwi set: %+v", acc)
	}
	if err := run("--socket", sock, "clear", "--all"); err != nil || !strings.Contains(out.String(), "clear: room-101, room-102") {
		t.Fatalf("mwi clear --all: %v %s", err, out.String())
	}
	for _, bad := range [][]string{{"set", "room-101", "--new", "1", "--urgent", "2"}, {"clear"}, {"blink", "room-101"}, {"clear", "room-9", "--socket", sock}, {"set", "a", "b"}} {
		if err := run(bad...); err == nil {
			t.Errorf("mwi %v accepted", bad)
		}
	}

	out.Reset()
	if err := runStatus(ctx, []string{"--socket", sock, "--verbose"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"manual", "last NOTIFY: ", " from 127.0.0.1:", " over UDP, answered 200 (applied)", "| Voice-Message: 1/0", "last REGISTER answer:  none", "room-102\n  last REGISTER answer:  none\n  last SUBSCRIBE answer: none\n  last NOTIFY: none received"} {
		if !strings.Contains(s, want) {
			t.Errorf("status --verbose lacks %q:\n%s", want, s)
		}
	}
}
