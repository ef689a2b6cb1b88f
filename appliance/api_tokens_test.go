package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/sso"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// tokenRig is the /api/v1/ handler and the admin socket's, on one store,
// with every log line kept.
type tokenRig struct {
	st    *store.Store
	api   http.Handler
	admin http.Handler
	logs  *bytes.Buffer
}

func newTokenRig(t *testing.T) *tokenRig {
	t.Helper()
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := &Appliance{store: st, log: log}
	w := &web{a: a, log: log, origin: "https://wardline.test", limiter: newBreakGlassLimiter(), hub: newWebHub()}
	w.sessions = sso.NewSessions(webSessionStore{st}, time.Hour, 8*time.Hour, time.Now)
	u, err := ui.New(ui.Options{Backend: &webBackend{a: a, w: w}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	w.ui = u
	return &tokenRig{st: st, api: w.api(), admin: (&adminAPI{store: st, log: log}).handler(), logs: logs}
}

// call sends a request to h and decodes a JSON answer into out.
func call(t *testing.T, h http.Handler, method, path string, hdr map[string]string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.7:5555"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if len(rec.Result().Cookies()) > 0 {
		t.Errorf("%s %s set a cookie", method, path)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
		}
	}
	return rec.Code
}

func (r *tokenRig) add(t *testing.T, name, right, expires string) string {
	t.Helper()
	var out tokenInfo
	if code := call(t, r.admin, "POST", "/v1/tokens", nil, tokenAdd{Name: name, Right: right, Expires: expires}, &out); code != http.StatusCreated {
		t.Fatalf("token add %s: %d", name, code)
	}
	if !apiTokenForm.MatchString(out.Token) {
		t.Fatalf("token %q has not the form wlt_ + 43", out.Token)
	}
	return out.Token
}

