package service

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/syncbuf"
)

// fakeSystemd is a unixgram socket standing in for systemd's notify socket.
type fakeSystemd struct {
	t    *testing.T
	conn *net.UnixConn
	msgs chan string
}

// listenNotify creates the socket in a temp dir and points NOTIFY_SOCKET
// (and, if watchdog > 0, WATCHDOG_USEC/WATCHDOG_PID) at this process.
func listenNotify(t *testing.T, watchdog time.Duration) *fakeSystemd {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn") // short path: sun_path holds 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	if watchdog > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	} else {
		t.Setenv("WATCHDOG_USEC", "")
		t.Setenv("WATCHDOG_PID", "")
	}
	f := &fakeSystemd{t: t, conn: conn, msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(f.msgs)
				return
			}
			f.msgs <- string(buf[:n])
		}
	}()
	return f
}

// next returns the next datagram, failing the test after timeout.
func (f *fakeSystemd) next(timeout time.Duration) string {
	f.t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(timeout):
		f.t.Fatalf("no sd_notify message within %v", timeout)
		return ""
	}
}

// quiet drains messages until none arrives for d, returning what came.
func (f *fakeSystemd) quiet(d time.Duration) []string {
	var got []string
	for range 1000 {
		select {
		case m := <-f.msgs:
			got = append(got, m)
		case <-time.After(d):
			return got
		}
	}
	f.t.Fatal("notify socket never went quiet")
	return nil
}

