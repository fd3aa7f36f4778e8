package sipua

import (
	"context"
	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// 401 then 200 on REGISTER, then SUBSCRIBE (challenged too), NOTIFY →
// mailbox; a second NOTIFY clears it; shutdown un-SUBSCRIBEs and
// un-REGISTERs with Expires: 0.
func TestRegisterSubscribeNotifyUDP(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("1001", "udp"))

	r1 := p.next(sip.REGISTER, 2*time.Second)
	if r1.GetHeader("Authorization") != nil {
		t.Fatal("first REGISTER already has credentials")
	}
	r2 := p.next(sip.REGISTER, 2*time.Second)
	if r2.GetHeader("Authorization") == nil {
		t.Fatal("second REGISTER has no Authorization")
	}
	if r1.Via().Params.GetOr("branch", "") == r2.Via().Params.GetOr("branch", "") {
		t.Error("answer to the challenge reused the Via branch")
	}
	if r2.CSeq().SeqNo != r1.CSeq().SeqNo+1 || r2.CallID().Value() != r1.CallID().Value() {
		t.Errorf("CSeq %d → %d, Call-ID %s → %s: want CSeq+1, same Call-ID", r1.CSeq().SeqNo, r2.CSeq().SeqNo, r1.CallID(), r2.CallID())
	}
	if got := r2.Contact().Address.Port; got != h.ua.UDPAddr().(*net.UDPAddr).Port {
		t.Errorf("Contact port %d, want the listener's %d", got, h.ua.UDPAddr().(*net.UDPAddr).Port)
	}
	s := p.next(sip.SUBSCRIBE, 2*time.Second)
	if ev := s.GetHeader("Event"); ev == nil || ev.Value() != "message-summary" {
		t.Errorf("SUBSCRIBE Event = %v", ev)
	}
	if acc := s.GetHeader("Accept"); acc == nil || acc.Value() != "application/simple-message-summary" {
		t.Errorf("SUBSCRIBE Accept = %v", acc)
	}
	mb := h.waitWaiting("1001", state.WaitingYes, 2, 3*time.Second)
	if c := mb.Classes[state.ClassVoice]; c.Old != 1 || c.UrgentNew != 1 {
		t.Errorf("counts %+v", c)
	}
	if mb.Source != state.SourceSubscribed || mb.MessageAccount != "sip:*97@test.local" {
		t.Errorf("source %v account %q", mb.Source, mb.MessageAccount)
	}
	h.waitHealth("1001", state.HealthSubscribed, time.Second)

	sub := p.onlySub()
	if res, err := p.notify(sub, "active;expires=50", bodyNo); err != nil || res.StatusCode != 200 {
		t.Fatalf("NOTIFY answered %v %v", res, err)
	}
	h.waitWaiting("1001", state.WaitingNo, 0, time.Second)

	p.drain()
	cancel()
	// Un-SUBSCRIBE and un-REGISTER go out together, in either order.
	var un, ur *sip.Request
	for deadline := time.After(slack * 2 * time.Second); un == nil || ur == nil; {
		select {
		case r := <-p.reqs:
			switch r.Method {
			case sip.SUBSCRIBE:
				un = r
			case sip.REGISTER:
				ur = r
			}
		case <-deadline:
			t.Fatalf("after shutdown: un-SUBSCRIBE %v, un-REGISTER %v", un != nil, ur != nil)
		}
	}
	if un.GetHeader("Expires").Value() != "0" || un.CallID().Value() != sub.callID {
		t.Errorf("un-SUBSCRIBE: Expires %s Call-ID %s", un.GetHeader("Expires").Value(), un.CallID())
	}
	if tag, _ := un.To().Params.Get("tag"); tag != sub.toTag {
		t.Errorf("un-SUBSCRIBE To-tag %q, want %q", tag, sub.toTag)
	}
	if ur.GetHeader("Expires").Value() != "0" {
		t.Errorf("un-REGISTER Expires %s", ur.GetHeader("Expires").Value())
	}
	done := make(chan struct{})
	go func() { h.ua.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("worker did not stop")
	}
}

