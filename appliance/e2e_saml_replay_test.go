package appliance_test

import (
	"crypto/tls"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// samlClient signs in through SimpleSAMLphp with plain HTTP, the way a
// browser would, and keeps the SAMLResponse the IdP posts, to replay it.
type samlClient struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newSAMLClient(t *testing.T, base string) *samlClient {
	jar, _ := cookiejar.New(nil)
	return &samlClient{t: t, base: base, c: &http.Client{Jar: jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // the appliance's test CA, loopback only
}

var (
	reHidden = regexp.MustCompile(`<input\s+type="hidden"\s+name="([A-Za-z]+)"\s+value="([^"]*)"`)
	reAction = regexp.MustCompile(`<form\s+method="post"\s+action="([^"]+)"`)
)

// get fetches u and returns the final URL and body.
func (s *samlClient) get(u string) (string, string) {
	s.t.Helper()
	resp, err := s.c.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Request.URL.String(), string(b)
}

// loginAtIdP follows start (an appliance or IdP URL) to the IdP's login
// form, signs in, and returns the auto-post form's action and fields.
func (s *samlClient) loginAtIdP(start, user, password string) (string, url.Values) {
	s.t.Helper()
	at, body := s.get(start)
	form := url.Values{"username": {user}, "password": {password}}
	for _, m := range reHidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("AuthState") == "" {
		s.t.Fatalf("no IdP login form at %s:\n%.500s", at, body)
	}
	resp, err := s.c.PostForm(at, form)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := url.Values{}
	for _, m := range reHidden.FindAllStringSubmatch(string(b), -1) {
		out.Set(m[1], html.UnescapeString(m[2]))
	}
	act := reAction.FindStringSubmatch(string(b))
	if out.Get("SAMLResponse") == "" || act == nil {
		s.t.Fatalf("the IdP did not answer with a SAMLResponse form:\n%.800s", b)
	}
	return html.UnescapeString(act[1]), out
}

// post posts the form to the ACS without following the redirect and
// returns where the appliance sends the browser.
func (s *samlClient) post(action string, form url.Values) string {
	s.t.Helper()
	c := *s.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(action, form)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// TestSAMLReplayRefused takes a real SimpleSAMLphp Response and posts it a
// second time: refused, whether the request tracking catches it
// (SP-initiated) or only the store's replay cache can (IdP-initiated on).
func TestSAMLReplayRefused(t *testing.T) {
	users := []testkit.IdPUser{{Login: "jdoe", Password: "s3cret-jdoe", Name: "Doe, Jane", Groups: []string{"Clinicians"}}}
	for _, idpInit := range []bool{false, true} {
		name := "sp-initiated"
		extra := ""
		if idpInit {
			name, extra = "idp-initiated", "allow_idp_initiated = true\n"
		}
		t.Run(name, func(t *testing.T) {
			w := startWeb(t, users, extra)
			s := newSAMLClient(t, w.base)
			start := w.base + "/saml/login"
			if idpInit {
				start = w.idp.URL + "/saml2/idp/SSOService.php?spentityid=" + url.QueryEscape(w.base+"/saml/metadata")
			}
			action, form := s.loginAtIdP(start, "jdoe", "s3cret-jdoe")
			if action != w.base+"/saml/acs" {
				t.Fatalf("the IdP posts to %s", action)
			}
			if loc := s.post(action, form); loc != "/app/" {
				t.Fatalf("the first use of the Response: sent to %q, want /app/\n%s", loc, w.a.Stderr())
			}
			if loc := s.post(action, form); !strings.HasPrefix(loc, "/login?e=failed") {
				t.Fatalf("the replayed Response: sent to %q, want /login?e=failed", loc)
			}
			out, _, _ := w.a.CLI("audit", "export")
			if idpInit && !strings.Contains(out, "assertion already used") {
				t.Fatalf("the replay was not refused by the replay cache (no \"assertion already used\" in the audit trail):\n%s", out)
			}
			if !idpInit && !strings.Contains(out, "InResponseTo") {
				t.Fatalf("the replay was not refused for its InResponseTo")
			}
		})
	}
}
