package sipua

import (
	"context"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/hal/clock"
)

// The budget: AccountBudget requests go out at once, the next waits until
// the oldest leaves the window, and booked times never decrease.
func TestWindow(t *testing.T) {
	var w window
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range AccountBudget {
		if got := w.reserve(t0.Add(time.Duration(i) * time.Second)); !got.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("request %d delayed to %v", i, got.Sub(t0))
		}
	}
	// The 11th at +10 s waits for the first to age out: +60 s.
	if got := w.reserve(t0.Add(10 * time.Second)); got.Sub(t0) != BudgetWindow {
		t.Errorf("11th request at %v, want %v", got.Sub(t0), BudgetWindow)
	}
	// The 12th, asked for at +11 s, after the second: +61 s.
	if got := w.reserve(t0.Add(11 * time.Second)); got.Sub(t0) != BudgetWindow+time.Second {
		t.Errorf("12th request at %v, want 61s", got.Sub(t0))
	}
	// Much later: no wait.
	if got := w.reserve(t0.Add(time.Hour)); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("after an hour delayed to %v", got.Sub(t0))
	}
}

func TestServerGateRate(t *testing.T) {
	s := &serverGate{slots: make(chan struct{}, 1), rate: 10, burst: 2, tokens: 2}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	waits := []time.Duration{s.take(t0), s.take(t0), s.take(t0), s.take(t0)}
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("request %d waits %v, want %v", i, waits[i], want[i])
		}
	}
	// A second later the bucket is full again (burst 2).
	if w := s.take(t0.Add(time.Second)); w != 0 {
		t.Errorf("after a second: wait %v", w)
	}
}

func TestClamps(t *testing.T) {
	if got := clampRetryAfter(seconds(1_000_000_000)); got != MaxRetryAfter {
		t.Errorf("Retry-After 10^9 s → %v, want %v", got, MaxRetryAfter)
	}
	if got := clampGrant(seconds(1_000_000_000)); got != MaxGrant {
		t.Errorf("grant 10^9 s → %v, want %v", got, MaxGrant)
	}
	if got := seconds(math.MaxInt); got <= 0 {
		t.Errorf("seconds(MaxInt) overflowed to %v", got)
	}
	b := defaultBackoff()
	mid := func() float64 { return 0.5 }
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 50: 5 * time.Minute} {
		if got := b.Delay(n, 0, mid); got != want {
			t.Errorf("default backoff attempt %d: %v, want %v", n, got, want)
		}
	}
	if got := b.Delay(1, seconds(1_000_000_000), mid); got != MaxRetryAfter {
		t.Errorf("Retry-After 10^9 s makes the backoff %v, want %v", got, MaxRetryAfter)
	}
	var l leg[RegState]
	l.expiry = time.Minute
	for _, tt := range []struct {
		min  time.Duration
		want Event
	}{
		{time.Minute, EvTransient},       // equal: a failure
		{30 * time.Second, EvTransient},  // below: a failure
		{2 * time.Minute, EvTooBrief},    // above: ask again with it
		{MaxMinExpires + 1, EvTransient}, // above the cap: a failure
		{seconds(1_000_000_000), EvTransient},
	} {
		if got := l.tooBrief(Outcome{Event: EvTooBrief, MinExpires: tt.min}); got.Event != tt.want {
			t.Errorf("Min-Expires %v on %v asked: %v, want %v", tt.min, l.expiry, got.Event, tt.want)
		}
	}
}

