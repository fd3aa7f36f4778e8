package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMQTTDefaultsAndValidation(t *testing.T) {
	cfg, err := Parse([]byte("mqtt:\n  broker: mqtts://broker.example.com:8883\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.MQTT; m.TopicPrefix != "mwi-agent" || m.DiscoveryPrefix != "homeassistant" || m.Commands || m.Keepalive != 30*time.Second || !cfg.HTTP.Metrics {
		t.Errorf("defaults %+v metrics %v", m, cfg.HTTP.Metrics)
	}
	for _, c := range []struct{ yaml, want string }{
		{"mqtt:\n  broker: http://x:1\n", `mqtt.broker: want tcp://, ssl://, mqtt:// or mqtts://HOST:PORT, not "http://x:1"`},
		{"mqtt:\n  broker: tcp://x\n", `mqtt.broker: want HOST:PORT after the scheme, not "tcp://x"`},
		{"mqtt:\n  broker: tcp://x:1\n  device_id: a/b\n", `mqtt.device_id: want letters, digits, '_' or '-', not "a/b"`},
		{"mqtt:\n  broker: tcp://x:1\n  topic_prefix: a/#\n", `mqtt.topic_prefix`},
		{"mqtt:\n  broker: tcp://x:1\n  password: p\n", `mqtt.username: required with a password`},
		{"mqtt:\n  broker: tcp://x:1\n  keepalive: 0s\n", `mqtt.keepalive`},
		{"mqtt:\n  broker: tcp://x:1\n  ca_file: /nonexistent/ca.pem\n", `mqtt.ca_file: cannot read`},
		{"mqtt:\n  broker: tcp://x:1\n  password_file: /nonexistent/pw\n", `mqtt.password_file: cannot read`},
		{"mqtt:\n  brokr: tcp://x:1\n", `mqtt.brokr: unknown key`},
	} {
		_, err := Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("mqtt:\n  broker: tcp://x:1\n  username: u\n  password_file: pw\n"), 0o600)
	cfg, err = Load(filepath.Join(dir, "c.yaml"))
	if err != nil || cfg.MQTT.Password != "s3cret" {
		t.Fatalf("password_file: %v %q", err, cfg.MQTT.Password)
	}
	if id := DefaultDeviceID(); !ValidDeviceID(id) {
		t.Errorf("DefaultDeviceID %q", id)
	}
}

// The MQTT password never shows in formatted or logged configuration.
func TestMQTTPasswordNeverShown(t *testing.T) {
	cfg, err := Parse([]byte("mqtt:\n  broker: tcp://x:1\n  username: u\n  password: hunter2-secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "mqtt", cfg.MQTT)
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.MQTT), logs.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password shown: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprintf("%#v", cfg.MQTT), `Password:"***"`) {
		t.Errorf("GoString %#v", cfg.MQTT)
	}
}

// The device id and topic checks accept exactly what the regular
// expressions they replaced accepted.
var (
	refDeviceID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	refTopic    = regexp.MustCompile(`^[^+#\x00]+$`)
)

func FuzzMQTTNames(f *testing.F) {
	for _, s := range []string{"", "hotel-ata_017", "a/b", "mwi-agent", "home/+/x", "#", "a\x00b", "é", "\xff", "-", "_", "A9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidDeviceID(s), refDeviceID.MatchString(s); got != want {
			t.Errorf("ValidDeviceID(%q) = %v, the expression says %v", s, got, want)
		}
		if got, want := validTopic(s), refTopic.MatchString(s); got != want {
			t.Errorf("validTopic(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
