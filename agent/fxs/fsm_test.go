package fxs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/tone"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func acts(as []Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func TestNextTable(t *testing.T) {
	all := Config{Polarity: true, HV: true, FSK: true, Stutter: true, Format: tone.MDMF, Refresh: time.Hour}
	fskOnly := Config{FSK: true, Stutter: true}
	pol := Config{Polarity: true, Stutter: true}
	quietSince := func(d time.Duration) time.Time { return t0.Add(-d) }
	cases := []struct {
		name  string
		cfg   Config
		s     Status
		ev    Event
		want  Status
		wantA string
	}{
		{"mwi on, line quiet long ago: signal now",
			all, Status{OnHookAt: quietSince(time.Minute)}, Event{Kind: EvMWI, MWI: true, Stutter: true, At: t0},
			Status{MWI: true, Stutter: true, Pending: true, OnHookAt: quietSince(time.Minute)}, "start quiet 0s"},
		{"mwi on 1 s after hang-up: wait the rest of the 3 s",
			all, Status{OnHookAt: quietSince(time.Second)}, Event{Kind: EvMWI, MWI: true, At: t0},
			Status{MWI: true, Pending: true, OnHookAt: quietSince(time.Second)}, "start quiet 2s"},
		{"stutter change alone owes no signalling",
			all, Status{}, Event{Kind: EvMWI, Stutter: true, At: t0},
			Status{Stutter: true}, ""},
		{"quiet with FSK: the transmission sets polarity and HV around the data",
			all, Status{MWI: true, Pending: true}, Event{Kind: EvQuiet, At: t0},
			Status{State: Sending, MWI: true, Pending: true, SendMWI: true}, "cancel refresh, send mwi on"},
		{"quiet without FSK: polarity and HV at once",
			Config{Polarity: true, HV: true}, Status{MWI: true, Pending: true}, Event{Kind: EvQuiet, At: t0},
			Status{MWI: true}, "polarity reversed, hv on"},
		{"quiet without FSK: polarity only, done",
			pol, Status{MWI: false, Pending: true}, Event{Kind: EvQuiet, At: t0},
			Status{}, "polarity forward"},
		{"quiet with nothing owed: nothing",
			all, Status{MWI: true}, Event{Kind: EvQuiet, At: t0},
			Status{MWI: true}, ""},
		{"send done: refresh armed",
			all, Status{State: Sending, MWI: true, Pending: true, SendMWI: true}, Event{Kind: EvSendDone, At: t0},
			Status{MWI: true, SendMWI: true}, "start refresh 1h0m0s"},
		{"send done but MWI changed meanwhile: send again",
			fskOnly, Status{State: Sending, MWI: false, Pending: true, SendMWI: true, OnHookAt: quietSince(time.Hour)}, Event{Kind: EvSendDone, At: t0},
			Status{Pending: true, SendMWI: true, OnHookAt: quietSince(time.Hour)}, "start quiet 0s"},
		{"refresh: resend",
			all, Status{MWI: true}, Event{Kind: EvRefresh, At: t0},
			Status{State: Sending, MWI: true, SendMWI: true}, "send mwi on"},
		{"refresh off: stale timer ignored",
			fskOnly, Status{MWI: true}, Event{Kind: EvRefresh, At: t0},
			Status{MWI: true}, ""},
		{"off-hook while sending: abort at once, HV off, forward, stutter, retry later",
			all, Status{State: Sending, MWI: true, SendMWI: true, Stutter: true}, Event{Kind: EvHook, OffHook: true, At: t0},
			Status{State: OffHook, MWI: true, Stutter: true, SendMWI: true, Pending: true},
			"abort send, cancel quiet, cancel refresh, hv off, polarity forward, tone stutter, start dial 30s"},
		{"off-hook idle, no messages: normal dial tone",
			all, Status{}, Event{Kind: EvHook, OffHook: true, At: t0},
			Status{State: OffHook}, "cancel quiet, cancel refresh, hv off, polarity forward, tone dial, start dial 30s"},
		{"off-hook with messages but port does no stutter: normal dial tone",
			Config{FSK: true}, Status{MWI: true, Stutter: true}, Event{Kind: EvHook, OffHook: true, At: t0},
			Status{State: OffHook, MWI: true, Stutter: true}, "cancel quiet, cancel refresh, tone dial, start dial 30s"},
		{"mwi while off-hook: remembered, nothing sent",
			all, Status{State: OffHook}, Event{Kind: EvMWI, MWI: true, At: t0},
			Status{State: OffHook, MWI: true, Pending: true}, ""},
		{"quiet timer while off-hook is stale: no data off-hook",
			all, Status{State: OffHook, MWI: true, Pending: true}, Event{Kind: EvQuiet, At: t0},
			Status{State: OffHook, MWI: true, Pending: true}, ""},
		{"refresh while off-hook: nothing",
			all, Status{State: OffHook, MWI: true}, Event{Kind: EvRefresh, At: t0},
			Status{State: OffHook, MWI: true}, ""},
		{"ring request off-hook: refused",
			all, Status{State: OffHook}, Event{Kind: EvRing, On: true, At: t0},
			Status{State: OffHook}, ""},
		{"dial timeout: tone stops, still off-hook",
			all, Status{State: OffHook}, Event{Kind: EvDialTimeout, At: t0},
			Status{State: OffHook}, "stop tone"},
		{"on-hook: flash window",
			all, Status{State: OffHook}, Event{Kind: EvHook, OffHook: false, At: t0},
			Status{State: Flash, OnHookAt: t0}, "stop tone, cancel dial, start flash 900ms"},
		{"on-hook with configured flash bounds",
			Config{FlashMin: 200 * time.Millisecond, FlashMax: 1500 * time.Millisecond}, Status{State: OffHook}, Event{Kind: EvHook, OffHook: false, At: t0},
			Status{State: Flash, OnHookAt: t0}, "stop tone, cancel dial, start flash 1.5s"},
		{"lifted within 100 ms: too short for a flash, dial tone again, no flash",
			all, Status{State: Flash, OnHookAt: t0}, Event{Kind: EvHook, OffHook: true, At: at(60 * time.Millisecond)},
			Status{State: OffHook, OnHookAt: t0}, "cancel flash, tone dial, start dial 30s"},
		{"lifted at exactly the flash minimum: a flash",
			all, Status{State: Flash, OnHookAt: t0}, Event{Kind: EvHook, OffHook: true, At: at(DefaultFlashMin)},
			Status{State: OffHook, OnHookAt: t0}, "cancel flash, flash, tone dial, start dial 30s"},
		{"lifted within the flash window: hook flash, dial tone again",
			all, Status{State: Flash, Stutter: true, OnHookAt: t0}, Event{Kind: EvHook, OffHook: true, At: at(300 * time.Millisecond)},
			Status{State: OffHook, Stutter: true, OnHookAt: t0}, "cancel flash, flash, tone stutter, start dial 30s"},
		{"flash window over: hung up; restore MWI after the rest of the quiet time",
			all, Status{State: Flash, MWI: true, OnHookAt: t0}, Event{Kind: EvFlashTimeout, At: at(time.Second)},
			Status{MWI: true, Pending: true, OnHookAt: t0}, "start quiet 2s"},
		{"hung up after an aborted send: retry",
			fskOnly, Status{State: Flash, Pending: true, OnHookAt: t0}, Event{Kind: EvFlashTimeout, At: at(time.Second)},
			Status{Pending: true, OnHookAt: t0}, "start quiet 2s"},
		{"hung up, nothing owed, refresh on: refresh armed",
			Config{FSK: true, Refresh: time.Minute}, Status{State: Flash, OnHookAt: t0}, Event{Kind: EvFlashTimeout, At: at(time.Second)},
			Status{OnHookAt: t0}, "start refresh 1m0s"},
		{"ring on request",
			all, Status{MWI: true}, Event{Kind: EvRing, On: true, At: t0},
			Status{State: Ringing, MWI: true, Pending: true}, "cancel quiet, cancel refresh, hv off, ring on"},
		{"answer while ringing: ring trip",
			fskOnly, Status{State: Ringing}, Event{Kind: EvHook, OffHook: true, At: t0},
			Status{State: OffHook}, "ring off, cancel quiet, cancel refresh, tone dial, start dial 30s"},
		{"ring off: re-signal what is owed",
			all, Status{State: Ringing, MWI: true, Pending: true, OnHookAt: quietSince(time.Hour)}, Event{Kind: EvRing, On: false, At: t0},
			Status{MWI: true, Pending: true, OnHookAt: quietSince(time.Hour)}, "ring off, start quiet 0s"},
		{"custom quiet",
			Config{FSK: true, Quiet: 10 * time.Second}, Status{OnHookAt: t0}, Event{Kind: EvMWI, MWI: true, At: at(4 * time.Second)},
			Status{MWI: true, Pending: true, OnHookAt: t0}, "start quiet 6s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, a := next(c.cfg, c.s, c.ev)
			if got != c.want {
				t.Errorf("status\n got %+v\nwant %+v", got, c.want)
			}
			if acts(a) != c.wantA {
				t.Errorf("actions\n got %q\nwant %q", acts(a), c.wantA)
			}
		})
	}
}

