package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/fxs"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/hal/sim"
	"github.com/mwi-agent/mwi-agent/tone"
)

// audioTap collects everything written to a sim audio sink by polling it
// (the sink keeps the last second; 50 ms polls lose nothing).
type audioTap struct {
	mu   sync.Mutex
	pcm  []int16
	lost int
	stop chan struct{}
	done chan struct{}
}

func tapAudio(a *sim.Audio) *audioTap {
	t := &audioTap{stop: make(chan struct{}), done: make(chan struct{})}
	seen, _ := a.Samples()
	go func() {
		defer close(t.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
			n, tail := a.Samples()
			t.mu.Lock()
			if d := n - seen; d > len(tail) {
				t.lost += d - len(tail)
				t.pcm = append(t.pcm, tail...)
			} else if d > 0 {
				t.pcm = append(t.pcm, tail[len(tail)-d:]...)
			}
			t.mu.Unlock()
			seen = n
		}
	}()
	return t
}

func (t *audioTap) close() { close(t.stop); <-t.done }

// len and since: samples collected so far, and a copy of those from i on.
func (t *audioTap) len() int { t.mu.Lock(); defer t.mu.Unlock(); return len(t.pcm) }
func (t *audioTap) since(i int) []int16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int16(nil), t.pcm[i:]...)
}

// gaps counts the 20 ms chunks of pcm that are silent.
func gaps(pcm []int16) (silent, total int) {
	for i := 0; i+160 <= len(pcm); i += 160 {
		quiet := true
		for _, v := range pcm[i : i+160] {
			if v > 100 || v < -100 {
				quiet = false
				break
			}
		}
		if quiet {
			silent++
		}
		total++
	}
	return silent, total
}

