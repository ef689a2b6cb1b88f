package appliance_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestServeLifecycle starts the real binary with defaults on port-0
// listeners, checks the banner, the private data directory, TLS for clients
// without SNI, health, readiness and metrics, then stops it with SIGTERM
// and starts it again on the same data.
func TestServeLifecycle(t *testing.T) {
	data := testkit.NewDataDir(t)
	a := testkit.Start(t, data)

	for _, want := range []string{"MQTT over TLS    127.0.0.1:", "HTTPS            https://127.0.0.1:", "Admin socket", "wardline user add", "wardline audit verify", "wardline backup"} {
		if !strings.Contains(a.Stdout(), want) {
			t.Errorf("banner lacks %q:\n%s", want, a.Stdout())
		}
	}
	for path, mode := range map[string]os.FileMode{data: 0o700, a.KeyFile(): 0o600, data + "/wardline.sock": 0o600, data + "/ca/ca.key": 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %04o", path, fi.Mode().Perm(), err, mode)
		}
	}

	// A client that trusts the appliance's CA and connects by IP (no SNI).
	c := a.HTTPSClient()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/nowhere": 404} {
		resp, err := c.Get(a.URL(path))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d: %s", path, resp.StatusCode, want, body)
		}
		if path == "/metrics" && !strings.Contains(string(body), "wardline_store_commits_total") {
			t.Errorf("metrics lack the store counters")
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("GET %s: no HSTS header", path)
		}
	}
	// The MQTT listener speaks TLS with the same certificates.
	conn, err := tls.Dial("tcp", a.Listeners["mqtts"], c.Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatalf("TLS to the MQTT listener: %v", err)
	}
	conn.Close()
	// TLS 1.1 is refused on both listeners.
	for _, addr := range []string{a.Listeners["https"], a.Listeners["mqtts"]} {
		if c, err := tls.Dial("tcp", addr, &tls.Config{MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}); err == nil {
			c.Close()
			t.Errorf("%s accepted TLS 1.1", addr)
		}
	}
	// Only the configured listeners are open: no plain MQTT by default.
	if _, ok := a.Listeners["mqtt"]; ok {
		t.Errorf("a plain MQTT listener is open by default: %v", a.Listeners)
	}

	if code := a.Stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, a.Stderr())
	}
	if !strings.Contains(a.Stderr(), "stopped cleanly") {
		t.Errorf("no clean-stop log line")
	}
	if _, err := os.Stat(data + "/wardline.sock"); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind after shutdown")
	}
	a.Restart()
	if _, errOut, code := a.CLI("audit", "verify"); code != 0 {
		t.Fatalf("audit verify after restart: %s", errOut)
	}
}
