package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// problems lists the messages of an error returned by Parse or Validate.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range unjoin(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestParseMinimalAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte("accounts:\n  - aor: sip:1001@pbx.example.com\n    password: pw\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Listen.UDP = "0.0.0.0:0" // an account may use udp and listen.udp is not set
	want.Accounts = []Account{{
		Name: "1001-pbx.example.com", Label: "1001", AOR: "sip:1001@pbx.example.com",
		Username: "1001", Password: "pw", Server: "pbx.example.com", Transport: "auto",
		Register: true, RegisterExpiry: time.Hour, Subscribe: true, SubscribeExpiry: time.Hour,
		Unsolicited: "accept", UnsolicitedHorizon: DefaultUnsolicitedHorizon, Lamp: true,
	}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %#v\nwant %#v", cfg, want)
	}
	a := cfg.Accounts[0]
	if a.Host() != "pbx.example.com" || a.Port() != 5060 || a.MailboxURI() != "sip:1001@pbx.example.com" {
		t.Errorf("helpers: %q %d %q", a.Host(), a.Port(), a.MailboxURI())
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(Default().UserAgent, "mwi-agent/") {
		t.Errorf("user agent %q", Default().UserAgent)
	}
}

func TestParseEmptyFile(t *testing.T) {
	cfg, err := Parse(nil)
	if err != nil || cfg.LogLevel != "info" || len(cfg.Accounts) != 0 {
		t.Fatalf("Parse(nil) = %+v, %v", cfg, err)
	}
}

func TestParseFullFile(t *testing.T) {
	data := `
log_level: debug
user_agent: Acme/1.0
state_dir: /var/lib/mwi-agent
listen: {udp: "0.0.0.0:5060", tcp: "[::1]:5060", tls: ""}
keepalive: 45          # integer seconds
tls: {ca_file: "", insecure_skip_verify: false, server_name: pbx.internal}
board: sim
board_overrides:
  lamp: {name: GPIO4, active_low: true}
  leds: [{name: LED1}, {name: LED2}]
http: {listen: "0.0.0.0:8080", token: abc}
indicator: {unknown_pattern: false}
tones:
  country: de
  overrides: {stutter: "!350+440/100,!0/100,350+440"}
  level_dbm0: -10.5
fxs:
  signalling: fsk
  fsk_format: sdmf
  fsk_standard: v23
  alert: dt-as
  quiet: 2.5
  refresh: 10m
  dial_timeout: 20s
  flash_min: 150ms
  flash_max: 1.2s
accounts:
  - name: desk
    label: Desk
    aor: sips:1001@pbx.example.com
    username: 9001
    password: "p:w#1"
    server: "[2001:db8::1]"
    outbound_proxy: sip:proxy.example.com:5080;lr
    register: false
    register_expiry: 0
    subscribe_expiry: 600
    mailbox: sip:*97@pbx.example.com
    unsolicited: reject
    unsolicited_from: [192.0.2.1, 198.51.100.0/24]
    lamp: false
    led: 2
`
	cfg, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keepalive != 45*time.Second || cfg.FXS.Quiet != 2500*time.Millisecond || cfg.FXS.Refresh != 10*time.Minute {
		t.Errorf("durations %v %v %v", cfg.Keepalive, cfg.FXS.Quiet, cfg.FXS.Refresh)
	}
	if cfg.FXS.FlashMin != 150*time.Millisecond || cfg.FXS.FlashMax != 1200*time.Millisecond {
		t.Errorf("flash bounds %v %v", cfg.FXS.FlashMin, cfg.FXS.FlashMax)
	}
	if !reflect.DeepEqual(cfg.FXS.Signalling, []string{"fsk"}) {
		t.Errorf("a single scalar for a list: %q", cfg.FXS.Signalling)
	}
	if cfg.Indicator.UnknownPattern || !cfg.Indicator.UrgentPattern {
		t.Errorf("indicator %+v: an absent key must keep its default", cfg.Indicator)
	}
	if cfg.Tones.LevelDBm0 != -10.5 || cfg.Tones.Overrides["stutter"] == "" || cfg.Tones.Country != "de" {
		t.Errorf("tones %+v", cfg.Tones)
	}
	if cfg.BoardOverrides.Lamp == nil || cfg.BoardOverrides.Lamp.Name != "GPIO4" || !cfg.BoardOverrides.Lamp.ActiveLow || len(cfg.BoardOverrides.LEDs) != 2 {
		t.Errorf("board overrides %+v", cfg.BoardOverrides)
	}
	b, err := cfg.ResolveBoard()
	if err != nil || b.Lamp.Name != "GPIO4" || len(b.LEDs) != 2 {
		t.Errorf("ResolveBoard = %+v, %v", b, err)
	}
	a := cfg.Accounts[0]
	want := Account{Name: "desk", Label: "Desk", AOR: "sips:1001@pbx.example.com", Username: "9001", Password: "p:w#1",
		Server: "[2001:db8::1]", Transport: "tls", OutboundProxy: "sip:proxy.example.com:5080;lr",
		Register: false, RegisterExpiry: 0, Subscribe: true, Mailbox: "sip:*97@pbx.example.com", SubscribeExpiry: 10 * time.Minute,
		Unsolicited: "reject", UnsolicitedFrom: []string{"192.0.2.1", "198.51.100.0/24"}, UnsolicitedHorizon: DefaultUnsolicitedHorizon, Lamp: false, LED: 2}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("account\n got %#v\nwant %#v", a, want)
	}
	if a.Host() != "2001:db8::1" || a.Port() != 5061 || a.MailboxURI() != "sip:*97@pbx.example.com" {
		t.Errorf("helpers: %q %d %q", a.Host(), a.Port(), a.MailboxURI())
	}
	if cfg.Listen.UDP != "0.0.0.0:5060" || cfg.Listen.TCP != "[::1]:5060" {
		t.Errorf("listen %+v", cfg.Listen)
	}
}

