package kamailiotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert is a certificate and its private key, as PEM files.
type Cert struct{ Cert, Key string }

// PKI is a throw-away certificate authority for TLS tests: its CA
// certificate (CAFile) and the certificates it issued, all under Dir.
type PKI struct {
	t      testing.TB
	Dir    string
	CAFile string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

// NewPKI makes a CA named name (valid for an hour).
func NewPKI(t testing.TB, name string) *PKI {
	t.Helper()
	p := &PKI{t: t, Dir: t.TempDir(), serial: 1}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	p.CAFile = filepath.Join(p.Dir, "ca.pem")
	p.write(p.CAFile, "CERTIFICATE", der)
	return p
}

// Server issues a server certificate for the DNS names and IP addresses
// in names.
func (p *PKI) Server(names ...string) Cert {
	return p.issue(x509.ExtKeyUsageServerAuth, names)
}

// Client issues a client certificate (for mutual TLS) with common name cn.
func (p *PKI) Client(cn string) Cert {
	return p.issue(x509.ExtKeyUsageClientAuth, []string{cn})
}

func (p *PKI) issue(usage x509.ExtKeyUsage, names []string) Cert {
	p.t.Helper()
	p.serial++
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	base := filepath.Join(p.Dir, names[0]+"-"+big.NewInt(p.serial).String())
	c := Cert{Cert: base + ".pem", Key: base + ".key"}
	p.write(c.Cert, "CERTIFICATE", der)
	p.write(c.Key, "PRIVATE KEY", kder)
	return c
}

func (p *PKI) write(name, typ string, der []byte) {
	p.t.Helper()
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
}
