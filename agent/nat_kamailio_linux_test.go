package agent_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/scripts/itest"
)

// NAT basics, with namespaces made by the test: the agent reaches a
// Kamailio (force_rport, fix_nated_contact) through a router namespace
// that source-NATs it to another address and port. The agent learns the
// public address from received/rport and registers with it as Contact;
// NOTIFYs reach it through the NAT. The router then maps it to a second
// public address: at the next registration refresh the agent sees the new
// address, registers with it and subscribes again, and NOTIFYs reach it
// again. register_expiry is short (10 s) because noticing the change at
// the refresh is what is tested.
func TestKamailioNAT(t *testing.T) {
	itest.Require(t, "kamailio", "sqlite3", "ip", "nft", "conntrack")
	lab := kamailiotest.NewNATLab(t)
	port := freeUDPPort(t)
	lab.SNAT(port, lab.Public[0])
	k := kamailiotest.StartWith(t, kamailiotest.Options{NetNS: lab.Server, Host: lab.ServerIP,
		Defines: []string{"WITH_NAT", `PUBLISHER="` + lab.HostIP + `"`}})
	y := fmt.Sprintf("listen: {udp: \"0.0.0.0:%d\"}\nstate_dir: %s\naccounts:\n  - name: nat-7001\n    aor: sip:7001@%s\n    password: pw-7001\n    server: %s\n    register_expiry: 10s\n",
		port, t.TempDir(), lab.ServerIP, k.Addr)
	a := runAgent(t, y)
	waitSnap(t, a, 10*time.Second, "subscribed through the NAT", allHealth(state.HealthSubscribed))
	pub0 := "contact=<sip:7001@" + lab.Public[0] + ":"
	waitLog(t, k, "mwi-test: registered 7001 expires=10 "+pub0, 5*time.Second)
	for _, l := range logLines(k, "mwi-test: ") {
		t.Log(l)
	}
	waitLog(t, k, "mwi-test: subscribed 7001 totag=<null> expires=3600 "+pub0, 5*time.Second)
	publish := func(body string) {
		t.Helper()
		if _, err := k.PublishTo("sip:7001@"+lab.ServerIP, body, ""); err != nil {
			t.Fatal(err)
		}
	}
	publish("Messages-Waiting: yes\r\nVoice-Message: 7/0\r\n")
	waitSnap(t, a, 3*time.Second, "waiting through the NAT", accountIs("nat-7001", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingYes && acc.Voice().New == 7
	}))

	lab.SNAT(port, lab.Public[1])
	t0 := time.Now()
	pub1 := "contact=<sip:7001@" + lab.Public[1] + ":"
	waitLog(t, k, "mwi-test: registered 7001 expires=10 "+pub1, 15*time.Second)
	waitLog(t, k, "mwi-test: subscribed 7001 totag=<null> expires=3600 "+pub1, 5*time.Second)
	t.Logf("registered and subscribed with the new public address %v after it changed", time.Since(t0))
	for _, l := range logLines(k, "mwi-test: ") {
		t.Log(l)
	}
	publish("Messages-Waiting: no\r\nVoice-Message: 0/7\r\n")
	waitSnap(t, a, 3*time.Second, "cleared through the new mapping", accountIs("nat-7001", func(acc state.Account) bool {
		return acc.Waiting == state.WaitingNo && acc.Health == state.HealthSubscribed
	}))
	if strings.Contains(k.Log(), "contact=<sip:7001@"+lab.HostIP) && !strings.Contains(k.Log(), "registered 7001 expires=10 contact=<sip:7001@"+lab.HostIP) {
		t.Log("first REGISTER carried the private address (expected before learning)")
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
