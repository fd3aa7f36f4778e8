package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/tone"
)

func TestResolve(t *testing.T) {
	cfg, err := config.Parse([]byte(`
board: sim
log_level: warn
indicator: {unknown_pattern: false}
tones: {country: de, overrides: {dial: "425"}}
accounts:
  - {name: desk, aor: "sip:1001@pbx.example.com", password: x}
  - {name: fax, aor: "sips:1002@[2001:db8::1]:5071", password: x, lamp: false, led: 3,
     outbound_proxy: "sip:proxy.example.com", mailbox: "sip:*97@pbx.example.com", unsolicited: reject}
  - {name: tcp, aor: "sip:1003@pbx.example.com;transport=tcp", password: x, server: "10.0.0.1", outbound_proxy: "sip:proxy.example.com:5080;lr"}
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.LogLevel.String() != "WARN" || r.Board.Name != "sim" || r.Country.Code != "de" || len(r.Accounts) != 3 {
		t.Fatalf("resolved %+v", r)
	}
	desk, fax, tcp := r.Accounts[0], r.Accounts[1], r.Accounts[2]
	if desk.Transport != config.Auto || desk.Server.String() != "pbx.example.com:5060" || desk.Proxy.String() != "" ||
		desk.AOR.User != "1001" || desk.Mailbox != desk.AOR || desk.UnsolicitedMode != config.UnsolicitedAccept {
		t.Errorf("desk %+v", desk)
	}
	if fax.Transport != config.TLS || fax.Server.String() != "[2001:db8::1]:5071" || fax.Proxy.String() != "proxy.example.com:5061" ||
		!fax.AOR.Secure || fax.Mailbox.User != "*97" || fax.UnsolicitedMode != config.UnsolicitedReject {
		t.Errorf("fax %+v", fax)
	}
	if tcp.Transport != config.TCP || tcp.Server.String() != "10.0.0.1:5060" || tcp.Proxy.String() != "proxy.example.com:5080" {
		t.Errorf("tcp %+v", tcp)
	}
	p := r.Policy
	if p.UnknownPattern || !p.UrgentPattern || p.LEDs != 4 || p.FXSPorts != 1 || len(p.Accounts) != 3 {
		t.Fatalf("policy %+v", p)
	}
	acct := func(name string, w state.Waiting) state.Account {
		return state.Account{Name: name, Waiting: w, Health: state.HealthSubscribed}
	}
	out := indicate.Compute(state.Snapshot{Accounts: []state.Account{
		acct("desk", state.WaitingNo), acct("fax", state.WaitingYes), acct("tcp", state.WaitingNo)}}, p)
	if out.Lamp.Name != "off" || out.LEDFor[0] != "desk" || out.LEDFor[2] != "fax" || out.LEDs[2].Name != "steady" {
		t.Fatalf("fax (lamp: false, led: 3) → lamp %s, leds %v %v", out.Lamp.Name, out.LEDFor, out.LEDs)
	}
}

// transport: auto (the default without a transport) is kept only where
// RFC 3263 lets DNS choose: a host name without a port, where requests go
// (the outbound proxy if there is one). An IP address or an explicit port
// is UDP; a sips: AOR is TLS; an outbound proxy URI's ;transport= wins.
func TestResolveAutoTransport(t *testing.T) {
	for _, c := range []struct {
		acct string
		want config.Transport
		port int
	}{
		{`aor: "sip:1@pbx.example.com"`, config.Auto, 5060},
		{`aor: "sip:1@pbx.example.com", transport: auto`, config.Auto, 5060},
		{`aor: "sip:1@pbx.example.com:5070"`, config.UDP, 5070},
		{`aor: "sip:1@192.0.2.1"`, config.UDP, 5060},
		{`aor: "sip:1@[2001:db8::1]", transport: auto`, config.UDP, 5060},
		{`aor: "sip:1@example.com", server: "pbx.example.com:5080"`, config.UDP, 5080},
		{`aor: "sip:1@example.com", server: "10.0.0.1"`, config.UDP, 5060},
		{`aor: "sips:1@example.com", transport: auto`, config.TLS, 5061},
		{`aor: "sips:1@example.com"`, config.TLS, 5061},
		{`aor: "sip:1@example.com;transport=tcp"`, config.TCP, 5060},
		{`aor: "sip:1@example.com", transport: tcp`, config.TCP, 5060},
		{`aor: "sip:1@example.com", outbound_proxy: "sip:edge.example.com;lr"`, config.Auto, 5060},
		{`aor: "sip:1@example.com", outbound_proxy: "edge.example.com:5090"`, config.UDP, 5060},
		{`aor: "sip:1@10.0.0.1", outbound_proxy: "sip:edge.example.com;transport=tcp;lr"`, config.TCP, 5060},
	} {
		cfg, err := config.Parse([]byte("accounts:\n  - {" + c.acct + ", password: x}\n"))
		if err != nil {
			t.Fatalf("%s: %v", c.acct, err)
		}
		r, err := config.Resolve(cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.acct, err)
		}
		a := r.Accounts[0]
		if a.Transport != c.want || a.Server.Port != c.port {
			t.Errorf("%s: transport %v server %v, want %v port %d", c.acct, a.Transport, a.Server, c.want, c.port)
		}
		if cfg.Listen.UDP == "" && (a.Transport == config.UDP || a.Transport == config.Auto) {
			t.Errorf("%s: no UDP listener by default", c.acct)
		}
	}
	cfg, err := config.Parse([]byte("accounts:\n  - {aor: \"sips:1@example.com\", transport: udp, password: x}\n"))
	if err == nil {
		_, err = config.Resolve(cfg)
	}
	if err == nil || !strings.Contains(err.Error(), `accounts[0].transport: a sips: AOR needs tls, not "udp"`) {
		t.Errorf("sips over udp: %v", err)
	}
}

// Resolve reports the same field-path errors as Validate.
func TestResolveErrors(t *testing.T) {
	cfg := config.Default()
	cfg.Accounts = []config.Account{{Name: "a", AOR: "tel:1", Transport: "udp", Server: "pbx", Register: true,
		RegisterExpiry: config.DefaultExpiry, Unsolicited: "accept"}}
	_, err := config.Resolve(cfg)
	if err == nil || !strings.Contains(err.Error(), `accounts[0].aor: not a sip: or sips: URI in "tel:1"`) {
		t.Fatalf("Resolve error %v", err)
	}
	if _, err := config.Resolve(nil); err == nil {
		t.Fatal("Resolve(nil) succeeded")
	}
}

// go-yaml 1.19 normalizes CR and CRLF: a file edited on Windows reads the
// same as with LF line ends.
func TestCRLFFileReadsLikeLF(t *testing.T) {
	lf := "accounts:\n  - aor: sip:1001@pbx.example.com\n    password: \"hunter2\"\n    label: >-\n      Front\n      desk\n"
	a, err := config.Parse([]byte(lf))
	if err != nil {
		t.Fatal(err)
	}
	b, err := config.Parse([]byte(strings.ReplaceAll(lf, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if a.Accounts[0].Password != b.Accounts[0].Password || a.Accounts[0].Label != b.Accounts[0].Label || b.Accounts[0].Label != "Front desk" {
		t.Fatalf("LF %q %q, CRLF %q %q", a.Accounts[0].Password, a.Accounts[0].Label, b.Accounts[0].Password, b.Accounts[0].Label)
	}
}

// Resolve types the fxs: section once: the signalling the board can do,
// the FSK format, standard and alert from the file or else the tone
// country's on-hook defaults, the timings with the flash defaults filled.
func TestResolveFXSPort(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       fxs.Config // Country is checked by code only
		country    string
	}{
		{"defaults us", "board: rpi-ata\n",
			fxs.Config{Polarity: true, FSK: true, Stutter: true, Format: tone.MDMF, Standard: tone.Bell202, Alert: tone.AlertNone,
				Quiet: 3 * time.Second, DialTimeout: 30 * time.Second, FlashMin: fxs.DefaultFlashMin, FlashMax: fxs.DefaultFlashMax}, "us"},
		{"de: the country's ETSI defaults", "board: rpi-ata\ntones: {country: de}\n",
			fxs.Config{Polarity: true, FSK: true, Stutter: true, Format: tone.ETSI, Standard: tone.V23, Alert: tone.AlertLineReversal,
				Quiet: 3 * time.Second, DialTimeout: 30 * time.Second, FlashMin: fxs.DefaultFlashMin, FlashMax: fxs.DefaultFlashMax}, "de"},
		{"uk", "board: rpi-ata\ntones: {country: uk}\n",
			fxs.Config{Polarity: true, FSK: true, Stutter: true, Format: tone.ETSI, Standard: tone.V23, Alert: tone.AlertLineReversal,
				Quiet: 3 * time.Second, DialTimeout: 30 * time.Second, FlashMin: fxs.DefaultFlashMin, FlashMax: fxs.DefaultFlashMax}, "uk"},
		{"file overrides the country", "board: sim\ntones: {country: de}\nfxs: {signalling: [fsk, hv], alert: dt-as, fsk_standard: bell202, fsk_format: sdmf, quiet: 2s, refresh: 10m, dial_timeout: 5s, flash_min: 150ms, flash_max: 1200ms}\n",
			fxs.Config{HV: true, FSK: true, Format: tone.SDMF, Standard: tone.Bell202, Alert: tone.AlertDTAS,
				Quiet: 2 * time.Second, Refresh: 10 * time.Minute, DialTimeout: 5 * time.Second, FlashMin: 150 * time.Millisecond, FlashMax: 1200 * time.Millisecond}, "de"},
		{"board's country", "board: sim\nboard_overrides: {country: se}\nfxs: {signalling: []}\n",
			fxs.Config{Format: tone.ETSI, Standard: tone.V23, Alert: tone.AlertLineReversal,
				Quiet: 3 * time.Second, DialTimeout: 30 * time.Second, FlashMin: fxs.DefaultFlashMin, FlashMax: fxs.DefaultFlashMax}, "se"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			r, err := config.Resolve(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.FXSPort == nil {
				t.Fatal("no FXS port")
			}
			got := *r.FXSPort
			if got.Country.Code != c.country || got.Country.Code != r.Country.Code {
				t.Errorf("country %q, resolved %q; want %q", got.Country.Code, r.Country.Code, c.country)
			}
			got.Country = tone.Country{}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("port\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
	cfg, err := config.Parse([]byte("board: devboard-leds\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := config.Resolve(cfg); err != nil || r.FXSPort != nil {
		t.Fatalf("a board without an FXS port: %+v, %v", r, err)
	}
}

// Every fxs: field that is wrong is exactly one error naming the field
// and the value, from Resolve as from Validate; nothing derived from it
// (the enums, the flash order, the country's defaults) adds another.
func TestResolveFXSErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"fxs: {signalling: [morse]}", `fxs.signalling[0]: want polarity, fsk, stutter or hv, not "morse"`},
		{"fxs: {signalling: [fsk, fsk]}", `fxs.signalling[1]: listed twice: "fsk"`},
		{"board: rpi-ata\nfxs: {signalling: [polarity, hv]}", `fxs.signalling[1]: board "rpi-ata" cannot do "hv"`},
		{"fxs: {fsk_format: xdmf}", `fxs.fsk_format: want sdmf, mdmf or etsi, not "xdmf"`},
		{"fxs: {fsk_format: MDMF}", `fxs.fsk_format: want sdmf, mdmf or etsi, not "MDMF"`},
		{"fxs: {fsk_standard: v21}", `fxs.fsk_standard: want bell202 or v23, not "v21"`},
		{"tones: {country: de}\nfxs: {alert: foo}", `fxs.alert: want none, line-reversal, dt-as or ring-pulse, not "foo"`},
		{"fxs: {quiet: -1s}", `fxs.quiet: must not be negative: "-1s"`},
		{"fxs: {refresh: -1m}", `fxs.refresh: must not be negative: "-1m0s"`},
		{"fxs: {dial_timeout: 500ms}", `fxs.dial_timeout: must be at least 1s: "500ms"`},
		{"fxs: {flash_min: 5ms}", `fxs.flash_min: want 20ms..1s (0 = 100ms), not "5ms"`},
		{"fxs: {flash_min: 2s, flash_max: 1s}", `fxs.flash_min: want 20ms..1s (0 = 100ms), not "2s"`},
		{"fxs: {flash_max: 10s}", `fxs.flash_max: want 100ms..3s (0 = 900ms), not "10s"`},
		{"fxs: {flash_max: 90ms}", `fxs.flash_max: want 100ms..3s (0 = 900ms), not "90ms"`},
		{"fxs: {flash_min: 500ms, flash_max: 400ms}", `fxs.flash_max: must be longer than fxs.flash_min (500ms): "400ms"`},
		{"fxs: {flash_max: 100ms}", `fxs.flash_max: must be longer than fxs.flash_min (100ms): "100ms"`},
		{"fxs: {quiet: soon}", `fxs.quiet: want a duration such as "30s" or a number of seconds in "soon" (line 1)`},
		{"tones: {country: zz}\nfxs: {alert: none}", `tones.country: no tone table for this country (see mwi-agent tone --list): "zz"`},
	} {
		for _, board := range []string{"", "board: sim\n"} {
			yaml := c.yaml + "\n"
			if !strings.HasPrefix(yaml, "board:") {
				yaml = board + yaml
			}
			var errs []error
			cfg, err := config.Parse([]byte(yaml))
			if err == nil {
				_, err = config.Resolve(cfg)
			}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			} else if err != nil {
				errs = []error{err}
			}
			want := c.want
			if board != "" && strings.Contains(want, "(line ") {
				want = strings.Replace(want, "(line 1)", "(line 2)", 1)
			}
			if len(errs) != 1 || errs[0].Error() != want {
				t.Errorf("%q:\n got %v\nwant the one error %s", yaml, errs, want)
			}
			var fe *config.FieldError
			if len(errs) == 1 && !errors.As(errs[0], &fe) {
				t.Errorf("%q: %T is not a *config.FieldError", yaml, errs[0])
			}
		}
	}
}
