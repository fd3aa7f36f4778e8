package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// fillDefaults sets the fields that default from the AOR. Unparseable AORs
// are left for Validate to report.
func (a *Account) fillDefaults() {
	u, err := parseSIPURI(a.AOR)
	if err != nil {
		return
	}
	if a.Transport == "" {
		switch {
		case u.Secure:
			a.Transport = "tls"
		case u.Transport == "tcp" || u.Transport == "tls" || u.Transport == "udp":
			a.Transport = u.Transport
		default:
			// Resolve turns it into udp for an IP address or an explicit
			// port, and leaves the choice to NAPTR/SRV for a bare name
			// (RFC 3263 section 4.1).
			a.Transport = "auto"
		}
	}
	if a.Username == "" {
		a.Username = u.User
	}
	if a.Label == "" {
		a.Label = u.User
		if a.Label == "" {
			a.Label = u.Host
		}
	}
	if a.Server == "" {
		a.Server = hostPort(u.Host, u.Port)
	}
	if a.Name == "" {
		a.Name = deriveName(u)
	}
}

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// deriveName makes a name from user@host: characters outside
// [A-Za-z0-9._-] become '-', and '@' too.
func deriveName(u sipURI) string {
	s := u.Host
	if u.User != "" {
		s = u.User + "@" + u.Host
	}
	b := []byte(s)
	for i, c := range b {
		if !nameChar(c) {
			b[i] = '-'
		}
	}
	return string(b)
}

func nameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Host is the server's host name or address (IPv6 without brackets): from
// Server, or the AOR's host when Server is empty.
func (a Account) Host() string {
	if a.Server != "" {
		if h, _, err := splitHostPort(a.Server, false); err == nil {
			return h
		}
		return a.Server
	}
	if u, err := parseSIPURI(a.AOR); err == nil {
		return u.Host
	}
	return ""
}

// Port is the server's port: as given in Server (or the AOR when Server is
// empty), else 5061 for TLS and 5060 otherwise.
func (a Account) Port() int {
	port := 0
	if a.Server != "" {
		_, port, _ = splitHostPort(a.Server, false)
	} else if u, err := parseSIPURI(a.AOR); err == nil {
		port = u.Port
	}
	if port != 0 {
		return port
	}
	if strings.EqualFold(a.Transport, "tls") {
		return 5061
	}
	return 5060
}

// MailboxURI is the URI to SUBSCRIBE to: Mailbox, or the AOR.
func (a Account) MailboxURI() string {
	if a.Mailbox != "" {
		return a.Mailbox
	}
	return a.AOR
}

// String is "name (aor)"; it never shows the password.
func (a Account) String() string {
	return fmt.Sprintf("%s (%s)", a.Name, redactURI(a.AOR))
}

// GoString prints the account as Go syntax with the password redacted.
func (a Account) GoString() string {
	type plain Account // no methods: no recursion
	p := plain(a)
	p.Password = redact(p.Password)
	p.AOR, p.Mailbox = redactURI(p.AOR), redactURI(p.Mailbox)
	return strings.Replace(fmt.Sprintf("%#v", p), "config.plain{", "config.Account{", 1)
}

// LogValue logs the account without its password.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", a.Name),
		slog.String("aor", redactURI(a.AOR)),
		slog.String("username", a.Username),
		slog.String("password", redact(a.Password)),
		slog.String("server", a.Server),
		slog.String("transport", a.Transport),
		slog.Bool("register", a.Register),
		slog.Bool("subscribe", a.Subscribe),
		slog.String("mailbox", redactURI(a.MailboxURI())),
	)
}

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}

// String shows the HTTP settings without the token.
func (h HTTPConfig) String() string {
	return fmt.Sprintf("{Listen:%s Token:%s Hosts:%v}", h.Listen, redact(h.Token), h.Hosts)
}

// GoString prints the HTTP settings as Go syntax with the token redacted.
func (h HTTPConfig) GoString() string {
	return fmt.Sprintf("config.HTTPConfig{Listen:%q, Token:%q, Hosts:%#v}", h.Listen, redact(h.Token), h.Hosts)
}

// LogValue logs the HTTP settings without the token.
func (h HTTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("listen", h.Listen), slog.String("token", redact(h.Token)), slog.Any("hosts", h.Hosts))
}

// LogValue logs the main settings and the accounts, without secrets.
func (c *Config) LogValue() slog.Value {
	names := make([]string, len(c.Accounts))
	for i, a := range c.Accounts {
		names[i] = a.Name
	}
	return slog.GroupValue(
		slog.String("log_level", c.LogLevel),
		slog.String("board", c.Board),
		slog.String("http", c.HTTP.Listen),
		slog.String("accounts", strings.Join(names, ",")),
	)
}
