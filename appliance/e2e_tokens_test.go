package appliance_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestAPITokensEndToEnd: through the real binary, `wardline token add`
// prints a token once that authenticates /api/v1/ over HTTPS with its
// right; `token list` shows it without the token; after `token revoke` it
// gets 401; the token is nowhere in the appliance's output.
func TestAPITokensEndToEnd(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	out, errOut, code := a.CLI("token", "add", "siem", "--right", "auditor", "--expires", "30d", "--json")
	if code != 0 {
		t.Fatalf("token add: %s", errOut)
	}
	var added struct{ Name, Right, Token string }
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.Right != "auditor" || !strings.HasPrefix(added.Token, "wlt_") {
		t.Fatalf("token add printed %q: %v", out, err)
	}
	client := a.HTTPSClient()
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL(path), strings.NewReader(`{"to_kind":"user","to":"x","body":"x"}`))
		req.Header.Set("Authorization", "Bearer "+added.Token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if len(resp.Cookies()) > 0 {
			t.Errorf("%s set a cookie", path)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/api/v1/whoami"); code != 200 || !strings.Contains(body, `"login":"token:siem"`) {
		t.Fatalf("whoami: %d %s", code, body)
	}
	if code, body := get("POST", "/api/v1/messages"); code != http.StatusForbidden {
		t.Fatalf("an auditor token sent a message: %d %s", code, body)
	}
	out, errOut, code = a.CLI("token", "list", "--json")
	if code != 0 || !strings.Contains(out, `"name": "siem"`) || !strings.Contains(out, "last_used") || strings.Contains(out, added.Token) {
		t.Fatalf("token list: %s %s", out, errOut)
	}
	if _, errOut, code := a.CLI("token", "revoke", "siem"); code != 0 {
		t.Fatalf("token revoke: %s", errOut)
	}
	if code, body := get("GET", "/api/v1/whoami"); code != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) {
		t.Fatalf("a revoked token: %d %s", code, body)
	}
	if strings.Contains(a.Stdout()+a.Stderr(), added.Token[4:]) {
		t.Fatal("the token is in the appliance's output")
	}
}
