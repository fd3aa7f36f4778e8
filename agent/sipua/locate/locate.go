package locate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Target is one place to send requests to.
type Target struct {
	Transport string         // udp, tcp or tls
	Name      string         // the host name the address belongs to ("" for an IP literal)
	Addr      netip.AddrPort // where to send
	Priority  uint16         // SRV priority (0 without SRV)
	Weight    uint16         // SRV weight
}

// String is "udp 192.0.2.1:5060 (sip1.example.com)".
func (t Target) String() string {
	if t.Name == "" {
		return t.Transport + " " + t.Addr.String()
	}
	return t.Transport + " " + t.Addr.String() + " (" + t.Name + ")"
}

// HostPort is the address as host:port, for sipgo destinations.
func (t Target) HostPort() string { return t.Addr.String() }

// Query is what to locate: the host part of a SIP URI (or of the
// configured server), its port if one was given, and the transport.
type Query struct {
	Host      string // name or IP literal (IPv6 with or without brackets)
	Port      int    // 0 = none given: SRV may choose
	Transport string // udp, tcp, tls; "" = let NAPTR/SRV choose
	Secure    bool   // sips: only TLS
}

// Result is the ordered list of targets and how long it may be used.
type Result struct {
	Targets []Target
	TTL     time.Duration // the smallest TTL of the records used; Literal for IP literals
}

// Literal is the TTL of a result that needed no DNS.
const Literal = 24 * time.Hour

// Config configures a Resolver.
type Config struct {
	// Servers are DNS servers as host[:port] (port 53 by default). Empty:
	// NAPTR and SRV go to /etc/resolv.conf's servers, names to the system
	// resolver.
	Servers []string
	Timeout time.Duration // per query and server [2 s]
	// Rand picks among SRV records of equal priority by weight (RFC 2782);
	// nil = a randomly seeded source.
	Rand *rand.Rand
	// ResolvConf is read when Servers is empty [/etc/resolv.conf].
	ResolvConf string
}

// Resolver locates SIP servers. It is safe for concurrent use when Rand
// is nil.
type Resolver struct {
	servers []string
	system  bool
	timeout time.Duration
	rnd     func(n int) int
}

// New checks the configuration and returns a Resolver.
func New(c Config) (*Resolver, error) {
	r := &Resolver{timeout: c.Timeout}
	if r.timeout <= 0 {
		r.timeout = 2 * time.Second
	}
	r.rnd = rand.IntN
	if c.Rand != nil {
		r.rnd = c.Rand.IntN
	}
	for i, s := range c.Servers {
		hp, err := serverAddr(s)
		if err != nil {
			return nil, fmt.Errorf("locate: dns.servers[%d]: %w", i, err)
		}
		r.servers = append(r.servers, hp)
	}
	if len(r.servers) == 0 {
		r.system = true
		path := c.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		if servers, err := resolvConf(path); err == nil {
			r.servers = servers
		}
	}
	return r, nil
}

