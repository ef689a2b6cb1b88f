package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/certmagic"
)

// nextProtos are the ALPN protocols offered by TLSConfig, in order of
// preference: HTTP/2 and HTTP/1.1 for the web server, "mqtt" for MQTT
// clients that send ALPN (Go refuses a client whose ALPN list shares
// nothing with the server's), and acme-tls/1 for the TLS-ALPN-01 challenge.
var nextProtos = []string{"h2", "http/1.1", "mqtt", "acme-tls/1"}

// errNotProvisioned is returned by handshakes before Provision succeeded.
var errNotProvisioned = errors.New("certs: manager not provisioned")

// Manager obtains, serves and renews the appliance's TLS certificates.
type Manager struct {
	opts Options

	magic atomic.Pointer[certmagic.Config] // set by Provision

	mu      sync.Mutex
	cache   *certmagic.Cache
	ca      *localCA
	stopped bool
}

// New validates opts and returns a Manager. It does no I/O; call Provision
// before serving.
func New(opts Options) (*Manager, error) {
	opts, err := opts.validate()
	if err != nil {
		return nil, fmt.Errorf("certs: new: %w", err)
	}
	return &Manager{opts: opts}, nil
}

// Provision loads or creates the local CA, sets up certmagic with the
// Storage and the issuers (the hospital's ACME CA when configured, then the
// local CA) and obtains or loads a certificate for every name. It starts
// certmagic's renewal goroutine, which Run stops.
func (m *Manager) Provision(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cache != nil || m.stopped {
		return errors.New("certs: provision: already provisioned or stopped")
	}
	ca, err := loadOrCreateCA(m.opts.CADir, "Wardline local CA ("+m.opts.DefaultName+")", m.opts.Now())
	if err != nil {
		return fmt.Errorf("certs: provision: %w", err)
	}
	var roots *x509.CertPool
	if m.opts.ACME.CAFile != "" {
		if roots, err = loadRoots(m.opts.ACME.CAFile); err != nil {
			return fmt.Errorf("certs: provision: %w", err)
		}
	}

	zl := newZapLogger(m.opts.Logger)
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		RenewCheckInterval: m.opts.RenewCheckInterval,
		Logger:             zl,
	})
	local := &localIssuer{ca: ca, lifetime: m.opts.Lifetime, allowed: make(map[string]bool), now: m.opts.Now}
	for _, n := range m.opts.Names {
		local.allowed[n] = true
	}
	cfg = certmagic.New(cache, certmagic.Config{
		Storage:           newMagicStorage(m.opts.Storage),
		DefaultServerName: m.opts.DefaultName,
		Logger:            zl,
		OCSP:              certmagic.OCSPConfig{DisableStapling: true},
		Issuers:           []certmagic.Issuer{local},
	})
	if m.opts.ACME.Directory != "" {
		acme := certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{
			CA:             m.opts.ACME.Directory,
			Email:          m.opts.ACME.Email,
			Agreed:         true,
			TrustedRoots:   roots,
			AltHTTPPort:    m.opts.ACME.HTTPChallengePort,
			AltTLSALPNPort: m.opts.ACME.TLSALPNChallengePort,
			Logger:         zl,
		})
		cfg.Issuers = []certmagic.Issuer{acme, local}
	}
	if err := cfg.ManageSync(ctx, m.opts.Names); err != nil {
		cache.Stop()
		return fmt.Errorf("certs: provision: manage certificates: %w", err)
	}
	m.cache, m.ca = cache, ca
	m.magic.Store(cfg)
	return nil
}

// loadRoots reads a PEM bundle of trusted roots.
func loadRoots(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load acme ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("load acme ca file %s: no PEM certificates", path)
	}
	return pool, nil
}

// TLSConfig returns a new server TLS configuration for HTTPS and MQTT:
// TLS 1.2 or later, ALPN h2, http/1.1 and mqtt, and certificates chosen by
// certmagic. It may be called before Provision; handshakes fail until
// Provision has succeeded.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     append([]string(nil), nextProtos...),
		GetCertificate: m.getCertificate,
	}
}

func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	cfg := m.magic.Load()
	if cfg == nil {
		return nil, errNotProvisioned
	}
	return cfg.GetCertificate(hello)
}

// CACertPEM returns the PEM certificate of the local CA, for clients and
// devices to trust. It is nil before Provision.
func (m *Manager) CACertPEM() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ca == nil {
		return nil
	}
	return append([]byte(nil), m.ca.certPEM...)
}

// Run blocks until ctx is done, then stops certificate maintenance
// (renewal goroutines). It returns nil.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cache != nil && !m.stopped {
		m.cache.Stop()
	}
	m.stopped = true
	return nil
}
