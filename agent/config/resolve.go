package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/tone"
)

// Transport is an account's SIP transport.
type Transport int

// The transports.
const (
	UDP Transport = iota
	TCP
	TLS
	// Auto: the server is a host name without a port, and DNS chooses the
	// transport (NAPTR, else the first of _sip._udp, _sip._tcp,
	// _sips._tcp with SRV records, else UDP: RFC 3263 section 4.1).
	// Resolve keeps it only for such a name; the SIP user agent then
	// uses the located target's transport.
	Auto
)

func (t Transport) String() string {
	switch t {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	case Auto:
		return "auto"
	}
	return "udp"
}

// ParseTransport parses udp, tcp, tls or auto (any case).
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(s) {
	case "udp":
		return UDP, nil
	case "tcp":
		return TCP, nil
	case "tls":
		return TLS, nil
	case "auto":
		return Auto, nil
	}
	return UDP, fmt.Errorf("want udp, tcp, tls or auto, not %q", s)
}

// DefaultPort is the transport's default SIP port (5061 for TLS).
func (t Transport) DefaultPort() int {
	if t == TLS {
		return 5061
	}
	return 5060
}

// URI is a parsed sip: or sips: URI (without a password: Parse refuses
// one).
type URI struct {
	Secure    bool   // sips:
	User      string // may be empty
	Host      string // without brackets
	Port      int    // 0 when absent
	Transport string // the transport= parameter, lower case
	Text      string // as written in the file
}

func (u URI) String() string { return u.Text }

// HostPort is a host (name or address, IPv6 without brackets) and a port.
type HostPort struct {
	Host string
	Port int
	// PortSet: the file named the port. Otherwise Port is the transport's
	// default, and a host name may be located with NAPTR/SRV (RFC 3263),
	// which can choose another port.
	PortSet bool
}

// Target is where the SIP user agent sends: host:port when the port was
// set or the host is an address, else the host alone (bracketed if IPv6)
// for the user agent to locate.
func (h HostPort) Target() string {
	if h.Host == "" || h.PortSet || net.ParseIP(h.Host) != nil {
		return h.String()
	}
	return h.Host
}

// String is host:port, IPv6 in brackets; "" for the zero value.
func (h HostPort) String() string {
	if h.Host == "" {
		return ""
	}
	return net.JoinHostPort(h.Host, strconv.Itoa(h.Port))
}

// ResolvedAccount is one account with every derived value typed.
type ResolvedAccount struct {
	Account                         // the validated entry (name, label, credentials, expiries, lamp, led)
	AOR             URI             // accounts[].aor
	Mailbox         URI             // what to SUBSCRIBE to: accounts[].mailbox, or the AOR
	Transport       Transport       // accounts[].transport; Auto only for a server (or outbound proxy) named without a port
	Server          HostPort        // where requests go; the port defaults by transport
	Proxy           HostPort        // accounts[].outbound_proxy; zero = none
	UnsolicitedMode UnsolicitedMode // accounts[].unsolicited
}

// UnsolicitedMode is what an account does with unsolicited NOTIFYs.
type UnsolicitedMode int

// The modes (accounts[].unsolicited).
const (
	UnsolicitedAccept UnsolicitedMode = iota // accept while not subscribed
	UnsolicitedAlways                        // accept even while subscribed
	UnsolicitedReject
)

func (m UnsolicitedMode) String() string {
	return [...]string{"accept", "always", "reject"}[m]
}

// Resolved is a validated configuration turned into typed values once:
// consumers (agent, rig, indicate, sipua through agent) take these instead
// of parsing the strings again.
type Resolved struct {
	*Config                    // the validated file, for the values used as they are
	LogLevel slog.Level        // log_level
	Board    boards.Board      // board with board_overrides, validated
	Accounts []ResolvedAccount // accounts, in file order
	Policy   indicate.Policy   // indicator.* and accounts[].lamp/.led on Board
	Country  tone.Country      // tones.country (else the board's, else us) with tones.overrides
	// FXSPort is the board's FXS port configuration: fxs.signalling the
	// board can do, the FSK format, standard and alert (fxs.fsk_format,
	// fxs.fsk_standard, fxs.alert, else Country's on-hook data defaults),
	// the fxs: timings (0 flash bounds set to the defaults) and Country.
	// nil when the board has no FXS port.
	FXSPort *fxs.Config
}

