package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)

	parse := func(y string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := parse("tls:\n  ca_file: " + ca + "\naccounts:\n  - aor: sip:1001@pbx.example.com\n    password: x\n    transport: tls\n    outbound_proxy: proxy.example.com\n  - aor: sip:1002@pbx.example.com:5070\n    password: y\n    unsolicited: reject\n")
	specs, us, err := fromConfig(MustResolve(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if us.opts.TLSConfig == nil || us.opts.TLSConfig.RootCAs == nil || us.opts.TLSConfig.InsecureSkipVerify {
		t.Errorf("TLS config %+v: want RootCAs from ca_file, verification on", us.opts.TLSConfig)
	}
	if us.opts.ListenUDP != "0.0.0.0:0" {
		t.Errorf("UDP listen %q, want the ephemeral default for a UDP account", us.opts.ListenUDP)
	}
	a, b := specs[0].sip, specs[1].sip
	// No port configured: the host alone, for the user agent to locate
	// (RFC 3263: NAPTR/SRV may choose the port; 5061 if nothing does).
	if a.Server != "pbx.example.com" || a.Proxy != "proxy.example.com" || a.Transport != "tls" {
		t.Errorf("tls account server %q proxy %q transport %q", a.Server, a.Proxy, a.Transport)
	}
	if b.Server != "pbx.example.com:5070" || b.Unsolicited || !a.Unsolicited {
		t.Errorf("udp account server %q unsolicited %v/%v", b.Server, a.Unsolicited, b.Unsolicited)
	}
	c.TLS.CAFile = bad
	if _, _, err := fromConfig(MustResolve(t, c)); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Errorf("bad ca_file: %v", err)
	}
}