// The demo's analog port, end to end: the real agent subscribed over SIP
// to the demo server, the indicator policy, the FXS line controller and
// the sim line, hook and audio sink, with the handset moved through the
// page's API. Leaving a voicemail reverses the line's polarity and sends
// FSK "messages waiting" only once the line has been on-hook for fxs.quiet;
// lifting the handset drops the reversal and plays stutter dial tone;
// reading the message sends "no messages" and the line goes forward.
func TestDemoFXSPortFollowsMailbox(t *testing.T) {
	const quiet = 1500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	rig, err := startDemoWith(ctx, "127.0.0.1:0", nil, demoSettings{Quiet: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-rig.done }()
	if rig.Port == nil {
		t.Fatal("the demo made no FXS port for the sim board")
	}
	tap := tapAudio(rig.Board.Audio)
	defer tap.close()
	line := func() sim.LineState { return rig.Board.Line.State() }
	lamp := func() string { p, _ := rig.Board.Lamp.Pattern(); return p.Name }
	hook := func(off bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]bool{"off_hook": off})
		res, err := http.Post(rig.URL+"api/hook", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST api/hook: %s", res.Status)
		}
	}
	page := func() (st web.StateJSON) {
		t.Helper()
		res, err := http.Get(rig.URL + "api/state")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	portState := func() fxs.State { return rig.Port.Status().State }
	decodeSince := func(i int) bool {
		t.Helper()
		d, err := tone.DecodeMWI(tap.since(i), rig.Board.Audio.Rate())
		if err != nil {
			t.Fatalf("decoding the sim audio: %v", err)
		}
		on, ok := d.Message.MWI()
		if !ok {
			t.Fatalf("decoded message %v carries no MWI", d.Message)
		}
		return on
	}

	eventually(t, "every mailbox subscribed", 10*time.Second, func() bool {
		for _, m := range rig.Server.Mailboxes() {
			if m.Subscriptions != 1 || m.Notifies == 0 {
				return false
			}
		}
		return true
	})
	eventually(t, "lamp off", 5*time.Second, func() bool { return lamp() == "off" })

	// No messages: lifting gives steady dial tone.
	n := tap.len()
	hook(true)
	eventually(t, "port off-hook", 2*time.Second, func() bool { return portState() == fxs.OffHook })
	eventually(t, "a second of dial tone", 3*time.Second, func() bool { return tap.len()-n >= 8000 })
	if s, total := gaps(tap.since(n)); s != 0 {
		t.Fatalf("no messages: %d silent chunks in %d (want steady dial tone)", s, total)
	}
	if tn := page().Hook.Tone; tn != "dial" {
		t.Fatalf("page asks for tone %q, want dial", tn)
	}

	// Hang up and leave a voicemail at once: the lamp lights right away,
	// the line waits until it has been on-hook for the quiet time.
	// hungUp is taken before the request: the hook event (where the quiet
	// time starts) is no earlier, so the reversal is at least quiet after it.
	hungUp := time.Now()
	hook(false)
	rig.Server.Leave("1001", false)
	eventually(t, "lamp steady", 3*time.Second, func() bool { return lamp() == "steady" })
	if time.Since(hungUp) < quiet-200*time.Millisecond && line().Reversed {
		t.Fatalf("line reversed %v after the hang-up, before the quiet time %v", time.Since(hungUp), quiet)
	}
	n = tap.len()
	eventually(t, "line reversed", quiet+5*time.Second, func() bool { return line().Reversed })
	if took := time.Since(hungUp); took < quiet {
		t.Fatalf("line reversed %v after the hang-up, before the quiet time %v", took, quiet)
	}
	t.Logf("line reversed %v after the hang-up (fxs.quiet %v)", time.Since(hungUp).Round(10*time.Millisecond), quiet)
	if st := page(); st.Line == nil || !st.Line.MWI || !st.Line.Reversed {
		t.Fatalf("page line state %+v, want reversed with MWI on line", st.Line)
	}
	eventually(t, "FSK sent", 5*time.Second, func() bool { return portState() == fxs.Idle && tap.len() > n })
	time.Sleep(150 * time.Millisecond) // the tap's last poll
	if !decodeSince(n) {
		t.Fatal("FSK on the line says no messages, want messages waiting")
	}

	// Lift with a message waiting: forward polarity, stutter dial tone.
	n = tap.len()
	hook(true)
	eventually(t, "forward polarity off-hook", 2*time.Second, func() bool { return !line().Reversed })
	eventually(t, "a second of tone", 3*time.Second, func() bool { return tap.len()-n >= 8000 })
	if s, total := gaps(tap.since(n)); s < total/4 {
		t.Fatalf("messages waiting: %d silent chunks in %d (want stutter dial tone)", s, total)
	}
	if tn := page().Hook.Tone; tn != "stutter" {
		t.Fatalf("page asks for tone %q, want stutter", tn)
	}

	// Hang up, read the message: after the quiet time FSK says no messages
	// and the line stays forward.
	hook(false)
	eventually(t, "line reversed again after the hang-up", quiet+3*time.Second, func() bool { return line().Reversed })
	eventually(t, "repeat sent", 5*time.Second, func() bool { return portState() == fxs.Idle })
	n = tap.len()
	rig.Server.Listen("1001")
	eventually(t, "lamp off", 3*time.Second, func() bool { return lamp() == "off" })
	eventually(t, "line forward", quiet+3*time.Second, func() bool { return !line().Reversed })
	eventually(t, "FSK off sent", 5*time.Second, func() bool { return portState() == fxs.Idle && tap.len() > n })
	time.Sleep(150 * time.Millisecond)
	if decodeSince(n) {
		t.Fatal("FSK on the line says messages waiting after they were read")
	}
	tap.mu.Lock()
	lost := tap.lost
	tap.mu.Unlock()
	if lost != 0 {
		t.Fatalf("the audio tap lost %d samples", lost)
	}
	if st := page(); st.Line == nil || st.Line.MWI {
		t.Fatalf("page line state %+v, want forward", st.Line)
	}
}

// "mwi-agent run" with board: sim: the run hook wires the FXS port too
// (fxs.quiet from the configuration); the status page shows the line.
func TestRunWiresFXSPort(t *testing.T) {
	r := startRun(t, func(c *config.Config) { c.FXS.Quiet = 300 * time.Millisecond })
	eventually(t, "status page shows the lamp off and the line forward", 10*time.Second, func() bool {
		s := r.get()
		return s.Lamp.Name == "off" && s.Line != nil && !s.Line.MWI
	})
	r.srv.Leave("1002", false)
	eventually(t, "line reversed: MWI on line", 5*time.Second, func() bool { s := r.get(); return s.Line != nil && s.Line.Reversed && s.Line.MWI })
	r.srv.Delete("1002")
	eventually(t, "line forward again", 5*time.Second, func() bool { s := r.get(); return s.Line != nil && !s.Line.Reversed })
	r.stop()
}
