package certs

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/caddyserver/certmagic"
)

// localIssuer is a certmagic.Issuer that signs certificates with the
// appliance's local CA. It signs only the names the appliance was
// configured with.
type localIssuer struct {
	ca       *localCA
	lifetime time.Duration
	allowed  map[string]bool // normalized names from Options.Names
	now      func() time.Time
}

var _ certmagic.Issuer = (*localIssuer)(nil)

// Issue signs the DNS names and IP addresses of csr. Its certificate PEM
// holds the leaf followed by the local CA certificate.
func (li *localIssuer) Issue(_ context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("local ca issue: csr signature: %w", err)
	}
	if len(csr.DNSNames) == 0 && len(csr.IPAddresses) == 0 {
		return nil, errors.New("local ca issue: csr has no names")
	}
	for _, n := range csr.DNSNames {
		if !li.allowed[normalizeName(n)] {
			return nil, fmt.Errorf("local ca issue: name %q is not configured", n)
		}
	}
	for _, ip := range csr.IPAddresses {
		if !li.allowed[ip.String()] {
			return nil, fmt.Errorf("local ca issue: ip %q is not configured", ip)
		}
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("local ca issue: %w", err)
	}
	now := li.now()
	notAfter := now.Add(li.lifetime)
	if notAfter.After(li.ca.cert.NotAfter) {
		notAfter = li.ca.cert.NotAfter
	}
	keyUsage := x509.KeyUsageDigitalSignature
	if _, ok := csr.PublicKey.(*rsa.PublicKey); ok {
		keyUsage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		DNSNames:              csr.DNSNames,
		IPAddresses:           csr.IPAddresses,
		KeyUsage:              keyUsage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, li.ca.cert, csr.PublicKey, li.ca.key)
	if err != nil {
		return nil, fmt.Errorf("local ca issue: %w", err)
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain = append(chain, li.ca.certPEM...)
	return &certmagic.IssuedCertificate{Certificate: chain}, nil
}

// IssuerKey names this issuer in storage paths. It includes a fingerprint
// of the CA certificate, so that certificates of a replaced CA are not
// served again.
func (li *localIssuer) IssuerKey() string {
	sum := sha256.Sum256(li.ca.cert.Raw)
	return "wardline-local-ca-" + hex.EncodeToString(sum[:6])
}
