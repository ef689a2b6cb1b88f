package appliance

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIdPMetadataURL: the metadata comes over HTTPS trusting idp_ca_file;
// redirects are not followed; an unknown CA is refused.
func TestIdPMetadataURL(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/md", http.StatusFound)
			return
		}
		w.Write([]byte("<EntityDescriptor/>"))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := idpMetadata(ctx, &SAMLConfig{IdPMetadataURL: srv.URL + "/md", IdPCAFile: ca})
	if err != nil || !strings.Contains(string(b), "EntityDescriptor") {
		t.Fatalf("fetch: %q, %v", b, err)
	}
	if _, err := idpMetadata(ctx, &SAMLConfig{IdPMetadataURL: srv.URL + "/moved", IdPCAFile: ca}); err == nil {
		t.Fatal("a redirect was followed")
	}
	if _, err := idpMetadata(ctx, &SAMLConfig{IdPMetadataURL: srv.URL + "/md"}); err == nil {
		t.Fatal("a certificate from an unknown CA was trusted")
	}
}

func TestBaseURL(t *testing.T) {
	cases := []struct {
		base, want string
		ok         bool
	}{
		{"https://wardline.hosp.test", "https://wardline.hosp.test", true},
		{"https://wardline.hosp.test:8443/", "https://wardline.hosp.test:8443", true},
		{"http://wardline.hosp.test", "", false},
		{"https://wardline.hosp.test/app", "", false},
	}
	for _, c := range cases {
		cfg := Defaults()
		cfg.HTTPS.BaseURL = c.base
		u, err := baseURL(cfg, 8443)
		if (err == nil) != c.ok || err == nil && u.String() != c.want {
			t.Errorf("%q: %v, %v", c.base, u, err)
		}
	}
	cfg := Defaults()
	cfg.HostNames = []string{"w.hosp.test"}
	if u, _ := baseURL(cfg, 9443); u.String() != "https://w.hosp.test:9443" {
		t.Errorf("default base URL %s", u)
	}
}
