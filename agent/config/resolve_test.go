package config_test

import (
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
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
	if desk.Transport != config.UDP || desk.Server.String() != "pbx.example.com:5060" || desk.Proxy.String() != "" ||
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
