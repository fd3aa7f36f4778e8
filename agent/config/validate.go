package config

import (
	"github.com/mwi-agent/mwi-agent/tone"

	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
)

// FieldError is one configuration problem: the field path, the offending
// value ("" when there is none to show, and always for secrets) and what
// is wrong. Error() reads `accounts[2].server: missing port number in "pbx:"`.
// Line is the line in the YAML file when the problem was found while
// reading it (unknown key, wrong type), else 0.
type FieldError struct {
	Field   string
	Value   string
	Problem string
	Line    int
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(oneLine(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.Problem))
	if e.Value != "" {
		if !endsWithConnector(e.Problem) {
			b.WriteString(":")
		}
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Value))
	}
	if e.Line > 0 {
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(")")
	}
	return b.String()
}

// oneLine escapes control characters (a YAML key may hold a line break)
// so that every problem prints as one line.
func oneLine(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// endsWithConnector reports whether a problem text leads into its value
// ("missing port number in", "want udp or tcp, not", "same as x:").
func endsWithConnector(p string) bool {
	if strings.HasSuffix(p, ":") {
		return true
	}
	for _, w := range []string{" in", " not", " for", " do"} {
		if strings.HasSuffix(p, w) {
			return true
		}
	}
	return false
}

// validName: letters, digits, '.', '_' and '-', at least one. (No regexp:
// the regexp package and the Unicode tables it pulls in cost about 0.26 MB
// of the armv6 binary and compile at start-up.)
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validCountry: two lower-case ASCII letters.
func validCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

// validator collects FieldErrors.
type validator struct{ errs []error }

func (v *validator) add(field, value, problem string) {
	if isSecret(field) {
		value = ""
	}
	v.errs = append(v.errs, &FieldError{Field: field, Value: value, Problem: problem})
}

func (v *validator) oneOf(field, value string, allowed ...string) {
	if value == "" {
		v.add(field, "", "missing (want "+orList(allowed)+")")
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add(field, value, "want "+orList(allowed)+", not")
}

func orList(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	case 2:
		return s[0] + " or " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func (v *validator) listen(field, addr string) {
	if addr == "" {
		return
	}
	if _, _, err := splitHostPort(addr, true); err != nil {
		v.add(field, addr, err.Error()+" in")
		return
	}
	if !strings.Contains(addr, ":") || strings.HasSuffix(addr, "]") {
		v.add(field, addr, "missing port number in")
	}
}

func (v *validator) duration(field string, d time.Duration, min time.Duration) {
	if d < min {
		if min == 0 {
			v.add(field, d.String(), "must not be negative:")
		} else {
			v.add(field, d.String(), "must be at least "+min.String()+":")
		}
	}
}

// expiry checks a SIP expiry: whole seconds, 1 s .. 2^32-1 s.
func (v *validator) expiry(field string, d time.Duration) {
	switch {
	case d < time.Second:
		v.add(field, d.String(), "must be at least 1s:")
	case d%time.Second != 0:
		v.add(field, d.String(), "must be whole seconds:")
	case d/time.Second > math.MaxUint32:
		v.add(field, d.String(), "too long:")
	}
}

// Validate checks the whole configuration and returns every problem at
// once, as an errors.Join of *FieldError (nil when there is none). It does
// not change c. It checks that tls.ca_file exists; it reads no other file.
func (c *Config) Validate() error {
	var v validator
	v.oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	if c.UserAgent == "" {
		v.add("user_agent", "", "must not be empty")
	} else if strings.ContainsAny(c.UserAgent, "\r\n\x00") {
		v.add("user_agent", c.UserAgent, "must be one line:")
	}
	if c.StateDir == "" {
		v.add("state_dir", "", "must not be empty")
	}
	v.listen("listen.udp", c.Listen.UDP)
	v.listen("listen.tcp", c.Listen.TCP)
	v.listen("listen.tls", c.Listen.TLS)
	v.duration("keepalive", c.Keepalive, 0)
	v.duration("liveness", c.Liveness, 0)
	if c.Liveness > 0 && c.Liveness < 5*time.Second {
		v.add("liveness", c.Liveness.String(), "must be 0 (off) or at least 5s:")
	}
	v.duration("restart_check", c.RestartCheck, 0)
	if c.RestartCheck > 0 && c.RestartCheck < 10*time.Second {
		v.add("restart_check", c.RestartCheck.String(), "must be 0 (off) or at least 10s:")
	}
	for _, f := range []struct{ key, name string }{{"tls.ca_file", c.TLS.CAFile}, {"tls.cert_file", c.TLS.CertFile}, {"tls.key_file", c.TLS.KeyFile}} {
		if f.name == "" {
			continue
		}
		if _, err := os.Stat(f.name); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			v.add(f.key, f.name, "cannot read: "+err.Error()+", in")
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		if c.TLS.CertFile == "" {
			v.add("tls.cert_file", "", "missing: tls.key_file needs it")
		} else {
			v.add("tls.key_file", "", "missing: tls.cert_file needs it")
		}
	}
	v.duration("dns.failback", c.DNS.Failback, time.Second)
	for i, s := range c.DNS.Servers {
		if _, _, err := splitHostPort(s, false); err != nil {
			v.add(fmt.Sprintf("dns.servers[%d]", i), s, err.Error()+" in")
		} else if h, _, _ := splitHostPort(s, false); net.ParseIP(h) == nil {
			v.add(fmt.Sprintf("dns.servers[%d]", i), s, "not an IP address:")
		}
	}

	board, boardOK := c.validateBoard(&v)

	v.listen("http.listen", c.HTTP.Listen)
	for i, h := range c.HTTP.Hosts {
		f := fmt.Sprintf("http.hosts[%d]", i)
		if h == "" {
			v.add(f, "", "must not be empty")
		} else if !validHostname(strings.TrimSuffix(h, ".")) || net.ParseIP(h) != nil {
			v.add(f, h, "want a host name (IP addresses and localhost are always served), not")
		}
	}
	if c.HTTP.Listen != "" && c.HTTP.Token == "" {
		if h, _, err := splitHostPort(c.HTTP.Listen, true); err == nil && !isLoopbackHost(h) {
			v.add("http.token", "", fmt.Sprintf("required when http.listen %q is not a loopback address", c.HTTP.Listen))
		}
	}

	c.validateMQTT(&v)

	if c.Tones.Country != "" && !validCountry(c.Tones.Country) {
		v.add("tones.country", c.Tones.Country, "want a two-letter lower-case country code, not")
	} else if c.Tones.Country != "" {
		if _, err := tone.LookupCountry(c.Tones.Country); err != nil {
			v.add("tones.country", c.Tones.Country, "no tone table for this country (see mwi-agent tone --list):")
		}
	}
	toneNames := make([]string, 0, len(c.Tones.Overrides))
	for name := range c.Tones.Overrides {
		toneNames = append(toneNames, name)
	}
	sort.Strings(toneNames)
	for _, name := range toneNames {
		plan := c.Tones.Overrides[name]
		f := "tones.overrides." + name
		v.oneOf(f+" (tone name)", name, "dial", "stutter", "busy", "ring", "congestion")
		if strings.TrimSpace(plan) == "" {
			v.add(f, "", "empty tone plan")
		} else if _, err := tone.ParsePlan(plan); err != nil {
			problem := err.Error()
			var pe *tone.ParseError
			if errors.As(err, &pe) {
				problem = fmt.Sprintf("element %d (offset %d): %s", pe.Element, pe.Offset, pe.Problem)
			}
			v.add(f, plan, problem+"; in")
		}
	}
	// Above -3 dBm0 per tone a dual tone clips in 16-bit PCM.
	if c.Tones.LevelDBm0 > -3 || c.Tones.LevelDBm0 < -40 || math.IsNaN(c.Tones.LevelDBm0) {
		v.add("tones.level_dbm0", strconv.FormatFloat(c.Tones.LevelDBm0, 'g', -1, 64), "want -40 to -3, not")
	}

	c.resolveFXS(&v, board, boardOK, tone.Country{})

	needUDP := false
	names := map[string]int{}
	leds := map[int]int{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		p := fmt.Sprintf("accounts[%d]", i)
		validateAccount(&v, p, a)
		if a.Transport == "udp" || a.Transport == "auto" {
			needUDP = true
		}
		if a.Name != "" {
			if j, dup := names[a.Name]; dup {
				v.add(p+".name", a.Name, fmt.Sprintf("same as accounts[%d].name:", j))
			} else {
				names[a.Name] = i
			}
		}
		if a.LED < 0 {
			v.add(p+".led", strconv.Itoa(a.LED), "must not be negative:")
		} else if a.LED > 0 {
			if boardOK && a.LED > len(board.LEDs) {
				v.add(p+".led", strconv.Itoa(a.LED), fmt.Sprintf("board %q has %d LEDs, not", board.Name, len(board.LEDs)))
			} else if j, dup := leds[a.LED]; dup {
				v.add(p+".led", strconv.Itoa(a.LED), fmt.Sprintf("already used by accounts[%d]:", j))
			} else {
				leds[a.LED] = i
			}
		}
	}
	if needUDP && c.Listen.UDP == "" {
		v.add("listen.udp", "", "must be set when an account uses udp or auto (\"0.0.0.0:0\" picks a free port)")
	}
	return errors.Join(v.errs...)
}

// validateAccount checks one account. Fields that default from the AOR
// (name, username, server, transport) are reported missing only when the
// AOR is usable: a broken AOR is one error, not one per derived field.
func validateAccount(v *validator, p string, a *Account) {
	var aor sipURI
	aorOK := false
	var aorErr func()
	if a.AOR == "" {
		aorErr = func() { v.add(p+".aor", "", "missing (e.g. sip:1001@pbx.example.com)") }
	} else if u, err := parseSIPURI(a.AOR); err != nil {
		aorErr = func() { v.add(p+".aor", redactURI(a.AOR), err.Error()+" in") }
	} else if u.User == "" {
		aorErr = func() { v.add(p+".aor", a.AOR, "missing user part in") }
	} else {
		aor, aorOK = u, true
	}
	if a.Name == "" {
		if aorOK {
			v.add(p+".name", "", "must not be empty")
		}
	} else if !validName(a.Name) {
		v.add(p+".name", a.Name, "only letters, digits, '.', '_' and '-' allowed in")
	}
	if aorErr != nil {
		aorErr()
	}
	if a.Username == "" && aorOK {
		v.add(p+".username", "", "must not be empty")
	}
	if a.Password != "" && strings.ContainsAny(a.Password, "\r\n") {
		v.add(p+".password", "", "must be one line")
	}
	if a.Server == "" {
		if aorOK {
			v.add(p+".server", "", "must not be empty")
		}
	} else if _, _, err := splitHostPort(a.Server, false); err != nil {
		v.add(p+".server", a.Server, err.Error()+" in")
	}
	if a.Transport != "" || aorOK {
		v.oneOf(p+".transport", a.Transport, "udp", "tcp", "tls", "auto")
	}
	if aorOK && aor.Secure && a.Transport != "tls" && a.Transport != "" && a.Transport != "auto" {
		v.add(p+".transport", a.Transport, "a sips: AOR needs tls, not")
	}
	if a.OutboundProxy != "" {
		proxy := a.OutboundProxy
		if u, err := parseSIPURI(proxy); err == nil {
			proxy = hostPort(u.Host, u.Port)
		}
		if _, _, err := splitHostPort(proxy, false); err != nil {
			v.add(p+".outbound_proxy", a.OutboundProxy, err.Error()+" in")
		}
	}
	if a.Register {
		v.expiry(p+".register_expiry", a.RegisterExpiry)
	}
	if a.Subscribe {
		v.expiry(p+".subscribe_expiry", a.SubscribeExpiry)
	}
	if a.Mailbox != "" {
		if _, err := parseSIPURI(a.Mailbox); err != nil {
			v.add(p+".mailbox", redactURI(a.Mailbox), err.Error()+" in")
		}
	}
	v.oneOf(p+".unsolicited", a.Unsolicited, "accept", "always", "reject")
	v.duration(p+".unsolicited_horizon", a.UnsolicitedHorizon, 0)
	for j, src := range a.UnsolicitedFrom {
		f := fmt.Sprintf("%s.unsolicited_from[%d]", p, j)
		if strings.Contains(src, "/") {
			if _, _, err := net.ParseCIDR(src); err != nil {
				v.add(f, src, "not a CIDR block:")
			}
		} else if net.ParseIP(src) == nil {
			v.add(f, src, "not an IP address or CIDR block:")
		}
	}
}

// redactURI hides a password in a URI's user part ("sip:u:pw@h").
func redactURI(s string) string {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
		return scheme + ":" + user + ":***" + rest[at:]
	}
	return s
}

// ResolveBoard returns the selected board with board_overrides applied and
// checks the result with boards.Board.Validate.
func (c *Config) ResolveBoard() (boards.Board, error) {
	b, err := boards.Lookup(c.Board)
	if err != nil {
		return b, err
	}
	o := c.BoardOverrides
	if o.Lamp != nil {
		b.Lamp = *o.Lamp
	}
	if o.LEDs != nil {
		b.LEDs = append([]boards.LineRef(nil), o.LEDs...)
	}
	if o.Hook != nil {
		b.Hook = *o.Hook
	}
	if o.Display != nil {
		d := *o.Display
		b.Display = &d
	}
	if o.FXS != nil {
		f := *o.FXS
		b.FXS = &f
	}
	if o.Country != "" {
		b.Country = o.Country
	}
	return b, b.Validate()
}

func (c *Config) validateBoard(v *validator) (boards.Board, bool) {
	if _, err := boards.Lookup(c.Board); err != nil {
		names := []string{}
		for _, b := range boards.All() {
			names = append(names, b.Name)
		}
		v.add("board", c.Board, "unknown board (known: "+strings.Join(names, ", ")+"):")
		return boards.Board{}, false
	}
	b, err := c.ResolveBoard()
	if err != nil {
		for _, e := range unjoin(err) {
			v.add("board_overrides", "", strings.TrimPrefix(e.Error(), "boards: "))
		}
		return b, false
	}
	return b, true
}
