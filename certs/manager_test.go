package certs

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCertificates(t *testing.T) {
	opts := testOptions(t)
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, ci := range m.Certificates() {
		if !ci.NotAfter.IsZero() || ci.Issuer != "" {
			t.Errorf("before Provision: %+v, want only the name", ci)
		}
	}
	if err := m.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(m)
	got := m.Certificates()
	if len(got) != len(opts.Names) {
		t.Fatalf("got %d entries, want %d", len(got), len(opts.Names))
	}
	for i, ci := range got {
		if ci.Name != opts.Names[i] {
			t.Errorf("entry %d name %q, want %q", i, ci.Name, opts.Names[i])
		}
		if until := time.Until(ci.NotAfter); until < 29*24*time.Hour || until > 31*24*time.Hour {
			t.Errorf("%s expires in %v, want about 30 days", ci.Name, until)
		}
		if !strings.HasPrefix(ci.Issuer, "Wardline local CA") {
			t.Errorf("%s issuer %q, want the local CA", ci.Name, ci.Issuer)
		}
	}
}

func TestCertificatesKeptInStorage(t *testing.T) {
	opts := testOptions(t)
	dataDir := certmagicDataDir()
	_, statErr := os.Stat(dataDir)
	hadDataDir := statErr == nil
	m := provision(t, opts)
	st := opts.Storage.(*memStorage)
	var privateKeys int
	for _, k := range st.keys() {
		if !strings.HasPrefix(k, "certificates/") || !strings.HasSuffix(k, ".key") {
			continue
		}
		v, _, err := st.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseKeyPEM(v); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		privateKeys++
	}
	if privateKeys != len(m.opts.Names) {
		t.Errorf("storage holds %d certificate keys, want one per name (%d); keys:\n%s",
			privateKeys, len(m.opts.Names), strings.Join(st.keys(), "\n"))
	}
	entries, err := os.ReadDir(opts.CADir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if strings.Join(files, ",") != "ca.crt,ca.key" {
		t.Errorf("ca dir holds %q, want only ca.crt and ca.key", files)
	}
	if _, err := os.Stat(dataDir); !hadDataDir && err == nil {
		t.Errorf("certmagic wrote its default file storage %s", dataDir)
	}
}

// certmagicDataDir is where certmagic's default FileStorage would write.
func certmagicDataDir() string {
	if xdg := os.Getenv("XDG_DATA_HOME"); xdg != "" {
		return filepath.Join(xdg, "certmagic")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "certmagic")
}

func TestACMEFallsBackToLocalCA(t *testing.T) {
	// A port that refuses connections stands for an unreachable ACME CA.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	opts := testOptions(t)
	opts.Names = []string{"localhost"}
	opts.ACME = ACME{Directory: "https://" + addr + "/dir", Email: "pki@hosp.test"}
	start := time.Now()
	m := provision(t, opts)
	t.Logf("provisioned with fallback in %v", time.Since(start).Round(time.Millisecond))
	ci := m.Certificates()[0]
	if !strings.HasPrefix(ci.Issuer, "Wardline local CA") {
		t.Errorf("issuer %q, want the local CA", ci.Issuer)
	}
}

func TestProvisionTwice(t *testing.T) {
	m := provision(t, testOptions(t))
	if err := m.Provision(context.Background()); err == nil {
		t.Error("second Provision on one manager succeeded")
	}
}

func TestRunStops(t *testing.T) {
	m := provision(t, testOptions(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-done:
		t.Fatal("Run returned before ctx was done")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := m.Provision(context.Background()); err == nil {
		t.Error("Provision after Run succeeded")
	}
}
