package rig_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/internal/mosquittotest"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// roomConfig: one account taking unsolicited NOTIFYs from loopback on a
// known UDP port, the sim board, a page on a free loopback port.
func roomConfig(t *testing.T, dir, listen, extra string) *config.Config {
	t.Helper()
	yaml := fmt.Sprintf("state_dir: %s\nhttp: {listen: \"127.0.0.1:0\", token: tok}\nlisten: {udp: %q}\nkeepalive: 0s\n%saccounts:\n"+
		"  - {name: room-101, label: Room, aor: \"sip:room-101@127.0.0.1\", password: x, register: false, subscribe: false, unsolicited: accept, unsolicited_from: [127.0.0.1]}\n",
		dir, listen, extra)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	return cfg
}

func startRig(t *testing.T, cfg *config.Config, opt rig.Options) (*rig.Rig, rig.Board, func()) {
	t.Helper()
	r, board := build(t, cfg, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitReady(t, r)
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return r, board, stop
}

func waitLamp(t *testing.T, board rig.Board, name string) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, _ := board.Sim.Lamp.Pattern()
		if p.Name == name {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("lamp %q, want %q", p.Name, name)
		}
	}
}

// Restart: the device saved its state at shutdown; the next start shows it
// as last known, unconfirmed (the lamp's "cannot know" pattern, the age on
// the display and in the API) until the first NOTIFY replaces it.
func TestRestartShowsLastKnownUntilFirstNotify(t *testing.T) {
	dir, listen := t.TempDir(), kamailiotest.FreeUDP(t)
	cfg := roomConfig(t, dir, listen, "")
	_, board, stop := startRig(t, cfg, rig.Options{Persist: true})
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 2/0\r\n")
	waitLamp(t, board, "steady")
	stop() // saved at shutdown

	r, board, _ := startRig(t, roomConfig(t, dir, listen, ""), rig.Options{Persist: true})
	acc, _ := r.Agent.Snapshot().Account("room-101")
	if !acc.Unconfirmed() || acc.Waiting != state.WaitingYes || acc.Voice().New != 2 || acc.RestoredFrom != state.SourceUnsolicited {
		t.Fatalf("after the restart: %+v", acc)
	}
	waitLamp(t, board, indicate.PatternUnknown.Name)
	var st web.StateJSON
	if err := json.Unmarshal([]byte(get(t, r, "/api/state")), &st); err != nil {
		t.Fatal(err)
	}
	if a := st.Accounts[0]; !a.Unconfirmed || a.AgeS == nil || a.Source != "persisted" || a.RestoredFrom != "unsolicited" || a.New != 2 {
		t.Errorf("API after restart: %+v", a)
	}
	out := indicate.Compute(r.Agent.Snapshot(), r.Policy)
	if l := out.Display.Accounts[0].Label; !strings.HasPrefix(l, "Room ") || !strings.HasSuffix(l, "s") {
		t.Errorf("display label %q: want the age", l)
	}
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: no\r\n")
	waitLamp(t, board, "off")
	if acc, _ := r.Agent.Snapshot().Account("room-101"); acc.Source != state.SourceUnsolicited {
		t.Errorf("after the first NOTIFY: %+v", acc)
	}
}

func get(t *testing.T, r *rig.Rig, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+r.PageAddr.String()+path, nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return string(b)
}

// The whole device with MQTT and metrics: a retained state on a real
// mosquitto, a manual clear over the HTTP API seen on MQTT and the lamp,
// /metrics accepted by promtool.
func TestDeviceMQTTAndMetrics(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "promtool")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir, listen := t.TempDir(), kamailiotest.FreeUDP(t)
	cfg := roomConfig(t, dir, listen, fmt.Sprintf("mqtt: {broker: %q, device_id: front-desk}\n", b.URL))
	r, board, _ := startRig(t, cfg, rig.Options{})
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n")
	waitLamp(t, board, "steady")
	topic := "mwi-agent/front-desk/account/room-101/state"
	waitPayload(t, b, topic, `"waiting":"yes"`)

	req, _ := http.NewRequest("POST", "http://"+r.PageAddr.String()+"/api/mwi", strings.NewReader(`{"action":"clear","account":"room-101"}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("POST /api/mwi: %v %v", res, err)
	}
	res.Body.Close()
	waitLamp(t, board, "off")
	waitPayload(t, b, topic, `"source":"manual"`)

	m := get(t, r, "/metrics")
	for _, want := range []string{`mwi_account_waiting{account="room-101"} 0`, `mwi_account_source{account="room-101",source="manual"} 1`, `mwi_sip_notifies_total{outcome="applied"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, m)
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(m)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool: %v\n%s", err, out)
	}
}

func waitPayload(t *testing.T, b *mosquittotest.Broker, topic, want string) {
	t.Helper()
	last := ""
	for range 20 {
		if p, ok := b.Sub(topic, 1, 2*time.Second)[topic]; ok {
			last = p
			if strings.Contains(p, want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %q lacks %s", topic, last, want)
}
