package rig_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/hw"
	"github.com/mwi-agent/mwi-agent/agent/rig"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/hal"
	"github.com/mwi-agent/mwi-agent/hal/clock"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

// simConfig is the defaults on the sim board, no accounts, no page.
func simConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Listen = ""
	cfg.StateDir = t.TempDir()
	return cfg
}

func resolve(t *testing.T, cfg *config.Config) *config.Resolved {
	t.Helper()
	r, err := config.Resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func build(t *testing.T, cfg *config.Config, opt rig.Options) (*rig.Rig, rig.Board) {
	t.Helper()
	res := resolve(t, cfg)
	board, err := rig.Open(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rig.New(res, board, opt)
	if err != nil {
		board.Devices.Close()
		t.Fatal(err)
	}
	return r, board
}

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// part records when it starts and stops.
func part(rec *recorder, name string) rig.Part {
	return rig.Part{Name: name, Run: func(ctx context.Context) error {
		rec.add("start " + name)
		<-ctx.Done()
		rec.add("stop " + name)
		return ctx.Err()
	}}
}

func waitReady(t *testing.T, r *rig.Rig) {
	t.Helper()
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("rig not ready")
	}
}

// Parts stop in reverse order of the list; AddFirst goes before the agent
// (and stops after it), Add after the built-in parts (and stops before
// them); the devices close after every part stopped.
func TestPartsStopInReverseOrderDevicesLast(t *testing.T) {
	synctest.Test(t, testPartsStopInReverseOrderDevicesLast)
}

func testPartsStopInReverseOrderDevicesLast(t *testing.T) {
	cfg := simConfig(t)
	r, board := build(t, cfg, rig.Options{})
	rec := &recorder{}
	r.AddFirst(part(rec, "first"))
	r.Add(part(rec, "last"))
	names := r.Parts()
	if names[0] != "first" || names[1] != "agent" || names[len(names)-1] != "last" || !slices.Contains(names, "indicators") {
		t.Fatalf("parts %v", names)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitReady(t, r)
	if p, _ := board.Sim.Lamp.Pattern(); p.Name != "off" {
		t.Fatalf("lamp %q with no accounts, want off", p.Name)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop")
	}
	got := rec.get()
	stops := []string{}
	for _, s := range got {
		if strings.HasPrefix(s, "stop ") {
			stops = append(stops, s)
		}
	}
	if !slices.Equal(stops, []string{"stop last", "stop first"}) {
		t.Fatalf("stop order %v", got)
	}
	if err := board.Sim.Lamp.SetPattern(hal.PatternSteady); !errors.Is(err, hal.ErrClosed) {
		t.Fatalf("devices not closed after Run: SetPattern = %v", err)
	}
}

// A required part that fails stops the device: Run returns its error
// (naming it) and every other part stops.
func TestRequiredPartFailureStopsTheDevice(t *testing.T) {
	synctest.Test(t, testRequiredPartFailureStopsTheDevice)
}

func testRequiredPartFailureStopsTheDevice(t *testing.T) {
	r, _ := build(t, simConfig(t), rig.Options{})
	rec := &recorder{}
	r.AddFirst(part(rec, "server"))
	boom := errors.New("boom")
	r.Add(rig.Part{Name: "mqtt", Run: func(ctx context.Context) error {
		<-r.Ready()
		return boom
	}})
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "mqtt") {
			t.Fatalf("Run returned %v, want the mqtt part's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a failed required part did not stop the device")
	}
	if got := rec.get(); !slices.Equal(got, []string{"start server", "stop server"}) {
		t.Fatalf("first part: %v", got)
	}
}

// An optional part that fails is a Problem, in the systemd status line,
// and the device keeps running.
func TestOptionalPartFailureIsAProblem(t *testing.T) {
	synctest.Test(t, testOptionalPartFailureIsAProblem)
}

func testOptionalPartFailureIsAProblem(t *testing.T) {
	r, _ := build(t, simConfig(t), rig.Options{})
	failed := make(chan struct{})
	r.Add(rig.Part{Name: "metrics", Optional: true, Run: func(ctx context.Context) error {
		defer close(failed)
		return errors.New("port 9100 taken")
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-failed
	waitReady(t, r)
	synctest.Wait() // Run has taken the part's result
	if p := r.Problems(); len(p) != 1 || !strings.Contains(p[0], "metrics: port 9100 taken") {
		t.Fatalf("problems %q", p)
	}
	if s := r.StatusLine(); !strings.Contains(s, "PROBLEM: metrics: port 9100 taken") {
		t.Fatalf("status line %q", s)
	}
	select {
	case err := <-done:
		t.Fatalf("device stopped: %v", err)
	default:
	}
	cancel()
	<-done
}

// A board device that did not open (hw.Open runs a gpio board without a
// display it cannot open) is a Problem, never only a log line.
func TestMissingDisplayIsAProblem(t *testing.T) {
	cfg := simConfig(t)
	board, err := rig.Open(resolve(t, cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer board.Devices.Close()
	if board.Def.Display == nil {
		t.Fatal("sim board has no display")
	}
	board.Devices.Display = nil
	cfg.HTTP.Listen = "127.0.0.1:0"
	r, err := rig.New(resolve(t, cfg), board, rig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Problems(); len(p) != 1 || !strings.HasPrefix(p[0], "display: ") {
		t.Fatalf("problems %q", p)
	}
	if !strings.Contains(r.StatusLine(), "PROBLEM: display") {
		t.Fatalf("status line %q", r.StatusLine())
	}
	// The status page says so too.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitReady(t, r)
	res, err := http.Get("http://" + r.PageAddr.String() + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st web.StateJSON
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 || !strings.HasPrefix(st.Problems[0], "display: ") {
		t.Fatalf("page problems %q", st.Problems)
	}
}

// A board whose GPIO lines cannot be opened is an error before anything
// runs (run exits before systemd hears READY=1).
func TestBoardThatCannotOpenIsAnError(t *testing.T) {
	cfg := simConfig(t)
	cfg.Board = "devboard-leds"
	if _, err := rig.Open(resolve(t, cfg), nil); err == nil {
		t.Skip("this machine has the board's GPIO lines")
	}
}

// A status page whose port is taken: fatal for the demo (PageRequired),
// a Problem for run.
func TestPageThatCannotListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := simConfig(t)
	cfg.HTTP.Listen = taken.Addr().String()
	board, err := rig.Open(resolve(t, cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer board.Devices.Close()
	if _, err := rig.New(resolve(t, cfg), board, rig.Options{PageRequired: true}); err == nil {
		t.Fatal("required page on a taken port: no error")
	}
	r, err := rig.New(resolve(t, cfg), board, rig.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Web != nil || slices.Contains(r.Parts(), "status page") {
		t.Fatal("page part built without a listener")
	}
	if p := r.Problems(); len(p) != 1 || !strings.Contains(p[0], "status page") || !strings.Contains(p[0], "another mwi-agent running?") {
		t.Fatalf("problems %q", p)
	}
}

// Under systemd: READY=1 comes only once the indicators showed their first
// state, and STATUS= names a device that did not open.
func TestServiceReadyAfterIndicatorsAndStatusNamesProblems(t *testing.T) {
	dir := t.TempDir()
	sock := dir + "/notify"
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Skipf("unixgram: %v", err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	cfg := simConfig(t)
	board, err := rig.Open(resolve(t, cfg), nil)
	if err != nil {
		t.Fatal(err)
	}
	board.Devices.Display = nil // as if the I2C display did not open
	r, err := rig.New(resolve(t, cfg), board, rig.Options{Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var msgs []string
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(msgs) < 2 {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("notifications so far %q: %v", msgs, err)
		}
		if len(msgs) == 0 && !slices.ContainsFunc(board.Sim.Rec.Log(), func(e sim.Entry) bool { return e.Device == "lamp" }) {
			t.Fatalf("%q sent before the indicators wrote the lamp", buf[:n])
		}
		msgs = append(msgs, string(buf[:n]))
	}
	if msgs[0] != "READY=1" || !strings.HasPrefix(msgs[1], "STATUS=running, 0 accounts; PROBLEM: display: ") {
		t.Fatalf("notifications %q", msgs)
	}
	cancel()
	<-done
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "STOPPING=1" {
		t.Fatalf("after stop: %q %v", buf[:n], err)
	}
}

// The FXS port runs on the rig's clock: with a fake clock (and the sim
// board opened on it) the quiet time before signalling passes only when
// that clock moves, not while real (here: bubble) time goes by.
func TestFXSPortRunsOnTheRigClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := simConfig(t)
		cfg.FXS.Signalling = []string{"polarity"}
		res := resolve(t, cfg)
		fake := clock.NewFake(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		sb, err := hw.OpenSim(res.Board, fake)
		if err != nil {
			t.Fatal(err)
		}
		r, err := rig.New(res, rig.Board{Def: res.Board, Devices: sb.Devices(), Sim: sb}, rig.Options{Clock: fake})
		if err != nil {
			t.Fatal(err)
		}
		if r.Port == nil {
			t.Fatal("no FXS port on the sim board")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		}()
		for range 100 { // the indicators' first apply waits on the fake clock
			if synctest.Wait(); len(r.Applier.Last().FXS) > 0 {
				break
			}
			fake.Advance(10 * time.Millisecond)
		}
		synctest.Wait()
		reversed := func() bool { return sb.Line.State().Polarity == hal.PolarityReversed }
		r.Port.SetMWI(true, false)
		synctest.Wait()
		time.Sleep(time.Minute) // real (bubble) time: the port does not see it
		synctest.Wait()
		if reversed() {
			t.Fatal("line reversed after a minute of real time; the port is not on the rig's clock")
		}
		fake.Advance(res.FXS.Quiet - 10*time.Millisecond)
		synctest.Wait()
		if reversed() {
			t.Fatalf("line reversed before the quiet time (%v) on the rig's clock", res.FXS.Quiet)
		}
		fake.Advance(20 * time.Millisecond)
		synctest.Wait()
		if !reversed() {
			t.Fatalf("line %+v not reversed after the quiet time on the rig's clock", sb.Line.State())
		}
	})
}
