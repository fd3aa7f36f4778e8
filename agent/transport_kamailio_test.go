//go:build unix

package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// runAgent parses y and starts an agent on it (startAgent).
func runAgent(t *testing.T, y string) *agent.Agent {
	t.Helper()
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	a, _, _ := startAgent(t, cfg, testLogger(t))
	return a
}

func accountIs(name string, cond func(state.Account) bool) func(state.Snapshot) bool {
	return func(s state.Snapshot) bool {
		acc, ok := s.Account(name)
		return ok && cond(acc)
	}
}

// waitLog waits until Kamailio's log contains s (bounded).
func waitLog(t *testing.T, k *kamailiotest.Server, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(k.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("Kamailio's log has no %q within %v", s, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TLS against a real Kamailio (kamailio-tls-modules) with a CA and
// certificates made by the test. Kamailio serves "default.test" unless the
// client's SNI asks for "sip.test", so an agent configured for sip.test
// only works if it sends SNI and verifies the name.
//   - CA in tls.ca_file, server_name sip.test: registers, subscribes, the
//     NOTIFY comes back over the TLS connection; Kamailio restarted over
//     TLS: the agent connects again (default keepalive) and the state is
//     right again;
//   - server_name wrong.test: refused, the health reason names both names;
//   - no ca_file: refused, "certificate signed by unknown authority";
//   - Kamailio requiring a client certificate: refused without one,
//     subscribed with tls.cert_file/key_file.
func TestKamailioTLS(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3")
	pki := kamailiotest.NewPKI(t, "mwi-agent test CA")
	k := kamailiotest.StartWith(t, kamailiotest.Options{TLS: &kamailiotest.TLSServer{
		Default: pki.Server("default.test"),
		SNI:     map[string]kamailiotest.Cert{"sip.test": pki.Server("sip.test")},
	}})
	yaml := func(tlsBlock, user, server string) string {
		return fmt.Sprintf("state_dir: %s\n%saccounts:\n  - name: tls-%s\n    aor: sip:%s@127.0.0.1\n    password: pw-%s\n    server: %s\n    transport: tls\n",
			t.TempDir(), tlsBlock, user, user, user, server)
	}

	t.Run("verified with SNI, restart", func(t *testing.T) {
		a := runAgent(t, yaml(fmt.Sprintf("tls: {ca_file: %s, server_name: sip.test}\n", pki.CAFile), "4001", k.TLSAddr))
		waitSnap(t, a, 10*time.Second, "subscribed over TLS", allHealth(state.HealthSubscribed))
		waitLog(t, k, "mwi-test: subscribed 4001 ", time.Second)
		if _, err := k.Publish("4001", "Messages-Waiting: yes\r\nVoice-Message: 4/0\r\n", ""); err != nil {
			t.Fatal(err)
		}
		waitSnap(t, a, 2*time.Second, "waiting over TLS", accountIs("tls-4001", func(acc state.Account) bool {
			return acc.Waiting == state.WaitingYes && acc.Voice().New == 4
		}))
		k.Restart()
		t0 := time.Now()
		// The default keepalive (30 s) or the liveness ping notices the
		// lost connection; bound: the liveness bound (60 s).
		waitLog(t, k, "mwi-test: subscribed 4001 ", 60*time.Second)
		t.Logf("subscribed again over TLS %v after Kamailio restarted", time.Since(t0))
		if _, err := k.Publish("4001", "Messages-Waiting: no\r\nVoice-Message: 0/4\r\n", ""); err != nil {
			t.Fatal(err)
		}
		waitSnap(t, a, 3*time.Second, "cleared over the new TLS connection", accountIs("tls-4001", func(acc state.Account) bool {
			return acc.Waiting == state.WaitingNo && acc.Health == state.HealthSubscribed
		}))
	})
	refused := func(t *testing.T, tlsBlock, user, want string) {
		a := runAgent(t, yaml(tlsBlock, user, k.TLSAddr))
		s := waitSnap(t, a, 10*time.Second, "unreachable", allHealth(state.HealthUnreachable))
		acc, _ := s.Account("tls-" + user)
		t.Logf("refused: health %v, reason %q", acc.Health, acc.LastReason)
		if !strings.Contains(acc.LastReason, want) {
			t.Errorf("reason %q does not say %q", acc.LastReason, want)
		}
		if strings.Contains(k.Log(), "mwi-test: registered "+user+" ") {
			t.Errorf("Kamailio registered %s over a refused connection", user)
		}
	}
	t.Run("wrong name", func(t *testing.T) {
		refused(t, fmt.Sprintf("tls: {ca_file: %s, server_name: wrong.test}\n", pki.CAFile), "4002",
			"certificate is valid for default.test, not wrong.test")
	})
	t.Run("unknown CA", func(t *testing.T) {
		refused(t, "tls: {server_name: sip.test}\n", "4003", "certificate signed by unknown authority")
	})
	t.Run("mutual TLS", func(t *testing.T) {
		km := kamailiotest.StartWith(t, kamailiotest.Options{TLS: &kamailiotest.TLSServer{
			Default: pki.Server("sip.test"), ClientCA: pki.CAFile,
		}})
		without := runAgent(t, yaml(fmt.Sprintf("tls: {ca_file: %s, server_name: sip.test}\n", pki.CAFile), "4004", km.TLSAddr))
		s := waitSnap(t, without, 40*time.Second, "refused without a client certificate", allHealth(state.HealthUnreachable))
		acc, _ := s.Account("tls-4004")
		t.Logf("without a client certificate: %q", acc.LastReason)
		client := pki.Client("mwi-agent")
		with := runAgent(t, yaml(fmt.Sprintf("tls: {ca_file: %s, server_name: sip.test, cert_file: %s, key_file: %s}\n", pki.CAFile, client.Cert, client.Key), "4005", km.TLSAddr))
		waitSnap(t, with, 10*time.Second, "subscribed with a client certificate", allHealth(state.HealthSubscribed))
		if strings.Contains(km.Log(), "mwi-test: registered 4004 ") {
			t.Error("Kamailio registered the account without a client certificate")
		}
	})
}

// IPv6: UDP and TCP over [::1] against Kamailio listening on [::1]. AORs,
// servers, Contact and Via carry IPv6 literals; Kamailio's NOTIFYs reach
// the agent at its [::1] Contact (so the literal was right), and rport
// handling does not mistake "::1" and "[::1]" for a new address (one
// REGISTER binding, no re-register loop).
func TestKamailioIPv6(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3")
	k := kamailiotest.StartWith(t, kamailiotest.Options{IPv6: true})
	y := fmt.Sprintf("listen: {udp: \"[::1]:0\"}\nstate_dir: %s\naccounts:\n", t.TempDir())
	for _, a := range []struct{ user, tp string }{{"6001", "udp"}, {"6002", "tcp"}} {
		y += fmt.Sprintf("  - name: v6-%s\n    aor: \"sip:%s@[::1]\"\n    password: pw-%s\n    server: \"%s\"\n    transport: %s\n", a.user, a.user, a.user, k.Addr6, a.tp)
	}
	a := runAgent(t, y)
	waitSnap(t, a, 10*time.Second, "subscribed over IPv6", allHealth(state.HealthSubscribed))
	for _, user := range []string{"6001", "6002"} {
		if _, err := k.PublishTo("sip:"+user+"@[::1]", "Messages-Waiting: yes\r\nVoice-Message: 2/0\r\n", ""); err != nil {
			t.Fatal(err)
		}
		waitSnap(t, a, 2*time.Second, "v6-"+user+" waiting", accountIs("v6-"+user, func(acc state.Account) bool {
			return acc.Waiting == state.WaitingYes && acc.Voice().New == 2
		}))
	}
	time.Sleep(time.Second) // a re-register loop would show by now
	log := k.Log()
	for _, want := range []struct{ user, contact, source string }{
		{"6001", "contact=<sip:6001@[::1]:", "source=udp:::1:"},
		{"6002", "contact=<sip:6002@[::1]:", "source=tcp:::1:"},
	} {
		var lines []string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(l, "mwi-test: registered "+want.user+" ") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			t.Errorf("%s registered %d times, want once:\n%s", want.user, len(lines), strings.Join(lines, "\n"))
			continue
		}
		if !strings.Contains(lines[0], want.contact) || !strings.Contains(lines[0], want.source) {
			t.Errorf("registration %q: want %q and %q", lines[0], want.contact, want.source)
		}
		// Contact port = the port Kamailio saw (rport): the NOTIFY path.
		_, cport, _ := strings.Cut(lines[0], want.contact)
		_, sport, _ := strings.Cut(lines[0], want.source)
		cport, _, _ = strings.Cut(cport, ">")
		cport, _, _ = strings.Cut(cport, ";")
		if cport == "" || cport != strings.TrimSpace(sport) {
			t.Errorf("Contact port %q, Kamailio saw port %q", cport, sport)
		}
		t.Logf("%s", lines[0][strings.Index(lines[0], "mwi-test"):])
	}
}

// logLines returns Kamailio's log lines containing s.
func logLines(k *kamailiotest.Server, s string) []string {
	var out []string
	for _, l := range strings.Split(k.Log(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l[max(0, strings.Index(l, "mwi-")):])
		}
	}
	return out
}

// Outbound proxy: a Kamailio stateful proxy (record-route, loose routing)
// in front of the registrar/notifier Kamailio. The agent sends REGISTER and
// SUBSCRIBE to the proxy with a preloaded Route <sip:proxy;lr> that the
// proxy consumes (the registrar sees them come from the proxy),
// the NOTIFYs come back through the proxy's Record-Route, and the
// in-dialog refresh goes through the proxy by the dialog's route set
// (subscribe_expiry is short here because the refresh is what is tested).
func TestKamailioOutboundProxy(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3")
	reg := kamailiotest.Start(t)
	proxy := kamailiotest.StartProxy(t, reg.Addr)
	y := fmt.Sprintf("state_dir: %s\naccounts:\n  - name: px-5001\n    aor: sip:5001@127.0.0.1\n    password: pw-5001\n    server: %s\n    outbound_proxy: sip:%s;lr\n    subscribe_expiry: 10s\n",
		t.TempDir(), reg.Addr, proxy.Addr)
	a := runAgent(t, y)
	waitSnap(t, a, 10*time.Second, "subscribed through the proxy", allHealth(state.HealthSubscribed))
	if _, err := reg.Publish("5001", "Messages-Waiting: yes\r\nVoice-Message: 5/0\r\n", ""); err != nil {
		t.Fatal(err)
	}
	waitSnap(t, a, 2*time.Second, "waiting through the proxy", accountIs("px-5001", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 5
	}))
	// The refresh (after 5 s of the 10 s grant) goes through the proxy
	// and is accepted by the registrar in the dialog.
	waitLog(t, proxy, "mwi-proxy: in-dialog SUBSCRIBE loose-routed", 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for refreshed := false; !refreshed; {
		for _, l := range logLines(reg, "mwi-test: subscribed 5001 ") {
			refreshed = refreshed || !strings.Contains(l, "totag=<null>")
		}
		if !refreshed && time.Now().After(deadline) {
			t.Fatalf("no in-dialog refresh reached the registrar: %q", logLines(reg, "mwi-test: subscribed 5001 "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	proxyPort := fmt.Sprintf("source=udp:127.0.0.1:%d", proxy.Port)
	for _, what := range []string{"mwi-test: registered 5001 ", "mwi-test: subscribed 5001 "} {
		lines := logLines(reg, what)
		if len(lines) == 0 {
			t.Fatalf("registrar log has no %q", what)
		}
		for _, l := range lines {
			if !strings.Contains(l, proxyPort) {
				t.Errorf("registrar got %q not from the proxy (%s)", l, proxyPort)
			}
		}
	}
	for _, l := range append(logLines(proxy, "mwi-proxy: in-dialog"), logLines(proxy, "preloaded route")...) {
		t.Log(l)
	}
	if n := len(logLines(proxy, "without our Route")); n > 0 {
		t.Errorf("%d in-dialog requests reached the proxy without its Route", n)
	}
	for _, m := range []string{"REGISTER", "SUBSCRIBE"} {
		if len(logLines(proxy, fmt.Sprintf("mwi-proxy: preloaded route for %s: <sip:127.0.0.1:%d;lr>", m, proxy.Port))) == 0 {
			t.Errorf("no %s came with the preloaded Route <sip:proxy;lr> (RFC 3261 8.1.2)", m)
		}
	}
	if len(logLines(proxy, "mwi-proxy: in-dialog NOTIFY loose-routed")) == 0 {
		t.Error("no NOTIFY came back through the proxy")
	}
}