// 407 on SUBSCRIBE with SHA-256; the refresh reuses the challenge with
// nc=2 (pre-emptive), fresh Via branch and CSeq+1 in the dialog.
func TestProxyAuthSubscribeSHA256AndRefresh(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.alg = "SHA-256"
	p.mu.Unlock()
	p.mu.Lock()
	p.proxyAuthSubscribe = true
	p.mu.Unlock()
	p.mu.Lock()
	p.grantSub = 2 // refresh after 1 s
	p.mu.Unlock()
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1002", "udp")
	cfg.Register = false
	h.start(ctx, cfg)

	s1 := p.next(sip.SUBSCRIBE, 2*time.Second)
	s2 := p.next(sip.SUBSCRIBE, 2*time.Second)
	pa := s2.GetHeader("Proxy-Authorization")
	if s1.GetHeader("Proxy-Authorization") != nil || pa == nil {
		t.Fatalf("want the 407 answered with Proxy-Authorization; got %v", pa)
	}
	cred, _ := digest.ParseCredentials(pa.Value())
	if cred.Algorithm != "SHA-256" || cred.QOP != "auth" || cred.Nc != 1 {
		t.Errorf("credentials alg=%s qop=%s nc=%d", cred.Algorithm, cred.QOP, cred.Nc)
	}
	h.waitWaiting("1002", state.WaitingYes, 2, 2*time.Second)
	s3 := p.next(sip.SUBSCRIBE, 3*time.Second) // refresh
	if tag, _ := s3.To().Params.Get("tag"); tag == "" || s3.CallID().Value() != s2.CallID().Value() {
		t.Errorf("refresh is not in the dialog: To-tag %q Call-ID %s", tag, s3.CallID())
	}
	if s3.CSeq().SeqNo != s2.CSeq().SeqNo+1 || s3.Via().Params.GetOr("branch", "") == s2.Via().Params.GetOr("branch", "") {
		t.Errorf("refresh CSeq %d after %d, branch reused: %v", s3.CSeq().SeqNo, s2.CSeq().SeqNo, s3.Via().Params.GetOr("branch", "") == s2.Via().Params.GetOr("branch", ""))
	}
	if s3.Recipient.Port != p.port("udp") {
		t.Errorf("refresh Request-URI %s, want the remote target from Contact", s3.Recipient.String())
	}
	pa3 := s3.GetHeader("Proxy-Authorization")
	if pa3 == nil {
		t.Fatal("refresh without pre-emptive credentials")
	}
	c3, _ := digest.ParseCredentials(pa3.Value())
	if c3.Nonce != cred.Nonce || c3.Nc != 2 {
		t.Errorf("refresh reused nonce=%v nc=%d, want same nonce, nc=2", c3.Nonce == cred.Nonce, c3.Nc)
	}
}

// The NOTIFY arrives before the 2xx: it creates the dialog.
func TestNotifyBeforeOK(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.notifyFirst = true
	p.mu.Unlock()
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx, h.account("1003", "udp"))
	h.waitWaiting("1003", state.WaitingYes, 2, 3*time.Second)
	h.waitHealth("1003", state.HealthSubscribed, time.Second)
	sub := p.onlySub()
	if res, err := p.notify(sub, "active", bodyNo); err != nil || res.StatusCode != 200 {
		t.Fatalf("in-dialog NOTIFY answered %v %v", res, err)
	}
	h.waitWaiting("1003", state.WaitingNo, 0, time.Second)
}

