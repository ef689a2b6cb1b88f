package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testOptions returns options for a manager on loopback names.
func testOptions(t *testing.T) Options {
	t.Helper()
	names := []string{"localhost", "127.0.0.1"}
	if ipv6Loopback() {
		names = append(names, "::1")
	}
	return Options{
		CADir:   filepath.Join(t.TempDir(), "ca"),
		Names:   names,
		Storage: newMemStorage(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func ipv6Loopback() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// provision creates and provisions a manager that is stopped when the test
// ends.
func provision(t *testing.T, opts Options) *Manager {
	t.Helper()
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(m) })
	return m
}

func stop(m *Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = m.Run(ctx)
}

// server is a TLS listener that completes handshakes with a config and
// records the SNI each client sent.
type server struct {
	ln  net.Listener
	mu  sync.Mutex
	sni []string
}

func serve(t *testing.T, network, addr string, cfg *tls.Config) *server {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	cfg = cfg.Clone()
	getCert := cfg.GetCertificate
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		s.mu.Lock()
		s.sni = append(s.sni, hello.ServerName)
		s.mu.Unlock()
		return getCert(hello)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				_ = tc.Handshake()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *server) lastSNI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sni) == 0 {
		return "<none>"
	}
	return s.sni[len(s.sni)-1]
}

// port returns the listener's port.
func (s *server) port() string {
	_, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return p
}

// handshake connects to addr and returns the server's leaf certificate.
func handshake(addr string, cfg *tls.Config) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func rootPool(t *testing.T, pemData []byte) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("CACertPEM holds no certificate")
	}
	return pool
}

// verifyAs returns a client config that sends no SNI and verifies the
// server's chain against roots for name.
func verifyAs(roots *x509.CertPool, name string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // verified below, for name, without sending SNI
		VerifyConnection: func(cs tls.ConnectionState) error {
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter})
			return err
		},
	}
}
