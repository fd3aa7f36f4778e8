package sipua

// Scripted-server tests for liveness, the restart check and the
// staleness of unsolicited-only accounts (issue 11 items 1, 2, 5), each
// asserting what the lamp shows.

import (
	"context"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// watchLamp fails the test if the account's lamp is ever plain off while
// it runs; stop it with the returned function.
func (h *harness) neverOff(name string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if l := h.lamp(name); l.Name == indicate.PatternOff.Name {
				h.t.Errorf("%s: the lamp went plain off (health %v)", name, h.health(name).Health)
				return
			}
		}
	}()
	return func() { close(stop); <-done }
}

// UDP: one OPTIONS probe per server shared by its accounts; a server that
// stops answering makes every account unreachable and the lamp "cannot
// know" (never off); when it answers again they are back at once.
func TestLivenessUDP(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	const every = 300 * time.Millisecond
	h := newHarness(t, p, func(o *Options) { o.Liveness, o.ProbeTimeout = every, 500*time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("1201", "udp"))
	h.start(ctx, h.account("1202", "udp"))
	for _, n := range []string{"1201", "1202"} {
		h.waitWaiting(n, state.WaitingYes, 2, 3*time.Second)
		h.waitHealth(n, state.HealthSubscribed, time.Second)
	}
	h.wantLamp("1201", indicate.PatternUrgent, "subscribed")

	// Steady state: one probe per interval for both accounts together.
	p.options.Store(0)
	time.Sleep(10 * every)
	if n := p.options.Load(); n < 5 || n > 13 {
		t.Errorf("%d OPTIONS in %v with a %v interval and two accounts; want about 10 (one prober per server)", n, 10*every, every)
	}

	p.mute.Store(true)
	stop := h.neverOff("1201")
	t0 := time.Now()
	for _, n := range []string{"1201", "1202"} {
		h.waitHealth(n, state.HealthUnreachable, 3*time.Second)
	}
	t.Logf("unreachable after %v (interval %v + probe timeout 500ms)", time.Since(t0).Round(time.Millisecond), every)
	h.wantLamp("1201", indicate.PatternUnknown, "server does not answer: cannot know")
	p.mute.Store(false)
	t1 := time.Now()
	for _, n := range []string{"1201", "1202"} {
		h.waitHealth(n, state.HealthSubscribed, 2*time.Second)
	}
	stop()
	t.Logf("back after %v", time.Since(t1).Round(time.Millisecond))
	h.wantLamp("1201", indicate.PatternUrgent, "server answers again")
}

// TCP: a CRLF ping without a pong within PongTimeout is a dead flow: the
// account is unreachable at once, the connection is closed, and when the
// server answers again the account registers and subscribes over a new
// connection.
func TestLivenessTCPPong(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, func(o *Options) {
		o.Liveness, o.PongTimeout, o.ProbeTimeout = 300*time.Millisecond, 400*time.Millisecond, 500*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("1203", "tcp"))
	h.waitWaiting("1203", state.WaitingYes, 2, 3*time.Second)
	h.waitHealth("1203", state.HealthSubscribed, time.Second)
	time.Sleep(time.Second) // pings answered: stays subscribed
	if u := h.health("1203"); u.Health != state.HealthSubscribed {
		t.Fatalf("with pongs arriving: health %v", u.Health)
	}
	first := lastRegisterSource(t, p)

	p.mute.Store(true)
	stop := h.neverOff("1203")
	h.waitHealth("1203", state.HealthUnreachable, 3*time.Second)
	h.wantLamp("1203", indicate.PatternUnknown, "no pong: cannot know")
	p.drain()
	p.mute.Store(false)
	again := p.next(sip.REGISTER, 5*time.Second)
	if again.Source() == first {
		t.Errorf("registered again over the same connection %s; want a new one", again.Source())
	}
	p.next(sip.SUBSCRIBE, 3*time.Second)
	h.waitHealth("1203", state.HealthSubscribed, 5*time.Second)
	stop()
	h.wantLamp("1203", indicate.PatternUrgent, "back over a new connection")
}

// The restart check: a server that forgot the subscription (a restart)
// answers the next check 481; the account subscribes again and shows the
// state published meanwhile — without waiting for the grant's refresh.
func TestRestartCheck(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	p.mu.Lock()
	p.grantSub = 3600
	p.mu.Unlock()
	// 8 s: the account's request budget (AccountBudget per BudgetWindow,
	// start-up included) holds a check every 8 s, not every second.
	h := newHarness(t, p, func(o *Options) { o.RestartCheck = 8 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1204", "udp")
	cfg.Register = false
	cfg.SubscribeExpiry = 3600 * time.Second
	h.start(ctx, cfg)
	h.waitWaiting("1204", state.WaitingYes, 2, 3*time.Second)
	h.wantLamp("1204", indicate.PatternUrgent, "subscribed")

	// "Restart": the server forgets every subscription; the voicemail
	// store has a new state.
	p.mu.Lock()
	old := len(p.subs)
	p.subs = map[string]*pbxSub{}
	p.mu.Unlock()
	p.setBody(bodyNo)
	t0 := time.Now()
	h.waitWaiting("1204", state.WaitingNo, 0, 10*time.Second)
	t.Logf("new state shown %v after the server forgot %d subscription(s)", time.Since(t0).Round(time.Millisecond), old)
	h.wantLamp("1204", indicate.PatternOff, "the state the server has now")
	p.mu.Lock()
	n := len(p.subs)
	p.mu.Unlock()
	if n != 1 {
		t.Errorf("%d subscriptions at the server, want 1", n)
	}
}

// The check's interval stretches with the accounts on one server: one
// check per restartSpacing at most.
func TestRestartCheckScales(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, func(o *Options) { o.Liveness, o.RestartCheck = time.Hour, 10*time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var accts []*account
	for i := range 60 {
		cfg := h.account("13"+string(rune('0'+i/10))+string(rune('0'+i%10)), "udp")
		cfg.Register, cfg.Subscribe = false, false
		h.start(ctx, cfg)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && h.ua.accountsOn("udp", p.addr["udp"]) < 60 {
		time.Sleep(10 * time.Millisecond)
	}
	h.ua.mu.Lock()
	for _, a := range h.ua.accounts {
		accts = append(accts, a)
	}
	h.ua.mu.Unlock()
	a := accts[0]
	a.sub.granted = 3600 * time.Second
	for range 20 {
		if d := a.subRefreshDelay(); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("60 accounts on one server, restart_check 10s: check every %v, want 60 s ±10 %%", d)
		}
	}
}

// An account fed only by unsolicited NOTIFYs goes stale ("cannot know")
// when nothing confirms its state for UnsolicitedHorizon, and when its
// registration fails; a new NOTIFY vouches for it again.
func TestUnsolicitedStale(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.grantReg = 2 // refresh after 1 s
	p.mu.Unlock()
	srv := listenUDP(t, "127.0.0.1:0")
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1205", "udp")
	cfg.Subscribe = false
	cfg.UnsolicitedFrom = []string{"127.0.0.1"}
	cfg.UnsolicitedHorizon = 700 * time.Millisecond
	h.start(ctx, cfg)
	h.waitHealth("1205", state.HealthRegistered, 3*time.Second)
	agent := h.ua.UDPAddr().String()
	send := func(body string) {
		if a := rawNotify(t, srv, agent, "1205", body, uuid.NewString(), "vm", "", 1, 3*time.Second); a.code != 200 {
			t.Fatalf("unsolicited NOTIFY answered %d", a.code)
		}
	}
	send(bodyYes)
	h.waitWaiting("1205", state.WaitingYes, 2, time.Second)
	h.wantLamp("1205", indicate.PatternUrgent, "unsolicited yes")
	h.waitHealth("1205", state.HealthStale, 2*time.Second)
	h.wantLamp("1205", indicate.PatternUnknown, "nothing confirmed it within the horizon")
	send(bodyYes)
	h.waitHealth("1205", state.HealthRegistered, time.Second)
	h.wantLamp("1205", indicate.PatternUrgent, "confirmed again")

	// Registration refused on its next refresh: stale at once.
	var refused atomic.Bool
	refused.Store(true)
	p.mu.Lock()
	p.onReg = func(req *sip.Request) *sip.Response {
		if refused.Load() {
			return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
		}
		return nil
	}
	p.mu.Unlock()
	h.waitHealth("1205", state.HealthStale, 3*time.Second)
	h.wantLamp("1205", indicate.PatternUnknown, "registration refused")
}

// A server that ignores OPTIONS but answers the accounts' requests is
// learnt to do so (at most one short "unreachable" at first, while the
// first unanswered OPTIONS is all there is): from then on no OPTIONS are
// sent and its answers to the restart checks are the evidence. When it
// also stops answering those, it is unreachable within a check's interval.
func TestLivenessServerIgnoresOptions(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	p.dropOptions.Store(true)
	var logBuf syncbuf.Buffer
	h := newHarness(t, p, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
		o.Liveness, o.ProbeTimeout, o.RestartCheck = 400*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.subscribed(ctx, "1206")
	for deadline := time.Now().Add(slack * 3 * time.Second); !strings.Contains(logBuf.String(), "but not OPTIONS"); {
		if time.Now().After(deadline) {
			t.Fatalf("not learnt that the server ignores OPTIONS; log:\n%s", logBuf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.waitHealth("1206", state.HealthSubscribed, 2*time.Second)
	p.options.Store(0)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if u := h.health("1206"); u.Health != state.HealthSubscribed {
			t.Fatalf("server answering refreshes but not OPTIONS: health %v, want subscribed", u.Health)
		}
	}
	if n := p.options.Load(); n != 0 {
		t.Errorf("%d OPTIONS after learning the server ignores them", n)
	}
	stop := h.neverOff("1206")
	p.mute.Store(true)
	h.waitHealth("1206", state.HealthUnreachable, 3*time.Second)
	stop()
	h.wantLamp("1206", indicate.PatternUnknown, "nothing answers any more")
}

// A server that answers the accounts' own requests often enough costs no
// OPTIONS at all: the answers are the evidence.
func TestLivenessNoProbeWhileTrafficFlows(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	// The restart check runs every second (one account: 1 s spacing), the
	// probe every 1.5 s.
	h := newHarness(t, p, func(o *Options) { o.Liveness, o.RestartCheck = 1500*time.Millisecond, 200*time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.subscribed(ctx, "1207")
	time.Sleep(2 * time.Second) // the first probe (which always asks) is done
	p.options.Store(0)
	time.Sleep(4 * time.Second)
	if n := p.options.Load(); n > 0 {
		t.Errorf("%d OPTIONS in 4 s while refreshes were answered every second; want none", n)
	}
}
