package web

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/sim"
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

func TestStatusPageOfRealDevice(t *testing.T) {
	src := &fakeSource{}
	src.set(waiting(2))
	renders := 0
	s, err := New(Options{Source: src, Policy: indicate.DefaultPolicy(2, 0), DisplayInfo: hal.DisplayInfo{Width: 128, Height: 64},
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
	src.set(waiting(0))
	if st := getState(t, ts.URL); st.Lamp.Name != "off" || st.Lamp.LitNow {
		t.Fatalf("after the mailbox emptied: lamp %+v", st.Lamp)
	}
}

func fakeImage(info hal.DisplayInfo, n int) *imageGray { return newGray(info.Width, info.Height, n) }

func TestToken(t *testing.T) {
	src := &fakeSource{}
	s, _ := New(Options{Source: src, Token: "s3cret"})
	ts := httptest.NewServer(s)
	defer ts.Close()
	for _, c := range []struct {
		path string
		hdr  string
		want int
	}{
		{"/api/state", "", 401},
		{"/api/state?token=wrong", "", 401},
		{"/api/state?token=s3cret", "", 200},
		{"/api/state", "Bearer s3cret", 200},
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
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	s, _ := New(Options{Source: &fakeSource{}})
	err := s.ListenAndServe(context.Background(), "0.0.0.0:0", nil)
	if err == nil || !strings.Contains(err.Error(), "http.token") {
		t.Fatalf("listening on 0.0.0.0 without a token: %v", err)
	}
}

func TestDemoControlsHookAndEvents(t *testing.T) {
	srv, err := demo.New(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	board := sim.New(sim.Options{LEDs: 4, Hook: true, Line: true, Display: hal.DisplayInfo{Width: 128, Height: 64}})
	src := &fakeSource{}
	src.set(waiting(0))
	s, _ := New(Options{Source: src, Policy: indicate.DefaultPolicy(4, 1), Board: board, Demo: srv,
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
	next("demo mailboxes", func(s StateJSON) bool { return s.Demo != nil && len(s.Demo.Mailboxes) == 3 && s.Demo.Running })

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
	// The snapshot source changes: an event follows.
	src.set(waiting(1))
	next("messages waiting", func(s StateJSON) bool { return len(s.Accounts) == 1 && s.Accounts[0].Waiting == "yes" })

	// Lifting the handset moves the sim hook; with messages waiting the
	// tone is stutter.
	if r := post(t, ts.URL+"/api/hook", `{"off_hook":true}`, "application/json"); r.StatusCode != 200 {
		t.Fatalf("hook: %d", r.StatusCode)
	}
	if off, _ := board.Hook.OffHook(); !off {
		t.Fatal("sim hook not off-hook")
	}
	select {
	case ev := <-board.Hook.Events():
		if !ev.OffHook {
			t.Fatal("hook event on-hook")
		}
	default:
		t.Fatal("no hook event")
	}
	if st := getState(t, ts.URL); st.Hook.Tone != "stutter" || !st.Hook.OffHook {
		t.Fatalf("off-hook with messages: hook %+v", st.Hook)
	}
	src.set(waiting(0))
	if st := getState(t, ts.URL); st.Hook.Tone != "dial" {
		t.Fatalf("off-hook without messages: tone %q", st.Hook.Tone)
	}
	res2, _ := http.Get(ts.URL + "/tone/stutter.wav")
	res2.Body.Close()
	if res2.StatusCode != 200 || res2.Header.Get("Content-Type") != "audio/wav" || s.ToneRequests("stutter") != 1 {
		t.Fatalf("tone: %d %s, %d requests", res2.StatusCode, res2.Header.Get("Content-Type"), s.ToneRequests("stutter"))
	}
	// Stop the server from the page.
	if r := post(t, ts.URL+"/api/demo/server", `{"running":false}`, "application/json"); r.StatusCode != 200 || srv.Running() {
		t.Fatalf("stop: %d running %v", r.StatusCode, srv.Running())
	}
	next("server stopped", func(s StateJSON) bool { return s.Demo != nil && !s.Demo.Running })
	if r := post(t, ts.URL+"/api/demo/server", `{"running":true}`, "application/json"); r.StatusCode != 200 || !srv.Running() {
		t.Fatalf("start: %d running %v", r.StatusCode, srv.Running())
	}
}
