//go:build unix

package kamailiotest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Options start a Kamailio with more than the default UDP+TCP listeners on
// 127.0.0.1. The zero value is Start's server.
type Options struct {
	// Config is the kamailio.cfg to run; "" = ConfigPath().
	Config string
	// IPv6 adds UDP and TCP listeners on [::1] at the same port (Addr6).
	IPv6 bool
	// TLS adds a TLS listener (TLSAddr) with these certificates.
	TLS *TLSServer
	// Defines are passed as -A NAME or -A NAME=VALUE.
	Defines []string
	// NetNS runs Kamailio inside that network namespace (ip netns exec).
	NetNS string
	// Host is the address the UDP/TCP listeners bind; "" = 127.0.0.1.
	Host string
}

// TLSServer is Kamailio's TLS side: the default certificate, optional
// certificates chosen by SNI, and whether a client certificate signed by
// ClientCA is required.
type TLSServer struct {
	Default Cert
	SNI     map[string]Cert // server_name -> certificate
	// ClientCA, when set, makes Kamailio require and verify a client
	// certificate signed by it (mutual TLS).
	ClientCA string
}

// host is the address of the UDP/TCP listeners.
func (s *Server) host() string {
	if s.opts.Host != "" {
		return s.opts.Host
	}
	return "127.0.0.1"
}

// configPath is the configuration file this server runs.
func (s *Server) configPath() string {
	if s.opts.Config != "" {
		return s.opts.Config
	}
	return ConfigPath()
}

// prepare picks the extra ports and writes tls.cfg; called once before
// the first start.
func (s *Server) prepare() {
	s.t.Helper()
	if s.opts.Host != "" {
		s.Addr = net.JoinHostPort(s.opts.Host, strconv.Itoa(s.Port))
	}
	if s.opts.IPv6 {
		s.Addr6 = net.JoinHostPort("::1", strconv.Itoa(s.Port))
	}
	if s.opts.TLS != nil {
		s.TLSPort = freePort(s.t)
		s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TLSPort))
		s.tlsCfg = filepath.Join(s.Dir, "tls.cfg")
		if err := os.WriteFile(s.tlsCfg, []byte(s.opts.TLS.config()), 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
}

// extraArgs are the listeners and defines beyond the default ones.
func (s *Server) extraArgs() []string {
	var args []string
	p := strconv.Itoa(s.Port)
	if s.opts.IPv6 {
		args = append(args, "-l", "udp:[::1]:"+p, "-l", "tcp:[::1]:"+p)
	}
	if s.opts.TLS != nil {
		args = append(args, "-l", "tls:127.0.0.1:"+strconv.Itoa(s.TLSPort),
			"-A", "WITH_TLS", "-A", `TLSCFG="`+s.tlsCfg+`"`)
	}
	for _, d := range s.opts.Defines {
		args = append(args, "-A", d)
	}
	return args
}

// command builds the Kamailio command line (inside the namespace if any).
func (s *Server) command(args []string) *exec.Cmd {
	if s.opts.NetNS != "" {
		return exec.Command("ip", append([]string{"netns", "exec", s.opts.NetNS, "kamailio"}, args...)...)
	}
	return exec.Command("kamailio", args...)
}

func (c *TLSServer) config() string {
	var b strings.Builder
	verify := "verify_certificate = no\nrequire_certificate = no\n"
	if c.ClientCA != "" {
		verify = "verify_certificate = yes\nrequire_certificate = yes\nca_list = " + c.ClientCA + "\n"
	}
	profile := func(head string, cert Cert, extra string) {
		fmt.Fprintf(&b, "[%s]\nmethod = TLSv1.2+\n%sprivate_key = %s\ncertificate = %s\n%s\n", head, verify, cert.Key, cert.Cert, extra)
	}
	profile("server:default", c.Default, "")
	for name, cert := range c.SNI {
		// Kamailio picks this profile when the client's SNI names it.
		profile("server:any", cert, "server_name = "+name+"\n")
	}
	b.WriteString("[client:default]\nverify_certificate = no\nrequire_certificate = no\n")
	return b.String()
}

// StartProxy starts a Kamailio configured as a stateful, record-routing,
// loose-routing proxy (testdata/kamailio/proxy.cfg) that sends every
// request outside a dialog to next (host:port).
func StartProxy(t testing.TB, next string) *Server {
	t.Helper()
	cfg := filepath.Join(filepath.Dir(ConfigPath()), "proxy.cfg")
	return StartWith(t, Options{Config: cfg, Defines: []string{`NEXTHOP="sip:` + next + `"`}})
}
