package certs

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestClientsVerifyServer(t *testing.T) {
	opts := testOptions(t)
	m := provision(t, opts)
	roots := rootPool(t, m.CACertPEM())
	v4 := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())

	tests := []struct {
		name       string
		addr       string
		serverName string // set in the client config; an IP sends no SNI
		wantSNI    string
		skip       bool
	}{
		{name: "localhost", addr: "127.0.0.1:" + v4.port(), serverName: "localhost", wantSNI: "localhost"},
		{name: "127.0.0.1 without SNI", addr: "127.0.0.1:" + v4.port(), serverName: "127.0.0.1", wantSNI: ""},
		{name: "::1 without SNI", serverName: "::1", wantSNI: "", skip: !ipv6Loopback()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("no IPv6 loopback")
			}
			srv, addr := v4, tt.addr
			if addr == "" {
				srv = serve(t, "tcp", "[::1]:0", m.TLSConfig())
				addr = srv.ln.Addr().String()
			}
			cert, err := handshake(addr, &tls.Config{ServerName: tt.serverName, RootCAs: roots})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := srv.lastSNI(); got != tt.wantSNI {
				t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
			}
			if cert.NotAfter.Sub(cert.NotBefore) < 29*24*time.Hour {
				t.Errorf("lifetime %v, want the 30 day default", cert.NotAfter.Sub(cert.NotBefore))
			}
		})
	}
}

// TestNoSNIOnAnyAddress checks the listener on all addresses: a client
// that dials 127.0.0.1 without SNI gets the 127.0.0.1 certificate.
func TestNoSNIOnAnyAddress(t *testing.T) {
	m := provision(t, testOptions(t))
	srv := serve(t, "tcp", ":0", m.TLSConfig())
	roots := rootPool(t, m.CACertPEM())
	if _, err := handshake("127.0.0.1:"+srv.port(), &tls.Config{ServerName: "127.0.0.1", RootCAs: roots}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
}

// TestNoSNIFallsBackToDefaultName: an address that is not among the names
// gets the DefaultName certificate.
func TestNoSNIFallsBackToDefaultName(t *testing.T) {
	opts := testOptions(t)
	opts.Names = []string{"wardline.hosp.test", "localhost"}
	opts.DefaultName = "wardline.hosp.test"
	m := provision(t, opts)
	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	roots := rootPool(t, m.CACertPEM())
	cert, err := handshake(srv.ln.Addr().String(), verifyAs(roots, "wardline.hosp.test"))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got := srv.lastSNI(); got != "" {
		t.Errorf("server saw SNI %q, want none", got)
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "wardline.hosp.test" {
		t.Errorf("no-SNI certificate names %q, want [wardline.hosp.test]", cert.DNSNames)
	}
}

func TestTLSVersions(t *testing.T) {
	m := provision(t, testOptions(t))
	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	roots := rootPool(t, m.CACertPEM())
	tests := []struct {
		name    string
		min     uint16
		max     uint16
		wantErr bool
	}{
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, true},
		{"TLS 1.1", tls.VersionTLS11, tls.VersionTLS11, true},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, false},
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := handshake(srv.ln.Addr().String(), &tls.Config{
				ServerName: "localhost", RootCAs: roots, MinVersion: tt.min, MaxVersion: tt.max,
			})
			if (err != nil) != tt.wantErr {
				t.Errorf("handshake error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestALPN(t *testing.T) {
	m := provision(t, testOptions(t))
	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	roots := rootPool(t, m.CACertPEM())
	for _, proto := range []string{"h2", "http/1.1", "mqtt"} {
		c, err := tls.Dial("tcp", srv.ln.Addr().String(), &tls.Config{ServerName: "localhost", RootCAs: roots, NextProtos: []string{proto}})
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != proto {
			t.Errorf("negotiated %q, want %q", got, proto)
		}
		c.Close()
	}
}

func TestHandshakeBeforeProvision(t *testing.T) {
	m, err := New(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	if _, err := handshake(srv.ln.Addr().String(), &tls.Config{ServerName: "localhost", InsecureSkipVerify: true}); err == nil {
		t.Error("handshake succeeded before Provision")
	}
}
