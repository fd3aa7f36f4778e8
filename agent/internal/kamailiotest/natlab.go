//go:build linux

package kamailiotest

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// NATLab is a small network made of namespaces the test creates, for NAT
// tests: this process (the host namespace) reaches a server namespace
// through a router namespace that source-NATs the agent's UDP port.
//
//	host HostIP ──veth── router (NAT) ──veth── server ServerIP
//	                     addresses Public[0], Public[1] on the server side
//
// Everything is removed when the test ends. It needs root (ip, nft,
// conntrack).
type NATLab struct {
	t                    testing.TB
	Router, Server       string // namespace names
	HostIP, ServerIP     string
	Public               [2]string // the router's addresses toward the server: what the server sees
	hostLink, sub1, sub2 string
}

// NewNATLab builds the namespaces, links, addresses and routes.
func NewNATLab(t testing.TB) *NATLab {
	t.Helper()
	n := pickSubnet(t)
	l := &NATLab{t: t,
		Router: fmt.Sprintf("mwi15-r%d", n), Server: fmt.Sprintf("mwi15-s%d", n),
		sub1: fmt.Sprintf("10.215.%d", n), sub2: fmt.Sprintf("10.216.%d", n),
		hostLink: fmt.Sprintf("m15h%d", n),
	}
	l.HostIP, l.ServerIP = l.sub1+".1", l.sub2+".2"
	l.Public = [2]string{l.sub2 + ".1", l.sub2 + ".3"}
	rLink, sLink, kLink := fmt.Sprintf("m15r%d", n), fmt.Sprintf("m15s%d", n), fmt.Sprintf("m15k%d", n)
	t.Cleanup(func() {
		// Deleting the host end deletes its peer; the namespaces take
		// the rest with them.
		_ = exec.Command("ip", "link", "del", l.hostLink).Run()
		_ = exec.Command("ip", "netns", "del", l.Router).Run()
		_ = exec.Command("ip", "netns", "del", l.Server).Run()
	})
	l.run("", "ip", "netns", "add", l.Router)
	l.run("", "ip", "netns", "add", l.Server)
	l.run("", "ip", "link", "add", l.hostLink, "type", "veth", "peer", "name", rLink)
	l.run("", "ip", "link", "set", rLink, "netns", l.Router)
	l.run("", "ip", "addr", "add", l.HostIP+"/24", "dev", l.hostLink)
	l.run("", "ip", "link", "set", l.hostLink, "up")
	l.run("", "ip", "route", "add", l.sub2+".0/24", "via", l.sub1+".2", "dev", l.hostLink)
	l.run(l.Router, "ip", "link", "set", "lo", "up")
	l.run(l.Router, "ip", "addr", "add", l.sub1+".2/24", "dev", rLink)
	l.run(l.Router, "ip", "link", "set", rLink, "up")
	l.run(l.Router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	l.run("", "ip", "link", "add", sLink, "netns", l.Router, "type", "veth", "peer", "name", kLink, "netns", l.Server)
	l.run(l.Router, "ip", "addr", "add", l.Public[0]+"/24", "dev", sLink)
	l.run(l.Router, "ip", "addr", "add", l.Public[1]+"/24", "dev", sLink)
	l.run(l.Router, "ip", "link", "set", sLink, "up")
	l.run(l.Server, "ip", "link", "set", "lo", "up")
	l.run(l.Server, "ip", "addr", "add", l.ServerIP+"/24", "dev", kLink)
	l.run(l.Server, "ip", "link", "set", kLink, "up")
	l.run(l.Server, "ip", "route", "add", "default", "via", l.Public[0])
	l.run(l.Router, "nft", "add table ip nat")
	l.run(l.Router, "nft", "add chain ip nat post { type nat hook postrouting priority srcnat; }")
	return l
}

// SNAT makes the router rewrite UDP from the host's port sport to the
// public address (and a port of its choosing, 40000-40999), replacing the
// previous rule and forgetting the old mappings: "the public address
// changed".
func (l *NATLab) SNAT(sport int, public string) {
	l.t.Helper()
	l.run(l.Router, "nft", "flush chain ip nat post")
	l.run(l.Router, "nft", fmt.Sprintf("add rule ip nat post ip saddr %s udp sport %d snat to %s:40000-40999", l.HostIP, sport, public))
	// conntrack exits 1 when there was nothing to delete.
	_ = exec.Command("ip", "netns", "exec", l.Router, "conntrack", "-D", "-p", "udp", "-s", l.HostIP).Run()
}

func (l *NATLab) run(ns string, argv ...string) {
	l.t.Helper()
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// pickSubnet chooses N so that 10.215.N.0/24 and 10.216.N.0/24 are not in
// use on this host.
func pickSubnet(t testing.TB) int {
	t.Helper()
	out, err := exec.Command("ip", "-o", "addr").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr: %v\n%s", err, out)
	}
	routes, _ := exec.Command("ip", "route").CombinedOutput()
	used := string(out) + string(routes)
	for range 100 {
		n := 1 + rand.IntN(250)
		if !strings.Contains(used, "10.215."+strconv.Itoa(n)+".") && !strings.Contains(used, "10.216."+strconv.Itoa(n)+".") {
			return n
		}
	}
	t.Fatal("no free 10.215.N.0/24 subnet")
	return 0
}
