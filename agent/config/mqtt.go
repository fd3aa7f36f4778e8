package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MQTTConfig publishes the state to an MQTT broker with Home Assistant
// discovery (docs/mqtt.md). Broker "" turns MQTT off.
type MQTTConfig struct {
	Broker             string        `yaml:"broker"`           // tcp://, ssl://, mqtt:// or mqtts://host:port
	DeviceID           string        `yaml:"device_id"`        // default: the host name; [A-Za-z0-9_-]+
	DeviceName         string        `yaml:"device_name"`      // Home Assistant device name
	TopicPrefix        string        `yaml:"topic_prefix"`     // default mwi-agent
	DiscoveryPrefix    string        `yaml:"discovery_prefix"` // default homeassistant; "" = no discovery
	Username           string        `yaml:"username"`
	Password           string        `yaml:"password" json:"-"`
	PasswordFile       string        `yaml:"password_file"`
	CAFile             string        `yaml:"ca_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	Commands           bool          `yaml:"commands"` // accept set/clear on <prefix>/<device>/command
	Keepalive          time.Duration `yaml:"keepalive"`
}

func defaultMQTT() MQTTConfig {
	return MQTTConfig{TopicPrefix: "mwi-agent", DiscoveryPrefix: "homeassistant", Keepalive: 30 * time.Second}
}

// ValidDeviceID reports whether s is a usable mqtt.device_id: one or
// more ASCII letters, digits, '_' or '-' (it is a topic level and part of
// Home Assistant object ids). Written out rather than as a regexp, which
// would link regexp and the Unicode tables (docs/memory.md "The binary").
func ValidDeviceID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validTopic reports whether s may be used in topic names: not empty, no
// wildcard ('+', '#') and no NUL.
func validTopic(s string) bool {
	return s != "" && !strings.ContainsAny(s, "+#\x00")
}

// resolveMQTT reads mqtt.password_file and makes relative files relative
// to the configuration file's directory.
func resolveMQTT(m *MQTTConfig, dir string) error {
	if dir != "" && m.CAFile != "" && !filepath.IsAbs(m.CAFile) {
		m.CAFile = filepath.Join(dir, m.CAFile)
	}
	if m.PasswordFile == "" {
		return nil
	}
	if m.Password != "" {
		return &FieldError{Field: "mqtt.password_file", Value: m.PasswordFile, Problem: "set together with password; use one of them, in"}
	}
	pw, err := readPasswordFile(dir, m.PasswordFile)
	if err != nil {
		return &FieldError{Field: "mqtt.password_file", Value: m.PasswordFile, Problem: err.Error() + ", in"}
	}
	m.Password = pw
	return nil
}

// DefaultDeviceID is mqtt.device_id's default: the host name, with every
// character other than letters, digits, '_' and '-' replaced by '-'.
func DefaultDeviceID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "mwi-agent"
	}
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, h)
}

func (c *Config) validateMQTT(v *validator) {
	m := c.MQTT
	if m.Broker == "" {
		return
	}
	scheme, hostport, ok := strings.Cut(m.Broker, "://")
	switch {
	case !ok || (scheme != "tcp" && scheme != "ssl" && scheme != "mqtt" && scheme != "mqtts"):
		v.add("mqtt.broker", m.Broker, "want tcp://, ssl://, mqtt:// or mqtts://HOST:PORT, not")
	default:
		if _, port, err := splitHostPort(hostport, false); err != nil || port == 0 {
			v.add("mqtt.broker", m.Broker, "want HOST:PORT after the scheme, not")
		}
	}
	if m.DeviceID != "" && !ValidDeviceID(m.DeviceID) {
		v.add("mqtt.device_id", m.DeviceID, "want letters, digits, '_' or '-', not")
	}
	if m.TopicPrefix == "" || !validTopic(m.TopicPrefix) || strings.HasPrefix(m.TopicPrefix, "/") || strings.HasSuffix(m.TopicPrefix, "/") {
		v.add("mqtt.topic_prefix", m.TopicPrefix, "want a topic without wildcards or leading/trailing '/', not")
	}
	if m.DiscoveryPrefix != "" && (!validTopic(m.DiscoveryPrefix) || strings.HasSuffix(m.DiscoveryPrefix, "/")) {
		v.add("mqtt.discovery_prefix", m.DiscoveryPrefix, "want a topic without wildcards or a trailing '/', not")
	}
	if m.CAFile != "" {
		if _, err := os.Stat(m.CAFile); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.add("mqtt.ca_file", m.CAFile, "cannot read: "+err.Error()+", in")
		}
	}
	if m.Password != "" && m.Username == "" {
		v.add("mqtt.username", "", "required with a password")
	}
	if m.Keepalive < time.Second || m.Keepalive > 65535*time.Second {
		v.add("mqtt.keepalive", m.Keepalive.String(), fmt.Sprintf("want 1s to %v, not", 65535*time.Second))
	}
}

// String shows the MQTT settings without the password.
func (m MQTTConfig) String() string {
	return fmt.Sprintf("{Broker:%s DeviceID:%s Username:%s Password:%s Commands:%v}", m.Broker, m.DeviceID, m.Username, redact(m.Password), m.Commands)
}

// GoString prints the MQTT settings as Go syntax with the password redacted.
func (m MQTTConfig) GoString() string {
	type plain MQTTConfig // no methods: no recursion
	p := plain(m)
	p.Password = redact(p.Password)
	return strings.Replace(fmt.Sprintf("%#v", p), "config.plain{", "config.MQTTConfig{", 1)
}

// LogValue logs the MQTT settings without the password.
func (m MQTTConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("broker", m.Broker), slog.String("device_id", m.DeviceID),
		slog.String("username", m.Username), slog.String("password", redact(m.Password)), slog.Bool("commands", m.Commands))
}