// No head-of-line blocking: with one transaction slot per server, accounts
// whose server never answers (each REGISTER holds a slot for 32 s) do not
// delay an account on a healthy server.
func TestNoHeadOfLineBlocking(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	p := newPBX(t, nil)
	h := newHarness(t, p, func(o *Options) { o.MaxInFlight = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range []string{"d1", "d2", "d3"} {
		cfg := h.account(n, "udp")
		cfg.Server, cfg.Subscribe = dead.LocalAddr().String(), false
		h.start(ctx, cfg)
	}
	time.Sleep(100 * time.Millisecond) // the dead server's slot is taken
	cfg := h.account("live", "udp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	h.waitHealth("live", state.HealthRegistered, time.Second)
}

// A proxy's 407 and then the registrar's 401 (another realm): both are
// answered on the next REGISTER, each with its own realm and nonce.
func TestProxyAndRegistrarRealms(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	check := func(req *sip.Request, header, realm, password string) bool {
		for _, hv := range req.GetHeaders(header) {
			cred, err := digest.ParseCredentials(hv.Value())
			if err != nil || cred.Realm != realm {
				continue
			}
			want, err := digest.Digest(&digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, QOP: []string{"auth"}},
				digest.Options{Method: string(req.Method), URI: cred.URI, Username: cred.Username, Password: password, Count: cred.Nc, Cnonce: cred.Cnonce})
			return err == nil && want.Response == cred.Response
		}
		return false
	}
	p.mu.Lock()
	p.onReg = func(req *sip.Request) *sip.Response {
		if !check(req, "Proxy-Authorization", "proxy.test", "pw-5001") {
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="proxy.test", nonce="pn1", algorithm=MD5, qop="auth"`))
			return res
		}
		if !check(req, "Authorization", "test.local", "pw-5001") {
			return p.challenge(req, 401, false)
		}
		return p.registerOK(req)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("5001", "udp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	h.waitHealth("5001", state.HealthRegistered, 2*time.Second)
	var last *sip.Request
	for n := 0; n < 3; n++ {
		last = p.next(sip.REGISTER, time.Second)
	}
	if last.GetHeader("Authorization") == nil || last.GetHeader("Proxy-Authorization") == nil {
		t.Errorf("third REGISTER does not answer both challenges:\n%s", last)
	}
	if u := h.health("5001"); !strings.Contains(u.LastReason, "200") {
		t.Errorf("reason %q", u.LastReason)
	}
}

// A start-up of many accounts on one server is not held to the rate: each
// account joining brings StartupShare tokens. What comes after (retries,
// a mass re-registration) is: in any span t the server gets at most
// burst + rate×t requests without a wait.
func TestServerGateStartupShare(t *testing.T) {
	const accounts, rate, base = 1000, 200, 1000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &serverGate{slots: make(chan struct{}, 1), rate: rate, burst: base, base: base, tokens: base}
	for i := range accounts {
		s.join(true)
		// Each account's start-up: four requests, all at once.
		for r := range 4 {
			if w := s.take(t0); w != 0 {
				t.Fatalf("account %d request %d waits %v at start-up", i, r, w)
			}
		}
	}
	if want := float64(StartupShare * accounts); s.burst != want {
		t.Fatalf("burst %v with %d members, want %v", s.burst, accounts, want)
	}
	// The start-up tokens are spent: a storm from here on gets the rate.
	free := 0
	for range 10 * accounts {
		if s.take(t0) == 0 {
			free++
		}
	}
	if free > base+StartupShare*accounts-4*accounts {
		t.Fatalf("%d requests unthrottled after the start-up", free)
	}
	// Bounded: over 10 s of non-stop asking, no more than the start-up
	// tokens (base + a share per account) + rate×10 s
	// go out without waiting.
	s2 := &serverGate{slots: make(chan struct{}, 1), rate: rate, burst: base, base: base, tokens: base}
	for range accounts {
		s2.join(true)
	}
	sent := 0
	for ms := 0; ms < 10000; ms++ {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		for s2.take(now) == 0 {
			sent++
		}
	}
	if limit := base + StartupShare*accounts + rate*10 + 1; sent > limit {
		t.Fatalf("%d requests in 10 s, limit %d", sent, limit)
	}
	// Accounts leaving shrink the burst back to the base.
	for range accounts {
		s2.leave()
	}
	if s2.burst != base || s2.tokens > base {
		t.Fatalf("after all left: burst %v tokens %v", s2.burst, s2.tokens)
	}
	// A re-join (a move to another server) brings no new tokens.
	s3 := &serverGate{slots: make(chan struct{}, 1), rate: rate, burst: base, base: base, tokens: 0, last: t0}
	s3.join(false)
	if s3.tokens != 0 {
		t.Fatalf("a move added %v tokens", s3.tokens)
	}
}

// Queued transactions wait as closures: with two slots, a hundred jobs
// run at most two at a time, on at most two goroutines, and every one
// runs; a blocking acquire (the liveness probe) gets a slot after them.
// With one slot they run first come first served.
func TestServerGateQueue(t *testing.T) {
	for _, slots := range []int{1, 2} {
		s := &serverGate{slots: make(chan struct{}, slots), rate: 1e9, burst: 1e9, base: 1e9, tokens: 1e9}
		base := runtime.NumGoroutine()
		var mu sync.Mutex
		var order []int
		running, most, queued := 0, 0, 0
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			s.submit(func() {
				defer wg.Done()
				mu.Lock()
				order = append(order, i)
				running++
				most = max(most, running)
				mu.Unlock()
				<-gate
				mu.Lock()
				running--
				mu.Unlock()
			}, func() { queued++ })
		}
		if g := runtime.NumGoroutine() - base; g > slots {
			t.Fatalf("%d slots: %d goroutines for 100 queued jobs", slots, g)
		}
		if queued != 100-slots {
			t.Fatalf("%d slots: %d jobs reported queued, want %d", slots, queued, 100-slots)
		}
		probed := make(chan struct{})
		go func() {
			release, err := s.acquire(context.Background(), clock.Real{}, nil)
			if err != nil {
				t.Error(err)
			}
			release()
			close(probed)
		}()
		close(gate)
		wg.Wait()
		<-probed
		if most > slots {
			t.Fatalf("%d jobs ran at once on %d slots", most, slots)
		}
		for i := range order {
			if slots == 1 && order[i] != i {
				t.Fatalf("one slot: jobs ran in order %v", order)
			}
		}
		// The last job's goroutine frees its slot just after the job returned.
		for i := 0; i < 1000 && len(s.slots) != 0; i++ {
			time.Sleep(time.Millisecond)
		}
		s.mu.Lock()
		if len(s.slots) != 0 || len(s.waiting) != 0 {
			t.Fatalf("%d slots: after all, %d taken, %d waiting", slots, len(s.slots), len(s.waiting))
		}
		s.mu.Unlock()
	}
}