// TestAPITokens: a token authenticates /api/v1/ with exactly its right;
// an unknown, expired, revoked or malformed one gets 401 JSON; a session
// cookie beside a token is ignored; the token itself never reaches the
// logs, the audit trail or the token list.
func TestAPITokens(t *testing.T) {
	r := newTokenRig(t)
	ctx := context.Background()
	aud := r.add(t, "siem", "auditor", "")
	adm := r.add(t, "provisioning", "administrator", "90d")
	gone := r.add(t, "old", "auditor", "")
	if code := call(t, r.admin, "POST", "/v1/tokens/old/revoke", nil, nil, nil); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	expired, _ := newAPIToken()
	if err := r.st.Apply(ctx, store.AddAPIToken{By: audit.System, Token: store.APIToken{Name: "stale", Right: directory.RightAdmin,
		Hash: hashAPIToken(expired), Expires: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	unknown, _ := newAPIToken()
	for _, bad := range []tokenAdd{{Name: "siem", Right: "auditor"}, {Name: "x", Right: "clinician"}, {Name: "Bad Name", Right: "auditor"}, {Name: "y", Right: "auditor", Expires: "-1h"}} {
		if code := call(t, r.admin, "POST", "/v1/tokens", nil, bad, nil); code < 400 || code >= 500 {
			t.Errorf("token add %+v: %d", bad, code)
		}
	}
	send := map[string]string{"to_kind": "user", "to": "dr.lee", "body": "x"}
	cases := []struct {
		name, method, path, auth string
		cookie                   bool
		body                     any
		want                     int
		login                    string
	}{
		{"auditor reads", "GET", "/api/v1/whoami", "Bearer " + aud, false, nil, 200, "token:siem"},
		{"administrator reads", "GET", "/api/v1/whoami", "Bearer " + adm, false, nil, 200, "token:provisioning"},
		{"scheme is case-insensitive", "GET", "/api/v1/whoami", "bearer " + adm, false, nil, 200, "token:provisioning"},
		{"cookie beside a token is ignored", "GET", "/api/v1/whoami", "Bearer " + aud, true, nil, 200, "token:siem"},
		{"auditor refused a change", "POST", "/api/v1/messages", "Bearer " + aud, false, send, 403, ""},
		{"administrator has no clinician right", "POST", "/api/v1/messages", "Bearer " + adm, false, send, 403, ""},
		{"administrator, unknown path", "GET", "/api/v1/nothing", "Bearer " + adm, false, nil, 404, ""},
		{"unknown token", "GET", "/api/v1/whoami", "Bearer " + unknown, false, nil, 401, ""},
		{"expired token", "GET", "/api/v1/whoami", "Bearer " + expired, false, nil, 401, ""},
		{"revoked token", "GET", "/api/v1/whoami", "Bearer " + gone, false, nil, 401, ""},
		{"other scheme", "GET", "/api/v1/whoami", "Basic " + aud, false, nil, 401, ""},
		{"malformed", "GET", "/api/v1/whoami", "Bearer wlt_short", false, nil, 401, ""},
		{"no credentials", "GET", "/api/v1/whoami", "", false, nil, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.auth != "" {
				hdr["Authorization"] = c.auth
			}
			if c.cookie {
				hdr["Cookie"] = "wardline_session=forged"
			}
			var out map[string]any
			code := call(t, r.api, c.method, c.path, hdr, c.body, &out)
			if code != c.want {
				t.Fatalf("%d, want %d: %v", code, c.want, out)
			}
			if c.login != "" && out["login"] != c.login {
				t.Fatalf("signed in as %v, want %s", out["login"], c.login)
			}
			if code >= 400 && out["code"] == nil {
				t.Fatalf("error answer without a code: %v", out)
			}
		})
	}

	var list []tokenInfo
	if code := call(t, r.admin, "GET", "/v1/tokens", nil, nil, &list); code != 200 || len(list) != 3 {
		t.Fatalf("token list: %d %+v", code, list)
	}
	listed, _ := json.Marshal(list)
	for _, ti := range list {
		if ti.Name == "siem" && ti.LastUsed.IsZero() {
			t.Error("the last use of siem was not recorded")
		}
	}
	var trail bytes.Buffer
	actions := map[string]int{}
	if err := r.st.ExportAudit(ctx, audit.System, time.Time{}, time.Now().Add(time.Hour), func(ev audit.Event) error {
		b, _ := json.Marshal(ev)
		trail.Write(b)
		actions[ev.Action+"/"+ev.Actor+"/"+ev.Outcome]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{aud, adm, gone, expired, unknown} {
		for what, text := range map[string]string{"logs": r.logs.String(), "audit trail": trail.String(), "token list": string(listed)} {
			if strings.Contains(text, tok) || strings.Contains(text, tok[len(apiTokenPrefix):]) {
				t.Errorf("a token appears in the %s", what)
			}
		}
	}
	for _, want := range []string{"token.add/local:unknown/ok", "token.revoke/local:unknown/ok", "api.whoami/token:siem/ok",
		"token.use/token:siem/ok", "token.use/token:stale/denied", "token.use/unknown/denied"} {
		if actions[want] == 0 {
			t.Errorf("no %s in the audit trail: %v", want, actions)
		}
	}
	if code := call(t, r.admin, "POST", "/v1/tokens/nobody/revoke", nil, nil, nil); code != http.StatusNotFound {
		t.Errorf("revoke of an unknown token: %d", code)
	}
}

// TestAPITokenRateLimit: failed token attempts from one address are
// throttled like sign-ins, and then even a good token waits.
func TestAPITokenRateLimit(t *testing.T) {
	r := newTokenRig(t)
	good := r.add(t, "siem", "auditor", "")
	bad, _ := newAPIToken()
	for i := range breakGlassTries {
		if code := call(t, r.api, "GET", "/api/v1/whoami", map[string]string{"Authorization": "Bearer " + bad}, nil, nil); code != 401 {
			t.Fatalf("try %d: %d", i, code)
		}
	}
	for _, tok := range []string{bad, good} {
		if code := call(t, r.api, "GET", "/api/v1/whoami", map[string]string{"Authorization": "Bearer " + tok}, nil, nil); code != http.StatusTooManyRequests {
			t.Fatalf("after %d failures: %d", breakGlassTries, code)
		}
	}
}

// bearerCases seed FuzzParseBearer.
var bearerCases = []struct {
	in          string
	present, ok bool
}{
	{"", false, false},
	{"Bearer wlt_" + strings.Repeat("A", 43), true, true},
	{"bearer   wlt_" + strings.Repeat("-", 43), true, true},
	{"Bearer wlt_" + strings.Repeat("A", 42), true, false},
	{"Bearer wlt_" + strings.Repeat("A", 44), true, false},
	{"Bearer wlt_" + strings.Repeat("A", 42) + "=", true, false},
	{"Bearer wlt_" + strings.Repeat("A", 43) + " ", true, false},
	{"Bearer wlx_" + strings.Repeat("A", 43), true, false},
	{"Basic dXNlcjpwYXNz", true, false},
	{"Bearer", true, false},
	{"Bearer\twlt_" + strings.Repeat("A", 43), true, false},
	{"Bearer wlt_" + strings.Repeat("é", 22), true, false},
}

func TestParseBearer(t *testing.T) {
	for _, c := range bearerCases {
		tok, present, ok := parseBearer(c.in)
		if present != c.present || ok != c.ok || ok && !strings.HasSuffix(c.in, tok) {
			t.Errorf("%q: %q %v %v", c.in, tok, present, ok)
		}
	}
}

// FuzzParseBearer: any header parses without panicking, and what it
// accepts is exactly a well-formed token found at the header's end.
func FuzzParseBearer(f *testing.F) {
	for _, c := range bearerCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, present, ok := parseBearer(h)
		if ok && (!present || !apiTokenForm.MatchString(tok) || !strings.HasSuffix(h, tok)) {
			t.Fatalf("%q accepted as %q", h, tok)
		}
		if !ok && tok != "" {
			t.Fatalf("%q refused but gave %q", h, tok)
		}
		if h != "" && !present {
			t.Fatalf("%q not seen as present", h)
		}
	})
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, "0d": 0, "-1h": 0, "x": 0, "4000d": 0, "": 0} {
		got, err := parseExpiry(in)
		if want == 0 && err == nil || want != 0 && (err != nil || got != want) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
}
