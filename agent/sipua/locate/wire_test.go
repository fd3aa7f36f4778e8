package locate

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// encodeNAPTR is the inverse of parseNAPTR, for the round-trip property.
func encodeNAPTR(n NAPTR) []byte {
	b := binary.BigEndian.AppendUint16(nil, n.Order)
	b = binary.BigEndian.AppendUint16(b, n.Preference)
	for _, s := range []string{n.Flags, n.Service, n.Regexp} {
		b = append(append(b, byte(len(s))), s...)
	}
	if n.Replacement != "." {
		for _, l := range strings.Split(strings.TrimSuffix(n.Replacement, "."), ".") {
			b = append(append(b, byte(len(l))), l...)
		}
	}
	return append(b, 0)
}

// plain: nothing the presentation format would escape.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' || c == '"' || c == '\\' || c == ';' || c == '(' || c == ')' || c == '@' || c == '$' {
			return false
		}
	}
	return true
}

// miekgNAPTR decodes the record data with github.com/miekg/dns.
func miekgNAPTR(rdata []byte) (*dns.NAPTR, error) {
	msg := []byte{0, 0, 35, 0, 1, 0, 0, 0, 60} // root owner, NAPTR, IN, TTL 60
	msg = binary.BigEndian.AppendUint16(msg, uint16(len(rdata)))
	rr, _, err := dns.UnpackRR(append(msg, rdata...), 0)
	if err != nil {
		return nil, err
	}
	n, _ := rr.(*dns.NAPTR)
	return n, nil
}

// FuzzParseNAPTR: any bytes: no panic; what parses re-encodes to exactly
// the same bytes, and github.com/miekg/dns reads the same fields from it.
func FuzzParseNAPTR(f *testing.F) {
	for _, n := range []NAPTR{
		{Order: 10, Preference: 50, Flags: "s", Service: "SIPS+D2T", Replacement: "_sips._tcp.example.test."},
		{Order: 65535, Flags: "", Service: "E2U+sip", Regexp: "!^.*$!sip:info@example.com!", Replacement: "."},
	} {
		f.Add(encodeNAPTR(n))
	}
	f.Add([]byte{0, 1, 0, 2, 1, 's', 0, 0, 0xc0, 12})            // compressed replacement
	f.Add([]byte{0, 1, 0, 2, 1, 's', 0, 0, 3, 'a', '.', 'b', 0}) // a dot in a label
	f.Add([]byte{0, 1, 0, 2, 1, 's', 0, 0, 0, 7})                // trailing byte
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseNAPTR(b)
		if err != nil {
			return
		}
		if got := encodeNAPTR(n); !bytes.Equal(got, b) {
			t.Fatalf("%x parsed as %+v, which encodes as %x", b, n, got)
		}
		m, err := miekgNAPTR(b)
		if err != nil {
			t.Fatalf("%x: we read %+v, miekg/dns: %v", b, n, err)
		}
		if m.Order != n.Order || m.Preference != n.Preference {
			t.Fatalf("%x: order/preference %d/%d, miekg/dns %d/%d", b, n.Order, n.Preference, m.Order, m.Preference)
		}
		for _, p := range [][2]string{{n.Flags, m.Flags}, {n.Service, m.Service}, {n.Regexp, m.Regexp}, {n.Replacement, m.Replacement}} {
			if plain(p[0]) && !strings.ContainsAny(p[0], "'`") && p[0] != p[1] {
				t.Fatalf("%x: %q, miekg/dns %q", b, p[0], p[1])
			}
		}
	})
}

// FuzzNAPTRFromMiekg: records packed by github.com/miekg/dns from any
// fields read back with the same fields.
func FuzzNAPTRFromMiekg(f *testing.F) {
	f.Add(uint16(10), uint16(50), "s", "SIP+D2U", "", "_sip._udp.example.test.")
	f.Add(uint16(0), uint16(0), "", "", "!a!b!", ".")
	f.Fuzz(func(t *testing.T, order, pref uint16, flags, service, re, repl string) {
		for _, s := range []string{flags, service, re, repl} {
			if !plain(s) || len(s) > 255 {
				return
			}
		}
		if _, ok := dns.IsDomainName(repl); !ok || !dns.IsFqdn(repl) {
			return
		}
		rr := &dns.NAPTR{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeNAPTR, Class: dns.ClassINET, Ttl: 1},
			Order: order, Preference: pref, Flags: flags, Service: service, Regexp: re, Replacement: repl}
		buf := make([]byte, 1024)
		end, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return
		}
		rdata := buf[11:end] // owner (1), type, class, TTL, length
		n, err := parseNAPTR(rdata)
		if err != nil {
			t.Fatalf("%v packed as %x: %v", rr, rdata, err)
		}
		want := NAPTR{Order: order, Preference: pref, Flags: flags, Service: service, Regexp: re, Replacement: strings.ToLower(repl)}
		if n.Replacement = strings.ToLower(n.Replacement); n != want {
			t.Fatalf("%v: read %+v", rr, n)
		}
	})
}

// A truncated UDP answer is asked again over TCP.
func TestTruncatedRetriesOverTCP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	var udp, tcp atomic.Int32
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
			udp.Add(1)
			m.Truncated = true
		} else {
			tcp.Add(1)
			for i := range 40 { // well over 512 bytes
				rr, _ := dns.NewRR(fmt.Sprintf("big.test. 60 IN A 192.0.2.%d", i+1))
				m.Answer = append(m.Answer, rr)
			}
		}
		if err := w.WriteMsg(m); err != nil {
			t.Log(err)
		}
	})
	us, ts := &dns.Server{PacketConn: pc, Handler: h}, &dns.Server{Listener: l, Handler: h}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	r := newResolver(t, pc.LocalAddr().String())
	res := locate(t, r, Query{Host: "big.test", Port: 5060})
	if len(res.Targets) != 40 || udp.Load() == 0 || tcp.Load() == 0 {
		t.Errorf("%d targets; %d UDP and %d TCP queries", len(res.Targets), udp.Load(), tcp.Load())
	}
}

