//go:build unix

package kamailiotest

import (
	"net"
	"testing"
	"time"
)

// FreeUDP returns a loopback UDP address nobody listens on (for an agent's
// listen.udp that a test sends unsolicited NOTIFYs to).
func FreeUDP(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// NotifyMWI sends an unsolicited message-summary NOTIFY for user to the
// agent at addr and fails t unless it is answered 200.
func NotifyMWI(t testing.TB, addr, user, body string) {
	t.Helper()
	code, err := Send(addr, "NOTIFY", "sip:"+user+"@"+addr,
		[]string{"Event: message-summary", "Content-Type: application/simple-message-summary"}, body, 2*time.Second)
	if err != nil || code != 200 {
		t.Fatalf("NOTIFY for %s: %d %v", user, code, err)
	}
}
