package certs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestACMEWithPebble obtains the certificate from a real ACME server
// (pebble, Debian's package) trusted through ACME.CAFile.
func TestACMEWithPebble(t *testing.T) {
	pebbleBin, err := exec.LookPath("pebble")
	if err != nil {
		t.Fatal("pebble (an ACME test CA) is not installed: run `make test`, which installs it, or `sudo apt-get install pebble`")
	}
	dir := t.TempDir()
	caFile, certFile, keyFile := writePebbleTLS(t, dir)
	ports := freePorts(t, 4)
	cfgFile := filepath.Join(dir, "pebble.json")
	cfg := fmt.Sprintf(`{"pebble":{"listenAddress":"127.0.0.1:%d","managementListenAddress":"127.0.0.1:%d",
 "certificate":%q,"privateKey":%q,"httpPort":%d,"tlsPort":%d,"ocspResponderURL":"","externalAccountBindingRequired":false}}`,
		ports[0], ports[1], certFile, keyFile, ports[2], ports[3])
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, pebbleBin, "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("pebble output:\n%s", out.String())
		}
	})

	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rootPool(t, caPEM)}}}
	var pebbleRoot []byte
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", ports[1]))
		if err == nil {
			pebbleRoot, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble not up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	opts := testOptions(t)
	opts.Names = []string{"localhost"}
	opts.ACME = ACME{
		Directory:            fmt.Sprintf("https://127.0.0.1:%d/dir", ports[0]),
		Email:                "pki@hosp.test",
		CAFile:               caFile,
		HTTPChallengePort:    ports[2],
		TLSALPNChallengePort: ports[3],
	}
	start := time.Now()
	m := provision(t, opts)
	t.Logf("obtained from pebble in %v", time.Since(start).Round(time.Millisecond))

	srv := serve(t, "tcp", "127.0.0.1:0", m.TLSConfig())
	leaf, err := handshake(srv.ln.Addr().String(), verifyAs(rootPool(t, pebbleRoot), "localhost"))
	if err != nil {
		t.Fatalf("handshake verified against pebble's root: %v", err)
	}
	if got := m.Certificates()[0].Issuer; !strings.Contains(strings.ToLower(got), "pebble") {
		t.Errorf("issuer %q, want pebble's", got)
	}
	if strings.Contains(leaf.Issuer.CommonName, "Wardline") {
		t.Errorf("served the local CA's certificate, want pebble's")
	}
	var acmeKeys int
	for _, k := range opts.Storage.(*memStorage).keys() {
		if strings.HasPrefix(k, "acme/") {
			acmeKeys++
		}
	}
	if acmeKeys == 0 {
		t.Error("no ACME account data in storage")
	}
}

// writePebbleTLS writes a CA and a certificate for 127.0.0.1 and localhost
// for pebble's own listeners, signed with this package's local CA code.
func writePebbleTLS(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca, err := loadOrCreateCA(filepath.Join(dir, "pebble-ca"), "pebble listener CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	li := &localIssuer{ca: ca, lifetime: time.Hour, allowed: map[string]bool{"localhost": true, "127.0.0.1": true}, now: time.Now}
	issued, err := li.Issue(context.Background(), csr)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "pebble-ca", caCertFile)
	certFile, keyFile = filepath.Join(dir, "pebble.crt"), filepath.Join(dir, "pebble.key")
	if err := os.WriteFile(certFile, issued.Certificate, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, certFile, keyFile
}

// freePorts returns n TCP ports on 127.0.0.1 that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		port, _ := strconv.Atoi(p)
		ports = append(ports, port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
