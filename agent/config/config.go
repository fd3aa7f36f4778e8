package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/mwi-agent/mwi-agent/boards"
)

// Config is the whole configuration file.
type Config struct {
	LogLevel       string          `yaml:"log_level"`  // debug|info|warn|error
	UserAgent      string          `yaml:"user_agent"` // default "mwi-agent/<version>"
	StateDir       string          `yaml:"state_dir"`  // default $XDG_STATE_HOME/mwi-agent or ./state
	Listen         ListenConfig    `yaml:"listen"`
	Keepalive      time.Duration   `yaml:"keepalive"`     // CRLF keepalive interval, 0 = off
	Liveness       time.Duration   `yaml:"liveness"`      // server liveness probe interval (UDP OPTIONS, TCP/TLS CRLF ping), 0 = off
	RestartCheck   time.Duration   `yaml:"restart_check"` // prove each subscription still exists this often (in-dialog refresh), 0 = off; stretched with accounts per server
	TLS            TLSConfig       `yaml:"tls"`
	DNS            DNSConfig       `yaml:"dns"`
	Board          string          `yaml:"board"` // boards.Lookup name
	BoardOverrides BoardOverrides  `yaml:"board_overrides"`
	HTTP           HTTPConfig      `yaml:"http"`
	MQTT           MQTTConfig      `yaml:"mqtt"`
	Indicator      IndicatorConfig `yaml:"indicator"`
	Tones          ToneConfig      `yaml:"tones"`
	FXS            FXSConfig       `yaml:"fxs"`
	Accounts       []Account       `yaml:"accounts"`
}

// ListenConfig holds the local SIP listen addresses, host:port; "" = none.
// UDP defaults to "0.0.0.0:0" (an ephemeral port) when an account uses UDP
// and the file does not set listen.udp.
type ListenConfig struct {
	UDP string `yaml:"udp"`
	TCP string `yaml:"tcp"`
	TLS string `yaml:"tls"`
}

// TLSConfig configures SIP over TLS. Certificate verification is always on
// unless InsecureSkipVerify is set.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"` // extra CA bundle (PEM)
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	ServerName         string `yaml:"server_name"`
	// CertFile and KeyFile are a client certificate for mutual TLS (PEM);
	// both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// DNSConfig selects the DNS servers used to locate SIP servers (RFC 3263:
// NAPTR, SRV, A/AAAA). Empty Servers = the system's resolv.conf.
type DNSConfig struct {
	Servers []string `yaml:"servers"` // host[:port], port 53 by default
	// Failback: after failing over to a less preferred target, go back to
	// the most preferred one at the first registration refresh at least
	// this long after the move (docs/sip.md "Failback policy").
	Failback time.Duration `yaml:"failback"`
}

// BoardOverrides replaces parts of the selected board's definition; nil or
// empty fields keep the board's own.
type BoardOverrides struct {
	Lamp    *boards.LineRef    `yaml:"lamp"`
	LEDs    []boards.LineRef   `yaml:"leds"`
	Hook    *boards.LineRef    `yaml:"hook"`
	Display *boards.DisplayDef `yaml:"display"`
	FXS     *boards.FXSDef     `yaml:"fxs"`
	Country string             `yaml:"country"`
}

// HTTPConfig is the local status page and API. A non-loopback Listen
// address requires a Token.
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	Token  string `yaml:"token" json:"-"`
	// Hosts are the host names the page answers to besides loopback names
	// (localhost) and IP addresses; a request for any other name is
	// refused (a DNS-rebinding page cannot read the state).
	Hosts   []string `yaml:"hosts"`
	Metrics bool     `yaml:"metrics"` // serve /metrics (Prometheus text format)
}

// IndicatorConfig selects the lamp patterns.
type IndicatorConfig struct {
	UnknownPattern bool `yaml:"unknown_pattern"` // distinct slow pattern when the state is unknown
	UrgentPattern  bool `yaml:"urgent_pattern"`
}

// ToneConfig selects the call-progress tones of the FXS port.
type ToneConfig struct {
	Country   string            `yaml:"country"`   // default: the board's country
	Overrides map[string]string `yaml:"overrides"` // tone name -> Asterisk indications plan
	LevelDBm0 float64           `yaml:"level_dbm0"`
}

