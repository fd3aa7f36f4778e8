package config

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// sipURI is the part of a SIP URI the configuration needs.
type sipURI struct {
	Secure    bool   // sips:
	User      string // may be empty
	Host      string // without brackets
	Port      int    // 0 if absent
	Transport string // transport= parameter, lower case
}

// parseSIPURI parses sip:[user@]host[:port][;params][?headers]. A password
// in the user part is refused (and never echoed).
func parseSIPURI(s string) (sipURI, error) {
	var u sipURI
	rest, ok := cutPrefixFold(s, "sips:")
	if ok {
		u.Secure = true
	} else if rest, ok = cutPrefixFold(s, "sip:"); !ok {
		return u, errors.New("not a sip: or sips: URI")
	}
	if i := strings.IndexAny(rest, "?"); i >= 0 {
		rest = rest[:i]
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		u.User, hostport = hostport[:at], hostport[at+1:]
		if strings.ContainsRune(u.User, ':') {
			return u, errors.New("must not hold a password (use password or password_file)")
		}
		if u.User == "" {
			return u, errors.New("empty user part")
		}
		if strings.ContainsAny(u.User, " \t\r\n<>\"") {
			return u, errors.New("invalid user part")
		}
	}
	host, port, err := splitHostPort(hostport, false)
	if err != nil {
		return u, err
	}
	u.Host, u.Port = host, port
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "transport") {
			u.Transport = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return u, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// splitHostPort splits host[:port] (IPv6 in brackets). The port is 0 when
// absent; with allowZero false a given port must be 1-65535.
func splitHostPort(s string, allowZero bool) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty host")
	}
	if strings.ContainsAny(s, " \t\r\n/") {
		return "", 0, errors.New("invalid host")
	}
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, errors.New("missing ']' in address")
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, errors.New("invalid address")
			}
			portStr = rest[1:]
			if portStr == "" {
				return "", 0, errors.New("missing port number")
			}
		}
		if net.ParseIP(host) == nil || !strings.Contains(host, ":") {
			return "", 0, errors.New("invalid IPv6 address")
		}
	case strings.Count(s, ":") > 1:
		return "", 0, errors.New("IPv6 address needs brackets")
	case strings.Contains(s, ":"):
		host, portStr, _ = strings.Cut(s, ":")
		if portStr == "" {
			return "", 0, errors.New("missing port number")
		}
	}
	if host == "" {
		return "", 0, errors.New("empty host")
	}
	if !strings.HasPrefix(s, "[") && !validHostname(host) {
		return "", 0, errors.New("invalid host name")
	}
	port := 0
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 0 || p > 65535 || (p == 0 && !allowZero) {
			return "", 0, errors.New("invalid port number")
		}
		port = p
	}
	return host, port, nil
}

// validHostname accepts DNS names and IPv4 addresses (letters, digits,
// '-', '.', '_').
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether a listen host is a loopback address or
// "localhost".
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
