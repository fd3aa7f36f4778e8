package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/internal/mosquittotest"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"github.com/mwi-agent/mwi-agent/agent/mqtt"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// startAgent runs a real agent whose accounts take unsolicited NOTIFYs
// from loopback on listen.
func startAgent(t testing.TB, listen string, names ...string) *agent.Agent {
	t.Helper()
	a, err := newAgent(t.TempDir(), listen, names...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-a.Started()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

func newAgent(dir, listen string, names ...string) (*agent.Agent, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "listen:\n  udp: %q\nkeepalive: 0s\nstate_dir: %s\naccounts:\n", listen, dir)
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    label: Room %s\n    aor: sip:%s@127.0.0.1\n    password: x\n    register: false\n    subscribe: false\n    unsolicited: accept\n    unsolicited_from: [127.0.0.1]\n", n, n, n)
	}
	cfg, err := config.Parse([]byte(b.String()))
	if err != nil {
		return nil, err
	}
	rc, err := config.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	return agent.New(rc, agent.Options{})
}

func startClient(t testing.TB, o mqtt.Options) (*mqtt.Client, *syncbuf.Buffer) {
	t.Helper()
	var logs syncbuf.Buffer
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c, err := mqtt.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("client log:\n%s", logs.String())
		}
	})
	return c, &logs
}

