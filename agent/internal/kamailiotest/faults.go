//go:build linux

package kamailiotest

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// Freeze stops Kamailio (SIGSTOP to its process group): it answers
// nothing, like a hung server or a lost link, but keeps its sockets.
func (s *Server) Freeze() {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("kamailiotest: Freeze: not running")
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		s.t.Fatalf("kamailiotest: SIGSTOP: %v", err)
	}
	s.t.Cleanup(s.Thaw) // a frozen Kamailio would not die of SIGKILL's wait otherwise
}

// Thaw continues a frozen Kamailio (SIGCONT).
func (s *Server) Thaw() {
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
}

// netnsEnv marks the child test process that runs inside its own network
// namespace.
const netnsEnv = "MWI_KAMAILIOTEST_NETNS"

// InOwnNetns runs the calling test again in a child process inside a new
// network namespace (unshare -n) with only its loopback up, where CutLink
// may cut the network without touching anyone else's. It returns true in
// the child (go on with the test) and false in the parent, after the
// child finished and its output was logged (the parent fails if the
// child failed).
func InOwnNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == t.Name() {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("kamailiotest: lo up: %v\n%s", err, out)
		}
		return true
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command("unshare", "-n", "--", os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"="+t.Name())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("kamailiotest: unshare -n: %v", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kamailiotest: the test in its own network namespace failed: %v", err)
	}
	return false
}

// CutLink makes loopback drop every packet (a zero-length queue), in the
// network namespace InOwnNetns made: a link cut, silent in both
// directions; TCP connections stay open with nobody answering. Only
// callable in that child.
func CutLink(t *testing.T) {
	t.Helper()
	if os.Getenv(netnsEnv) != t.Name() {
		t.Fatal("kamailiotest: CutLink outside InOwnNetns")
	}
	if out, err := exec.Command("tc", "qdisc", "add", "dev", "lo", "root", "pfifo", "limit", "0").CombinedOutput(); err != nil {
		t.Fatalf("kamailiotest: tc: %v\n%s", err, out)
	}
}

// RestoreLink undoes CutLink.
func RestoreLink(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("tc", "qdisc", "del", "dev", "lo", "root").CombinedOutput(); err != nil {
		t.Fatalf("kamailiotest: tc: %v\n%s", err, out)
	}
}
