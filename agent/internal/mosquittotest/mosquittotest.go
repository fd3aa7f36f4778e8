//go:build unix

package mosquittotest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options select the broker's listener.
type Options struct {
	TLS                bool   // TLS listener with a fresh CA (Broker.CAFile, Broker.ClientTLS)
	Username, Password string // if set: allow_anonymous false and a password file with this user
}

// Broker is one mosquitto process; Restart keeps its port.
type Broker struct {
	t      testing.TB
	opt    Options
	Dir    string
	Port   int
	Addr   string // 127.0.0.1:port
	URL    string // tcp://... or ssl://...
	CAFile string
	cmd    *exec.Cmd
	log    *bytes.Buffer
}

// Start starts mosquitto; it is stopped (by PID) when the test ends.
func Start(t testing.TB, opt Options) *Broker {
	t.Helper()
	b := &Broker{t: t, opt: opt, Dir: t.TempDir()}
	b.Port = freePort(t)
	b.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port))
	conf := fmt.Sprintf("per_listener_settings false\nlistener %d 127.0.0.1\n", b.Port)
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		// As root, mosquitto would switch to user "mosquitto", who cannot
		// read the test's private directory.
		conf += "user root\n"
	}
	b.URL = "tcp://" + b.Addr
	if opt.TLS {
		b.writeCerts()
		conf += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", b.CAFile, filepath.Join(b.Dir, "server.pem"), filepath.Join(b.Dir, "server.key"))
		b.URL = "ssl://" + b.Addr
	}
	if opt.Username != "" {
		pw := filepath.Join(b.Dir, "passwd")
		if out, err := exec.Command("mosquitto_passwd", "-c", "-b", pw, opt.Username, opt.Password).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
		}
		conf += "allow_anonymous false\npassword_file " + pw + "\n"
	} else {
		conf += "allow_anonymous true\n"
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.Stop)
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	b.log = &bytes.Buffer{}
	b.cmd = exec.Command("mosquitto", "-c", filepath.Join(b.Dir, "mosquitto.conf"), "-v")
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("mosquitto: %v", err)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", b.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(end) {
			b.Stop()
			b.t.Fatalf("mosquitto not listening on %s: %v\n%s", b.Addr, err, b.log)
		}
	}
}

// Stop kills the broker by PID (no persistence: retained messages go).
func (b *Broker) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
}

// Restart stops and starts the broker on the same port.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.start()
}

// ClientTLS trusts the broker's CA.
func (b *Broker) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(b.CAFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		b.t.Fatalf("CA %s: %v", b.CAFile, err)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Sub reads messages on filter with mosquitto_sub until n arrived or
// timeout; it returns the last payload per topic ("" for an empty one).
func (b *Broker) Sub(filter string, n int, timeout time.Duration) map[string]string {
	b.t.Helper()
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.Port), "-t", filter, "-v", "-C", strconv.Itoa(n),
		"-W", strconv.Itoa(int(timeout / time.Second)), "-F", "%t\t%p"}
	args = append(args, b.clientArgs()...)
	out, _ := exec.Command("mosquitto_sub", args...).Output() // exit 27 on timeout: what arrived counts
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		topic, payload, _ := strings.Cut(line, "\t")
		got[topic] = payload
	}
	return got
}

// Pub publishes one message with mosquitto_pub.
func (b *Broker) Pub(topic, payload string) {
	b.t.Helper()
	args := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.Port), "-t", topic, "-m", payload, "-q", "1"}, b.clientArgs()...)
	if out, err := exec.Command("mosquitto_pub", args...).CombinedOutput(); err != nil {
		b.t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
}

func (b *Broker) clientArgs() []string {
	var a []string
	if b.opt.TLS {
		a = append(a, "--cafile", b.CAFile)
	}
	if b.opt.Username != "" {
		a = append(a, "-u", b.opt.Username, "-P", b.opt.Password)
	}
	return a
}

// Log is the broker's output so far (only read after Stop for a
// consistent view).
func (b *Broker) Log() string { return b.log.String() }

func (b *Broker) writeCerts() {
	t := b.t
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mwi test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(b.Dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b.CAFile = filepath.Join(b.Dir, "ca.pem")
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", srvDER)
	write("server.key", "EC PRIVATE KEY", keyDER)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
