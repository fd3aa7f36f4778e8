package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/jsonv"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

//go:embed static
var static embed.FS

// Source is the part of *agent.Agent the page needs (the accounts table).
type Source interface {
	Snapshot() state.Snapshot
	Watch(ctx context.Context) <-chan state.Snapshot
}

// Applied is what the indicators last wrote (*indicate.Applier): the page
// shows the lamp, LEDs, display and handset tone the device applied — it
// never recomputes them.
type Applied interface {
	// LastChanged returns the applied outputs and when the lamp pattern
	// last changed (where its cadence starts).
	LastChanged() (indicate.Outputs, time.Time)
	// Changes is told (coalesced) after every apply.
	Changes() (<-chan struct{}, func())
}

// Device is an optional view into a device beyond its applied outputs: the
// desktop simulator, whose handset the page may move and whose analog line
// and device log it shows.
type Device interface {
	Hook() (present, offHook bool)
	SetHook(offHook bool) error
	Line() (LineJSON, bool)
	Log() []LogEntry // oldest first
	Changes() (<-chan struct{}, func())
}

// Demo is the optional demo voicemail server's controls.
type Demo interface {
	Running() bool
	Addr() string
	Mailboxes() []DemoMailbox
	Leave(user string, urgent bool) error // errors.Is(err, ErrNoMailbox) for an unknown mailbox
	Listen(user string) error
	Delete(user string) error
	Start() error
	Stop()
	Changes() (<-chan struct{}, func())
}

// ErrNoMailbox is what a Demo's controls return (wrapped) for an unknown
// mailbox; the page answers 404.
var ErrNoMailbox = errors.New("web: no such mailbox")

// Options configure the page.
type Options struct {
	Source  Source  // required
	Applied Applied // required
	// Render draws the applied display view; nil or a zero DisplayInfo: no
	// display on the page.
	Render      indicate.Renderer
	DisplayInfo hal.DisplayInfo
	Device      Device // optional (the simulator)
	Demo        Demo   // optional: the demo controls
	// Manual applies a manual set or clear (POST /api/mwi); nil: the
	// endpoint is absent. *agent.Agent's Manual method fits.
	Manual func(state.ManualRequest) ([]string, error)
	// Diag returns the per-account troubleshooting view (GET /api/diag);
	// nil: absent.
	Diag func() any
	// Metrics serves /metrics; nil: absent.
	Metrics http.Handler
	// ToneWAV returns a tone ("dial" or "stutter") as a WAV file.
	ToneWAV func(name string) ([]byte, error)
	// Token, if set, is needed for everything but the page shell and the
	// login: as the session cookie POST /login sets, or as
	// "Authorization: Bearer TOKEN". Never in the URL.
	Token string
	// Hosts are host names (besides loopback names and IP addresses) the
	// page answers to (http.hosts); any other Host header is refused, so a
	// DNS-rebinding page cannot reach it.
	Hosts []string
	// Problems, if set, lists what does not work as configured (a board
	// device that did not open, a failed indicator write); the page shows
	// it above the accounts.
	Problems func() []string
	Title    string
	Logger   *slog.Logger
	Clock    clock.Clock // nil: the wall clock
}

// Server is the page's HTTP handler.
type Server struct {
	opt   Options
	log   *slog.Logger
	mux   *http.ServeMux
	tones sync.Map // name -> []byte
	toneN sync.Map // name -> *atomic.Int64 (requests)

	session string     // cookie value for a good token (an HMAC of it)
	loginMu sync.Mutex // serializes failed logins (one guess per second)

	refusedMu  sync.Mutex
	refused    int       // foreign Host headers since refusedLog
	refusedLog time.Time // last log line about them
}

