//go:build unix

package kamailiotest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one Kamailio: the same port and database across restarts.
type Server struct {
	t    testing.TB
	Dir  string
	Port int
	Addr string // 127.0.0.1:port (Options.Host:port)
	// Set by options (options.go): [::1]:port, the TLS listener.
	Addr6, TLSAddr string
	TLSPort        int
	tlsCfg         string
	dbDir          string
	cmd            *exec.Cmd
	runs           int
	log            string
	opts           Options // net15: listeners, defines, config (options.go)
}

// ConfigPath is the kamailio.cfg kept in the repository.
func ConfigPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "sipua", "testdata", "kamailio", "kamailio.cfg")
}

// Start creates the SQLite database and starts Kamailio; it is stopped
// (by PID) when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options (options.go).
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, Dir: t.TempDir(), opts: o}
	// The database lives in memory-backed /dev/shm when there is one: a
	// PUBLISH is a SQLite commit, and an fsync per PUBLISH on a disk would
	// put ~10 ms of the server's storage into every latency figure.
	s.dbDir = s.Dir
	if d, err := os.MkdirTemp("/dev/shm", "mwi-kamailio-"); err == nil {
		s.dbDir = d
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	db := filepath.Join(s.dbDir, "kamailio.sqlite")
	for _, f := range []string{"standard-create.sql", "presence-create.sql"} {
		schema := filepath.Join("/usr/share/kamailio/db_sqlite", f)
		sql, err := os.ReadFile(schema)
		if err != nil {
			t.Fatalf("kamailio schema: %v (install kamailio-sqlite-modules)", err)
		}
		cmd := exec.Command("sqlite3", db)
		cmd.Stdin = bytes.NewReader(sql)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sqlite3 %s: %v\n%s", f, err, out)
		}
	}
	s.Port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	s.prepare()
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		tl, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			tl.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func (s *Server) start() {
	s.t.Helper()
	s.runs++
	s.log = filepath.Join(s.Dir, fmt.Sprintf("kamailio-%d.log", s.runs))
	lf, err := os.Create(s.log)
	if err != nil {
		s.t.Fatal(err)
	}
	hp := net.JoinHostPort(s.host(), strconv.Itoa(s.Port))
	args := []string{"-f", s.configPath(), "-DD", "-E", "-Y", s.Dir,
		"-l", "udp:" + hp, "-l", "tcp:" + hp,
		"-A", `DBURL="sqlite://` + filepath.Join(s.dbDir, "kamailio.sqlite") + `"`,
		"-m", "64", "-M", "8"}
	cmd := s.command(append(args, s.extraArgs()...))
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("kamailio: %v", err)
	}
	lf.Close()
	s.cmd = cmd
	if err := s.waitReady(10 * time.Second); err != nil {
		out, _ := os.ReadFile(s.log)
		s.Stop()
		s.t.Fatalf("kamailio not answering OPTIONS: %v\n%s", err, out)
	}
}

// waitReady sends OPTIONS until Kamailio answers.
func (s *Server) waitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		code, err := Send(s.Addr, "OPTIONS", "sip:"+s.Addr, nil, "", 300*time.Millisecond)
		if err == nil && code == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v (code %d)", err, code)
		}
		if s.cmd.ProcessState != nil {
			return fmt.Errorf("kamailio exited")
		}
	}
}

// Stop kills Kamailio (its process group, by the main process's PID) and
// waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart kills Kamailio and starts it again on the same port and database.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Log returns the current run's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Publish plays the voicemail server: PUBLISH message-summary for user's
// mailbox. etag "" creates a new publication; the answer's SIP-ETag is
// returned for the next one.
func (s *Server) Publish(user, body, etag string) (string, error) {
	return s.PublishTo("sip:"+user+"@127.0.0.1", body, etag)
}

// PublishTo is Publish for any presentity URI (e.g. sip:3001@[::1]).
func (s *Server) PublishTo(uri, body, etag string) (string, error) {
	hdrs := []string{"Event: message-summary", "Expires: 3600", "Content-Type: application/simple-message-summary"}
	if etag != "" {
		hdrs = append(hdrs, "SIP-If-Match: "+etag)
	}
	var got string
	code, err := send(s.Addr, "PUBLISH", uri, hdrs, body, 5*time.Second, func(h string) {
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "SIP-ETag") {
			got = strings.TrimSpace(v)
		}
	})
	if err != nil {
		return "", err
	}
	if code != 200 {
		return "", fmt.Errorf("PUBLISH answered %d", code)
	}
	return got, nil
}

// Send sends one request over UDP from a fresh loopback socket and returns
// the final status code.
func Send(addr, method, ruri string, hdrs []string, body string, timeout time.Duration) (int, error) {
	return send(addr, method, ruri, hdrs, body, timeout, nil)
}

func send(addr, method, ruri string, hdrs []string, body string, timeout time.Duration, header func(string)) (int, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, err
	}
	local := "127.0.0.1:0"
	if !ra.IP.IsLoopback() {
		local = ":0" // a server in a network namespace
	}
	c, err := net.ListenPacket("udp", local)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	la := c.LocalAddr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%d;rport\r\n", la, time.Now().UnixNano())
	fmt.Fprintf(&b, "From: <sip:voicemail@127.0.0.1>;tag=%d\r\n", time.Now().UnixNano()%1000000)
	to := ruri
	fmt.Fprintf(&b, "To: <%s>\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %d@mwi-test\r\n", time.Now().UnixNano())
	fmt.Fprintf(&b, "CSeq: 1 %s\r\nMax-Forwards: 70\r\n", method)
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	msg := []byte(b.String())
	if _, err := c.WriteTo(msg, ra); err != nil {
		return 0, err
	}
	// Retransmit like a SIP client over UDP (RFC 3261 Timer E: 0.5 s
	// doubling) until the timeout: a datagram dropped or not read in time
	// by a loaded Kamailio must not fail the test. Kamailio's tm answers
	// a retransmission from its transaction (the PUBLISH route starts one).
	buf := make([]byte, 8192)
	deadline := time.Now().Add(timeout)
	interval := 500 * time.Millisecond
	resend := time.Now().Add(interval)
	for {
		_ = c.SetReadDeadline(minTime(resend, deadline))
		n, _, err := c.ReadFrom(buf)
		if ne, ok := err.(net.Error); ok && ne.Timeout() && time.Now().Before(deadline) {
			if _, err := c.WriteTo(msg, ra); err != nil {
				return 0, err
			}
			interval = min(2*interval, 4*time.Second)
			resend = time.Now().Add(interval)
			continue
		}
		if err != nil {
			return 0, err
		}
		msg := string(buf[:n])
		head, _, _ := strings.Cut(msg, "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		f := strings.Fields(lines[0])
		if len(f) < 2 || f[0] != "SIP/2.0" {
			continue
		}
		code, _ := strconv.Atoi(f[1])
		if code < 200 {
			continue
		}
		if header != nil {
			for _, l := range lines[1:] {
				header(l)
			}
		}
		return code, nil
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