func TestReadySendsREADY(t *testing.T) {
	f := listenNotify(t, 0)
	n := New(nil)
	if !n.Supervised() {
		t.Fatal("Supervised() = false with NOTIFY_SOCKET set")
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if m := f.next(5 * time.Second); m != "READY=1" {
		t.Fatalf("got %q, want READY=1", m)
	}
	if err := n.Status("2 accounts registered\nsecond line"); err != nil {
		t.Fatal(err)
	}
	if m := f.next(5 * time.Second); m != "STATUS=2 accounts registered" {
		t.Fatalf("got %q", m)
	}
}

func TestWithoutSystemdEverythingIsANoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := New(nil)
	if n.Supervised() {
		t.Fatal("Supervised() = true without NOTIFY_SOCKET")
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	called := false
	if err := n.Reload(func() error { called = true; return nil }); err != nil || !called {
		t.Fatalf("Reload: err %v, applied %v", err, called)
	}
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(context.Background(), func(context.Context) error { return nil }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog blocked with the watchdog off")
	}
}

func TestWatchdogForAnotherPIDIsOff(t *testing.T) {
	listenNotify(t, time.Second)
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if d, err := WatchdogInterval(); err != nil || d != 0 {
		t.Fatalf("WatchdogInterval = %v, %v; want 0 for another PID", d, err)
	}
}

func TestWatchdogPingsOnlyWhileTheLoopAnswers(t *testing.T) {
	const interval = 80 * time.Millisecond // pings every 40 ms
	f := listenNotify(t, interval)
	if d, err := WatchdogInterval(); err != nil || d != interval {
		t.Fatalf("WatchdogInterval = %v, %v", d, err)
	}
	var stuck atomic.Bool
	probes := atomic.Int32{}
	probe := func(ctx context.Context) error {
		probes.Add(1)
		if stuck.Load() {
			<-ctx.Done() // a wedged loop never answers
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(nil).RunWatchdog(ctx, probe) }()

	// Alive: pings arrive, repeatedly.
	for i := range 3 {
		if m := f.next(5 * time.Second); m != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q, want WATCHDOG=1", i, m)
		}
	}

	// Wedged: after at most one ping already under way, only a STATUS line
	// and no WATCHDOG=1, although the probe keeps being asked.
	stuck.Store(true)
	before := probes.Load()
	f.quiet(3 * interval)
	got := f.quiet(6 * interval)
	for _, m := range got {
		if m == "WATCHDOG=1" {
			t.Fatalf("watchdog pinged while the loop was not answering: %q", got)
		}
	}
	if probes.Load() == before {
		t.Fatal("probe not called while stuck")
	}

	// Recovered: pings resume.
	stuck.Store(false)
	deadline := time.After(5 * time.Second)
	for resumed := false; !resumed; {
		select {
		case m := <-f.msgs:
			resumed = m == "WATCHDOG=1"
		case <-deadline:
			t.Fatal("pings did not resume after the loop answered again")
		}
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunWatchdog returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog did not stop")
	}
}

func TestWatchdogStatusSaysWhyItStopped(t *testing.T) {
	f := listenNotify(t, 60*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go New(nil).RunWatchdog(ctx, func(context.Context) error { return errors.New("agent: loop not answering") })
	m := f.next(5 * time.Second)
	if m != "STATUS=agent loop not answering: agent: loop not answering" {
		t.Fatalf("got %q", m)
	}
}

func TestReloadBracketsApply(t *testing.T) {
	f := listenNotify(t, 0)
	n := New(nil)
	var order []string
	err := n.Reload(func() error {
		order = append(order, "apply")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := f.next(5 * time.Second); m != "RELOADING=1" {
		t.Fatalf("first message %q, want RELOADING=1", m)
	}
	if m := f.next(5 * time.Second); m != "READY=1\nSTATUS=configuration reloaded" {
		t.Fatalf("second message %q", m)
	}
	if len(order) != 1 {
		t.Fatalf("apply ran %d times", len(order))
	}

	want := errors.New("accounts[1].server: missing port number in \"pbx:\"\nmore")
	if err := n.Reload(func() error { return want }); !errors.Is(err, want) {
		t.Fatalf("Reload returned %v", err)
	}
	f.next(5 * time.Second) // RELOADING=1
	m := f.next(5 * time.Second)
	if !strings.HasPrefix(m, "READY=1\nSTATUS=reload failed: accounts[1].server") || strings.Contains(m, "more") {
		t.Fatalf("failed reload sent %q", m)
	}
}

// A wedged loop gets one log line per group of identical goroutine stacks
// (not the runtime's full dump), and systemd's SIGABRT at the watchdog's
// expiry makes RunWatchdog return ErrWatchdogAbort instead of the runtime
// printing every goroutine.
func TestWatchdogLogsGroupedStacksAndCatchesAbort(t *testing.T) {
	f := listenNotify(t, 60*time.Millisecond)
	var buf syncbuf.Buffer
	n := New(slog.New(slog.NewTextHandler(&buf, nil)))
	// 300 goroutines parked alike, as account workers would be
	stop := make(chan struct{})
	defer close(stop)
	for range 300 {
		go parkHere(stop)
	}
	// The report is about goroutines that wait: let all 300 reach their
	// channel receive first (on a loaded machine some had not yet run when
	// the watchdog fired).
	for i := 0; parkedHere() < 300; i++ {
		if i == 1000 {
			t.Fatalf("only %d of 300 goroutines parked after 5 s", parkedHere())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- n.RunWatchdog(ctx, func(context.Context) error { return errors.New("agent: loop not answering") })
	}()
	if m := f.next(5 * time.Second); !strings.HasPrefix(m, "STATUS=") {
		t.Fatalf("got %q, want the STATUS line", m)
	}
	var lines []string
	for range 500 { // the report follows the STATUS line
		lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
		if strings.Contains(buf.String(), "service.parkHere") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var parked string
	for _, l := range lines {
		if strings.Contains(l, "service.parkHere") {
			parked = l
		}
	}
	// all of them in one line
	if cnt, _ := strconv.Atoi(strings.Fields(strings.SplitN(parked+" n=", " n=", 2)[1] + " ")[0]); cnt != 300 {
		t.Fatalf("no grouped line for the 300 parked goroutines in:\n%s", buf.String())
	}
	if len(lines) > maxStackGroups+3 {
		t.Fatalf("%d log lines, want at most %d:\n%s", len(lines), maxStackGroups+3, buf.String())
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrWatchdogAbort) {
			t.Fatalf("RunWatchdog returned %v, want ErrWatchdogAbort", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog did not return after SIGABRT")
	}
}

// parkedHere is how many goroutines wait in parkHere's channel receive.
func parkedHere() int {
	n := 0
	for _, g := range Stacks() {
		if g.State == "chan receive" && len(g.Funcs) > 0 && strings.HasSuffix(g.Funcs[0], "service.parkHere") {
			n += g.Count
		}
	}
	return n
}
