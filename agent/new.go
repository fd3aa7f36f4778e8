package agent

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/sipua"
)

// New builds an agent from a resolved configuration. It opens nothing:
// Run starts the SIP user agent.
func New(cfg *config.Resolved, opts Options) (*Agent, error) {
	specs, us, err := fromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newAgent(specs, us, opts), nil
}

// Reload applies a new configuration: accounts whose settings did not
// change keep their registrations and subscriptions.
func (a *Agent) Reload(cfg *config.Resolved) error {
	specs, us, err := fromConfig(cfg)
	if err != nil {
		return err
	}
	return a.reload(specs, us)
}

// fromConfig turns the resolved accounts into the SIP workers' settings;
// nothing is parsed here (config.Resolve did it once).
func fromConfig(cfg *config.Resolved) ([]spec, uaSpec, error) {
	if cfg == nil {
		return nil, uaSpec{}, fmt.Errorf("agent: no configuration")
	}
	us := uaSpec{opts: sipua.Options{
		UserAgent:    cfg.UserAgent,
		ListenUDP:    cfg.Listen.UDP,
		Keepalive:    cfg.Keepalive,
		Liveness:     cfg.Liveness,
		RestartCheck: cfg.RestartCheck,
		DNSServers:   append([]string(nil), cfg.DNS.Servers...),
		Failback:     cfg.DNS.Failback,
	}}
	needUDP, needTLS := false, false
	specs := make([]spec, 0, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		// transport auto: DNS may choose any of them.
		needUDP = needUDP || a.Transport == config.UDP || a.Transport == config.Auto
		needTLS = needTLS || a.Transport == config.TLS || a.Transport == config.Auto
		specs = append(specs, spec{
			label: a.Label, aor: a.AOR.String(),
			sip: sipua.AccountConfig{
				Name: a.Name, AOR: sipURI(a.AOR), Username: a.Username, Password: a.Password,
				Server: a.Server.Target(), Transport: a.Transport.String(), Proxy: a.Proxy.Target(),
				Register: a.Register, RegisterExpiry: a.RegisterExpiry,
				Subscribe: a.Subscribe, Mailbox: sipURI(a.Mailbox), SubscribeExpiry: a.SubscribeExpiry,
				Unsolicited: a.UnsolicitedMode != config.UnsolicitedReject, UnsolicitedAlways: a.UnsolicitedMode == config.UnsolicitedAlways,
				UnsolicitedFrom: append([]string(nil), a.UnsolicitedFrom...), UnsolicitedHorizon: a.UnsolicitedHorizon,
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

// sipURI hands a URI to sipua as config typed it (IPv6 hosts bracketed,
// as in the URI): nothing is parsed again.
func sipURI(u config.URI) sipua.URI {
	h := u.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return sipua.URI{Secure: u.Secure, User: u.User, Host: h, Port: u.Port, Transport: u.Transport}
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