// FXSConfig configures analog-line message-waiting signalling.
type FXSConfig struct {
	Signalling  []string      `yaml:"signalling"`   // subset of polarity, fsk, stutter, hv
	FSKFormat   string        `yaml:"fsk_format"`   // sdmf|mdmf|etsi; "" = the tone country's
	FSKStandard string        `yaml:"fsk_standard"` // bell202|v23; "" = the tone country's
	Alert       string        `yaml:"alert"`        // none|line-reversal|dt-as|ring-pulse; "" = the tone country's
	Quiet       time.Duration `yaml:"quiet"`        // on-hook and quiet this long before signalling
	Refresh     time.Duration `yaml:"refresh"`      // VMWI refresh interval, 0 = off
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Hook flash: an on-hook shorter than FlashMin is ignored, one up to
	// FlashMax is a flash, a longer one hangs up. 0 = 100 ms and 900 ms.
	FlashMin time.Duration `yaml:"flash_min"`
	FlashMax time.Duration `yaml:"flash_max"`
}

// Account is one SIP account. Its String, GoString and LogValue never
// reveal the password; it is also left out of JSON.
type Account struct {
	Name            string        `yaml:"name"`  // unique key [A-Za-z0-9._-]+; default from the AOR
	Label           string        `yaml:"label"` // for displays; default the AOR user
	AOR             string        `yaml:"aor"`   // sip:1001@pbx.example.com
	Username        string        `yaml:"username"`
	Password        string        `yaml:"password" json:"-"`
	PasswordFile    string        `yaml:"password_file"` // first line is the password
	Server          string        `yaml:"server"`        // host[:port]; default the AOR host
	Transport       string        `yaml:"transport"`     // udp|tcp|tls|auto (auto: NAPTR/SRV choose; see Resolve)
	OutboundProxy   string        `yaml:"outbound_proxy"`
	Register        bool          `yaml:"register"`
	RegisterExpiry  time.Duration `yaml:"register_expiry"`
	Subscribe       bool          `yaml:"subscribe"`
	Mailbox         string        `yaml:"mailbox"` // URI to SUBSCRIBE; default the AOR
	SubscribeExpiry time.Duration `yaml:"subscribe_expiry"`
	Unsolicited     string        `yaml:"unsolicited"`      // accept (while not subscribed)|always|reject
	UnsolicitedFrom []string      `yaml:"unsolicited_from"` // IPs/CIDRs; default the server's addresses
	// UnsolicitedHorizon: an account fed only by unsolicited NOTIFYs goes
	// stale when none confirmed its state for this long; 0 = never.
	UnsolicitedHorizon time.Duration `yaml:"unsolicited_horizon"`
	Lamp               bool          `yaml:"lamp"` // drives the main message lamp
	LED                int           `yaml:"led"`  // 1-based board LED; 0 = next free
}

// Default expiries for REGISTER and SUBSCRIBE.
const DefaultExpiry = 3600 * time.Second

// Defaults of the trust timers (docs/sip.md "Knowing the server is there").
const (
	DefaultLiveness           = 20 * time.Second
	DefaultRestartCheck       = 45 * time.Second
	DefaultUnsolicitedHorizon = 2 * time.Hour
	DefaultFailback           = 10 * time.Minute
)

// Default returns the defaults, with no accounts.
func Default() *Config {
	return &Config{
		LogLevel:     "info",
		UserAgent:    "mwi-agent/" + version(),
		StateDir:     defaultStateDir(),
		Keepalive:    30 * time.Second,
		Liveness:     DefaultLiveness,
		RestartCheck: DefaultRestartCheck,
		DNS:          DNSConfig{Failback: DefaultFailback},
		Board:        "sim",
		HTTP:         HTTPConfig{Listen: "127.0.0.1:8080", Metrics: true},
		MQTT:         defaultMQTT(),
		Indicator:    IndicatorConfig{UnknownPattern: true, UrgentPattern: true},
		Tones:        ToneConfig{LevelDBm0: -13},
		FXS: FXSConfig{
			Signalling:  []string{"polarity", "fsk", "stutter"},
			Quiet:       3 * time.Second,
			DialTimeout: 30 * time.Second,
		},
	}
}

