package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// registrar is a tiny SIP registrar on loopback UDP: it answers every
// request 200 OK and counts REGISTERs that register (Expires != 0) per user.
type registrar struct {
	conn *net.UDPConn
	mu   sync.Mutex
	regs map[string]int
}

func newRegistrar(t *testing.T) *registrar {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &registrar{conn: c, regs: map[string]int{}}
	t.Cleanup(func() { c.Close() })
	go r.serve()
	return r
}

func (r *registrar) addr() string { return r.conn.LocalAddr().String() }

func (r *registrar) count(user string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.regs[user]
}

func (r *registrar) serve() {
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg := string(buf[:n])
		head, _, _ := strings.Cut(msg, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		if len(lines) == 0 || strings.HasPrefix(lines[0], "SIP/2.0") {
			continue // a response; nothing to do
		}
		method := strings.Fields(lines[0])[0]
		var resp []string
		expires, user := "", ""
		for _, l := range lines[1:] {
			name, val, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "via", "v", "from", "f", "call-id", "i", "cseq":
				resp = append(resp, l)
			case "to", "t":
				if !strings.Contains(val, ";tag=") {
					l += ";tag=reg1"
				}
				resp = append(resp, l)
				if at := strings.Index(val, "sip:"); at >= 0 {
					user, _, _ = strings.Cut(val[at+4:], "@")
				}
			case "contact", "m":
				resp = append(resp, l)
			case "expires":
				expires = val
			}
		}
		if method == "REGISTER" {
			resp = append(resp, "Expires: "+expires)
			if expires != "0" {
				r.mu.Lock()
				r.regs[user]++
				r.mu.Unlock()
			}
		}
		out := "SIP/2.0 200 OK\r\n" + strings.Join(resp, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
		r.conn.WriteToUDP([]byte(out), from)
	}
}

// notifySocket stands in for systemd's NOTIFY_SOCKET.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 4096)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			select {
			case ch <- string(buf[:n]):
			default: // a slow test drops old watchdog pings
			}
		}
	}()
	return path, ch
}

func writeConfig(t *testing.T, path, stateDir, server, changePassword string) {
	t.Helper()
	cfg := `log_level: debug
state_dir: ` + stateDir + `
board: sim
http:
  listen: "127.0.0.1:0"
listen:
  udp: "127.0.0.1:0"
accounts:
  - name: keep
    aor: sip:1001@pbx.test
    server: ` + server + `
    password: unchanged
    subscribe: false
  - name: change
    aor: sip:1002@pbx.test
    server: ` + server + `
    password: ` + changePassword + `
    subscribe: false
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// "mwi-agent run" as systemd runs it (fake NOTIFY_SOCKET, WATCHDOG_USEC):
// READY=1 after start, WATCHDOG=1 pings, and on SIGHUP RELOADING=1 then
// READY=1 with the changed account re-registered and the unchanged one
// left alone (no new REGISTER).
func TestRunUnderSystemdReadyWatchdogAndSIGHUPReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mwi-agent")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	reg := newRegistrar(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	writeConfig(t, cfgPath, dir, reg.addr(), "first")
	sock, msgs := notifySocket(t)

	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logText strings.Builder
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			logMu.Lock()
			logText.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-logDone; done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			logMu.Lock()
			t.Logf("agent log:\n%s", logText.String())
			logMu.Unlock()
		}
	}()

	// wait for a message (skipping others) within d
	expect := func(want string, d time.Duration) {
		t.Helper()
		deadline := time.After(d)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("notify socket closed waiting for %q", want)
				}
				if m == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within %v", want, d)
			}
		}
	}
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (REGISTERs: keep %d, change %d)", what, reg.count("1001"), reg.count("1002"))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	expect("READY=1", 20*time.Second)
	expect("WATCHDOG=1", 10*time.Second)
	expect("WATCHDOG=1", 10*time.Second)
	waitFor("both accounts registered", 20*time.Second, func() bool { return reg.count("1001") >= 1 && reg.count("1002") >= 1 })
	keepBefore, changeBefore := reg.count("1001"), reg.count("1002")

	writeConfig(t, cfgPath, dir, reg.addr(), "second") // only "change" differs
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1", 10*time.Second)
	expect("READY=1\nSTATUS=configuration reloaded", 20*time.Second)
	waitFor("the changed account to re-register", 20*time.Second, func() bool { return reg.count("1002") > changeBefore })
	time.Sleep(500 * time.Millisecond) // room for a wrong extra REGISTER to show
	if got := reg.count("1001"); got != keepBefore {
		t.Fatalf("unchanged account sent %d new REGISTER(s) on reload", got-keepBefore)
	}
	// watchdog still pinging after the reload
	expect("WATCHDOG=1", 10*time.Second)

	// a broken config on reload: the agent keeps running, STATUS says why
	if err := os.WriteFile(cfgPath, []byte("accounts: [{aor: 'not a uri'}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	expect("RELOADING=1", 10*time.Second)
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case m := <-msgs:
			got = strings.HasPrefix(m, "READY=1\nSTATUS=reload failed: ")
		case <-deadline:
			t.Fatal("no failed-reload status")
		}
	}
	expect("WATCHDOG=1", 10*time.Second)
	stop()
	expect("STOPPING=1", 5*time.Second)
}