func serverAddr(s string) (string, error) {
	host, port := s, "53"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address[:port]", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("bad port in %q", s)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// transports in the order tried when nothing chooses one, with their
// NAPTR service and SRV prefix (RFC 3263 section 4.1).
var transports = []struct{ name, service, srv string }{
	{"udp", "SIP+D2U", "_sip._udp."},
	{"tcp", "SIP+D2T", "_sip._tcp."},
	{"tls", "SIPS+D2T", "_sips._tcp."},
}

func defaultPort(tp string) uint16 {
	if tp == "tls" {
		return 5061
	}
	return 5060
}

// Locate finds the targets for q, most preferred first (RFC 3263 section
// 4): an IP literal or an explicit port needs no NAPTR/SRV; otherwise
// NAPTR records choose the transport (a configured transport keeps only
// its own records) and the SRV name, SRV records give priority, weight,
// target and port, and each target's A and AAAA records the addresses.
// Without NAPTR, the standard SRV names are asked; without SRV, the host's
// own addresses with the transport's default port.
func (r *Resolver) Locate(ctx context.Context, q Query) (Result, error) {
	host := strings.TrimSuffix(strings.Trim(q.Host, "[]"), ".")
	if host == "" {
		return Result{}, errors.New("locate: empty host")
	}
	tp := strings.ToLower(q.Transport)
	if q.Secure {
		if tp != "" && tp != "tls" {
			return Result{}, fmt.Errorf("locate: a sips: URI needs tls, not %q", tp)
		}
		tp = "tls"
	}
	if tp != "" && !slices.ContainsFunc(transports, func(x struct{ name, service, srv string }) bool { return x.name == tp }) {
		return Result{}, fmt.Errorf("locate: unknown transport %q", q.Transport)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		t := cmp.Or(tp, "udp")
		port := uint16(q.Port)
		if port == 0 {
			port = defaultPort(t)
		}
		return Result{Targets: []Target{{Transport: t, Addr: netip.AddrPortFrom(ip.Unmap(), port)}}, TTL: Literal}, nil
	}
	ttl := newTTL()
	if q.Port != 0 {
		t := cmp.Or(tp, "udp")
		targets, err := r.addresses(ctx, host, t, uint16(q.Port), 0, 0, ttl)
		return Result{Targets: targets, TTL: ttl.get()}, err
	}
	srvNames, err := r.naptr(ctx, host, tp, ttl)
	if err != nil {
		return Result{}, err
	}
	if len(srvNames) == 0 {
		for _, x := range transports {
			if tp == "" || tp == x.name {
				srvNames = append(srvNames, srvName{x.name, x.srv + host + "."})
			}
		}
	}
	var out []Target
	var firstErr error
	for _, sn := range srvNames {
		srvs, err := r.srv(ctx, sn.name, ttl)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		for _, s := range srvs {
			if s.Target == "." {
				continue // "decidedly not available" (RFC 2782)
			}
			targets, err := r.addresses(ctx, strings.TrimSuffix(s.Target, "."), sn.transport, s.Port, s.Priority, s.Weight, ttl)
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			out = append(out, targets...)
		}
	}
	if len(out) > 0 {
		return Result{Targets: out, TTL: ttl.get()}, nil
	}
	if firstErr != nil && !errors.Is(firstErr, errNoRecords) {
		return Result{}, firstErr
	}
	// No SRV: the host itself, default port (RFC 3263 section 4.2).
	t := cmp.Or(tp, "udp")
	targets, err := r.addresses(ctx, host, t, defaultPort(t), 0, 0, ttl)
	return Result{Targets: targets, TTL: ttl.get()}, err
}

type srvName struct{ transport, name string }

// naptr returns the SRV names NAPTR records point to, in NAPTR order,
// keeping only transports we support (and only tp when it is set).
func (r *Resolver) naptr(ctx context.Context, host, tp string, ttl *minTTL) ([]srvName, error) {
	a, err := r.query(ctx, host, typeNAPTR)
	if err != nil {
		// None, or a server that cannot answer NAPTR: it may still answer SRV.
		return nil, nil
	}
	var recs []NAPTR
	for _, n := range a.naptr {
		if strings.EqualFold(n.Flags, "s") {
			recs = append(recs, n)
			ttl.add(n.TTL)
		}
	}
	sortStable(recs, func(a, b NAPTR) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Preference, b.Preference))
	})
	var out []srvName
	for _, n := range recs {
		for _, x := range transports {
			if strings.EqualFold(n.Service, x.service) && (tp == "" || tp == x.name) {
				out = append(out, srvName{x.name, n.Replacement})
			}
		}
	}
	return out, nil
}

// srv returns the records of name in RFC 2782 order: by priority, and
// within a priority a weighted random order.
func (r *Resolver) srv(ctx context.Context, name string, ttl *minTTL) ([]SRV, error) {
	a, err := r.query(ctx, name, typeSRV)
	if err != nil {
		return nil, err
	}
	if len(a.srv) == 0 {
		return nil, errNoRecords
	}
	for _, s := range a.srv {
		ttl.add(s.TTL)
	}
	return OrderSRV(a.srv, r.rnd), nil
}