func TestAsteriskShorthand(t *testing.T) {
	tests := []struct {
		line                          string
		aor, user, pass, server, mbox string
		port                          int
	}{
		{"1002@pbx.example.com/1002", "sip:1002@pbx.example.com", "1002", "", "pbx.example.com", "sip:1002@pbx.example.com", 5060},
		{"1002:secret@pbx.example.com:5070/2002", "sip:1002@pbx.example.com", "1002", "secret", "pbx.example.com:5070", "sip:2002@pbx.example.com", 5070},
		{"1002:secret:auth@pbx.example.com:5060/1002", "sip:1002@pbx.example.com", "auth", "secret", "pbx.example.com:5060", "sip:1002@pbx.example.com", 5060},
		{"u::auth@[2001:db8::5]/vm", "sip:u@[2001:db8::5]", "auth", "", "[2001:db8::5]", "sip:vm@[2001:db8::5]", 5060},
	}
	for _, tt := range tests {
		cfg, err := Parse([]byte(fmt.Sprintf("accounts:\n  - asterisk: %q\n", tt.line)))
		if err != nil {
			t.Errorf("%s: %v", tt.line, err)
			continue
		}
		a := cfg.Accounts[0]
		if a.AOR != tt.aor || a.Username != tt.user || a.Password != tt.pass || a.Server != tt.server || a.MailboxURI() != tt.mbox || a.Port() != tt.port {
			t.Errorf("%s: got %#v (password %q)", tt.line, a, a.Password)
		}
		if a.Register || !a.Subscribe {
			t.Errorf("%s: like chan_sip's mwi => it subscribes without registering; got register=%v subscribe=%v", tt.line, a.Register, a.Subscribe)
		}
	}
	cfg, err := Parse([]byte("accounts:\n  - asterisk: 1002:pw@pbx/1002\n    register: true\n    name: front\n    led: 3\n"))
	if err != nil || !cfg.Accounts[0].Register || cfg.Accounts[0].Name != "front" || cfg.Accounts[0].LED != 3 {
		t.Fatalf("shorthand with extra keys: %+v, %v", cfg, err)
	}
}

