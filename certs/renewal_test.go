package certs

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestRenewalWithoutRestart(t *testing.T) {
	// A certificate's lifetime as certmagic counts it is Lifetime plus the
	// minute of backdating: 36s+60s = 96s. It renews when a third (32s) is
	// left, i.e. 4s after issuance, checked every 250ms.
	opts := testOptions(t)
	opts.Lifetime = 36 * time.Second
	opts.RenewCheckInterval = 250 * time.Millisecond
	start := time.Now()
	m := provision(t, opts)
	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	roots := rootPool(t, m.CACertPEM())
	cfg := &tls.Config{ServerName: "localhost", RootCAs: roots}

	first, err := handshake(srv.ln.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.NotAfter.Sub(first.NotBefore); got != 96*time.Second {
		t.Fatalf("first certificate validity %v, want 96s", got)
	}
	deadline := time.Now().Add(12 * time.Second)
	for {
		cert, err := handshake(srv.ln.Addr().String(), cfg)
		if err != nil {
			t.Fatalf("handshake during renewal: %v", err)
		}
		if cert.SerialNumber.Cmp(first.SerialNumber) != 0 {
			if !cert.NotAfter.After(first.NotAfter) {
				t.Errorf("renewed NotAfter %v not after %v", cert.NotAfter, first.NotAfter)
			}
			t.Logf("renewed after %v", time.Since(start).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("certificate not renewed within 12s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, ci := range m.Certificates() {
		if ci.Name == "localhost" && !ci.NotAfter.After(first.NotAfter) {
			t.Errorf("Certificates() reports %v for localhost, want the renewed one", ci.NotAfter)
		}
	}
}
