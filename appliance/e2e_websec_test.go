package appliance_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/wardline/wardline/internal/testkit"
)

// TestWebSecurity drives the web's defences over plain HTTP: break-glass
// sign-in and its rate limit, session fixation, cross-site posts, path
// traversal on static files, sign-out, and the answers to anonymous
// browsers and API clients.
func TestWebSecurity(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	out, errOut, code := runStdin(t, a, "correct horse battery staple\n", "admin", "add", "oncall-it", "--password-stdin")
	if code != 0 {
		t.Fatalf("admin add: %s", errOut)
	}
	m := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "otpauth://totp/") {
		t.Fatalf("admin add printed no otpauth URI:\n%s", out)
	}
	secret := m[1]
	base := "https://" + a.Listeners["https"]
	client := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test CA; loopback only
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c := client()
	var lastBody string
	do := func(method, path, origin string, form url.Values, cookie string) *http.Response {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__Host-wardline", Value: cookie})
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lastBody = string(b)
		return resp
	}

	// Anonymous: pages redirect to /login, the API answers 401 JSON.
	if r := do("GET", "/admin/", "", nil, ""); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous /admin/: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := do("GET", "/api/v1/conversations", "", nil, ""); r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("anonymous API: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	r := do("GET", "/login", "", nil, "")
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "Strict-Transport-Security": "max-age=", "X-Frame-Options": "DENY"} {
		if !strings.Contains(r.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, r.Header.Get(h), want)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || strings.Contains(r.Header.Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("CSP %q", r.Header.Get("Content-Security-Policy"))
	}

	// Path traversal on /static/: nothing outside the embedded files.
	for _, p := range []string{"/static/../appliance/web.go", "/static/..%2f..%2fgo.mod", "/static/%2e%2e/%2e%2e/go.mod", "/static/..\\go.mod", "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/wardline.css%00.png", "/static/"} {
		req, _ := http.NewRequest("GET", base+"/", nil)
		req.URL.Opaque = p // sent as is, not cleaned by the client
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "package ") || strings.Contains(string(b), "root:") {
			t.Errorf("GET %s: %d, served %.40q", p, resp.StatusCode, b)
		}
	}
	if r := do("GET", "/static/wardline.css", "", nil, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("/static/wardline.css: %d", r.StatusCode)
	}

	// A cross-site sign-in form is refused.
	good := url.Values{"login": {"oncall-it"}, "password": {"correct horse battery staple"}}
	codeNow := func() string { s, _ := totp.GenerateCode(secret, time.Now()); return s }
	good.Set("code", codeNow())
	if r := do("POST", "/login", "https://evil.example", good, ""); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d, want 403", r.StatusCode)
	}

	// Session fixation: a cookie planted before sign-in is never promoted.
	planted := strings.Repeat("a", 64)
	r = do("POST", "/login", base, good, planted)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/" {
		t.Fatalf("break-glass sign-in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	var session string
	for _, ck := range r.Cookies() {
		if ck.Name == "__Host-wardline" {
			session = ck.Value
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.MaxAge > 3600 {
				t.Errorf("session cookie attributes: %+v", ck)
			}
		}
	}
	if session == "" || session == planted {
		t.Fatalf("sign-in set cookie %q (planted %q)", session, planted)
	}
	if r := do("GET", "/admin/", "", nil, planted); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the planted cookie opened /admin/: %d", r.StatusCode)
	}
	if r := do("GET", "/admin/", "", nil, session); r.StatusCode != http.StatusOK {
		t.Fatalf("/admin/ with the session: %d", r.StatusCode)
	}
	// The same TOTP code does not work twice.
	if r := do("POST", "/login", base, good, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a reused TOTP code: %d, want 401", r.StatusCode)
	}

	// Cross-site form posts: without the token, or from another origin.
	a.CLI("user", "add", "victim", "--name", "Victim V")
	if r := do("POST", "/admin/users/victim/disable", base, url.Values{}, session); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a change without the CSRF token: %d, want 403", r.StatusCode)
	}
	if r := do("POST", "/admin/users/victim/disable", "https://evil.example", url.Values{"csrf": {"guess"}}, session); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site change: %d, want 403", r.StatusCode)
	}
	if r := do("POST", "/api/v1/messages", base, nil, session); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an API change without X-CSRF-Token: %d, want 403", r.StatusCode)
	}
	if out, _, _ := a.CLI("user", "list", "--json"); strings.Contains(out, `"enabled": false`) {
		t.Fatalf("the victim was disabled by a forged request:\n%s", out)
	}
	// The same change from the console's own form works, and is audited
	// with the break-glass actor.
	do("GET", "/admin/users", "", nil, session)
	tok := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(lastBody)
	if tok == nil {
		t.Fatalf("no CSRF token on /admin/users:\n%.500s", lastBody)
	}
	if r := do("POST", "/admin/users/victim/disable", base, url.Values{"csrf": {tok[1]}}, session); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable from the console: %d\n%.300s", r.StatusCode, lastBody)
	}
	if out, _, _ := a.CLI("user", "list", "--json"); !strings.Contains(out, `"enabled": false`) {
		t.Fatalf("the console's disable did not disable:\n%s", out)
	}
	// Settings: retention and the critical repeat change at run time,
	// within their limits, audited.
	if r := do("POST", "/admin/settings", base, url.Values{"csrf": {tok[1]}, "retention": {"48h"}, "critical_repeat": {"30s"}}, session); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving settings: %d\n%.300s", r.StatusCode, lastBody)
	}
	do("GET", "/admin/settings", "", nil, session)
	if !strings.Contains(lastBody, "<strong>48h0m0s</strong>") || !strings.Contains(lastBody, "<strong>30s</strong>") {
		t.Fatalf("the settings page does not show the new values:\n%.2000s", lastBody)
	}
	if r := do("POST", "/admin/settings", base, url.Values{"csrf": {tok[1]}, "retention": {"5m"}}, session); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a 5-minute retention: %d, want 422", r.StatusCode)
	}
	// A break-glass administrator has no clinician web client.
	if r := do("GET", "/app/", "", nil, session); r.StatusCode != http.StatusForbidden {
		t.Fatalf("/app/ for a break-glass administrator: %d, want 403", r.StatusCode)
	}

	// Sign-out ends the server session; the cookie is worthless afterwards.
	if r := do("POST", "/logout", base, url.Values{"csrf": {"wrong"}}, session); r.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without the token: %d, want 403", r.StatusCode)
	}

	// Rate limit: 5 failed tries per login in 15 minutes (the reused code
	// was the first), then 429.
	bad := url.Values{"login": {"oncall-it"}, "password": {"wrong password!!"}, "code": {"000000"}}
	for i := 2; i <= 5; i++ {
		if r := do("POST", "/login", base, bad, ""); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed try %d: %d, want 401", i, r.StatusCode)
		}
	}
	r = do("POST", "/login", base, good, "")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the 6th try: %d Retry-After %q, want 429 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	time.Sleep(300 * time.Millisecond)
	exp, _, _ := a.CLI("audit", "export")
	if !strings.Contains(exp, `"action":"settings.change"`) {
		t.Fatal("the settings change is not in the audit trail")
	}
	if n := strings.Count(exp, `"session.start.breakglass"`); n < 8 {
		t.Fatalf("%d break-glass tries audited, want every one (8 or more)", n)
	}
	if !strings.Contains(exp, `"actor":"breakglass:oncall-it","session"`) || !strings.Contains(exp, `"action":"user.disable","objects":["user:victim"]`) {
		t.Fatal("break-glass events are not flagged by their actor")
	}
}