// TestErrorMessages checks each message Parse/Validate produces, exactly.
func TestErrorMessages(t *testing.T) {
	const acct = "accounts:\n  - aor: sip:1001@pbx.example.com\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"server without port", acct + "  - aor: sip:2@pbx\n  - aor: sip:3@pbx\n    server: \"pbx:\"\n",
			[]string{`accounts[2].server: missing port number in "pbx:"`}},
		{"server bad port", acct + "    server: pbx:70000\n", []string{`accounts[0].server: invalid port number in "pbx:70000"`}},
		{"server ipv6 without brackets", acct + "    server: 2001:db8::1\n", []string{`accounts[0].server: IPv6 address needs brackets in "2001:db8::1"`}},
		{"unknown top-level key", "log_lvl: debug\n", []string{`log_lvl: unknown key (line 1)`}},
		{"unknown keys everywhere at once", "tls:\n  ca_fiel: x\n" + acct + "    regster: false\n    pasword: x\n",
			[]string{`tls.ca_fiel: unknown key (line 2)`, `accounts[0].regster: unknown key (line 5)`, `accounts[0].pasword: unknown key (line 6)`}},
		{"key twice", "board: sim\nboard: sim\n", []string{`board: key given twice (line 2)`}},
		{"wrong types", "keepalive: [1]\nindicator: {urgent_pattern: maybe}\n" + acct + "    led: two\n    register_expiry: soon\n",
			[]string{`keepalive: want a duration such as "30s" or a number of seconds, not a list (line 1)`,
				`indicator.urgent_pattern: want true or false, not a scalar: "maybe" (line 2)`,
				`accounts[0].led: want a whole number, not a scalar: "two" (line 5)`,
				`accounts[0].register_expiry: want a duration such as "30s" or a number of seconds in "soon" (line 6)`}},
		{"accounts not a list", "accounts: sip:1@pbx\n", []string{`accounts: want a list, not a scalar (line 1)`}},
		{"log level", "log_level: verbose\n", []string{`log_level: want debug, info, warn or error, not "verbose"`}},
		{"listen", "listen: {udp: \"0.0.0.0\", tcp: \"[::1]\", tls: \"host:x\"}\n",
			[]string{`listen.udp: missing port number in "0.0.0.0"`, `listen.tcp: missing port number in "[::1]"`, `listen.tls: invalid port number in "host:x"`}},
		{"udp account without udp listener", "listen: {udp: \"\"}\n" + acct,
			[]string{`listen.udp: must be set when an account uses udp or auto ("0.0.0.0:0" picks a free port)`}},
		{"negative keepalive", "keepalive: -5s\n", []string{`keepalive: must not be negative: "-5s"`}},
		{"trust timers too short", "liveness: 2s\nrestart_check: 3s\n", []string{`liveness: must be 0 (off) or at least 5s: "2s"`, `restart_check: must be 0 (off) or at least 10s: "3s"`}},
		{"missing ca file", "tls: {ca_file: /nonexistent/ca.pem}\n", []string{`tls.ca_file: cannot read: no such file or directory, in "/nonexistent/ca.pem"`}},
		{"client certificate without key", "tls: {cert_file: /nonexistent/c.pem}\n", []string{`tls.cert_file: cannot read: no such file or directory, in "/nonexistent/c.pem"`, `tls.key_file: missing: tls.cert_file needs it`}},
		{"failback too short", "dns: {failback: 0s}\n", []string{`dns.failback: must be at least 1s: "0s"`}},
		{"dns servers", "dns: {servers: [\"127.0.0.1:5353\", \"[::1]\", ns.example.com, \"10.0.0.1:\"]}\n", []string{`dns.servers[2]: not an IP address: "ns.example.com"`, `dns.servers[3]: missing port number in "10.0.0.1:"`}},
		{"unknown board", "board: rpi9\n", []string{`board: unknown board (known: devboard-leds, rpi-ata, sim): "rpi9"`}},
		{"board override reuses a line", "board_overrides: {hook: {name: LAMP}}\n", []string{`board_overrides: sim: hook: line LAMP already used by lamp`}},
		{"http token", "http: {listen: \"0.0.0.0:8080\"}\n", []string{`http.token: required when http.listen "0.0.0.0:8080" is not a loopback address`}},
		{"http loopback needs no token", "http: {listen: \"[::1]:8080\"}\n", nil},
		{"tones", "tones: {country: USA, level_dbm0: 3, overrides: {hum: \"x\", dial: \"\"}}\n",
			[]string{`tones.country: want a two-letter lower-case country code, not "USA"`,
				`tones.overrides.dial: empty tone plan`,
				`tones.overrides.hum (tone name): want dial, stutter, busy, ring or congestion, not "hum"`,
				`tones.overrides.hum: element 1 (offset 0): bad frequency "x": want Hz, e.g. 425; in "x"`,
				`tones.level_dbm0: want -40 to -3, not "3"`}},
		{"tones unknown country and bad cadence", "tones: {country: zz, overrides: {stutter: \"350+440/100,0/x\"}}\n",
			[]string{`tones.country: no tone table for this country (see mwi-agent tone --list): "zz"`,
				`tones.overrides.stutter: element 2 (offset 12): bad duration "x": want milliseconds, a whole number ≥ 0; in "350+440/100,0/x"`}},
		{"fxs", "fxs: {signalling: [fsk, fsk, morse], fsk_format: xdmf, fsk_standard: v21, alert: bell, quiet: -1s, dial_timeout: 0}\n",
			[]string{`fxs.signalling[1]: listed twice: "fsk"`, `fxs.signalling[2]: want polarity, fsk, stutter or hv, not "morse"`,
				`fxs.fsk_format: want sdmf, mdmf or etsi, not "xdmf"`, `fxs.fsk_standard: want bell202 or v23, not "v21"`,
				`fxs.alert: want none, line-reversal, dt-as or ring-pulse, not "bell"`, `fxs.quiet: must not be negative: "-1s"`,
				`fxs.dial_timeout: must be at least 1s: "0s"`}},
		{"fxs flash bounds", "fxs: {flash_min: 5ms}\n", []string{`fxs.flash_min: want 20ms..1s (0 = 100ms), not "5ms"`}},
		{"fxs flash max", "fxs: {flash_max: 10s}\n", []string{`fxs.flash_max: want 100ms..3s (0 = 900ms), not "10s"`}},
		{"fxs flash order", "fxs: {flash_min: 500ms, flash_max: 400ms}\n", []string{`fxs.flash_max: must be longer than fxs.flash_min (500ms): "400ms"`}},
		{"board cannot do hv", "board: rpi-ata\nfxs: {signalling: [hv]}\n", []string{`fxs.signalling[0]: board "rpi-ata" cannot do "hv"`}},
		// A broken AOR is one error, not one more per field it would fill.
		{"aor missing", "accounts:\n  - label: x\n", []string{`accounts[0].aor: missing (e.g. sip:1001@pbx.example.com)`}},
		{"aor not sip", "accounts:\n  - aor: tel:+4930123\n", []string{`accounts[0].aor: not a sip: or sips: URI in "tel:+4930123"`}},
		{"aor bad host", "accounts:\n  - aor: \"sip:1001@bad host\"\n", []string{`accounts[0].aor: invalid host in "sip:1001@bad host"`}},
		{"aor broken, name and transport set badly", "accounts:\n  - aor: tel:1\n    name: a b\n    transport: sctp\n", []string{`accounts[0].name: only letters, digits, '.', '_' and '-' allowed in "a b"`, `accounts[0].aor: not a sip: or sips: URI in "tel:1"`, `accounts[0].transport: want udp, tcp, tls or auto, not "sctp"`}},
		{"http hosts", "http: {hosts: [\"\", 10.0.0.1, mwi.example.net, \"bad host\"]}\n", []string{`http.hosts[0]: must not be empty`, `http.hosts[1]: want a host name (IP addresses and localhost are always served), not "10.0.0.1"`, `http.hosts[3]: want a host name (IP addresses and localhost are always served), not "bad host"`}},
		{"aor without user", "accounts:\n  - aor: sip:pbx.example.com\n", []string{`accounts[0].aor: missing user part in "sip:pbx.example.com"`}},
		{"account fields", acct + "    name: bad name\n    transport: sctp\n    outbound_proxy: \"proxy:\"\n    register_expiry: 1.5\n    subscribe_expiry: 0\n    mailbox: vm@pbx\n    unsolicited: maybe\n    unsolicited_from: [pbx.example.com, 10.0.0.0/33]\n    led: -1\n",
			[]string{`accounts[0].name: only letters, digits, '.', '_' and '-' allowed in "bad name"`,
				`accounts[0].transport: want udp, tcp, tls or auto, not "sctp"`,
				`accounts[0].outbound_proxy: missing port number in "proxy:"`,
				`accounts[0].register_expiry: must be whole seconds: "1.5s"`,
				`accounts[0].subscribe_expiry: must be at least 1s: "0s"`,
				`accounts[0].mailbox: not a sip: or sips: URI in "vm@pbx"`,
				`accounts[0].unsolicited: want accept, always or reject, not "maybe"`,
				`accounts[0].unsolicited_from[0]: not an IP address or CIDR block: "pbx.example.com"`,
				`accounts[0].unsolicited_from[1]: not a CIDR block: "10.0.0.0/33"`,
				`accounts[0].led: must not be negative: "-1"`}},
		{"sips needs tls", "accounts:\n  - aor: sips:1@pbx\n    transport: tcp\n", []string{`accounts[0].transport: a sips: AOR needs tls, not "tcp"`}},
		{"duplicate names and leds", acct + "    led: 1\n  - aor: sip:1001@pbx.example.com\n    led: 1\n  - aor: sip:9@pbx\n    led: 5\n",
			[]string{`accounts[1].name: same as accounts[0].name: "1001-pbx.example.com"`, `accounts[1].led: already used by accounts[0]: "1"`, `accounts[2].led: board "sim" has 4 LEDs, not "5"`}},
		{"expiries not checked when off", acct + "    register: false\n    register_expiry: 0\n    subscribe: false\n    subscribe_expiry: -1s\n", nil},
		{"asterisk bad", "accounts:\n  - asterisk: \"1002:pw@pbx\"\n  - asterisk: \"pbx/1002\"\n  - asterisk: [x]\n",
			[]string{`accounts[0].asterisk: missing /mailbox (want user[:secret[:authuser]]@host[:port]/mailbox) in "1002:***@pbx" (line 2)`,
				`accounts[1].asterisk: missing '@' (want user[:secret[:authuser]]@host[:port]/mailbox) in "pbx/1002" (line 3)`,
				`accounts[2].asterisk: want a string such as "1002:secret@pbx.example.com/1002" (line 4)`}},
		{"asterisk conflicts", "accounts:\n  - asterisk: 1002:pw@pbx/1002\n    aor: sip:1@pbx\n    password: x\n",
			[]string{`accounts[0].aor: cannot be combined with asterisk`, `accounts[0].password: cannot be combined with asterisk`}},
		{"password and password_file", acct + "    password: x\n    password_file: /etc/pw\n",
			[]string{`accounts[0].password_file: set together with password; use one of them, in "/etc/pw"`}},
		{"two documents", "log_level: info\n---\nlog_level: info\n", []string{`config: the file holds 2 YAML documents; want one`}},
		{"syntax error", "accounts:\n  - aor: sip:1@pbx\n   name: x\n", nil /* checked below: has a line number */},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			got := problems(err)
			if tt.name == "syntax error" {
				if err == nil || !strings.HasPrefix(err.Error(), "config: line 3, column") {
					t.Fatalf("syntax error = %v", err)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if err == nil {
				return
			}
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) && !strings.HasPrefix(e.Error(), "config: ") {
					t.Errorf("%q is neither a *FieldError nor prefixed config:", e)
				}
			}
		})
	}
}