// OrderSRV orders SRV records as RFC 2782 asks: ascending priority; within
// one priority, repeatedly pick a record with probability proportional to
// its weight (zero-weight records first in the running sum, so they are
// picked rarely but not never). rnd(n) returns a number in [0, n).
func OrderSRV(recs []SRV, rnd func(n int) int) []SRV {
	recs = slices.Clone(recs)
	sortStable(recs, func(a, b SRV) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(min(a.Weight, 1), min(b.Weight, 1)))
	})
	out := make([]SRV, 0, len(recs))
	for len(recs) > 0 {
		end := 1
		for end < len(recs) && recs[end].Priority == recs[0].Priority {
			end++
		}
		group := recs[:end]
		for len(group) > 0 {
			sum := 0
			for _, s := range group {
				sum += int(s.Weight)
			}
			pick := rnd(sum + 1)
			i, run := 0, 0
			for ; i < len(group)-1; i++ {
				run += int(group[i].Weight)
				if run >= pick {
					break
				}
			}
			out = append(out, group[i])
			group = slices.Delete(group, i, i+1)
		}
		recs = recs[end:]
	}
	return out
}

// addresses resolves name to targets on port: A then AAAA.
func (r *Resolver) addresses(ctx context.Context, name, tp string, port, prio, weight uint16, ttl *minTTL) ([]Target, error) {
	var ips []netip.Addr
	if r.system {
		got, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
		if err != nil {
			return nil, fmt.Errorf("locate: %s: %w", name, err)
		}
		ips = got
		ttl.add(uint32(time.Minute / time.Second)) // the system resolver does not tell
	} else {
		var firstErr error
		for _, qt := range []qtype{typeA, typeAAAA} {
			a, err := r.query(ctx, name, qt)
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			ips = append(ips, a.addrs...)
			for _, t := range a.ttls {
				ttl.add(t)
			}
		}
		if len(ips) == 0 {
			if firstErr == nil || errors.Is(firstErr, errNoRecords) {
				return nil, fmt.Errorf("locate: %s: no address", name)
			}
			return nil, firstErr
		}
	}
	out := make([]Target, 0, len(ips))
	for _, ip := range ips {
		out = append(out, Target{Transport: tp, Name: name, Addr: netip.AddrPortFrom(ip.Unmap(), port), Priority: prio, Weight: weight})
	}
	return out, nil
}

var errNoRecords = errors.New("no records")

// query asks the servers in turn until one answers. NXDOMAIN or an answer
// without records of the type is errNoRecords.
func (r *Resolver) query(ctx context.Context, name string, qt qtype) (answer, error) {
	if len(r.servers) == 0 {
		return answer{}, errors.New("locate: no DNS server (dns.servers empty and none in resolv.conf)")
	}
	var errs []error
	for _, s := range r.servers {
		h, a, err := r.exchange(ctx, s, name, qt)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch h.rcode {
		case rcodeSuccess:
			if a.empty() {
				return answer{}, errNoRecords
			}
			return a, nil
		case rcodeNameError:
			return answer{}, errNoRecords
		default:
			errs = append(errs, fmt.Errorf("%s: %s", s, rcodeName(h.rcode)))
		}
	}
	return answer{}, fmt.Errorf("locate: %s %s: %w", typeName(qt), strings.TrimSuffix(name, "."), errors.Join(errs...))
}

// minTTL keeps the smallest TTL seen.
type minTTL struct{ s uint32 }

func newTTL() *minTTL { return &minTTL{s: ^uint32(0)} }

func (m *minTTL) add(s uint32) { m.s = min(m.s, s) }

func (m *minTTL) get() time.Duration {
	if m.s == ^uint32(0) {
		return 0
	}
	return time.Duration(m.s) * time.Second
}

// sortStable is an insertion sort: an answer holds a handful of records,
// and slices.SortStableFunc would link another copy of its merge sort for
// each record type (3-4 KB each on armv6, where the binary is near 8 MB).
func sortStable[T any](s []T, cmp func(a, b T) int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && cmp(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}