// waitTopic reads topic (retained) until pred holds for its payload.
func waitTopic(t testing.TB, b *mosquittotest.Broker, topic string, pred func(string) bool) string {
	t.Helper()
	var last string
	for range 20 {
		got := b.Sub(topic, 1, 2*time.Second)
		if p, ok := got[topic]; ok {
			last = p
			if pred(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("topic %s: last payload %q", topic, last)
	return ""
}

func stateOf(t testing.TB, payload string) mqtt.State {
	var s mqtt.State
	if err := json.Unmarshal([]byte(payload), &s); err != nil {
		t.Fatalf("state payload %q: %v", payload, err)
	}
	return s
}

// Discovery and state appear retained, with Home Assistant's schema; a
// new NOTIFY updates the retained state.
func TestDiscoveryAndStateRetained(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	listen := kamailiotest.FreeUDP(t)
	a := startAgent(t, listen, "room-101", "room-102")
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 2/1 (1/0)\r\n")
	startClient(t, mqtt.Options{Broker: b.URL, DeviceID: "ata-017", DiscoveryPrefix: "homeassistant", Source: a, Version: "test"})

	base := "mwi-agent/ata-017"
	waitTopic(t, b, base+"/availability", func(p string) bool { return p == "online" })
	st := stateOf(t, waitTopic(t, b, base+"/account/room-101/state", func(p string) bool { return strings.Contains(p, `"waiting":"yes"`) }))
	if st.New != 2 || st.Old != 1 || st.Urgent != 1 || st.Source != "unsolicited" || !st.Known || st.Health != "disabled" || st.Updated == "" {
		t.Errorf("state %+v", st)
	}
	// Everything under the discovery prefix, retained: 2 accounts × 3.
	disc := b.Sub("homeassistant/#", 6, 3*time.Second)
	if len(disc) != 6 {
		t.Fatalf("discovery topics: %v", disc)
	}
	var devices = map[string]bool{}
	for topic, payload := range disc {
		var cfg map[string]any
		if err := json.Unmarshal([]byte(payload), &cfg); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		parts := strings.Split(topic, "/")
		if len(parts) != 4 || parts[3] != "config" || (parts[1] != "sensor" && parts[1] != "binary_sensor") || parts[2] != cfg["unique_id"] {
			t.Errorf("discovery topic %s (unique_id %v)", topic, cfg["unique_id"])
		}
		if want := parts[1] + "." + strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(parts[2]), "-", "_"), ".", "_"); cfg["default_entity_id"] != want {
			t.Errorf("%s: default_entity_id %v, want %s", topic, cfg["default_entity_id"], want)
		}
		if _, ok := cfg["object_id"]; ok {
			t.Errorf("%s: deprecated object_id", topic)
		}
		for _, k := range []string{"name", "state_topic", "availability_topic", "value_template", "device"} {
			if cfg[k] == nil {
				t.Errorf("%s lacks %s", topic, k)
			}
		}
		dev, _ := json.Marshal(cfg["device"])
		devices[string(dev)] = true
	}
	if len(devices) != 1 {
		t.Errorf("want one device, got %v", devices)
	}
	if _, ok := disc["homeassistant/binary_sensor/mwi-agent_ata-017_room-101_waiting/config"]; !ok {
		t.Errorf("no binary sensor for room-101: %v", disc)
	}
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: no\r\nVoice-Message: 0/3\r\n")
	waitTopic(t, b, base+"/account/room-101/state", func(p string) bool { return stateOf(t, p).Waiting == "no" })
}

// Restarting the broker (no persistence: it forgets every retained
// message) republishes availability, state and discovery.
func TestBrokerRestartRepublishes(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	listen := kamailiotest.FreeUDP(t)
	a := startAgent(t, listen, "room-101")
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 4/0\r\n")
	c, logs := startClient(t, mqtt.Options{Broker: b.URL, DeviceID: "ata-1", DiscoveryPrefix: "homeassistant", Source: a})
	topic := "mwi-agent/ata-1/account/room-101/state"
	waitTopic(t, b, topic, func(p string) bool { return stateOf(t, p).New == 4 })
	b.Restart()
	if got := b.Sub("#", 1, 1*time.Second); len(got) > 1 {
		t.Logf("right after the restart: %v", got) // the client may already be back
	}
	waitTopic(t, b, topic, func(p string) bool { return stateOf(t, p).New == 4 })
	waitTopic(t, b, "mwi-agent/ata-1/availability", func(p string) bool { return p == "online" })
	if got := b.Sub("homeassistant/#", 3, 3*time.Second); len(got) != 3 {
		t.Errorf("discovery after restart: %v", got)
	}
	if s := c.Stats(); s.Connects < 2 {
		t.Errorf("stats %+v: want a reconnect", s)
	}
	if !strings.Contains(logs.String(), "mqtt: connection lost") {
		t.Errorf("log lacks the lost connection:\n%s", logs.String())
	}
}

// A command clears a lamp; a malformed one is logged and ignored.
func TestCommandClearsLamp(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	listen := kamailiotest.FreeUDP(t)
	a := startAgent(t, listen, "room-101", "room-102")
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n")
	kamailiotest.NotifyMWI(t, listen, "room-102", "Messages-Waiting: no\r\n")
	c, logs := startClient(t, mqtt.Options{Broker: b.URL, DeviceID: "ata-2", Source: a, Commands: true, Manual: a.Manual})
	pol := indicate.DefaultPolicy(0, 0)
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if out := indicate.Compute(a.Snapshot(), pol); out.Lamp.Equal(indicate.PatternSteady) {
			break
		} else if time.Now().After(end) {
			t.Fatalf("lamp %v before the command", out.Lamp)
		}
	}
	waitTopic(t, b, "mwi-agent/ata-2/availability", func(p string) bool { return p == "online" })
	for _, bad := range []string{"clear room-101", `{"action":"clear"}`, `{"action":"clear","account":"room-101","colour":"red"}`, `{"action":"set","account":"nope"}`} {
		b.Pub("mwi-agent/ata-2/command", bad)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().BadCommands < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := c.Stats(); s.BadCommands != 4 || s.Commands != 0 {
		t.Fatalf("stats %+v after 4 malformed commands", s)
	}
	if n := strings.Count(logs.String(), "mqtt: command ignored"); n != 4 {
		t.Errorf("%d 'command ignored' log lines, want 4:\n%s", n, logs.String())
	}
	if out := indicate.Compute(a.Snapshot(), pol); !out.Lamp.Equal(indicate.PatternSteady) {
		t.Fatalf("a malformed command changed the lamp: %v", out.Lamp)
	}
	b.Pub("mwi-agent/ata-2/command", `{"action":"clear","account":"room-101"}`)
	st := stateOf(t, waitTopic(t, b, "mwi-agent/ata-2/account/room-101/state", func(p string) bool { return stateOf(t, p).Source == "manual" }))
	if st.Waiting != "no" || !st.Known {
		t.Errorf("state after the clear: %+v", st)
	}
	if out := indicate.Compute(a.Snapshot(), pol); !out.Lamp.Equal(indicate.PatternOff) {
		t.Errorf("lamp %v after the clear command, want off", out.Lamp)
	}
}

// Commands are off by default: nothing subscribes to the command topic.
func TestCommandsOffByDefault(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	listen := kamailiotest.FreeUDP(t)
	a := startAgent(t, listen, "room-101")
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\n")
	c, _ := startClient(t, mqtt.Options{Broker: b.URL, DeviceID: "ata-3", Source: a})
	waitTopic(t, b, "mwi-agent/ata-3/availability", func(p string) bool { return p == "online" })
	b.Pub("mwi-agent/ata-3/command", `{"action":"clear","account":"room-101"}`)
	time.Sleep(500 * time.Millisecond)
	if acc, _ := a.Snapshot().Account("room-101"); acc.Source == state.SourceManual || c.Stats().Commands+c.Stats().BadCommands != 0 {
		t.Errorf("a command was taken with commands off: %+v", acc)
	}
}

// TLS with a private CA and username/password; a wrong password is
// refused and retried (logged), never fatal.
func TestTLSAndPassword(t *testing.T) {
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub", "mosquitto_passwd")
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: true, Username: "ata", Password: "s3cret"})
	listen := kamailiotest.FreeUDP(t)
	a := startAgent(t, listen, "room-101")
	kamailiotest.NotifyMWI(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 7/0\r\n")
	_, badLogs := startClient(t, mqtt.Options{Broker: b.URL, DeviceID: "bad", Source: a, TLS: b.ClientTLS(), Username: "ata", Password: "wrong"})
	// The good client is built from a configuration file's mqtt section.
	cfg, err := config.Parse([]byte(fmt.Sprintf("mqtt:\n  broker: mqtts://%s\n  device_id: good\n  username: ata\n  password: s3cret\n  ca_file: %s\n", b.Addr, b.CAFile)))
	if err != nil {
		t.Fatal(err)
	}
	o, on, err := mqtt.FromConfig(cfg.MQTT, "test")
	if err != nil || !on {
		t.Fatal(on, err)
	}
	o.Source = a
	startClient(t, o)
	st := stateOf(t, waitTopic(t, b, "mwi-agent/good/account/room-101/state", func(string) bool { return true }))
	if st.New != 7 {
		t.Errorf("state over TLS: %+v", st)
	}
	if got := b.Sub("mwi-agent/bad/#", 1, 1*time.Second); len(got) != 0 {
		t.Errorf("the client with a wrong password published %v", got)
	}
	for end := time.Now().Add(5 * time.Second); !strings.Contains(badLogs.String(), "mqtt: cannot connect") && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(badLogs.String(), "mqtt: cannot connect") {
		t.Errorf("wrong password not logged:\n%s", badLogs.String())
	}
}

