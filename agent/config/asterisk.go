package config

import (
	"errors"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// asteriskShorthand is the chan_sip "mwi =>" shorthand
// user[:secret[:authuser]]@host[:port]/mailbox.
type asteriskShorthand struct {
	User, Secret, AuthUser string
	Host                   string // as written, IPv6 with brackets
	Port                   int    // 0 if absent
	Mailbox                string
}

func parseAsterisk(s string) (asteriskShorthand, error) {
	var a asteriskShorthand
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return a, errors.New("missing '@' (want user[:secret[:authuser]]@host[:port]/mailbox)")
	}
	userinfo, hostpart := s[:at], s[at+1:]
	parts := strings.SplitN(userinfo, ":", 3)
	a.User = parts[0]
	if len(parts) > 1 {
		a.Secret = parts[1]
	}
	if len(parts) > 2 {
		a.AuthUser = parts[2]
	}
	if a.User == "" {
		return a, errors.New("missing user (want user[:secret[:authuser]]@host[:port]/mailbox)")
	}
	hostport, mailbox, ok := strings.Cut(hostpart, "/")
	if !ok || mailbox == "" {
		return a, errors.New("missing /mailbox (want user[:secret[:authuser]]@host[:port]/mailbox)")
	}
	if strings.ContainsAny(mailbox, "/@: \t") {
		return a, errors.New("invalid mailbox")
	}
	a.Mailbox = mailbox
	host, port, err := splitHostPort(hostport, false)
	if err != nil {
		return a, err
	}
	a.Host, a.Port = host, port
	if strings.Contains(host, ":") {
		a.Host = "[" + host + "]"
	}
	return a, nil
}

// redactShorthand hides the secret of a shorthand that did not parse.
func redactShorthand(s string) string {
	user, rest, ok := strings.Cut(s, "@")
	if !ok {
		if strings.Contains(s, ":") {
			return "***"
		}
		return s
	}
	if name, _, hasSecret := strings.Cut(user, ":"); hasSecret {
		return name + ":***@" + rest
	}
	return s
}

// asteriskConflicts are the keys the shorthand sets; giving them too is an
// error.
var asteriskConflicts = []string{"aor", "username", "password", "password_file", "server", "mailbox"}

// expandAsteriskEntry fills account a from an "asterisk:" entry. Like
// chan_sip's mwi => line it subscribes without registering, unless the
// entry says register: true.
func expandAsteriskEntry(path string, n ast.Node, keys map[string]bool, a *Account, d *decoder) []error {
	n = d.resolve(n)
	text, ok := scalarText(n)
	if !ok {
		return []error{&FieldError{Field: path + ".asterisk", Problem: "want a string such as \"1002:secret@pbx.example.com/1002\"", Line: lineOf(n)}}
	}
	sh, err := parseAsterisk(text)
	if err != nil {
		return []error{&FieldError{Field: path + ".asterisk", Value: redactShorthand(text), Problem: err.Error() + " in", Line: lineOf(n)}}
	}
	var errs []error
	for _, k := range asteriskConflicts {
		if keys[k] {
			errs = append(errs, &FieldError{Field: path + "." + k, Problem: "cannot be combined with asterisk"})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	a.AOR = "sip:" + sh.User + "@" + sh.Host
	a.Username = sh.User
	if sh.AuthUser != "" {
		a.Username = sh.AuthUser
	}
	a.Password = sh.Secret
	a.Server = sh.Host
	if sh.Port != 0 {
		a.Server += ":" + strconv.Itoa(sh.Port)
	}
	a.Mailbox = "sip:" + sh.Mailbox + "@" + sh.Host
	if !keys["register"] {
		a.Register = false
	}
	return nil
}