// New builds the page handler.
func New(opt Options) (*Server, error) {
	if opt.Source == nil || opt.Applied == nil {
		return nil, errors.New("web: Options.Source and Options.Applied are required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Title == "" {
		opt.Title = "mwi-agent"
	}
	opt.Clock = clock.Or(opt.Clock)
	s := &Server{opt: opt, log: opt.Logger, mux: http.NewServeMux()}
	if opt.Token != "" {
		m := hmac.New(sha256.New, []byte(opt.Token))
		m.Write([]byte("mwi-agent status page session"))
		s.session = hex.EncodeToString(m.Sum(nil))
	}
	s.mux.HandleFunc("GET /static/{name}", s.staticFile)
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("GET /api/state", s.getState)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /display.png", s.displayPNG)
	s.mux.HandleFunc("GET /tone/{name}", s.tone)
	s.mux.HandleFunc("POST /api/hook", s.postHook)
	if opt.Manual != nil {
		s.mux.HandleFunc("POST /api/mwi", s.postManual)
	}
	if opt.Diag != nil {
		s.mux.HandleFunc("GET /api/diag", s.getDiag)
	}
	if opt.Metrics != nil {
		s.mux.Handle("GET /metrics", opt.Metrics)
	}
	if opt.Demo != nil {
		s.mux.HandleFunc("POST /api/demo/mailbox/{user}/{action}", s.postMailbox)
		s.mux.HandleFunc("POST /api/demo/server", s.postServer)
	}
	return s, nil
}

// sessionCookie carries an HMAC of the token (never the token itself).
const sessionCookie = "mwi_session"

// ServeHTTP refuses foreign Host and Origin headers, checks the token and
// dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer chromium sends
	// "Origin: null" on the page's own form POST (the login), which the
	// origin check must refuse.
	w.Header().Set("Referrer-Policy", "same-origin")
	if !s.hostAllowed(r.Host) {
		s.noteRefusedHost(r.Host)
		http.Error(w, "host "+r.Host+" is not served here (add it to http.hosts)", http.StatusMisdirectedRequest)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if s.opt.Token != "" && !s.public(r) && !s.authenticated(r) {
		http.Error(w, "token required (log in on the page, or send Authorization: Bearer TOKEN)", http.StatusUnauthorized)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// noteRefusedHost logs a refused Host at most once a minute, with how
// many were refused since (a rebinding page may retry without end).
func (s *Server) noteRefusedHost(host string) {
	now := s.opt.Clock.Now()
	s.refusedMu.Lock()
	s.refused++
	if !s.refusedLog.IsZero() && now.Sub(s.refusedLog) < time.Minute {
		s.refusedMu.Unlock()
		return
	}
	n := s.refused
	s.refused, s.refusedLog = 0, now
	s.refusedMu.Unlock()
	if len(host) > 100 {
		host = host[:100] + "..."
	}
	s.log.Warn("refused requests for a foreign host name (DNS rebinding?); add it to http.hosts if it is yours", "host", host, "refused", n)
}

// hostAllowed: the Host header names a loopback name (localhost,
// *.localhost), an IP address (a rebinding page cannot use one: its origin
// would be that address), or one of Options.Hosts.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	ip := host
	if i := strings.IndexByte(ip, '%'); i >= 0 {
		ip = ip[:i] // an IPv6 zone (fe80::1%eth0)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(ip) != nil {
		return true
	}
	for _, h := range s.opt.Hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// sameOrigin: a request that names its origin (browsers do for POSTs,
// cross-origin fetches and EventSource) must come from this page's own
// origin; a browser's cross-site subresource request is refused too (a
// top-level navigation from elsewhere is fine).
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || o == "null" || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" && r.Header.Get("Sec-Fetch-Mode") != "navigate" {
		return false
	}
	return true
}

// public: what needs no token: the page shell (it shows the login form
// until there is a session), its static files and the login itself.
func (s *Server) public(r *http.Request) bool {
	return r.URL.Path == "/" || r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/")
}

func (s *Server) authenticated(r *http.Request) bool {
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(h), []byte(s.opt.Token)) == 1
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session)) == 1
	}
	return false
}

