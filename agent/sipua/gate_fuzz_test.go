package sipua

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// FuzzGateFilter feeds arbitrary datagrams from arbitrary sources to the
// UDP read filter of a UA with one account: it never panics, and what it
// lets through to sipgo is only a response from the account's server or a
// NOTIFY that the admission rules take — never garbage, never a request
// of another kind, never anything from an unknown source but an admitted
// NOTIFY.
func FuzzGateFilter(f *testing.F) {
	f.Add([]byte("NOTIFY sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\nFrom: <sip:vm@x>;tag=1\r\nTo: <sip:1001@x>\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nEvent: message-summary\r\nContent-Length: 0\r\n\r\n"), uint16(5060), byte(1))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nContent-Length: 0\r\n\r\n"), uint16(5060), byte(1))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"), uint16(1), byte(2))
	f.Add([]byte("\xff\xfe garbage"), uint16(40000), byte(9))
	f.Add([]byte("\r\n\r\n"), uint16(5060), byte(1))
	h := newHarness(f, newPBX(f, nil), nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	cfg := h.account("1001", "udp")
	cfg.Register, cfg.Subscribe, cfg.Server = false, false, "127.0.0.1:5060"
	h.start(ctx, cfg)
	time.Sleep(50 * time.Millisecond)
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
	f.Fuzz(func(t *testing.T, data []byte, port uint16, host byte) {
		src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, host), Port: int(port)}
		out, err := h.ua.gate.filter(sip.TransportReadProps{Transport: "UDP", LocalAddr: h.ua.UDPAddr(), RemoteAddr: src}, data)
		if err != nil {
			t.Fatalf("filter error %v: would stop sipgo's read loop", err)
		}
		if out == nil {
			return
		}
		msg, perr := sip.ParseMessage(out)
		if perr != nil {
			t.Fatalf("let through what sipgo cannot parse: %q", out)
		}
		switch m := msg.(type) {
		case *sip.Response:
			if src.String() != server.String() {
				t.Fatalf("let through a response from %v, not the server", src)
			}
		case *sip.Request:
			if m.Method != sip.NOTIFY {
				t.Fatalf("let through a %s", m.Method)
			}
			m.SetTransport("UDP")
			m.SetSource(src.String())
			if v := h.ua.admit(m, false); v.code != 0 { // the rules, without taking a token again
				t.Fatalf("let through a NOTIFY the rules refuse (%d)", v.code)
			}
		}
	})
}