func TestValidateReportsEverythingAtOnce(t *testing.T) {
	c := Default()
	c.LogLevel = "loud"
	c.Accounts = []Account{{Name: "a", AOR: "sip:1@pbx", Username: "1", Server: "pbx:", Transport: "udp", Unsolicited: "accept"}}
	c.Listen.UDP = "0.0.0.0:0"
	got := problems(c.Validate())
	want := []string{`log_level: want debug, info, warn or error, not "loud"`, `accounts[0].server: missing port number in "pbx:"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	var fe *FieldError
	if !errors.As(c.Validate(), &fe) || fe.Field != "log_level" || fe.Value != "loud" {
		t.Errorf("errors.As FieldError: %+v", fe)
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "1001.pass"), []byte("s3cret\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.pass"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mwi.yaml")
	data := "accounts:\n  - aor: sip:1001@pbx\n    password_file: 1001.pass\n  - aor: sip:1002@pbx\n    password_file: missing.pass\n  - aor: sip:1003@pbx\n    password_file: empty.pass\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	got := problems(err)
	want := []string{`accounts[1].password_file: cannot read: no such file or directory, in "missing.pass"`, `accounts[2].password_file: empty file, in "empty.pass"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if cfg.Accounts[0].Password != "s3cret" {
		t.Errorf("password from file %q", cfg.Accounts[0].Password)
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("missing file: %v", err)
	}
}

// TestPasswordNeverShown puts a password (and the HTTP token) everywhere
// and checks that no error, no String/GoString/LogValue output and no JSON
// shows it.
func TestPasswordNeverShown(t *testing.T) {
	const pw = "Zq7-pw-Xy"
	const tok = "Tk9-token"
	inputs := []string{
		// valid, so the printing checks below have a config
		"http: {listen: \"0.0.0.0:1\", token: " + tok + "}\naccounts:\n  - aor: sip:1@pbx\n    password: " + pw + "\n  - asterisk: 2:" + pw + ":auth@pbx/2\n",
		// errors on or near the password
		"accounts:\n  - aor: sip:1@pbx\n    password: [" + pw + "]\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: {x: " + pw + "}\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: \"" + pw + "\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: " + pw + "\n   bad indent: x\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: " + pw + "\n    password_file: /x\n",
		"accounts:\n  - aor: \"sip:1:" + pw + "@pbx\"\n",
		"accounts:\n  - aor: sip:1@pbx\n    mailbox: \"sip:1:" + pw + "@pbx\"\n",
		"accounts:\n  - asterisk: \"2:" + pw + "@pbx\"\n",
		"accounts:\n  - asterisk: \"2:" + pw + ":a@pbx:99999/2\"\n",
		"accounts:\n  - asterisk: \"2:" + pw + "\"\n",
		"accounts:\n  - asterisk: 2:" + pw + "@pbx/2\n    password: " + pw + "\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: \"" + pw + "\\r\\nx\"\n",
		"http: {listen: \"0.0.0.0:1\", token: [" + tok + "]}\n",
		"http: {listen: \"0.0.0.0:1\", token: \"" + tok + "\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: &a " + pw + "\n    label: *b\n",
		"accounts:\n  - aor: sip:1@pbx\n    password: !!binary " + pw + "\n",
	}
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, pw) || strings.Contains(s, tok) {
			t.Errorf("%s shows a secret: %s", what, s)
		}
	}
	for i, in := range inputs {
		cfg, err := Parse([]byte(in))
		if i == 0 && err != nil {
			t.Fatalf("input 0 must be valid: %v", err)
		}
		if i > 0 && err == nil && i != 16 {
			t.Errorf("input %d: no error", i)
		}
		if err != nil {
			check(fmt.Sprintf("input %d error", i), err.Error())
			if err == nil {
				return
			}
			for _, e := range unjoin(err) {
				var fe *FieldError
				if errors.As(e, &fe) {
					check("FieldError.Value", fe.Value)
				}
			}
		}
		if cfg == nil {
			continue
		}
		for _, a := range cfg.Accounts {
			if i == 0 && a.Password != pw {
				t.Errorf("password not read: %q", a.Password)
			}
			check("String", a.String())
			check("GoString", a.GoString())
			check("%v", fmt.Sprintf("%v %+v %#v %s", a, a, a, a))
		}
		check("config %v", fmt.Sprintf("%v", *cfg))
		check("config %+v", fmt.Sprintf("%+v", cfg))
		check("config %#v", fmt.Sprintf("%#v", cfg))
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
			l := slog.New(h)
			l.Info("cfg", "config", cfg, "http", cfg.HTTP)
			for _, a := range cfg.Accounts {
				l.Info("account", "account", a, "ptr", &a)
			}
		}
		check("slog", buf.String())
		j, _ := json.Marshal(cfg)
		check("json", string(j))
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct {
		a    Account
		host string
		port int
	}{
		{Account{AOR: "sip:1@pbx.example.com"}, "pbx.example.com", 5060},
		{Account{AOR: "sip:1@pbx.example.com:5080"}, "pbx.example.com", 5080},
		{Account{AOR: "sip:1@pbx", Transport: "tls"}, "pbx", 5061},
		{Account{AOR: "sip:1@pbx", Server: "10.0.0.1:5070"}, "10.0.0.1", 5070},
		{Account{AOR: "sip:1@pbx", Server: "[::1]"}, "::1", 5060},
	}
	for _, tt := range tests {
		if h, p := tt.a.Host(), tt.a.Port(); h != tt.host || p != tt.port {
			t.Errorf("%+v: Host, Port = %q, %d; want %q, %d", tt.a, h, p, tt.host, tt.port)
		}
	}
	cfg, err := Parse([]byte("accounts:\n  - aor: sip:1@pbx.example.com:5080;transport=tcp\n"))
	if err != nil || cfg.Accounts[0].Transport != "tcp" || cfg.Accounts[0].Server != "pbx.example.com:5080" || cfg.Listen.UDP != "" {
		t.Errorf("transport from the AOR: %+v, %v", cfg, err)
	}
}

// TestExampleFile keeps docs/config.example.yaml valid.
func TestExampleFile(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "docs", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 3 || cfg.Accounts[2].Username != "auth1002" || cfg.Accounts[1].MailboxURI() != "sip:*97@pbx.example.com" {
		t.Errorf("example accounts: %#v", cfg.Accounts)
	}
}

func TestLoadRelativeCAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "mwi.yaml")
	if err := os.WriteFile(file, []byte("tls: {ca_file: ca.pem}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil || cfg.TLS.CAFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
}
