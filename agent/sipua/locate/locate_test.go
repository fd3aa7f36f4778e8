package locate

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeDNS answers from a zone written as text RRs, on a loopback UDP port,
// and records the questions it was asked.
type fakeDNS struct {
	Addr string
	mu   sync.Mutex
	rrs  []dns.RR
	asks []string // "TYPE name"
	down bool     // answer SERVFAIL
}

func newFakeDNS(t *testing.T, zone ...string) *fakeDNS {
	t.Helper()
	f := &fakeDNS{}
	f.set(t, zone...)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(f.serve)}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	f.Addr = pc.LocalAddr().String()
	return f
}

func (f *fakeDNS) set(t *testing.T, zone ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, z := range zone {
		rr, err := dns.NewRR(z)
		if err != nil {
			t.Fatalf("zone %q: %v", z, err)
		}
		rrs = append(rrs, rr)
	}
	f.mu.Lock()
	f.rrs = rrs
	f.mu.Unlock()
}

func (f *fakeDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	m := new(dns.Msg)
	m.SetReply(req)
	f.mu.Lock()
	f.asks = append(f.asks, dns.TypeToString[q.Qtype]+" "+q.Name)
	if f.down {
		m.Rcode = dns.RcodeServerFailure
	}
	known := false
	for _, rr := range f.rrs {
		if strings.EqualFold(rr.Header().Name, q.Name) {
			known = true
			if rr.Header().Rrtype == q.Qtype && !f.down {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	down := f.down
	f.mu.Unlock()
	if !known && !down {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func (f *fakeDNS) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asks)
}

func locate(t *testing.T, r *Resolver, q Query) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := r.Locate(ctx, q)
	if err != nil {
		t.Fatalf("Locate(%+v): %v", q, err)
	}
	return res
}

func targets(res Result) []string {
	var out []string
	for _, t := range res.Targets {
		out = append(out, t.String())
	}
	return out
}

func newResolver(t *testing.T, servers ...string) *Resolver {
	t.Helper()
	r, err := New(Config{Servers: servers, Timeout: 300 * time.Millisecond, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var zone = []string{
	`example.test. 300 IN NAPTR 10 50 "s" "SIPS+D2T" "" _sips._tcp.example.test.`,
	`example.test. 300 IN NAPTR 20 50 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
	`example.test. 300 IN NAPTR 30 50 "s" "SIP+D2U" "" _sip._udp.example.test.`,
	`example.test. 300 IN NAPTR 40 50 "s" "SIP+D2SCTP" "" _sip._sctp.example.test.`,
	`_sips._tcp.example.test. 120 IN SRV 10 0 5061 sip1.example.test.`,
	`_sip._tcp.example.test. 120 IN SRV 10 0 5070 sip1.example.test.`,
	`_sip._udp.example.test. 60 IN SRV 20 0 5080 sip2.example.test.`,
	`_sip._udp.example.test. 60 IN SRV 10 0 5090 sip1.example.test.`,
	`sip1.example.test. 30 IN A 192.0.2.1`,
	`sip1.example.test. 30 IN AAAA 2001:db8::1`,
	`sip2.example.test. 300 IN A 192.0.2.2`,
}

// NAPTR chooses the transport order and the SRV names; SRV gives
// priorities and ports; A then AAAA give the addresses. The TTL is the
// smallest one used.
func TestNAPTRSRVA(t *testing.T) {
	f := newFakeDNS(t, zone...)
	r := newResolver(t, f.Addr)
	res := locate(t, r, Query{Host: "example.test"})
	want := []string{
		"tls 192.0.2.1:5061 (sip1.example.test)", "tls [2001:db8::1]:5061 (sip1.example.test)",
		"tcp 192.0.2.1:5070 (sip1.example.test)", "tcp [2001:db8::1]:5070 (sip1.example.test)",
		"udp 192.0.2.1:5090 (sip1.example.test)", "udp [2001:db8::1]:5090 (sip1.example.test)",
		"udp 192.0.2.2:5080 (sip2.example.test)",
	}
	if got := targets(res); !slices.Equal(got, want) {
		t.Errorf("targets\n got %q\nwant %q", got, want)
	}
	if res.TTL != 30*time.Second {
		t.Errorf("TTL %v, want the smallest, 30s", res.TTL)
	}
}

// A configured transport keeps only its NAPTR records; udp's SRV records
// are ordered by priority (10 before 20) whatever order DNS gave them in.
func TestConfiguredTransport(t *testing.T) {
	f := newFakeDNS(t, zone...)
	r := newResolver(t, f.Addr)
	got := targets(locate(t, r, Query{Host: "example.test", Transport: "UDP"}))
	want := []string{"udp 192.0.2.1:5090 (sip1.example.test)", "udp [2001:db8::1]:5090 (sip1.example.test)", "udp 192.0.2.2:5080 (sip2.example.test)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	if a := f.asked(); slices.Contains(a, "SRV _sip._tcp.example.test.") || slices.Contains(a, "SRV _sips._tcp.example.test.") {
		t.Errorf("asked for other transports' SRV: %q", a)
	}
	// sips: only TLS.
	got = targets(locate(t, r, Query{Host: "example.test", Secure: true}))
	if len(got) != 2 || !strings.HasPrefix(got[0], "tls ") || !strings.HasPrefix(got[1], "tls ") {
		t.Errorf("sips: %q", got)
	}
	if _, err := r.Locate(context.Background(), Query{Host: "example.test", Secure: true, Transport: "udp"}); err == nil {
		t.Error("sips over udp accepted")
	}
}

// Without NAPTR the standard SRV names are asked; without SRV the host's
// addresses with the default port. An explicit port or an IP literal asks
// no NAPTR or SRV at all.
func TestFallbacks(t *testing.T) {
	f := newFakeDNS(t,
		`nonaptr.test. 60 IN A 192.0.2.9`,
		`_sip._tcp.nonaptr.test. 60 IN SRV 5 0 5999 sip1.example.test.`,
		`sip1.example.test. 30 IN A 192.0.2.1`,
		`plain.test. 60 IN A 192.0.2.7`,
		`gone.test. 60 IN A 192.0.2.8`,
		`_sip._udp.gone.test. 60 IN SRV 0 0 0 .`,
	)
	r := newResolver(t, f.Addr)
	for _, c := range []struct {
		q    Query
		want []string
	}{
		{Query{Host: "nonaptr.test"}, []string{"tcp 192.0.2.1:5999 (sip1.example.test)"}},
		{Query{Host: "plain.test"}, []string{"udp 192.0.2.7:5060 (plain.test)"}},
		{Query{Host: "plain.test", Transport: "tls"}, []string{"tls 192.0.2.7:5061 (plain.test)"}},
		{Query{Host: "nonaptr.test", Port: 5062}, []string{"udp 192.0.2.9:5062 (nonaptr.test)"}},
		{Query{Host: "gone.test", Transport: "udp"}, []string{"udp 192.0.2.8:5060 (gone.test)"}},
		{Query{Host: "[::1]", Port: 7000, Transport: "tcp"}, []string{"tcp [::1]:7000"}},
		{Query{Host: "127.0.0.1"}, []string{"udp 127.0.0.1:5060"}},
	} {
		before := len(f.asked())
		res := locate(t, r, c.q)
		if got := targets(res); !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %q want %q", c.q, got, c.want)
		}
		if c.q.Port != 0 {
			for _, a := range f.asked()[before:] {
				if strings.HasPrefix(a, "SRV") || strings.HasPrefix(a, "NAPTR") {
					t.Errorf("%+v: asked %s despite the explicit port", c.q, a)
				}
			}
		}
	}
	if _, err := r.Locate(context.Background(), Query{Host: "nothing.test"}); err == nil || !strings.Contains(err.Error(), "nothing.test") {
		t.Errorf("unknown name: err %v", err)
	}
}

// The first DNS server fails (SERVFAIL); the second answers.
func TestServerFailover(t *testing.T) {
	bad := newFakeDNS(t, zone...)
	bad.mu.Lock()
	bad.down = true
	bad.mu.Unlock()
	good := newFakeDNS(t, zone...)
	r := newResolver(t, bad.Addr, good.Addr)
	got := targets(locate(t, r, Query{Host: "example.test", Transport: "udp"}))
	if len(got) != 3 {
		t.Errorf("got %q", got)
	}
	if _, err := New(Config{Servers: []string{"dns.example.com"}}); err == nil || !strings.Contains(err.Error(), "dns.servers[0]") {
		t.Errorf("a name as DNS server: %v", err)
	}
}

// RFC 2782 weights: with weights 90 and 10 at one priority, the heavy
// record comes first about 90 % of the time; weight 0 is rarely first; a
// lower priority always comes first.
func TestSRVWeights(t *testing.T) {
	recs := func(spec ...[3]int) []SRV {
		var out []SRV
		for i, s := range spec {
			out = append(out, SRV{Priority: uint16(s[0]), Weight: uint16(s[1]), Port: uint16(s[2]), Target: fmt.Sprintf("t%d.", i)})
		}
		return out
	}
	rng := rand.New(rand.NewPCG(7, 8))
	in := recs([3]int{20, 0, 1}, [3]int{10, 10, 2}, [3]int{10, 90, 3}, [3]int{10, 0, 4})
	first := map[uint16]int{}
	const n = 5000
	for range n {
		out := OrderSRV(in, rng.IntN)
		first[out[0].Port]++
		if out[3].Port != 1 {
			t.Fatalf("priority 20 not last: %v", out)
		}
	}
	if p := float64(first[3]) / n; p < 0.85 || p > 0.95 {
		t.Errorf("weight 90 first in %.3f of orders, want about 0.9 (of the 101 weight units)", p)
	}
	if p := float64(first[4]) / n; p > 0.03 {
		t.Errorf("weight 0 first in %.3f of orders", p)
	}
}

// FuzzOrderSRV: the order is a permutation with priorities ascending.
func FuzzOrderSRV(f *testing.F) {
	f.Add([]byte{1, 10, 2, 0, 1, 5}, uint64(1))
	f.Fuzz(func(t *testing.T, spec []byte, seed uint64) {
		var in []SRV
		for i := 0; i+1 < len(spec) && len(in) < 20; i += 2 {
			in = append(in, SRV{Priority: uint16(spec[i] % 4), Weight: uint16(spec[i+1]), Port: uint16(len(in))})
		}
		out := OrderSRV(in, rand.New(rand.NewPCG(seed, 0)).IntN)
		if len(out) != len(in) {
			t.Fatalf("%d records in, %d out", len(in), len(out))
		}
		seen := map[uint16]bool{}
		for i, s := range out {
			if seen[s.Port] {
				t.Fatalf("record %d twice", s.Port)
			}
			seen[s.Port] = true
			if i > 0 && out[i-1].Priority > s.Priority {
				t.Fatalf("priority %d before %d", out[i-1].Priority, s.Priority)
			}
		}
	})
}

// A randomly answering DNS server (random records, types, TTLs, targets,
// rcodes): Locate never panics, returns either an error or targets whose
// every address and port came from the zone, and SRV priorities ascend
// within each transport.
func TestRandomAnswers(t *testing.T) {
	f := newFakeDNS(t)
	r := newResolver(t, f.Addr)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		var z []string
		hosts := []string{"a.test.", "b.test.", "r.test.", "."}
		for range rng.IntN(12) {
			h := hosts[rng.IntN(3)]
			switch rng.IntN(5) {
			case 0:
				svc := []string{"SIP+D2U", "SIP+D2T", "SIPS+D2T", "X+Y"}[rng.IntN(4)]
				repl := []string{"_sip._udp.r.test.", "_sip._tcp.r.test.", "_sips._tcp.r.test.", "."}[rng.IntN(4)]
				z = append(z, fmt.Sprintf(`r.test. %d IN NAPTR %d %d "%s" "%s" "" %s`, rng.IntN(100), rng.IntN(3), rng.IntN(3), []string{"s", "a", ""}[rng.IntN(3)], svc, repl))
			case 1, 2:
				name := []string{"_sip._udp.r.test.", "_sip._tcp.r.test.", "_sips._tcp.r.test."}[rng.IntN(3)]
				z = append(z, fmt.Sprintf(`%s %d IN SRV %d %d %d %s`, name, rng.IntN(100), rng.IntN(3), rng.IntN(5), 1+rng.IntN(65535), hosts[rng.IntN(4)]))
			case 3:
				z = append(z, fmt.Sprintf(`%s %d IN A 192.0.2.%d`, h, rng.IntN(100), rng.IntN(256)))
			case 4:
				z = append(z, fmt.Sprintf(`%s %d IN AAAA 2001:db8::%x`, h, rng.IntN(100), rng.IntN(65536)))
			}
		}
		f.set(t, z...)
		f.mu.Lock()
		f.down = rng.IntN(10) == 0
		f.mu.Unlock()
		q := Query{Host: "r.test", Transport: []string{"", "udp", "tcp", "tls"}[rng.IntN(4)]}
		res, err := r.Locate(context.Background(), q)
		if err != nil {
			continue
		}
		addrs := map[netip.Addr]bool{}
		for _, s := range z {
			if rr, _ := dns.NewRR(s); rr != nil {
				switch a := rr.(type) {
				case *dns.A:
					ip, _ := netip.AddrFromSlice(a.A.To4())
					addrs[ip] = true
				case *dns.AAAA:
					ip, _ := netip.AddrFromSlice(a.AAAA)
					addrs[ip] = true
				}
			}
		}
		last := map[string]uint16{}
		for _, tg := range res.Targets {
			if !addrs[tg.Addr.Addr()] || tg.Addr.Port() == 0 {
				t.Fatalf("run %d: target %v not from the zone %q", i, tg, z)
			}
			if q.Transport != "" && tg.Transport != q.Transport {
				t.Fatalf("run %d: target %v for transport %q", i, tg, q.Transport)
			}
			if tg.Priority < last[tg.Transport] {
				t.Fatalf("run %d: priorities not ascending: %v", i, res.Targets)
			}
			last[tg.Transport] = tg.Priority
		}
	}
}

// sortStable orders as slices.SortStableFunc does, equal keys in their
// original order.
func TestSortStableMatchesSlices(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		recs := make([]SRV, rnd.IntN(12))
		for i := range recs {
			recs[i] = SRV{Priority: uint16(rnd.IntN(3)), Weight: uint16(rnd.IntN(3)), Port: uint16(i)}
		}
		cmpf := func(a, b SRV) int { return cmp.Compare(a.Priority, b.Priority) }
		want := slices.Clone(recs)
		slices.SortStableFunc(want, cmpf)
		sortStable(recs, cmpf)
		if !slices.Equal(recs, want) {
			t.Fatalf("sortStable gave %v, want %v", recs, want)
		}
	}
}