// Walk every state with every event and check the safety rules hold
// whatever happens: nothing that puts data, HV or ringing on the line is
// started while off-hook.
func TestNeverDataOrHVOffHook(t *testing.T) {
	cfg := Config{Polarity: true, HV: true, FSK: true, Stutter: true, Refresh: time.Minute}
	events := []Event{
		{Kind: EvMWI, MWI: true}, {Kind: EvMWI}, {Kind: EvHook, OffHook: true}, {Kind: EvHook},
		{Kind: EvQuiet}, {Kind: EvSendDone}, {Kind: EvRefresh}, {Kind: EvFlashTimeout},
		{Kind: EvDialTimeout}, {Kind: EvRing, On: true}, {Kind: EvRing},
	}
	seen := map[Status]bool{}
	queue := []Status{{}}
	for len(queue) > 0 && len(seen) < 10000 {
		s := queue[0]
		queue = queue[1:]
		if seen[s] {
			continue
		}
		seen[s] = true
		for _, ev := range events {
			ev.At = t0
			n, as := next(cfg, s, ev)
			off := n.State == OffHook
			for _, a := range as {
				bad := a.Kind == DoSend || (a.Kind == DoHV && a.On) || (a.Kind == DoRing && a.On)
				if off && bad {
					t.Errorf("%+v + %v -> %v: %v while off-hook", s, ev.Kind, n.State, a)
				}
			}
			if n.State == OffHook && s.State == Sending && (len(as) == 0 || as[0].Kind != DoAbortSend) {
				t.Errorf("lifting during a transmission must abort it first: %s", acts(as))
			}
			n.OnHookAt = time.Time{}
			queue = append(queue, n)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("only %d states reached", len(seen))
	}
	t.Logf("%d reachable statuses checked", len(seen))
}

func ExampleState() {
	for s := Idle; s <= Ringing; s++ {
		fmt.Println(s)
	}
	// Output:
	// on-hook idle
	// off-hook
	// on-hook (flash?)
	// sending data
	// ringing
}
