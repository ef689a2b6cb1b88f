package sso

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
)

// logoutURL builds an IdP-initiated LogoutRequest redirect to the SP,
// signed with key.
func logoutURL(t testing.TB, f fixture, key *rsa.PrivateKey, issuer string, at time.Time, edit func(q string) string) string {
	t.Helper()
	doc := fmt.Sprintf(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="lr-1" Version="2.0" IssueInstant="%s" Destination="%s"><saml:Issuer>%s</saml:Issuer><saml:NameID>_transient123</saml:NameID><samlp:SessionIndex>s1</samlp:SessionIndex></samlp:LogoutRequest>`,
		at.UTC().Format(time.RFC3339), f.sp.sp.SloURL.String(), issuer)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write([]byte(doc))
	w.Close()
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes())) + "&RelayState=" + url.QueryEscape("back") +
		"&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	sum := sha256.Sum256([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	if edit != nil {
		q = edit(q)
	}
	return f.sp.sp.SloURL.String() + "?" + q
}

func TestParseLogoutRequest(t *testing.T) {
	f := newFixture(t)
	idpKey := f.idp.Key.(*rsa.PrivateKey)
	other, _ := keyPair(t)
	for other.Equal(idpKey) {
		other, _ = keyPair(t)
	}
	issuer := f.sp.sp.IDPMetadata.EntityID
	now := time.Now()
	good := logoutURL(t, f, idpKey, issuer, now, nil)
	lr, err := f.sp.ParseLogoutRequest(httptest.NewRequest("GET", good, nil))
	if err != nil || lr.NameID != "_transient123" || lr.ID != "lr-1" || lr.RelayState != "back" {
		t.Fatalf("a good logout request: %+v, %v", lr, err)
	}
	if u, err := f.sp.LogoutResponseURL(lr); err != nil || !strings.Contains(u, "SAMLResponse=") {
		t.Fatalf("logout response: %q %v", u, err)
	}
	cases := map[string]string{
		"signed by another key": logoutURL(t, f, other, issuer, now, nil),
		"unsigned": logoutURL(t, f, idpKey, issuer, now, func(q string) string {
			return q[:strings.Index(q, "&SigAlg=")]
		}),
		"RelayState changed after signing": logoutURL(t, f, idpKey, issuer, now, func(q string) string {
			return strings.Replace(q, "RelayState=back", "RelayState=https%3A%2F%2Fevil.test", 1)
		}),
		"SHA-1": logoutURL(t, f, idpKey, issuer, now, func(q string) string {
			return strings.Replace(q, url.QueryEscape(dsig.RSASHA256SignatureMethod), url.QueryEscape(dsig.RSASHA1SignatureMethod), 1)
		}),
		"another issuer": logoutURL(t, f, idpKey, "https://evil.test/idp", now, nil),
		"stale":          logoutURL(t, f, idpKey, issuer, now.Add(-time.Hour), nil),
		"duplicated parameter": logoutURL(t, f, idpKey, issuer, now, func(q string) string {
			return q + "&SAMLRequest=x"
		}),
	}
	for name, u := range cases {
		if _, err := f.sp.ParseLogoutRequest(httptest.NewRequest("GET", u, nil)); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}
}

// FuzzParseLogoutRequest: no query panics the parser or passes unsigned.
func FuzzParseLogoutRequest(f *testing.F) {
	fx := newFixture(f)
	good := logoutURL(f, fx, fx.idp.Key.(*rsa.PrivateKey), fx.sp.sp.IDPMetadata.EntityID, time.Now(), nil)
	f.Add(good[strings.Index(good, "?")+1:])
	f.Add("SAMLRequest=&SigAlg=&Signature=")
	f.Add("SAMLRequest=%zz")
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/saml/slo", nil)
		r.URL.RawQuery = q
		_, _ = fx.sp.ParseLogoutRequest(r)
	})
}