// defaultAccount is the starting point of every account entry; Parse
// fills the fields that depend on the AOR.
func defaultAccount() Account {
	return Account{
		Register:           true,
		RegisterExpiry:     DefaultExpiry,
		Subscribe:          true,
		SubscribeExpiry:    DefaultExpiry,
		Unsolicited:        "accept",
		UnsolicitedHorizon: DefaultUnsolicitedHorizon,
		Lamp:               true,
	}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "dev"
}

func defaultStateDir() string {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "mwi-agent")
	}
	return "state"
}

// Load reads the file at path, parses it, applies defaults and validates
// it. A relative password_file or tls.ca_file, cert_file, key_file is taken
// relative to the file's directory (the tls paths are rewritten). Like Parse, it
// returns the configuration as far as it could be read together with any
// validation error; use it only when the error is nil.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, filepath.Dir(path))
}

// Parse is Load from bytes; a relative password_file is taken relative to
// the working directory.
//
// On validation problems it returns the configuration as far as it could be
// read together with the error, an errors.Join of *FieldError. A YAML
// syntax error returns a nil Config.
func Parse(data []byte) (*Config, error) {
	return parse(data, "")
}

func parse(data []byte, dir string) (*Config, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("config: %s", redactYAMLError(err, data))
	}
	cfg := Default()
	asterisk := map[int]ast.Node{}
	d := &decoder{
		present: map[string]map[string]bool{},
		extra: func(path, key string, n ast.Node) bool {
			var i int
			if key == "asterisk" && scanIndex(path, "accounts", &i) {
				asterisk[i] = n
				return true
			}
			return false
		},
	}
	if root != nil {
		d.decode("", root, reflect.ValueOf(cfg).Elem())
	}
	errs := d.errs
	bad := map[string]bool{}
	for _, e := range errs {
		var fe *FieldError
		if errors.As(e, &fe) {
			bad[fe.Field] = true
		}
	}

	for _, f := range []*string{&cfg.TLS.CAFile, &cfg.TLS.CertFile, &cfg.TLS.KeyFile} {
		if dir != "" && *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	if err := resolveMQTT(&cfg.MQTT, dir); err != nil {
		errs = append(errs, err)
	}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		path := fmt.Sprintf("accounts[%d]", i)
		keys := d.present[path]
		if n, ok := asterisk[i]; ok {
			if aerrs := expandAsteriskEntry(path, n, keys, a, d); len(aerrs) > 0 {
				errs = append(errs, aerrs...)
				bad[path] = true // the entry is unusable; say nothing more about it
			}
		}
		if a.PasswordFile != "" {
			if a.Password != "" {
				errs = append(errs, &FieldError{Field: path + ".password_file", Value: a.PasswordFile, Problem: "set together with password; use one of them, in"})
			} else if pw, err := readPasswordFile(dir, a.PasswordFile); err != nil {
				errs = append(errs, &FieldError{Field: path + ".password_file", Value: a.PasswordFile, Problem: err.Error() + ", in"})
			} else {
				a.Password = pw
			}
		}
		// A password inside a URI would be shown wherever the URI is;
		// Validate reports it, and the value is blanked here.
		a.AOR, a.Mailbox = redactURI(a.AOR), redactURI(a.Mailbox)
		a.fillDefaults()
	}
	if _, set := d.present["listen"]["udp"]; !set && cfg.Listen.UDP == "" {
		for _, a := range cfg.Accounts {
			if a.Transport == "udp" || a.Transport == "auto" {
				cfg.Listen.UDP = "0.0.0.0:0"
				break
			}
		}
	}

	if verr := cfg.Validate(); verr != nil {
		for _, e := range unjoin(verr) {
			var fe *FieldError
			if errors.As(e, &fe) && covered(bad, fe.Field) {
				continue // already reported as a decoding problem
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

// covered reports whether field or one of its parents had a decoding error.
func covered(bad map[string]bool, field string) bool {
	for f := field; f != ""; {
		if bad[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i <= 0 {
			break
		}
		f = f[:i]
	}
	return false
}

func unjoin(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return []error{err}
}

// scanIndex matches "name[i]" and stores i.
func scanIndex(path, name string, i *int) bool {
	rest, ok := strings.CutPrefix(path, name+"[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return false
	}
	n, err := fmt.Sscanf(rest, "%d]", i)
	return err == nil && n == 1
}

// readPasswordFile returns the file's first line, without its line end.
func readPasswordFile(dir, name string) (string, error) {
	if dir != "" && !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot read: %w", pe.Err)
		}
		return "", errors.New("cannot read")
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, err := r.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return "", errors.New("empty file")
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return "", errors.New("first line is empty")
	}
	return string(line), nil
}

// redactYAMLError renders a go-yaml error as "line L, column C: message"
// without the source excerpt go-yaml adds (it could show a password), and
// blanks out any secret-looking value of the file that still appears in
// the message.
func redactYAMLError(err error, data []byte) string {
	var msg string
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			msg = fmt.Sprintf("line %d, column %d: %s", tk.Position.Line, tk.Position.Column, msg)
		}
	} else {
		msg, _, _ = strings.Cut(err.Error(), "\n")
	}
	for _, s := range secretsIn(data) {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

// secretsIn finds the values of password, token and asterisk keys in raw
// YAML text, quoted and unquoted, for redacting error messages.
func secretsIn(data []byte) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, v := range keyValues(data, false, "password", "token") {
		v = strings.TrimRight(v, ",}")
		v = strings.TrimSpace(v)
		add(v)
		add(strings.Trim(v, `"'`))
	}
	for _, v := range keyValues(data, true, "asterisk") {
		add(v)
		if sh, err := parseAsterisk(v); err == nil {
			add(sh.Secret)
		} else if user, _, ok := strings.Cut(v, "@"); ok {
			if _, rest, ok := strings.Cut(user, ":"); ok {
				secret, _, _ := strings.Cut(rest, ":")
				add(secret)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// keyValues scans raw YAML text for the values of the given keys, whatever
// the document's shape (also text the YAML parser rejected). A key counts
// at the start of a line or after white space, '{', ',' or '-', followed by
// optional white space and ':'. The value is the rest of the line up to a
// '#' comment, trailing blanks cut; with word, the run of characters after
// an optional quote up to a quote, white space or '#'. For password|token
// and asterisk this is what the regular expressions
//
//	(?m)(?:^|[\s{,-])(?:password|token)\s*:[ \t]*(.*?)[ \t]*(?:#.*)?$
//	(?m)(?:^|[\s{,-])asterisk\s*:[ \t]*["']?([^"'\s#]*)
//
// matched, without linking the regexp package (TestKeyValuesMatchRegexps).
func keyValues(data []byte, word bool, keys ...string) []string {
	var out []string
	i := 0
	for i < len(data) {
		key := ""
		if i == 0 || isYAMLSpace(data[i-1]) || data[i-1] == '{' || data[i-1] == ',' || data[i-1] == '-' {
			for _, k := range keys {
				if bytes.HasPrefix(data[i:], []byte(k)) {
					key = k
					break
				}
			}
		}
		if key == "" {
			i++
			continue
		}
		j := i + len(key)
		for j < len(data) && isYAMLSpace(data[j]) {
			j++
		}
		if j >= len(data) || data[j] != ':' {
			i++
			continue
		}
		j++
		for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
			j++
		}
		if word {
			if j < len(data) && (data[j] == '"' || data[j] == '\'') {
				j++
			}
			k := j
			for k < len(data) && data[k] != '"' && data[k] != '\'' && data[k] != '#' && !isYAMLSpace(data[k]) {
				k++
			}
			out = append(out, string(data[j:k]))
			i = k
			continue
		}
		end := bytes.IndexByte(data[j:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += j
		}
		v := data[j:end]
		if h := bytes.IndexByte(v, '#'); h >= 0 {
			v = v[:h]
		}
		v = bytes.TrimRight(v, " \t")
		out = append(out, string(v))
		i = end
	}
	return out
}

// isYAMLSpace is regexp's \s: space, \t, \n, \f, \r.
func isYAMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}
