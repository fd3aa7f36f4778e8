package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

//go:embed static
var static embed.FS

// Source is the part of *agent.Agent the page needs.
type Source interface {
	Snapshot() state.Snapshot
	Watch(ctx context.Context) <-chan state.Snapshot
}

// Options configure the page.
type Options struct {
	Source Source          // required
	Policy indicate.Policy // how outputs are derived (shown when no Board)
	// Board is the simulated board of the demo: the page shows its lamp,
	// LEDs and display and moves its hook. Nil on a real device: the page
	// then shows the computed outputs and the handset is read-only.
	Board *sim.Board
	// Demo enables the demo controls. Nil: status page only.
	Demo *demo.Server
	// Render draws the display for a real device (no Board); nil: no image.
	Render indicate.Renderer
	// DisplayInfo is the display size used with Render.
	DisplayInfo hal.DisplayInfo
	// ToneWAV returns a tone ("dial" or "stutter") as a WAV file.
	ToneWAV func(name string) ([]byte, error)
	Token   string // if set, every request needs ?token= or Authorization: Bearer
	Title   string
	Logger  *slog.Logger
}

// Server is the page's HTTP handler.
type Server struct {
	opt   Options
	log   *slog.Logger
	mux   *http.ServeMux
	tones sync.Map // name -> []byte
	toneN sync.Map // name -> *atomic.Int64 (requests)

	mu      sync.Mutex
	lastOut indicate.Outputs
	outAt   time.Time
}

// New builds the page handler.
func New(opt Options) (*Server, error) {
	if opt.Source == nil {
		return nil, errors.New("web: Options.Source is required")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Title == "" {
		opt.Title = "mwi-agent"
	}
	s := &Server{opt: opt, log: opt.Logger, mux: http.NewServeMux()}
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /api/state", s.getState)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /display.png", s.displayPNG)
	s.mux.HandleFunc("GET /tone/{name}", s.tone)
	s.mux.HandleFunc("POST /api/hook", s.postHook)
	if opt.Demo != nil {
		s.mux.HandleFunc("POST /api/demo/mailbox/{user}/{action}", s.postMailbox)
		s.mux.HandleFunc("POST /api/demo/server", s.postServer)
	}
	return s, nil
}

// ServeHTTP checks the token and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opt.Token != "" {
		tok := r.URL.Query().Get("token")
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opt.Token)) != 1 {
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
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

// ListenAndServe serves on addr until ctx ends. Addresses that are not
// loopback need a token. ready, if not nil, gets the bound address.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	if err := CheckListen(addr, s.opt.Token); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then closes it.
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
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
}

// StateJSON is GET /api/state.
type StateJSON struct {
	Title    string         `json:"title"`
	NowMS    int64          `json:"now_ms"`
	Seq      uint64         `json:"seq"`
	Lamp     PatternJSON    `json:"lamp"`
	LEDs     []PatternJSON  `json:"leds"`
	Why      string         `json:"why"`
	Accounts []AccountJSON  `json:"accounts"`
	Display  DisplayJSON    `json:"display"`
	Hook     HookJSON       `json:"hook"`
	FXS      []indicate.FXS `json:"fxs"`
	Line     *LineJSON      `json:"line,omitempty"` // the sim FXS line (demo)
	Demo     *DemoJSON      `json:"demo,omitempty"`
	Log      []sim.Entry    `json:"log,omitempty"`
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
	sim.LineState
	MWI bool `json:"mwi"` // polarity reversed or neon voltage on: "messages waiting" on the line
}

// DemoJSON is the demo voicemail server.
type DemoJSON struct {
	Running   bool           `json:"running"`
	Addr      string         `json:"addr"`
	Mailboxes []demo.Mailbox `json:"mailboxes"`
}

