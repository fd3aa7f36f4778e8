package agent

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/sipua"
)

// New builds an agent from a validated configuration. It opens nothing:
// Run starts the SIP user agent.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	specs, us, err := fromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newAgent(specs, us, opts), nil
}

// Reload applies a new configuration: accounts whose settings did not
// change keep their registrations and subscriptions.
func (a *Agent) Reload(cfg *config.Config) error {
	specs, us, err := fromConfig(cfg)
	if err != nil {
		return err
	}
	return a.reload(specs, us)
}

func fromConfig(cfg *config.Config) ([]spec, uaSpec, error) {
	if cfg == nil {
		return nil, uaSpec{}, fmt.Errorf("agent: no configuration")
	}
	us := uaSpec{opts: sipua.Options{
		UserAgent:    cfg.UserAgent,
		ListenUDP:    cfg.Listen.UDP,
		Keepalive:    cfg.Keepalive,
		Liveness:     cfg.Liveness,
		RestartCheck: cfg.RestartCheck,
	}}
	needUDP, needTLS := false, false
	var specs []spec
	for _, a := range cfg.Accounts {
		tp := strings.ToLower(a.Transport)
		if tp == "" {
			tp = "udp"
		}
		needUDP = needUDP || tp == "udp"
		needTLS = needTLS || tp == "tls"
		server := net.JoinHostPort(a.Host(), strconv.Itoa(a.Port()))
		unsol := !strings.EqualFold(a.Unsolicited, "reject")
		specs = append(specs, spec{
			label: a.Label, aor: a.AOR,
			sip: sipua.AccountConfig{
				Name: a.Name, AOR: a.AOR, Username: a.Username, Password: a.Password,
				Server: server, Transport: tp, Proxy: proxyAddr(a.OutboundProxy, tp),
				Register: a.Register, RegisterExpiry: a.RegisterExpiry,
				Subscribe: a.Subscribe, Mailbox: a.MailboxURI(), SubscribeExpiry: a.SubscribeExpiry,
				Unsolicited: unsol, UnsolicitedAlways: strings.EqualFold(a.Unsolicited, "always"), UnsolicitedFrom: append([]string(nil), a.UnsolicitedFrom...),
				UnsolicitedHorizon: a.UnsolicitedHorizon,
			},
		})
	}
	if needUDP && us.opts.ListenUDP == "" {
		us.opts.ListenUDP = "0.0.0.0:0"
	}
	if needTLS || cfg.TLS.CAFile != "" {
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, uaSpec{}, err
		}
		us.opts.TLSConfig = tc
		us.tlsKey = cfg.TLS
	}
	return specs, us, nil
}

// proxyAddr turns outbound_proxy (host[:port] or a SIP URI such as
// sip:proxy.example.com:5080;lr) into host:port; URI parameters are not
// part of the address.
func proxyAddr(p, tp string) string {
	if p == "" {
		return ""
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "sip:"), "sips:")
	if i := strings.IndexAny(p, ";?"); i >= 0 {
		p = p[:i]
	}
	if _, _, err := net.SplitHostPort(p); err == nil {
		return p
	}
	port := "5060"
	if tp == "tls" {
		port = "5061"
	}
	return net.JoinHostPort(strings.Trim(p, "[]"), port)
}

// tlsConfig: the system roots plus ca_file; verification on unless
// insecure_skip_verify; a client certificate (mutual TLS) when cert_file
// and key_file are set.
func tlsConfig(c config.TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("agent: tls.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: tls.ca_file: no PEM certificate in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("agent: tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
