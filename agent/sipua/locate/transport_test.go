package locate

import (
	"slices"
	"strings"
	"testing"
)

// RFC 3263 section 4.1, with no transport configured (the account's
// transport: auto): NAPTR order chooses the transport, lower order first
// even when another transport's SRV priority is better; without NAPTR the
// SRV names are asked for UDP, TCP, then TLS, and every transport found
// is a target in that order; a sips: URI asks only for TLS.
func TestTransportChoice(t *testing.T) {
	f := newFakeDNS(t,
		`tcpfirst.test. 60 IN NAPTR 10 50 "s" "SIP+D2T" "" _sip._tcp.tcpfirst.test.`,
		`tcpfirst.test. 60 IN NAPTR 20 50 "s" "SIP+D2U" "" _sip._udp.tcpfirst.test.`,
		`_sip._tcp.tcpfirst.test. 60 IN SRV 20 0 5070 a.test.`,
		`_sip._udp.tcpfirst.test. 60 IN SRV 10 0 5080 b.test.`,
		`_sip._udp.nonaptr.test. 60 IN SRV 10 0 5090 a.test.`,
		`_sip._tcp.nonaptr.test. 60 IN SRV 10 0 5091 a.test.`,
		`_sips._tcp.nonaptr.test. 60 IN SRV 10 0 5092 a.test.`,
		`a.test. 60 IN A 192.0.2.1`,
		`b.test. 60 IN A 192.0.2.2`,
	)
	r := newResolver(t, f.Addr)
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{Host: "tcpfirst.test"}, []string{"tcp 192.0.2.1:5070 (a.test)", "udp 192.0.2.2:5080 (b.test)"}},
		{Query{Host: "tcpfirst.test", Transport: "udp"}, []string{"udp 192.0.2.2:5080 (b.test)"}},
		{Query{Host: "nonaptr.test"}, []string{"udp 192.0.2.1:5090 (a.test)", "tcp 192.0.2.1:5091 (a.test)", "tls 192.0.2.1:5092 (a.test)"}},
		{Query{Host: "nonaptr.test", Transport: "tcp"}, []string{"tcp 192.0.2.1:5091 (a.test)"}},
		{Query{Host: "nonaptr.test", Secure: true}, []string{"tls 192.0.2.1:5092 (a.test)"}},
	} {
		before := len(f.asked())
		if got := targets(locate(t, r, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %q want %q", c.q, got, c.want)
		}
		if c.q.Secure {
			for _, a := range f.asked()[before:] {
				if strings.HasPrefix(a, "SRV _sip.") {
					t.Errorf("sips: asked %s", a)
				}
			}
		}
	}
}