// kill -9 the agent's process: the broker publishes its last will,
// "offline", on the availability topic.
func TestKill9PublishesOffline(t *testing.T) {
	if url := os.Getenv("MQTT_HELPER_BROKER"); url != "" {
		helperProcess(url)
		return
	}
	itest.Require(t, "mosquitto", "mosquitto_sub", "mosquitto_pub")
	b := mosquittotest.Start(t, mosquittotest.Options{})
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9PublishesOffline$")
	cmd.Env = append(os.Environ(), "MQTT_HELPER_BROKER="+b.URL)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitTopic(t, b, "mwi-agent/child/availability", func(p string) bool { return p == "online" })
	waitTopic(t, b, "mwi-agent/child/account/room-101/state", func(p string) bool { return true })
	if err := cmd.Process.Kill(); err != nil { // SIGKILL, by PID
		t.Fatal(err)
	}
	cmd.Wait()
	waitTopic(t, b, "mwi-agent/child/availability", func(p string) bool { return p == "offline" })
}

// helperProcess is the agent in the child process of TestKill9PublishesOffline.
func helperProcess(url string) {
	dir, _ := os.MkdirTemp("", "mqtt-helper-")
	a, err := newAgent(dir, "127.0.0.1:0", "room-101")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go a.Run(context.Background())
	c, err := mqtt.New(mqtt.Options{Broker: url, DeviceID: "child", Source: a})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c.Run(context.Background()) // until killed
}
