//go:build unix

package kamailiotest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// DNS is a dnsmasq serving only the records it was started with, on a
// loopback port (no upstream, no /etc/hosts).
type DNS struct {
	Addr string // 127.0.0.1:port
	log  string
}

// StartDNS starts dnsmasq on 127.0.0.1 with the given record options, e.g.
//
//	--srv-host=_sip._udp.mwi.test,sip1.mwi.test,5070,10,100
//	--host-record=sip1.mwi.test,127.0.0.1
//	--naptr-record=mwi.test,10,50,s,SIP+D2U,,_sip._udp.mwi.test
//
// It is stopped (by PID) when the test ends.
func StartDNS(t testing.TB, records ...string) *DNS {
	t.Helper()
	dir := t.TempDir()
	d := &DNS{log: filepath.Join(dir, "dnsmasq.log")}
	var cmd *exec.Cmd
	for range 20 {
		port := freePort(t)
		d.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := append([]string{"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
			"--port=" + strconv.Itoa(port), "--listen-address=127.0.0.1", "--bind-interfaces",
			"--pid-file=", "--log-queries", "--log-facility=" + d.log, "--user=root", "--group=root"}, records...)
		cmd = exec.Command("dnsmasq", args...)
		out, err := os.Create(filepath.Join(dir, "dnsmasq.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("dnsmasq: %v", err)
		}
		out.Close()
		if waitUDP(d.Addr, cmd, 3*time.Second) {
			break
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cmd = nil
	}
	if cmd == nil {
		b, _ := os.ReadFile(filepath.Join(dir, "dnsmasq.out"))
		t.Fatalf("dnsmasq did not start:\n%s", b)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return d
}

// Log is dnsmasq's query log.
func (d *DNS) Log() string {
	b, _ := os.ReadFile(d.log)
	return string(b)
}

// waitUDP waits until something answers a DNS query on addr (a root NS
// question is enough: dnsmasq answers REFUSED or similar).
func waitUDP(addr string, cmd *exec.Cmd, within time.Duration) bool {
	q := []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return false
		}
		_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = c.Write(q)
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		c.Close()
		if err == nil && n >= 2 && buf[0] == 0x12 && buf[1] == 0x34 {
			return true
		}
		if cmd.ProcessState != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