// login takes the token from a form (POST body, never the URL), sets the
// session cookie and sends the browser back to the page. A wrong token
// costs a second, one guess at a time.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opt.Token == "" {
		http.Redirect(w, r, "./", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	// ParseForm, not PostFormValue: the login form is urlencoded, and
	// PostFormValue would also parse multipart bodies, which links
	// mime/multipart (docs/memory.md "The binary").
	_ = r.ParseForm()
	tok := r.PostForm.Get("token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opt.Token)) != 1 {
		s.loginMu.Lock()
		<-s.opt.Clock.NewTimer(time.Second).C()
		s.loginMu.Unlock()
		s.log.Warn("status page: wrong token", "from", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		s.writeLogin(w, "That token is not right.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.session, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "./", http.StatusSeeOther)
}

func (s *Server) writeLogin(w io.Writer, problem string) {
	msg := ""
	if problem != "" {
		msg = `<p class="why">` + htmlEscape(problem) + `</p>`
	}
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="static/style.css"></head>
<body><header><h1>%s</h1></header><main><section class="side"><div class="card"><h2>Log in</h2>
<p>This status page needs its token (http.token in the configuration).</p>%s
<form method="post" action="login"><input type="password" name="token" autocomplete="current-password" autofocus required>
<button class="primary" type="submit">Log in</button></form></div></section></main></body></html>
`, htmlEscape(s.opt.Title), htmlEscape(s.opt.Title), msg)
}

// ToneRequests reports how many times a tone was requested (for tests).
func (s *Server) ToneRequests(name string) int64 {
	if v, ok := s.toneN.Load(name); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// CheckListen says whether the page may listen on addr: an address that
// is not loopback needs a token.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web: http.listen %q: %w", addr, err)
	}
	if !isLoopback(host) && token == "" {
		return fmt.Errorf("web: http.listen %q is not a loopback address: set http.token", addr)
	}
	return nil
}

// Serve serves on ln until ctx ends, then closes it. Check the address
// with CheckListen before listening.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		return ctx.Err()
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.opt.Token != "" && !s.authenticated(r) {
		s.writeLogin(w, "")
		return
	}
	b, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	demoAttr := "false"
	if s.opt.Demo != nil {
		demoAttr = "true"
	}
	b = bytes.ReplaceAll(b, []byte("{{DEMO}}"), []byte(demoAttr))
	b = bytes.ReplaceAll(b, []byte("{{TITLE}}"), []byte(htmlEscape(s.opt.Title)))
	w.Write(b)
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// ---- state ------------------------------------------------------------------

// PatternJSON is a lamp pattern for the page: lit at time t (ms since
// SinceMS) exactly as hal.Pattern.At says.
type PatternJSON struct {
	Name     string  `json:"name"`
	On       bool    `json:"on"`
	Cadence  []int64 `json:"cadence_ms"`
	SinceMS  int64   `json:"since_ms"` // unix ms when the pattern was set
	Account  string  `json:"account,omitempty"`
	Label    string  `json:"label,omitempty"`
	LitNow   bool    `json:"lit_now"`
	Describe string  `json:"describe"`
}

func patternJSON(p hal.Pattern, since, now time.Time) PatternJSON {
	j := PatternJSON{Name: p.Name, On: p.On, SinceMS: since.UnixMilli(), LitNow: p.At(now.Sub(since))}
	for _, c := range p.Cadence {
		j.Cadence = append(j.Cadence, c.Milliseconds())
	}
	switch {
	case p.Name == "unknown":
		j.Describe = "slow flash: cannot know"
	case p.Name == "urgent":
		j.Describe = "fast blink: urgent messages"
	case len(p.Cadence) > 0:
		j.Describe = "blinking"
	case p.On:
		j.Describe = "on: messages waiting"
	default:
		j.Describe = "off: no new messages"
	}
	return j
}

// AccountJSON is one account as the page shows it.
type AccountJSON struct {
	Name      string `json:"name"`
	Label     string `json:"label"`
	AOR       string `json:"aor"`
	Waiting   string `json:"waiting"`
	Known     bool   `json:"known"`
	New       uint32 `json:"new"`
	Old       uint32 `json:"old"`
	UrgentNew uint32 `json:"urgent_new"`
	Health    string `json:"health"`
	Status    int    `json:"last_status,omitempty"`
	Reason    string `json:"last_reason,omitempty"`
	Source    string `json:"source"`
	Updated   string `json:"updated,omitempty"`
	Since     string `json:"since,omitempty"`
	// Unconfirmed: the last known state read back at start, not yet
	// confirmed by the server; AgeS is its age in seconds and
	// RestoredFrom the source it had when it was saved.
	Unconfirmed  bool     `json:"unconfirmed,omitempty"`
	AgeS         *float64 `json:"age_s,omitempty"`
	RestoredFrom string   `json:"restored_from,omitempty"`
}

// StateJSON is GET /api/state.
type StateJSON struct {
	Title    string         `json:"title"`
	NowMS    int64          `json:"now_ms"`
	Seq      uint64         `json:"seq"`
	Lamp     PatternJSON    `json:"lamp"`
	LEDs     []PatternJSON  `json:"leds"`
	Why      string         `json:"why"`
	Problems []string       `json:"problems,omitempty"`
	Accounts []AccountJSON  `json:"accounts"`
	Display  DisplayJSON    `json:"display"`
	Hook     HookJSON       `json:"hook"`
	FXS      []indicate.FXS `json:"fxs"`
	Line     *LineJSON      `json:"line,omitempty"` // the sim FXS line (demo)
	Demo     *DemoJSON      `json:"demo,omitempty"`
	Log      []LogEntry     `json:"log,omitempty"`
}

// DisplayJSON tells the page which image to load.
type DisplayJSON struct {
	Present bool   `json:"present"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Version string `json:"version"` // changes whenever the picture does
}

// HookJSON is the handset.
type HookJSON struct {
	Present bool   `json:"present"`
	Movable bool   `json:"movable"`
	OffHook bool   `json:"off_hook"`
	Tone    string `json:"tone"` // "stutter", "dial" or "" (on-hook)
}

// LineJSON is the simulated FXS line as the phone on it sees it.
type LineJSON struct {
	Reversed    bool `json:"reversed"`
	HighVoltage bool `json:"high_voltage"`
	Ring        bool `json:"ring"`
	MWI         bool `json:"mwi"` // polarity reversed or neon voltage on: "messages waiting" on the line
}

// LogEntry is one line of the device log.
type LogEntry struct {
	At     time.Time `json:"at"`
	Device string    `json:"device"`
	What   string    `json:"what"`
}

// DemoMailbox is one mailbox of the demo voicemail server.
type DemoMailbox struct {
	User          string `json:"user"`
	Label         string `json:"label"`
	New           uint32 `json:"new"`
	Old           uint32 `json:"old"`
	UrgentNew     uint32 `json:"urgent_new"`
	UrgentOld     uint32 `json:"urgent_old"`
	Registered    bool   `json:"registered"`
	Subscriptions int    `json:"subscriptions"`
	Notifies      int    `json:"notifies"`
}

// DemoJSON is the demo voicemail server.
type DemoJSON struct {
	Running   bool          `json:"running"`
	Addr      string        `json:"addr"`
	Mailboxes []DemoMailbox `json:"mailboxes"`
}

// state assembles the page's state from the agent's snapshot (accounts)
// and what the indicators applied (lamp, LEDs, display, handset tone).
func (s *Server) state() StateJSON {
	snap := s.opt.Source.Snapshot()
	out, outAt := s.opt.Applied.LastChanged()
	now := s.opt.Clock.Now()
	if outAt.IsZero() {
		outAt = now
	}
	st := StateJSON{Title: s.opt.Title, NowMS: now.UnixMilli(), Seq: snap.Seq, Why: out.Why, FXS: out.FXS}
	if s.opt.Problems != nil {
		st.Problems = s.opt.Problems()
	}
	labelOf := map[string]string{}
	for _, a := range snap.Accounts {
		l := a.Label
		if l == "" {
			l = a.Name
		}
		labelOf[a.Name] = l
		c := a.Shown()
		j := AccountJSON{Name: a.Name, Label: l, AOR: a.AOR, Waiting: a.Waiting.String(), Known: a.Known(),
			New: c.New, Old: c.Old, UrgentNew: c.UrgentNew, Health: a.Health.String(),
			Status: a.LastStatus, Reason: a.LastReason, Source: a.Source.String()}
		if !a.Updated.IsZero() {
			j.Updated = a.Updated.Format(time.RFC3339)
		}
		if !a.Since.IsZero() {
			j.Since = a.Since.Format(time.RFC3339)
		}
		if a.Unconfirmed() {
			j.Unconfirmed, j.RestoredFrom = true, a.RestoredFrom.String()
			age := now.Sub(a.Updated).Round(time.Second).Seconds()
			j.AgeS = &age
		}
		st.Accounts = append(st.Accounts, j)
	}
	st.Lamp = patternJSON(out.Lamp, outAt, now)
	for i, p := range out.LEDs {
		j := patternJSON(p, outAt, now)
		if i < len(out.LEDFor) {
			j.Account, j.Label = out.LEDFor[i], labelOf[out.LEDFor[i]]
		}
		st.LEDs = append(st.LEDs, j)
	}
	if s.opt.Render != nil && s.opt.DisplayInfo.Width > 0 {
		st.Display = DisplayJSON{Present: true, Width: s.opt.DisplayInfo.Width, Height: s.opt.DisplayInfo.Height, Version: viewVersion(out.Display)}
	}
	if d := s.opt.Device; d != nil {
		present, off := d.Hook()
		st.Hook = HookJSON{Present: present, Movable: present, OffHook: off}
		if l, ok := d.Line(); ok {
			st.Line = &l
		}
		log := collapseAudio(d.Log())
		if len(log) > 12 {
			log = log[len(log)-12:]
		}
		st.Log = log
	}
	if st.Hook.OffHook {
		st.Hook.Tone = "dial"
		if out.Stutter {
			st.Hook.Tone = "stutter"
		}
	}
	if d := s.opt.Demo; d != nil {
		st.Demo = &DemoJSON{Running: d.Running(), Addr: d.Addr(), Mailboxes: d.Mailboxes()}
	}
	return st
}

// viewVersion changes whenever the display view does.
func viewVersion(v indicate.View) string {
	b, _ := json.Marshal(v)
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// collapseAudio shows each run of consecutive audio writes (a tone plays
// in 20 ms chunks) as one entry at the run's start, so tones do not push
// everything else out of the page's device log.
func collapseAudio(log []LogEntry) []LogEntry {
	out := log[:0:0]
	for _, e := range log {
		if e.Device == "audio" && strings.HasSuffix(e.What, " samples") {
			if n := len(out); n > 0 && out[n-1].Device == "audio" && out[n-1].What == "playing" {
				continue
			}
			e.What = "playing"
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) getState(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.state())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	enc.Encode(v)
}

// events streams a "state" event whenever the agent's snapshot, the
// applied outputs, the device or the demo server change (and every 15 s).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", 500)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	snaps := s.opt.Source.Watch(ctx)
	appliedCh, cancelApplied := s.opt.Applied.Changes()
	defer cancelApplied()
	var deviceCh, demoCh <-chan struct{}
	if s.opt.Device != nil {
		ch, cancel := s.opt.Device.Changes()
		defer cancel()
		deviceCh = ch
	}
	if s.opt.Demo != nil {
		ch, cancel := s.opt.Demo.Changes()
		defer cancel()
		demoCh = ch
	}
	// A "state" event at least every 15 s keeps proxies and the page's
	// connection indicator honest.
	tick := s.opt.Clock.NewTimer(15 * time.Second)
	defer func() { tick.Stop() }()
	var last []byte // the last state sent, without its clock
	send := func(always bool) bool {
		st := s.state()
		now := st.NowMS
		st.NowMS = 0
		same, err := json.Marshal(st)
		if err != nil {
			return false
		}
		if !always && bytes.Equal(same, last) {
			return true // e.g. another 20 ms of a tone: nothing to show
		}
		last = same
		st.NowMS = now
		b, err := json.Marshal(st)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: state\ndata: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send(true) {
		return
	}
	for {
		always := false
		select {
		case <-ctx.Done():
			return
		case _, ok := <-snaps:
			if !ok {
				return
			}
		case <-appliedCh:
		case <-deviceCh:
		case <-demoCh:
		case <-tick.C():
			tick = s.opt.Clock.NewTimer(15 * time.Second)
			always = true
		}
		// Let bursts (a NOTIFY updates the snapshot, then the outputs) settle.
		settle := s.opt.Clock.NewTimer(30 * time.Millisecond)
		select {
		case <-settle.C():
		case <-ctx.Done():
			settle.Stop()
			return
		}
		if !send(always) {
			return
		}
	}
}

// ---- display and tones --------------------------------------------------------

func (s *Server) displayPNG(w http.ResponseWriter, r *http.Request) {
	if s.opt.Render == nil || s.opt.DisplayInfo.Width <= 0 {
		http.NotFound(w, r)
		return
	}
	out, _ := s.opt.Applied.LastChanged()
	f := s.opt.Render(out.Display, s.opt.DisplayInfo)
	img := f.Image
	if img == nil && len(f.Text) > 0 {
		img = display.RenderTextImage(f) // a character LCD, drawn as cells
	}
	if img == nil {
		img = image.NewGray(image.Rect(0, 0, s.opt.DisplayInfo.Width, max(s.opt.DisplayInfo.Height, 1)))
	}
	var buf bytes.Buffer
	if err := display.EncodePNG(&buf, img); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Server) tone(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("name"), ".wav")
	if name != "dial" && name != "stutter" || s.opt.ToneWAV == nil {
		http.NotFound(w, r)
		return
	}
	v, _ := s.toneN.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	var b []byte
	if c, ok := s.tones.Load(name); ok {
		b = c.([]byte)
	} else {
		var err error
		b, err = s.opt.ToneWAV(name)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.tones.Store(name, b)
	}
	w.Header().Set("Content-Type", "audio/wav")
	serveBytes(w, r, b)
}

// staticTypes are the Content-Types of the embedded files, by extension.
var staticTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".html": "text/html; charset=utf-8",
}

// staticFile serves one embedded file (the page's style sheet and
// script). Not http.FileServerFS: with http.ServeContent it linked
// directory listings, conditional requests, multipart byte ranges and
// the MIME type tables, about 70 KB of the armv6 binary (docs/memory.md
// "The binary"), for three small files.
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ct, ok := staticTypes[path.Ext(name)]
	b, err := static.ReadFile("static/" + name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	serveBytes(w, r, b)
}

// serveBytes writes b, or the one byte range a Range header asks for
// (RFC 9110 section 14: "bytes=first-last", "bytes=first-",
// "bytes=-suffix"); several ranges get the whole body, as the RFC
// allows. Browsers ask for ranges of media (Safari plays audio only from
// a server that answers them).
func serveBytes(w http.ResponseWriter, r *http.Request, b []byte) {
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	first, last, ranged, ok := byteRange(r.Header.Get("Range"), len(b))
	switch {
	case !ok:
		h.Set("Content-Range", "bytes */"+strconv.Itoa(len(b)))
		http.Error(w, "requested range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
		return
	case !ranged:
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	default:
		h.Set("Content-Range", "bytes "+strconv.Itoa(first)+"-"+strconv.Itoa(last)+"/"+strconv.Itoa(len(b)))
		h.Set("Content-Length", strconv.Itoa(last-first+1))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b[first : last+1])
	}
}

// byteRange reads a Range header for a body of n bytes: the first and last
// byte to send; ranged false for the whole body (no header, one that is
// malformed or asks for several ranges, which the RFC lets a server
// ignore); ok false when the one range asked for lies outside the body.
func byteRange(hdr string, n int) (first, last int, ranged, ok bool) {
	spec, found := strings.CutPrefix(hdr, "bytes=")
	a, z, dash := strings.Cut(strings.TrimSpace(spec), "-")
	if !found || !dash || strings.Contains(spec, ",") {
		return 0, n - 1, false, true
	}
	if a == "" { // the last z bytes
		k, err := strconv.Atoi(z)
		if err != nil || k < 0 {
			return 0, n - 1, false, true
		}
		return max(n-k, 0), n - 1, true, k > 0 && n > 0
	}
	f, err := strconv.Atoi(a)
	if err != nil || f < 0 {
		return 0, n - 1, false, true
	}
	l := n - 1
	if z != "" {
		if l, err = strconv.Atoi(z); err != nil || l < f {
			return 0, n - 1, false, true
		}
		l = min(l, n-1)
	}
	return f, l, true, f < n
}

// ---- controls -----------------------------------------------------------------

func jsonBody(r *http.Request, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return errors.New("Content-Type must be application/json")
	}
	if v == nil {
		return nil
	}
	return jsonv.NewDecoder(http.MaxBytesReader(nil, r.Body, 4096)).Decode(v)
}

func (s *Server) postHook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OffHook bool `json:"off_hook"`
	}
	if err := jsonBody(r, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.opt.Device == nil {
		http.Error(w, "this device's hook switch cannot be moved from the page", http.StatusConflict)
		return
	}
	if present, _ := s.opt.Device.Hook(); !present {
		http.Error(w, "this device has no hook switch", http.StatusConflict)
		return
	}
	if err := s.opt.Device.SetHook(req.OffHook); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	writeJSON(w, s.state())
}

func (s *Server) postMailbox(w http.ResponseWriter, r *http.Request) {
	if err := jsonBody(r, nil); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	user, action := r.PathValue("user"), r.PathValue("action")
	var err error
	switch action {
	case "leave":
		err = s.opt.Demo.Leave(user, false)
	case "leave-urgent":
		err = s.opt.Demo.Leave(user, true)
	case "listen":
		err = s.opt.Demo.Listen(user)
	case "delete":
		err = s.opt.Demo.Delete(user)
	default:
		http.Error(w, "unknown action "+action, http.StatusNotFound)
		return
	}
	if errors.Is(err, ErrNoMailbox) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	s.log.Info("demo control", "mailbox", user, "action", action)
	writeJSON(w, s.state())
}

func (s *Server) postServer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Running bool `json:"running"`
	}
	if err := jsonBody(r, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Running {
		if err := s.opt.Demo.Start(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
	} else {
		s.opt.Demo.Stop()
	}
	s.log.Info("demo server", "running", req.Running)
	writeJSON(w, s.state())
}
