package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/latest"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
)

// fakeSource is a settable snapshot source.
type fakeSource struct {
	mu   sync.Mutex
	s    state.Snapshot
	subs []chan state.Snapshot
}

func (f *fakeSource) Snapshot() state.Snapshot { f.mu.Lock(); defer f.mu.Unlock(); return f.s.Clone() }
func (f *fakeSource) Watch(ctx context.Context) <-chan state.Snapshot {
	ch := make(chan state.Snapshot, 1)
	f.mu.Lock()
	ch <- f.s.Clone()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch
}
func (f *fakeSource) set(s state.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.Seq = f.s.Seq + 1
	f.s = s
	for _, ch := range f.subs {
		select {
		case <-ch:
		default:
		}
		ch <- s.Clone()
	}
}

func waiting(n uint32) state.Snapshot {
	w := state.WaitingNo
	if n > 0 {
		w = state.WaitingYes
	}
	return state.Snapshot{Accounts: []state.Account{{Name: "desk", Label: "Desk", AOR: "sip:1001@pbx", Waiting: w, Health: state.HealthSubscribed,
		Classes: map[string]state.Counts{state.ClassVoice: {New: n}}}}}
}

// device is a fake device: the applied outputs of a real Applier on no
// hardware, driven from the fake source, plus a hook, a line and a log.
type device struct {
	src *fakeSource
	app *indicate.Applier
	pol indicate.Policy

	mu      sync.Mutex
	hook    bool // present
	offHook bool
	changed latest.Signal
}

func newDevice(pol indicate.Policy) *device {
	return &device{src: &fakeSource{}, app: indicate.NewApplier(hal.Devices{}, indicate.ApplierOptions{}), pol: pol}
}

// set changes the agent's state and applies it, as indicate.Drive does.
func (d *device) set(s state.Snapshot) {
	d.src.set(s)
	d.app.Apply(indicate.Compute(d.src.Snapshot(), d.pol), false)
}

func (d *device) Hook() (bool, bool) { d.mu.Lock(); defer d.mu.Unlock(); return d.hook, d.offHook }
func (d *device) SetHook(off bool) error {
	d.mu.Lock()
	d.offHook = off
	d.mu.Unlock()
	d.changed.Notify()
	return nil
}
func (d *device) Line() (LineJSON, bool) { return LineJSON{Reversed: true, MWI: true}, true }
func (d *device) Log() []LogEntry {
	var out []LogEntry
	for i := range 30 {
		out = append(out, LogEntry{Device: "audio", What: "160 samples"}, LogEntry{Device: "lamp", What: fmt.Sprint("pattern ", i)})
	}
	return out
}
func (d *device) Changes() (<-chan struct{}, func()) { return d.changed.Subscribe() }

// demoServer is a fake demo voicemail server.
type demoServer struct {
	mu      sync.Mutex
	running bool
	boxes   []DemoMailbox
	changed latest.Signal
}

func (f *demoServer) Running() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.running }
func (f *demoServer) Addr() string  { return "127.0.0.1:5060" }
func (f *demoServer) Mailboxes() []DemoMailbox {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DemoMailbox(nil), f.boxes...)
}
func (f *demoServer) change(user string, fn func(*DemoMailbox)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.boxes {
		if f.boxes[i].User == user {
			fn(&f.boxes[i])
			f.changed.Notify()
			return nil
		}
	}
	return fmt.Errorf("demo: %w: %q", ErrNoMailbox, user)
}
func (f *demoServer) Leave(user string, urgent bool) error {
	return f.change(user, func(m *DemoMailbox) {
		m.New++
		if urgent {
			m.UrgentNew++
		}
	})
}
func (f *demoServer) Listen(user string) error {
	return f.change(user, func(m *DemoMailbox) { m.Old += m.New; m.New, m.UrgentNew = 0, 0 })
}
func (f *demoServer) Delete(user string) error {
	return f.change(user, func(m *DemoMailbox) { *m = DemoMailbox{User: m.User, Label: m.Label} })
}
func (f *demoServer) Start() error {
	f.mu.Lock()
	f.running = true
	f.mu.Unlock()
	f.changed.Notify()
	return nil
}
func (f *demoServer) Stop()                              { f.mu.Lock(); f.running = false; f.mu.Unlock(); f.changed.Notify() }
func (f *demoServer) Changes() (<-chan struct{}, func()) { return f.changed.Subscribe() }