// An answer with another id or question is ignored (a late answer or a
// forgery); the real one that follows is used. A server that never
// answers costs one timeout, then the next server is asked.
func TestMismatchedAndSilentServers(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			for _, bad := range []func(*dns.Msg){
				func(m *dns.Msg) { m.Id++ },
				func(m *dns.Msg) { m.Question[0].Name = "other.test." },
				func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeMX },
				func(m *dns.Msg) { m.Response = false },
			} {
				m := new(dns.Msg)
				m.SetReply(req)
				rr, _ := dns.NewRR("x.test. 60 IN A 192.0.2.66")
				m.Answer = append(m.Answer, rr)
				bad(m)
				b, _ := m.Pack()
				pc.WriteTo(b, from)
			}
			m := new(dns.Msg)
			m.SetReply(req)
			if req.Question[0].Qtype == dns.TypeA {
				rr, _ := dns.NewRR("x.test. 60 IN A 192.0.2.1")
				m.Answer = append(m.Answer, rr)
			}
			b, _ := m.Pack()
			pc.WriteTo(b, from)
		}
	}()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	r := newResolver(t, silent.LocalAddr().String(), pc.LocalAddr().String())
	start := time.Now()
	res := locate(t, r, Query{Host: "x.test", Port: 5060})
	if got := targets(res); !slices.Equal(got, []string{"udp 192.0.2.1:5060 (x.test)"}) {
		t.Errorf("targets %q", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
	// Cancelled: no wait for the silent server's timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Locate(ctx, Query{Host: "x.test", Port: 5060}); err == nil {
		t.Error("cancelled Locate succeeded")
	}
}

// parseAnswer on any bytes: no panic, no records from a message that is
// not the answer, and where github.com/miekg/dns also reads the message,
// the same records.
func FuzzParseAnswer(f *testing.F) {
	for _, c := range []struct {
		t   uint16
		rrs []string
	}{
		{dns.TypeSRV, []string{"a.test. 60 IN SRV 1 2 3 b.test.", "a.test. 60 IN SRV 4 5 6 a.test."}},
		{dns.TypeA, []string{"a.test. 60 IN CNAME c.test.", "c.test. 30 IN A 192.0.2.1"}},
		{dns.TypeAAAA, []string{"a.test. 60 IN AAAA 2001:db8::1", "a.test. 60 IN AAAA ::ffff:192.0.2.1"}},
		{dns.TypeNAPTR, []string{`a.test. 60 IN NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.a.test.`}},
	} {
		for _, compress := range []bool{false, true} {
			m := new(dns.Msg)
			m.SetQuestion("a.test.", c.t)
			m.Id, m.Response, m.Compress = 7, true, compress
			for _, z := range c.rrs {
				rr, err := dns.NewRR(z)
				if err != nil {
					f.Fatal(err)
				}
				m.Answer = append(m.Answer, rr)
			}
			b, err := m.Pack()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, c.t)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, qt uint16) {
		for _, typ := range []qtype{qtype(qt), typeNAPTR, typeSRV, typeA, typeAAAA} {
			h, a, err := parseAnswer(b, 7, "a.test", typ)
			if err != nil && !a.empty() {
				t.Fatalf("error %v with records %+v", err, a)
			}
			if !a.empty() && (h.id != 7 || !h.response || h.truncated) {
				t.Fatalf("records from %+v", h)
			}
			m := new(dns.Msg)
			if err != nil || m.Unpack(b) != nil {
				continue
			}
			var want answer
			for _, rr := range m.Answer {
				if rr.Header().Rrtype != uint16(typ) || rr.Header().Class != dns.ClassINET {
					continue
				}
				switch r := rr.(type) {
				case *dns.SRV:
					want.srv = append(want.srv, SRV{r.Priority, r.Weight, r.Port, r.Target, r.Hdr.Ttl})
				case *dns.A:
					want.addrs, want.ttls = append(want.addrs, netip.AddrFrom4([4]byte(r.A.To4()))), append(want.ttls, r.Hdr.Ttl)
				case *dns.AAAA:
					want.addrs, want.ttls = append(want.addrs, netip.AddrFrom16([16]byte(r.AAAA)).Unmap()), append(want.ttls, r.Hdr.Ttl)
				case *dns.NAPTR:
					want.naptr = append(want.naptr, NAPTR{r.Order, r.Preference, r.Flags, r.Service, r.Regexp, r.Replacement, r.Hdr.Ttl})
				}
			}
			if got, wantS := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", want); got != wantS && comparable(want) {
				t.Fatalf("type %d: read\n %s\nmiekg/dns\n %s", typ, got, wantS)
			}
		}
	})
}

// comparable: no text miekg/dns would show escaped.
func comparable(a answer) bool {
	for _, s := range a.srv {
		if !plain(s.Target) || strings.ContainsAny(s.Target, "'`") {
			return false
		}
	}
	for _, n := range a.naptr {
		for _, x := range []string{n.Flags, n.Service, n.Regexp, n.Replacement} {
			if !plain(x) || strings.ContainsAny(x, "'`") {
				return false
			}
		}
	}
	return true
}

// resolv.conf: nameserver lines only, IPv4 and IPv6 (with a zone).
func TestResolvConf(t *testing.T) {
	p := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(p, []byte("# comment\nsearch example.net\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := resolvConf(p)
	if want := []string{"192.0.2.53:53", "[fe80::1%eth0]:53"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q %v, want %q", got, err, want)
	}
}
