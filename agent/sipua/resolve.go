package sipua

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// addrCache resolves host names off the caller's goroutine. get never
// blocks: it answers from the cache (also an expired entry, while a
// refresh runs) and starts a lookup in the background when the entry is
// missing or old. Go's resolver does not report record TTLs, so an entry
// lives for ttl (negTTL after a failure); the account worker, the NOTIFY
// gate and the probes all read it, and none of them waits for DNS.
type addrCache struct {
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	now    func() time.Time
	ttl    time.Duration
	negTTL time.Duration
	limit  time.Duration // one lookup's bound

	mu      sync.Mutex
	entries map[string]*addrEntry
	changed func() // called (outside mu) after a lookup changed an entry
}

type addrEntry struct {
	addrs    []netip.Addr
	at       time.Time
	ok       bool
	inFlight bool
}

func newAddrCache(now func() time.Time) *addrCache {
	return &addrCache{
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		now: now, ttl: time.Minute, negTTL: 10 * time.Second, limit: 5 * time.Second,
		entries: map[string]*addrEntry{},
	}
}

// get returns the host's addresses as far as they are known now; ok is
// false when nothing is known yet (a lookup is then under way). An IP
// literal is returned as is.
func (c *addrCache) get(host string) (addrs []netip.Addr, ok bool) {
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[host]
	if e == nil {
		e = &addrEntry{}
		c.entries[host] = e
	}
	life := c.ttl
	if !e.ok {
		life = c.negTTL
	}
	if !e.inFlight && (e.at.IsZero() || c.now().Sub(e.at) >= life) {
		e.inFlight = true
		go c.refresh(host)
	}
	return e.addrs, len(e.addrs) > 0
}

func (c *addrCache) refresh(host string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.limit)
	got, err := c.lookup(ctx, host)
	cancel()
	c.mu.Lock()
	e := c.entries[host]
	e.inFlight = false
	e.at = c.now()
	if err == nil && len(got) > 0 {
		out := make([]netip.Addr, len(got))
		for i, a := range got {
			out[i] = a.Unmap()
		}
		e.addrs, e.ok = out, true
	} else {
		// Keep the last good addresses through a failed lookup.
		e.ok = false
	}
	changed := c.changed
	c.mu.Unlock()
	if changed != nil {
		changed()
	}
}

// hostPortAddrs resolves "host:port" through the cache.
func (c *addrCache) hostPortAddrs(hostport string) ([]netip.AddrPort, bool) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, false
	}
	addrs, ok := c.get(host)
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a, uint16(p)))
	}
	return out, ok
}