func getState(t *testing.T, url string) StateJSON {
	t.Helper()
	res, err := http.Get(url + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s StateJSON
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t *testing.T, url, body string, ctype string) *http.Response {
	t.Helper()
	res, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// The page of a real device shows what the indicators applied: the lamp,
// the LEDs and the display view; it never recomputes them.
func TestStatusPageOfRealDevice(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(2, 0))
	d.set(waiting(2))
	renders := 0
	s, err := New(Options{Source: d.src, Applied: d.app, DisplayInfo: hal.DisplayInfo{Width: 128, Height: 64},
		Problems: func() []string { return []string{"display: ssd1306 on bus \"1\" is not working"} },
		Render: func(v indicate.View, info hal.DisplayInfo) hal.Frame {
			renders++
			return hal.Frame{Image: fakeImage(info, int(v.Accounts[0].New))}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	st := getState(t, ts.URL)
	if st.Lamp.Name != "steady" || !st.Lamp.LitNow || len(st.Accounts) != 1 || st.Accounts[0].New != 2 || st.Demo != nil || st.Hook.Movable {
		t.Fatalf("state: %+v", st)
	}
	if len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], "display: ") {
		t.Fatalf("problems %q", st.Problems)
	}
	if st.LEDs[0].Account != "desk" || st.LEDs[0].Label != "Desk" || st.LEDs[1].Account != "" {
		t.Fatalf("leds: %+v", st.LEDs)
	}
	res, _ := http.Get(ts.URL + "/display.png")
	img, err := png.Decode(res.Body)
	res.Body.Close()
	if err != nil || img.Bounds().Dx() != 128 || renders != 1 {
		t.Fatalf("display.png: %v %v renders %d", err, img, renders)
	}
	// No demo controls and no hook on a real device.
	if r := post(t, ts.URL+"/api/demo/mailbox/1001/leave", "{}", "application/json"); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("demo control on a status page: %d", r.StatusCode)
	}
	if r := post(t, ts.URL+"/api/hook", `{"off_hook":true}`, "application/json"); r.StatusCode != http.StatusConflict {
		t.Fatalf("hook on a real device: %d", r.StatusCode)
	}
	// The page itself has no demo flag.
	res, _ = http.Get(ts.URL + "/")
	b := new(strings.Builder)
	bufio.NewReader(res.Body).WriteTo(b)
	res.Body.Close()
	if !strings.Contains(b.String(), `data-demo="false"`) || !strings.Contains(b.String(), `id="lamp"`) {
		t.Fatal("page lacks the lamp or has demo controls enabled")
	}
	version := st.Display.Version
	d.set(waiting(0))
	st = getState(t, ts.URL)
	if st.Lamp.Name != "off" || st.Lamp.LitNow {
		t.Fatalf("after the mailbox emptied: lamp %+v", st.Lamp)
	}
	if st.Display.Version == version {
		t.Fatal("display version did not change with the display view")
	}
	// Only what was applied is shown: a snapshot the indicators have not
	// applied yet does not change the lamp.
	d.src.set(waiting(5))
	if st := getState(t, ts.URL); st.Lamp.Name != "off" || st.Accounts[0].New != 5 {
		t.Fatalf("unapplied snapshot: lamp %s, accounts %+v", st.Lamp.Name, st.Accounts)
	}
}

func fakeImage(info hal.DisplayInfo, n int) *imageGray { return newGray(info.Width, info.Height, n) }

// The token is never taken from the URL: the page shell shows a login
// form, POST /login sets an HttpOnly session cookie, API clients send a
// bearer token; a wrong token costs time.
func TestToken(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(0, 0))
	s, _ := New(Options{Source: d.src, Applied: d.app, Token: "s3cret"})
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, c := range []struct {
		path string
		hdr  string
		want int
	}{
		{"/api/state", "", 401},
		{"/api/state?token=s3cret", "", 401},
		{"/api/events?token=s3cret", "", 401},
		{"/display.png", "", 401},
		{"/api/state", "Bearer wrong", 401},
		{"/api/state", "Bearer s3cret", 200},
		{"/static/app.js", "", 200},
	} {
		req, _ := http.NewRequest("GET", ts.URL+c.path, nil)
		if c.hdr != "" {
			req.Header.Set("Authorization", c.hdr)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s %q: %d, want %d", c.path, c.hdr, res.StatusCode, c.want)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := func() string {
		res, err := c.Get(ts.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := new(strings.Builder)
		bufio.NewReader(res.Body).WriteTo(b)
		return b.String()
	}
	if p := page(); !strings.Contains(p, `<form method="post" action="login">`) || strings.Contains(p, `id="lamp"`) {
		t.Fatal("page without a session is not the login form")
	}
	start := time.Now()
	res, err := c.PostForm(ts.URL+"/login", url.Values{"token": {"guess"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || time.Since(start) < time.Second {
		t.Fatalf("wrong token: %d after %v", res.StatusCode, time.Since(start))
	}
	res, err = c.PostForm(ts.URL+"/login", url.Values{"token": {"s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Path != "/" { // followed the 303 to the page
		t.Fatalf("login: %d %s", res.StatusCode, res.Request.URL)
	}
	u, _ := url.Parse(ts.URL)
	cookies := jar.Cookies(u)
	if len(cookies) != 1 || strings.Contains(cookies[0].Value, "s3cret") {
		t.Fatalf("session cookie %v", cookies)
	}
	if p := page(); !strings.Contains(p, `id="lamp"`) {
		t.Fatal("page with a session is not the phone page")
	}
	res, err = c.Get(ts.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("state with the session cookie: %d", res.StatusCode)
	}
}

// Only loopback names, IP addresses and configured names are served, and
// requests from another origin are refused: a DNS-rebinding page (its
// name resolving to 127.0.0.1) can neither read the state nor press the
// demo buttons.
func TestHostAndOriginChecks(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(0, 0))
	d.set(waiting(1))
	dm := &demoServer{running: true, boxes: []DemoMailbox{{User: "1001", Label: "Desk"}}}
	s, _ := New(Options{Source: d.src, Applied: d.app, Demo: dm, Hosts: []string{"mwi.example.net"}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(ts.URL, "http://"), ":")
	for _, c := range []struct {
		method, path, host, origin, site, mode string
		want                                   int
	}{
		{"GET", "/api/state", "", "", "", "", 200},
		{"GET", "/api/state", "localhost:" + port, "", "", "", 200},
		{"GET", "/api/state", "LocalHost.:" + port, "", "", "", 200},
		{"GET", "/api/state", "phone.localhost:" + port, "", "", "", 200},
		{"GET", "/api/state", "192.168.1.9:" + port, "", "", "", 200},
		{"GET", "/api/state", "[::1]:" + port, "", "", "", 200},
		{"GET", "/api/state", "[fe80::1%25eth0]:" + port, "", "", "", 200},
		{"GET", "/api/state", "[fe80::1%eth0]:" + port, "", "", "", 200},
		{"GET", "/api/state", "127.0.0.1.attacker.example:" + port, "", "", "", 421},
		{"GET", "/api/state", "localhost.attacker.example:" + port, "", "", "", 421},
		{"GET", "/api/state", "mwi.example.net:" + port, "", "", "", 200},
		{"GET", "/api/state", "rebind.attacker.example:" + port, "", "", "", 421},
		{"GET", "/", "rebind.attacker.example:" + port, "", "", "", 421},
		{"POST", "/api/demo/mailbox/1001/leave", "rebind.attacker.example:" + port, "http://rebind.attacker.example:" + port, "same-origin", "cors", 421},
		{"GET", "/api/state", "localhost:" + port, "http://localhost:" + port, "same-origin", "cors", 200},
		{"GET", "/api/events", "localhost:" + port, "http://attacker.example", "cross-site", "cors", 403},
		{"POST", "/api/demo/mailbox/1001/leave", "localhost:" + port, "http://attacker.example", "cross-site", "cors", 403},
		{"POST", "/api/demo/mailbox/1001/leave", "localhost:" + port, "null", "", "", 403},
		{"GET", "/display.png", "localhost:" + port, "", "cross-site", "no-cors", 403},
		{"GET", "/", "localhost:" + port, "", "cross-site", "navigate", 200},
		{"POST", "/api/demo/mailbox/1001/leave", "localhost:" + port, "http://localhost:" + port, "same-origin", "cors", 200},
	} {
		var body *strings.Reader
		if c.method == "POST" {
			body = strings.NewReader("{}")
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(c.method, ts.URL+c.path, body)
		if c.method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			req.Header.Set("Sec-Fetch-Site", c.site)
			req.Header.Set("Sec-Fetch-Mode", c.mode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		res.Body.Close()
		cancel()
		if res.StatusCode != c.want {
			t.Errorf("%s %s Host %q Origin %q Sec-Fetch %s/%s: %d, want %d", c.method, c.path, c.host, c.origin, c.site, c.mode, res.StatusCode, c.want)
		}
	}
	if m := dm.Mailboxes()[0]; m.New != 1 {
		t.Fatalf("%d messages left: only the same-origin POST may leave one", m.New)
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	if err := CheckListen("0.0.0.0:0", ""); err == nil || !strings.Contains(err.Error(), "http.token") {
		t.Fatalf("listening on 0.0.0.0 without a token: %v", err)
	}
	for _, ok := range []struct{ addr, token string }{{"0.0.0.0:8080", "t"}, {"127.0.0.1:0", ""}, {"[::1]:80", ""}, {"localhost:8080", ""}} {
		if err := CheckListen(ok.addr, ok.token); err != nil {
			t.Errorf("CheckListen(%q, %q): %v", ok.addr, ok.token, err)
		}
	}
	if err := CheckListen("no-port", "t"); err == nil {
		t.Error("CheckListen of an address without a port succeeded")
	}
}

func TestDemoControlsHookAndEvents(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(4, 1))
	d.hook = true
	d.set(waiting(0))
	dm := &demoServer{running: true, boxes: []DemoMailbox{{User: "1001", Label: "Desk"}, {User: "1002", Label: "Home"}, {User: "1003", Label: "Fax"}}}
	s, _ := New(Options{Source: d.src, Applied: d.app, Device: d, Demo: dm,
		ToneWAV: func(name string) ([]byte, error) { return []byte("RIFF" + name), nil }})
	ts := httptest.NewServer(s)
	defer ts.Close()

	// Live updates: the first event is the current state, the next follows
	// a change.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan StateJSON, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var st StateJSON
				json.Unmarshal([]byte(d), &st)
				events <- st
			}
		}
	}()
	next := func(what string, ok func(StateJSON) bool) StateJSON {
		t.Helper()
		deadline := time.After(3 * time.Second)
		for {
			select {
			case st := <-events:
				if ok(st) {
					return st
				}
			case <-deadline:
				t.Fatalf("no event with %s", what)
			}
		}
	}
	first := next("demo mailboxes", func(s StateJSON) bool { return s.Demo != nil && len(s.Demo.Mailboxes) == 3 && s.Demo.Running })
	if first.Line == nil || !first.Line.MWI || len(first.Log) != 12 || first.Log[11].What != "pattern 29" || first.Log[10].What != "playing" {
		t.Fatalf("line %+v, log %+v", first.Line, first.Log)
	}

	// Controls need JSON (a cross-site form cannot post).
	if r := post(t, ts.URL+"/api/demo/mailbox/1001/leave", "", "application/x-www-form-urlencoded"); r.StatusCode != 400 {
		t.Fatalf("form post: %d", r.StatusCode)
	}
	if r := post(t, ts.URL+"/api/demo/mailbox/1001/leave-urgent", "{}", "application/json"); r.StatusCode != 200 {
		t.Fatalf("leave: %d", r.StatusCode)
	}
	next("an urgent message in mailbox 1001", func(s StateJSON) bool { return s.Demo.Mailboxes[0].UrgentNew == 1 && s.Demo.Mailboxes[0].New == 1 })
	if r := post(t, ts.URL+"/api/demo/mailbox/9/leave", "{}", "application/json"); r.StatusCode != 404 {
		t.Fatalf("unknown mailbox: %d", r.StatusCode)
	}
	// The applied outputs change: an event follows.
	d.set(waiting(1))
	next("messages waiting", func(s StateJSON) bool {
		return len(s.Accounts) == 1 && s.Accounts[0].Waiting == "yes" && s.Lamp.Name == "steady"
	})

	// Lifting the handset moves the device's hook; with messages waiting
	// (as applied) the tone is stutter.
	if r := post(t, ts.URL+"/api/hook", `{"off_hook":true}`, "application/json"); r.StatusCode != 200 {
		t.Fatalf("hook: %d", r.StatusCode)
	}
	if _, off := d.Hook(); !off {
		t.Fatal("device hook not off-hook")
	}
	next("handset lifted", func(s StateJSON) bool { return s.Hook.OffHook })
	if st := getState(t, ts.URL); st.Hook.Tone != "stutter" || !st.Hook.OffHook {
		t.Fatalf("off-hook with messages: hook %+v", st.Hook)
	}
	d.set(waiting(0))
	if st := getState(t, ts.URL); st.Hook.Tone != "dial" {
		t.Fatalf("off-hook without messages: tone %q", st.Hook.Tone)
	}
	res2, _ := http.Get(ts.URL + "/tone/stutter.wav")
	res2.Body.Close()
	if res2.StatusCode != 200 || res2.Header.Get("Content-Type") != "audio/wav" || s.ToneRequests("stutter") != 1 {
		t.Fatalf("tone: %d %s, %d requests", res2.StatusCode, res2.Header.Get("Content-Type"), s.ToneRequests("stutter"))
	}
	// Stop the server from the page.
	if r := post(t, ts.URL+"/api/demo/server", `{"running":false}`, "application/json"); r.StatusCode != 200 || dm.Running() {
		t.Fatalf("stop: %d running %v", r.StatusCode, dm.Running())
	}
	next("server stopped", func(s StateJSON) bool { return s.Demo != nil && !s.Demo.Running })
	if r := post(t, ts.URL+"/api/demo/server", `{"running":true}`, "application/json"); r.StatusCode != 200 || !dm.Running() {
		t.Fatalf("start: %d running %v", r.StatusCode, dm.Running())
	}
}

// The tone and the static files answer byte ranges as net/http's
// ServeContent does for one range; several ranges get the whole body.
func TestByteRanges(t *testing.T) {
	body := []byte("0123456789")
	for _, c := range []struct {
		rng          string
		status       int
		want, crange string
	}{
		{"", 200, "0123456789", ""},
		{"bytes=0-3", 206, "0123", "bytes 0-3/10"},
		{"bytes=7-", 206, "789", "bytes 7-9/10"},
		{"bytes=-2", 206, "89", "bytes 8-9/10"},
		{"bytes=-20", 206, "0123456789", "bytes 0-9/10"},
		{"bytes=0-", 206, "0123456789", "bytes 0-9/10"},
		{"bytes=5-100", 206, "56789", "bytes 5-9/10"},
		{"bytes=0-0,5-6", 200, "0123456789", ""},
		{"bytes=10-", 416, "", "bytes */10"},
		{"bytes=-0", 416, "", "bytes */10"},
		{"bytes=3-1", 200, "0123456789", ""},
		{"items=0-1", 200, "0123456789", ""},
		{"bytes=x-y", 200, "0123456789", ""},
	} {
		for _, ref := range []bool{false, true} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/x.wav", nil)
			if c.rng != "" {
				r.Header.Set("Range", c.rng)
			}
			if ref { // what net/http does, for the cases it answers alike
				if c.status == 200 && c.rng != "" || c.rng == "bytes=-0" {
					continue // ignored here, refused (416) or multipart there: both allowed
				}
				http.ServeContent(w, r, "x.wav", time.Time{}, bytes.NewReader(body))
			} else {
				serveBytes(w, r, body)
			}
			got := w.Body.String()
			if c.status == 416 {
				got = ""
			}
			if w.Code != c.status || got != c.want || w.Header().Get("Content-Range") != c.crange || w.Header().Get("Accept-Ranges") != "bytes" && !ref {
				t.Errorf("Range %q (net/http %v): %d %q %q, want %d %q %q", c.rng, ref, w.Code, got, w.Header().Get("Content-Range"), c.status, c.want, c.crange)
			}
		}
	}
}

// The page's files, with their types; nothing else under /static/.
func TestStaticFiles(t *testing.T) {
	d := newDevice(indicate.DefaultPolicy(0, 0))
	s, err := New(Options{Source: d.src, Applied: d.app})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, ctype string }{
		{"/static/app.js", "text/javascript; charset=utf-8"},
		{"/static/style.css", "text/css; charset=utf-8"},
		{"/static/index.html", "text/html; charset=utf-8"},
		{"/static/", ""}, {"/static/nope.js", ""}, {"/static/../web.go", ""},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1"+c.path, nil))
		want := 200
		if c.ctype == "" {
			want = 404
		}
		if w.Code != want && !(c.ctype == "" && w.Code/100 == 3) || c.ctype != "" && (w.Header().Get("Content-Type") != c.ctype || w.Body.Len() == 0) {
			t.Errorf("%s: %d %q (%d bytes)", c.path, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
	}
}