func (s *Server) state() StateJSON {
	snap := s.opt.Source.Snapshot()
	out := indicate.Compute(snap, s.opt.Policy)
	now := time.Now()
	st := StateJSON{Title: s.opt.Title, NowMS: now.UnixMilli(), Seq: snap.Seq, Why: out.Why, FXS: out.FXS}
	s.mu.Lock()
	if !s.lastOut.Lamp.Equal(out.Lamp) || s.outAt.IsZero() {
		s.outAt = now
	}
	s.lastOut = out
	outAt := s.outAt
	s.mu.Unlock()
	labelOf := map[string]string{}
	for _, a := range snap.Accounts {
		l := a.Label
		if l == "" {
			l = a.Name
		}
		labelOf[a.Name] = l
		j := AccountJSON{Name: a.Name, Label: l, AOR: a.AOR, Waiting: a.Waiting.String(), Known: a.Known(),
			New: a.Voice().New, Old: a.Voice().Old, UrgentNew: a.Voice().UrgentNew, Health: a.Health.String(),
			Status: a.LastStatus, Reason: a.LastReason, Source: a.Source.String()}
		if _, ok := a.Classes[state.ClassVoice]; !ok {
			t := a.Total()
			j.New, j.Old, j.UrgentNew = t.New, t.Old, t.UrgentNew
		}
		if !a.Updated.IsZero() {
			j.Updated = a.Updated.Format(time.RFC3339)
		}
		if !a.Since.IsZero() {
			j.Since = a.Since.Format(time.RFC3339)
		}
		st.Accounts = append(st.Accounts, j)
	}
	if b := s.opt.Board; b != nil {
		p, since := b.Lamp.Pattern()
		st.Lamp = patternJSON(p, since, now)
		for i, l := range b.LEDs {
			p, since := l.Pattern()
			j := patternJSON(p, since, now)
			if i < len(out.LEDFor) {
				j.Account, j.Label = out.LEDFor[i], labelOf[out.LEDFor[i]]
			}
			st.LEDs = append(st.LEDs, j)
		}
		if b.Display != nil {
			_, seq := b.Display.Frame()
			info := b.Display.Info()
			st.Display = DisplayJSON{Present: true, Width: info.Width, Height: info.Height, Version: fmt.Sprint(seq)}
		}
		if b.Hook != nil {
			off, _ := b.Hook.OffHook()
			st.Hook = HookJSON{Present: true, Movable: true, OffHook: off}
		}
		if b.Line != nil {
			ls := b.Line.State()
			st.Line = &LineJSON{LineState: ls, MWI: ls.Reversed || ls.HighVoltage}
		}
		log := collapseAudio(b.Rec.Log())
		if len(log) > 12 {
			log = log[len(log)-12:]
		}
		st.Log = log
	} else {
		st.Lamp = patternJSON(out.Lamp, outAt, now)
		for i, p := range out.LEDs {
			j := patternJSON(p, outAt, now)
			j.Account, j.Label = out.LEDFor[i], labelOf[out.LEDFor[i]]
			st.LEDs = append(st.LEDs, j)
		}
		if s.opt.Render != nil && s.opt.DisplayInfo.Width > 0 {
			st.Display = DisplayJSON{Present: true, Width: s.opt.DisplayInfo.Width, Height: s.opt.DisplayInfo.Height, Version: fmt.Sprint(snap.Seq)}
		}
	}
	if st.Hook.OffHook {
		st.Hook.Tone = "dial"
		if len(out.FXS) > 0 && out.FXS[0].Stutter || len(out.FXS) == 0 && out.Lamp.Name != "off" && out.Lamp.Name != "unknown" {
			st.Hook.Tone = "stutter"
		}
	}
	if d := s.opt.Demo; d != nil {
		st.Demo = &DemoJSON{Running: d.Running(), Addr: d.Addr(), Mailboxes: d.Mailboxes()}
	}
	return st
}

// collapseAudio shows each run of consecutive audio writes (a tone plays
// in 20 ms chunks) as one entry at the run's start, so tones do not push
// everything else out of the page's device log.
func collapseAudio(log []sim.Entry) []sim.Entry {
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
// simulated board or the demo server changes (and every 15 s).
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
	var boardCh, demoCh <-chan struct{}
	if s.opt.Board != nil {
		ch, cancel := s.opt.Board.Rec.Subscribe()
		defer cancel()
		boardCh = ch
	}
	if s.opt.Demo != nil {
		ch, cancel := s.opt.Demo.Subscribe()
		defer cancel()
		demoCh = ch
	}
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
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
		case <-boardCh:
		case <-demoCh:
		case <-tick.C:
			always = true
		}
		// Let bursts (a NOTIFY updates the snapshot, then the board) settle.
		time.Sleep(30 * time.Millisecond)
		if !send(always) {
			return
		}
	}
}

// ---- display and tones --------------------------------------------------------

func (s *Server) displayPNG(w http.ResponseWriter, r *http.Request) {
	var img image.Image
	if b := s.opt.Board; b != nil && b.Display != nil {
		f, _ := b.Display.Frame()
		img = f.Image
		if img == nil && len(f.Text) > 0 {
			img = display.RenderTextImage(f)
		}
		if img == nil {
			info := b.Display.Info()
			img = image.NewGray(image.Rect(0, 0, max(info.Width, 1), max(info.Height, 1)))
		}
	} else if s.opt.Render != nil && s.opt.DisplayInfo.Width > 0 {
		out := indicate.Compute(s.opt.Source.Snapshot(), s.opt.Policy)
		f := s.opt.Render(out.Display, s.opt.DisplayInfo)
		img = f.Image
		if img == nil && len(f.Text) > 0 {
			img = display.RenderTextImage(f) // a character LCD, drawn as cells
		}
	}
	if img == nil {
		http.NotFound(w, r)
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
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
	http.ServeContent(w, r, name+".wav", time.Time{}, bytes.NewReader(b))
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
	return json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4096)).Decode(v)
}

func (s *Server) postHook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OffHook bool `json:"off_hook"`
	}
	if err := jsonBody(r, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.opt.Board == nil || s.opt.Board.Hook == nil {
		http.Error(w, "this device's hook switch cannot be moved from the page", http.StatusConflict)
		return
	}
	if err := s.opt.Board.Hook.Set(req.OffHook); err != nil {
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
	if errors.Is(err, demo.ErrNoMailbox) {
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