// Resolve validates c and returns its typed values. Problems are the same
// field-path errors as Validate's (an errors.Join of *FieldError).
func Resolve(c *Config) (*Resolved, error) {
	if c == nil {
		return nil, errors.New("config: no configuration")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Resolved{Config: c}
	var v validator
	switch c.LogLevel {
	case "debug":
		r.LogLevel = slog.LevelDebug
	case "warn":
		r.LogLevel = slog.LevelWarn
	case "error":
		r.LogLevel = slog.LevelError
	default:
		r.LogLevel = slog.LevelInfo
	}
	b, err := c.ResolveBoard()
	boardOK := err == nil
	if !boardOK {
		v.add("board_overrides", "", err.Error())
	}
	r.Board = b
	code := c.Tones.Country
	if code == "" {
		code = b.Country
	}
	if code == "" {
		code = "us"
	}
	if r.Country, err = tone.LookupCountry(code); err != nil {
		v.add("tones.country", code, err.Error()+":")
	} else if len(c.Tones.Overrides) > 0 {
		if r.Country, err = r.Country.WithOverrides(c.Tones.Overrides); err != nil {
			v.add("tones.overrides", "", err.Error())
		}
	}
	if b.FXS != nil {
		port := c.resolveFXS(&v, b, boardOK, r.Country)
		r.FXSPort = &port
	}
	r.Policy = indicate.Policy{
		UnknownPattern: c.Indicator.UnknownPattern,
		UrgentPattern:  c.Indicator.UrgentPattern,
		LEDs:           len(b.LEDs),
		Title:          "mwi-agent",
	}
	if b.FXS != nil {
		r.Policy.FXSPorts = 1
	}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		ra, ok := resolveAccount(&v, p, a)
		if ok {
			r.Accounts = append(r.Accounts, ra)
		}
		r.Policy.Accounts = append(r.Policy.Accounts, indicate.AccountPolicy{Name: a.Name, Lamp: a.Lamp, LED: a.LED})
	}
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return r, nil
}

// resolveAccount types one validated account; the checks repeat Validate's
// only so that an unvalidated value can never pass silently.
func resolveAccount(v *validator, p string, a Account) (ResolvedAccount, bool) {
	ra := ResolvedAccount{Account: a}
	switch strings.ToLower(a.Unsolicited) {
	case "accept", "":
		ra.UnsolicitedMode = UnsolicitedAccept
	case "always":
		ra.UnsolicitedMode = UnsolicitedAlways
	case "reject":
		ra.UnsolicitedMode = UnsolicitedReject
	default:
		v.add(p+".unsolicited", a.Unsolicited, "want accept, always or reject, not")
	}
	n := len(v.errs)
	u, err := parseSIPURI(a.AOR)
	if err != nil {
		v.add(p+".aor", redactURI(a.AOR), err.Error()+" in")
		return ra, false
	}
	ra.AOR = uriOf(u, a.AOR)
	ra.Mailbox = ra.AOR
	if a.Mailbox != "" {
		if m, err := parseSIPURI(a.Mailbox); err != nil {
			v.add(p+".mailbox", redactURI(a.Mailbox), err.Error()+" in")
		} else {
			ra.Mailbox = uriOf(m, a.Mailbox)
		}
	}
	if ra.Transport, err = ParseTransport(a.Transport); err != nil {
		v.add(p+".transport", a.Transport, "want udp, tcp, tls or auto, not")
	}
	host, port, err := splitHostPort(a.Server, false)
	if err != nil {
		v.add(p+".server", a.Server, err.Error()+" in")
	}
	ra.Server = HostPort{Host: host, Port: port, PortSet: port != 0}
	proxyTransport := ""
	if a.OutboundProxy != "" {
		proxy := a.OutboundProxy
		if pu, err := parseSIPURI(proxy); err == nil {
			proxy = hostPort(pu.Host, pu.Port)
			proxyTransport = pu.Transport
		}
		h, port, err := splitHostPort(proxy, false)
		if err != nil {
			v.add(p+".outbound_proxy", a.OutboundProxy, err.Error()+" in")
		}
		ra.Proxy = HostPort{Host: h, Port: port, PortSet: port != 0}
	}
	if ra.Transport == Auto {
		ra.Transport = autoTransport(ra, proxyTransport)
	}
	for _, hp := range []*HostPort{&ra.Server, &ra.Proxy} {
		if hp.Host != "" && !hp.PortSet {
			hp.Port = ra.Transport.DefaultPort()
		}
	}
	return ra, len(v.errs) == n
}

// autoTransport is what transport: auto means for an account (RFC 3263
// section 4.1): TLS for a sips: AOR; the outbound proxy URI's
// ;transport= if it has one; UDP when the host requests go to (the
// outbound proxy, else the server) is an IP address or has a port; else
// Auto, for the SIP user agent to take from NAPTR/SRV.
func autoTransport(ra ResolvedAccount, proxyTransport string) Transport {
	if ra.AOR.Secure {
		return TLS
	}
	if t, err := ParseTransport(proxyTransport); err == nil && proxyTransport != "" && t != Auto {
		return t
	}
	next := ra.Server
	if ra.Proxy.Host != "" {
		next = ra.Proxy
	}
	if next.PortSet || net.ParseIP(next.Host) != nil {
		return UDP
	}
	return Auto
}

func uriOf(u sipURI, text string) URI {
	return URI{Secure: u.Secure, User: u.User, Host: u.Host, Port: u.Port, Transport: u.Transport, Text: text}
}

// LoadResolved is Load followed by Resolve.
func LoadResolved(path string) (*Resolved, error) {
	c, err := Load(path)
	if err != nil {
		return nil, err
	}
	return Resolve(c)
}
