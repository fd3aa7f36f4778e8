package agent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/indicate"
	"github.com/mwi-agent/mwi-agent/agent/internal/kamailiotest"
	"github.com/mwi-agent/mwi-agent/agent/persist"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

func acct(s state.Snapshot, name string) state.Account { a, _ := s.Account(name); return a }

// Restart: the persisted state is shown as last known, unconfirmed (the
// lamp's "cannot know" pattern, the age on the display) until the first
// NOTIFY replaces it; the saver writes the new state back.
func TestRestoreUntilFirstNotify(t *testing.T) {
	listen := freeUDP(t)
	cfg := unsolicitedConfig(t, listen, "desk-1001", "desk-1002")
	saved := time.Now().Add(-3 * time.Hour)
	if err := persist.Write(cfg.StateDir, saved, []persist.Account{
		{Name: "desk-1001", Waiting: "yes", Source: "subscribed", Updated: saved, Classes: map[string]state.Counts{state.ClassVoice: {New: 2}}},
		{Name: "gone", Waiting: "yes", Source: "manual", Updated: saved},
	}); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(resolve(t, cfg), agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, last, err := persist.Load(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.Restore(last); n != 1 {
		t.Fatalf("restored %d accounts, want 1 (the other is not configured)", n)
	}
	s := a.Snapshot()
	got := acct(s, "desk-1001")
	if !got.Unconfirmed() || got.Known() || got.RestoredFrom != state.SourceSubscribed || got.Voice().New != 2 || !got.Updated.Equal(saved) {
		t.Fatalf("restored account %+v", got)
	}
	out := indicate.Compute(s, indicate.DefaultPolicy(0, 1))
	if !out.Lamp.Equal(indicate.PatternUnknown) || !strings.Contains(out.Why, "last known") {
		t.Errorf("lamp %v (%s), want the cannot-know pattern", out.Lamp, out.Why)
	}
	if !out.FXS[0].MWI || !out.FXS[0].Unknown {
		t.Errorf("FXS %+v: an analog line keeps the last known 'waiting'", out.FXS[0])
	}
	if l := out.Display.Accounts[0].Label; l != "L0 3h" || out.Display.Accounts[0].Health != indicate.DisplayHealthStale {
		t.Errorf("display shows %q health %v, want the age and the stale glyph", l, out.Display.Accounts[0].Health)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-a.Started()
	saver := &persist.Saver{Dir: cfg.StateDir, Source: a}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- saver.Run(sctx) }()

	notify(t, listen, "desk-1001", "Messages-Waiting: no\r\nVoice-Message: 0/4\r\n")
	waitSnap(t, a, 2*time.Second, "first NOTIFY replaces the persisted state", func(s state.Snapshot) bool {
		a := acct(s, "desk-1001")
		return a.Source == state.SourceUnsolicited && a.Waiting == state.WaitingNo && a.RestoredFrom == state.SourceNone
	})
	if out := indicate.Compute(a.Snapshot(), indicate.DefaultPolicy(0, 0)); !out.Lamp.Equal(indicate.PatternOff) {
		t.Errorf("lamp %v after the NOTIFY, want off", out.Lamp)
	}
	scancel()
	<-sdone
	_, last, err = persist.Load(cfg.StateDir)
	if err != nil || len(last) != 1 || last[0].Waiting != state.WaitingNo || last[0].RestoredFrom != state.SourceUnsolicited {
		t.Errorf("file after the NOTIFY: %+v, %v", last, err)
	}
}

// Manual set and clear and their precedence with the server's NOTIFYs.
func TestManualPrecedence(t *testing.T) {
	listen := freeUDP(t)
	cfg := unsolicitedConfig(t, listen, "room-101", "room-102")
	a, _, _ := startAgent(t, cfg, nil)

	// No server report yet: a manual set, then the first NOTIFY replaces it.
	if _, err := a.Manual(state.ManualRequest{Action: "set", Account: "room-101", New: 3, Old: 1, Urgent: 1}); err != nil {
		t.Fatal(err)
	}
	got := acct(a.Snapshot(), "room-101")
	if got.Source != state.SourceManual || got.Waiting != state.WaitingYes || got.Voice() != (state.Counts{New: 3, Old: 1, UrgentNew: 1}) || !got.Known() {
		t.Fatalf("after set: %+v", got)
	}
	notify(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 2/0\r\n")
	waitSnap(t, a, 2*time.Second, "first report replaces", func(s state.Snapshot) bool {
		return acct(s, "room-101").Source == state.SourceUnsolicited
	})

	// Check-out: clear holds while the server repeats its old state ...
	if names, err := a.Manual(state.ManualRequest{Action: "clear", Account: "room-101"}); err != nil || len(names) != 1 {
		t.Fatal(names, err)
	}
	notify(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 2/0\r\n")
	time.Sleep(100 * time.Millisecond) // the NOTIFY is answered before it is applied
	if got := acct(a.Snapshot(), "room-101"); got.Source != state.SourceManual || got.Waiting != state.WaitingNo {
		t.Fatalf("a repeated report undid the manual clear: %+v", got)
	}
	if out := indicate.Compute(a.Snapshot(), indicate.Policy{UnknownPattern: true, Accounts: []indicate.AccountPolicy{{Name: "room-101", Lamp: true}, {Name: "room-102"}}}); !out.Lamp.Equal(indicate.PatternOff) {
		t.Errorf("lamp %v after check-out, want off", out.Lamp)
	}
	// ... until the server reports a change (a new message).
	notify(t, listen, "room-101", "Messages-Waiting: yes\r\nVoice-Message: 3/0\r\n")
	waitSnap(t, a, 2*time.Second, "a change replaces the manual clear", func(s state.Snapshot) bool {
		got := acct(s, "room-101")
		return got.Source == state.SourceUnsolicited && got.Voice().New == 3
	})

	// clear --all; unknown accounts and bad requests are errors.
	if names, err := a.Manual(state.ManualRequest{Action: "clear", All: true}); err != nil || len(names) != 2 {
		t.Fatalf("clear all: %v %v", names, err)
	}
	for _, r := range []state.ManualRequest{{Action: "set", Account: "nope"}, {Action: "set", Account: "room-101", New: 1, Urgent: 2}, {Action: "toggle", Account: "room-101"}, {Action: "clear"}} {
		if _, err := a.Manual(r); err == nil {
			t.Errorf("%+v accepted", r)
		} else {
			t.Log(err)
		}
	}
}

// A NOTIFY answered before a manual clear was asked for is older than the
// clear: the clear must win even when the loop finds both waiting at once.
func TestManualClearAfterAnsweredNotify(t *testing.T) {
	listen := freeUDP(t)
	// One account per round: unsolicited NOTIFYs are limited to 2 a
	// second per account.
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("desk-%d", 1001+i))
	}
	cfg := unsolicitedConfig(t, listen, names...)
	a, _, _ := startAgent(t, cfg, nil)
	for i, name := range names {
		release := a.HoldLoop(t)
		// Answered 200 only once its update is queued for the loop.
		code, err := kamailiotest.Send(listen, "NOTIFY", "sip:"+name+"@"+listen,
			[]string{"Event: message-summary", "Content-Type: application/simple-message-summary"},
			fmt.Sprintf("Messages-Waiting: yes\r\nVoice-Message: %d/0\r\n", i+1), 2*time.Second)
		if err != nil || code != 200 {
			release()
			t.Fatalf("round %d: NOTIFY answered %d %v while the loop was busy", i, code, err)
		}
		cleared := make(chan error, 1)
		go func() {
			_, err := a.Manual(state.ManualRequest{Action: "clear", Account: name})
			cleared <- err
		}()
		time.Sleep(20 * time.Millisecond) // let the clear reach the loop's queue
		release()
		if err := <-cleared; err != nil {
			t.Fatal(err)
		}
		if got := acct(a.Snapshot(), name); got.Source != state.SourceManual || got.Waiting != state.WaitingNo {
			t.Fatalf("round %d: the older NOTIFY undid the manual clear: %+v", i, got)
		}
	}
}

// The status socket takes manual requests (mwi-agent mwi) and serves the
// troubleshooting view (mwi-agent status --verbose).
func TestStatusSocketManualAndDiag(t *testing.T) {
	listen := freeUDP(t)
	cfg := unsolicitedConfig(t, listen, "desk-1001")
	a, _, _ := startAgent(t, cfg, nil)
	sock := filepath.Join(cfg.StateDir, agent.StatusSocket)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.ServeStatus(ctx, sock)
	notify(t, listen, "desk-1001", "Messages-Waiting: yes\r\nVoice-Message: 3/0\r\n")
	code, err := kamailiotest.Send(listen, "NOTIFY", "sip:desk-1001@"+listen,
		[]string{"Event: message-summary"}, "Messages-Waiting: perhaps\r\n", 2*time.Second)
	if err != nil || code != 400 {
		t.Fatalf("bad NOTIFY: %d %v", code, err)
	}
	var names []string
	for range 100 {
		if names, err = agent.SendManual(ctx, sock, state.ManualRequest{Action: "clear", Account: "desk-1001"}); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || len(names) != 1 {
		t.Fatal(names, err)
	}
	if got := acct(a.Snapshot(), "desk-1001"); got.Source != state.SourceManual || got.Waiting != state.WaitingNo {
		t.Errorf("after mwi clear: %+v", got)
	}
	if _, err := agent.SendManual(ctx, sock, state.ManualRequest{Action: "clear", Account: "desk-9"}); err == nil || !strings.Contains(err.Error(), "desk-9") {
		t.Errorf("unknown account: %v", err)
	}
	d, err := agent.ReadDiagnostics(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	ad := d.Accounts[0]
	if ad.LastNotify == nil || ad.LastNotify.Outcome != "malformed" || ad.LastNotify.Answer != 400 || ad.LastNotify.Transport != "UDP" ||
		!strings.HasPrefix(ad.LastNotify.From, "127.0.0.1:") || !strings.Contains(ad.LastNotify.Body, "perhaps") || ad.Notifies["applied"] != 1 {
		t.Errorf("diagnostics %+v %+v", ad, ad.LastNotify)
	}
}
