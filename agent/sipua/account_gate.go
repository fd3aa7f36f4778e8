package sipua

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// gateView is the part of an account that sipgo's goroutines and the
// gate read without asking the worker: set by the worker, read anywhere.
type gateView struct {
	subActive   atomic.Bool                    // a subscription for the mailbox is active
	flow        atomic.Pointer[netip.AddrPort] // TCP/TLS: the server end of the registration's connection
	unsolBudget tokenBucket
	unsolSeq    uint64    // worker only: arrival number of the last applied unsolicited NOTIFY
	unsolAt     time.Time // worker only: when an unsolicited NOTIFY last confirmed the state
}

// unsolicitedRate and unsolicitedBurst bound the unsolicited NOTIFYs one
// account takes (a PBX sends one per change; more is a flood).
const (
	unsolicitedRate  = 2
	unsolicitedBurst = 10
)

// destAddrs are the resolved addresses requests go to (server or proxy),
// from the cache: never blocks.
func (a *account) destAddrs() ([]netip.AddrPort, bool) {
	return a.u.dns.hostPortAddrs(a.dest)
}

// acceptsUnsolicited: this account takes an unsolicited NOTIFY that came
// over network from src. Only over the account's own transport; over UDP
// from the server's own address and port (or unsolicited_from), over TCP
// and TLS only on the registration's connection; and not while a
// subscription for the mailbox is active unless the account opted in.
func (a *account) acceptsUnsolicited(network, src string) bool {
	if !a.cfg.Unsolicited || network != a.network {
		return false
	}
	if a.gv.subActive.Load() && !a.cfg.UnsolicitedAlways {
		return false
	}
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return false
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if network != "udp" {
		f := a.gv.flow.Load()
		return f != nil && *f == ap
	}
	if len(a.cfg.UnsolicitedFrom) > 0 {
		for _, p := range a.allowed {
			if p.Contains(ap.Addr()) {
				return true
			}
		}
		return false
	}
	aps, _ := a.destAddrs()
	for _, x := range aps {
		if x == ap {
			return true
		}
	}
	return false
}

// setFlow records the server end of the connection a REGISTER used.
func (a *account) setFlow(conn any) {
	rc, ok := conn.(interface{ RemoteAddr() net.Addr })
	if !ok {
		return
	}
	if ap, ok := addrPortOf(rc.RemoteAddr()); ok {
		a.gv.flow.Store(&ap)
	}
}

func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