// 423 with Min-Expires: the next REGISTER asks for Min-Expires.
func TestIntervalTooBrief(t *testing.T) {
	p := newPBX(t, nil)
	h := newHarness(t, p, nil)
	p.mu.Lock()
	p.onReg = func(req *sip.Request) *sip.Response {
		if req.GetHeader("Expires").Value() == "60" {
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", "120"))
			return res
		}
		return nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1004", "udp")
	cfg.Subscribe = false
	h.start(ctx, cfg)
	p.next(sip.REGISTER, 2*time.Second) // 60 → 423
	r := p.next(sip.REGISTER, 2*time.Second)
	if got := r.GetHeader("Expires").Value(); got != "120" {
		t.Errorf("after 423 Expires = %s, want 120", got)
	}
	h.waitHealth("1004", state.HealthRegistered, 2*time.Second)
}

// Each termination reason: re-subscribe at once (new Call-ID), after
// retry-after, or not at all.
func TestTerminationReasons(t *testing.T) {
	for _, tt := range []struct {
		reason     string
		resub      bool
		minDelay   time.Duration
		wantHealth state.Health
	}{
		{"deactivated", true, 0, state.HealthSubscribed},
		{"timeout", true, 0, state.HealthSubscribed},
		{"probation;retry-after=1", true, 900 * time.Millisecond, state.HealthSubscribed},
		{"giveup", true, 0, state.HealthSubscribed},
		{"rejected", false, 0, state.HealthRejected},
		{"noresource", false, 0, state.HealthRejected},
		{"invariant", false, 0, state.HealthRejected},
	} {
		t.Run(strings.Split(tt.reason, ";")[0], func(t *testing.T) {
			p := newPBX(t, nil)
			p.setBody(bodyYes)
			h := newHarness(t, p, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := h.account("1005", "udp")
			cfg.Register = false
			h.start(ctx, cfg)
			h.waitWaiting("1005", state.WaitingYes, 2, 3*time.Second)
			sub := p.onlySub()
			p.drain()
			sent := time.Now()
			if res, err := p.notify(sub, "terminated;reason="+tt.reason, ""); err != nil || res.StatusCode != 200 {
				t.Fatalf("terminating NOTIFY answered %v %v", res, err)
			}
			if !tt.resub {
				p.none(sip.SUBSCRIBE, 700*time.Millisecond)
				u := h.waitHealth("1005", tt.wantHealth, time.Second)
				if !strings.Contains(u.LastReason, strings.Split(tt.reason, ";")[0]) {
					t.Errorf("reason %q does not name %s", u.LastReason, tt.reason)
				}
				if mb := h.mailbox("1005"); mb.Waiting != state.WaitingUnknown {
					t.Errorf("after a final termination waiting = %v, want unknown", mb.Waiting)
				}
				// A configuration reload retries at once.
				h.ua.Retry("1005")
				p.next(sip.SUBSCRIBE, 2*time.Second)
				h.waitHealth("1005", state.HealthSubscribed, 2*time.Second)
				return
			}
			s := p.next(sip.SUBSCRIBE, 3*time.Second)
			if d := time.Since(sent); d < tt.minDelay {
				t.Errorf("re-subscribed after %v, want ≥ %v", d, tt.minDelay)
			}
			if s.CallID().Value() == sub.callID {
				t.Error("re-subscription reused the Call-ID")
			}
			if tag, _ := s.To().Params.Get("tag"); tag != "" {
				t.Error("re-subscription has a To-tag")
			}
			h.waitHealth("1005", tt.wantHealth, 2*time.Second)
		})
	}
}

// 481 to a refresh: new subscription with a new Call-ID.
func TestRefresh481(t *testing.T) {
	p := newPBX(t, nil)
	p.mu.Lock()
	p.grantSub = 2
	p.mu.Unlock()
	p.setBody(bodyYes)
	h := newHarness(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1006", "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	h.waitWaiting("1006", state.WaitingYes, 2, 3*time.Second)
	first := p.onlySub()
	p.mu.Lock()
	delete(p.subs, first.callID) // the server forgot it (restart)
	p.mu.Unlock()
	var fresh *sip.Request
	deadline := time.Now().Add(4 * time.Second)
	for fresh == nil && time.Now().Before(deadline) {
		s := p.next(sip.SUBSCRIBE, 4*time.Second)
		if s.CallID().Value() != first.callID {
			fresh = s
		}
	}
	if fresh == nil {
		t.Fatal("no new subscription after 481")
	}
	if tag, _ := fresh.To().Params.Get("tag"); tag != "" {
		t.Error("new subscription has a To-tag")
	}
	h.waitHealth("1006", state.HealthSubscribed, 2*time.Second)
}

// A malformed body is answered 400, logged, and does not clear a lit state;
// a body with a garbage count line keeps its status line and logs the
// skipped line; an old CSeq is answered 200 and ignored.
func TestMalformedAndOldNotify(t *testing.T) {
	p := newPBX(t, nil)
	p.setBody(bodyYes)
	var logBuf syncbuf.Buffer
	h := newHarness(t, p, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := h.account("1008", "udp")
	cfg.Register = false
	h.start(ctx, cfg)
	h.waitWaiting("1008", state.WaitingYes, 2, 3*time.Second)
	sub := p.onlySub()
	res, err := p.notify(sub, "active", "this is not a message summary")
	if err != nil || res.StatusCode != 400 {
		t.Fatalf("malformed NOTIFY answered %v %v, want 400", res, err)
	}
	time.Sleep(100 * time.Millisecond)
	if mb := h.mailbox("1008"); mb.Waiting != state.WaitingYes {
		t.Fatalf("malformed NOTIFY changed waiting to %v", mb.Waiting)
	}
	if l := logBuf.String(); !strings.Contains(l, "level=WARN msg=\"sipua: NOTIFY body unusable; answered 400, state kept\"") {
		t.Errorf("malformed NOTIFY not logged as a warning; log:\n%s", l)
	}
	res, err = p.notify(sub, "active", "Messages-Waiting: yes\r\nVoice-Message: -1/0\r\n")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("NOTIFY with a bad count line answered %v %v, want 200", res, err)
	}
	time.Sleep(100 * time.Millisecond)
	if mb := h.mailbox("1008"); mb.Waiting != state.WaitingYes {
		t.Fatalf("NOTIFY with a bad count line changed waiting to %v", mb.Waiting)
	}
	if l := logBuf.String(); !strings.Contains(l, "sipua: NOTIFY body lines skipped") || !strings.Contains(l, "-1/0") {
		t.Errorf("skipped count line not logged with its text; log:\n%s", l)
	}
	p.mu.Lock()
	old := sub.cseq - 1
	p.mu.Unlock()
	res, err = p.notifyCSeq(sub, "active", bodyNo, old)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("old NOTIFY answered %v %v, want 200", res, err)
	}
	time.Sleep(100 * time.Millisecond)
	if mb := h.mailbox("1008"); mb.Waiting != state.WaitingYes {
		t.Fatalf("old-CSeq NOTIFY changed waiting to %v", mb.Waiting)
	}
	// A NOTIFY for a dialog that does not exist: 481.
	ghost := *sub
	ghost.callID = "ghost"
	res, err = p.notify(&ghost, "active", bodyNo)
	if err != nil || res.StatusCode != 481 {
		t.Errorf("NOTIFY for an unknown dialog answered %v %v, want 481", res, err)
	}
}
