package config

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The regular expressions secretsIn used before keyValues replaced them
// (the regexp package is not linked into the binary any more; tests may).
var (
	refSecretLine   = regexp.MustCompile(`(?m)(?:^|[\s{,-])(?:password|token)\s*:[ \t]*(.*?)[ \t]*(?:#.*)?$`)
	refAsteriskLine = regexp.MustCompile(`(?m)(?:^|[\s{,-])asterisk\s*:[ \t]*["']?([^"'\s#]*)`)
)

func refValues(re *regexp.Regexp, data []byte) []string {
	var out []string
	for _, m := range re.FindAllSubmatch(data, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// checkKeyValues compares keyValues with the regular expressions on data.
func checkKeyValues(t *testing.T, data []byte) {
	t.Helper()
	if got, want := keyValues(data, false, "password", "token"), refValues(refSecretLine, data); !slices.Equal(got, want) {
		t.Fatalf("password|token in %q:\n got  %q\n want %q", data, got, want)
	}
	if got, want := keyValues(data, true, "asterisk"), refValues(refAsteriskLine, data); !slices.Equal(got, want) {
		t.Fatalf("asterisk in %q:\n got  %q\n want %q", data, got, want)
	}
}

// TestKeyValuesMatchRegexps: random YAML-ish text built from the pieces
// that matter (keys, separators, quotes, comments, line ends) gives the
// same values as the regular expressions.
func TestKeyValuesMatchRegexps(t *testing.T) {
	pieces := []string{"password", "token", "asterisk", "pass", "word", ":", ": ", " ", "\t", "\n", "\r\n", "\f",
		"{", "}", ",", "-", "- ", "#", " # c", `"`, "'", "s3cret", "u:p@h", "x", "@", "é", "passwordtoken", "\v"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(14) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		checkKeyValues(t, []byte(b.String()))
	}
}

func FuzzKeyValues(f *testing.F) {
	for _, s := range []string{
		"accounts:\n  - name: a\n    password: \"pa ss\" # c\n",
		"{password: a, token: b}", "asterisk: 'user:secret@host'", "password\n: x", "-token:x#y",
		"xpassword: no\n", "asterisk:\"a#b\"\nasterisk: c d",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkKeyValues(t, data) })
}

func TestValidNameAndCountry(t *testing.T) {
	name := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	country := regexp.MustCompile(`^[a-z]{2}$`)
	for _, s := range []string{"", "a", "home-1", "a.b_c", "a b", "ä", "de", "DE", "d", "deu", "d1", "-", "x/y", "a\n"} {
		if got, want := validName(s), name.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, want %v", s, got, want)
		}
		if got, want := validCountry(s), country.MatchString(s); got != want {
			t.Errorf("validCountry(%q) = %v, want %v", s, got, want)
		}
	}
}
