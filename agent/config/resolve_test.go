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
