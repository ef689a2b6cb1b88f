package sso

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// testKeys counts the keys handed out, to give each a different one of
// the fixed test keys in testdata (generating RSA keys under the fuzzer's
// coverage instrumentation takes most of a fuzz run).
var testKeys atomic.Int32

// keyPair returns an RSA test key and a fresh self-signed certificate.
func keyPair(t testing.TB) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	n := testKeys.Add(1)%3 + 1
	b, err := os.ReadFile(fmt.Sprintf("testdata/key%d.pem", n))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("testdata key: no PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// fixture is an SP and a crewjam IdP that trust each other.
type fixture struct {
	sp  *SP
	idp *saml.IdentityProvider
}

func newFixture(t testing.TB, opts ...func(*SPOptions)) fixture {
	t.Helper()
	ikey, icert := keyPair(t)
	mdURL, _ := url.Parse("https://idp.hosp.test/metadata")
	ssoURL, _ := url.Parse("https://idp.hosp.test/sso")
	sloURL, _ := url.Parse("https://idp.hosp.test/slo")
	idp := &saml.IdentityProvider{Key: ikey, Certificate: icert, MetadataURL: *mdURL, SSOURL: *ssoURL, LogoutURL: *sloURL, SignatureMethod: dsig.RSASHA256SignatureMethod}
	md, err := xml.Marshal(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	skey, scert := keyPair(t)
	base, _ := url.Parse("https://wardline.hosp.test")
	o := SPOptions{BaseURL: base, Key: skey, Certificate: scert, IdPMetadata: md, LoginAttribute: "uid",
		GroupsAttribute: "eduPersonAffiliation", AdminGroups: []string{"it-admins"}}
	for _, f := range opts {
		f(&o)
	}
	sp, err := NewSP(o)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{sp: sp, idp: idp}
}

// response builds a signed Response for login answering request id, and
// lets edit change the IdP request before it is signed.
func (f fixture) response(t testing.TB, login, id string, edit func(*saml.IdpAuthnRequest)) *etree.Document {
	t.Helper()
	spMD := f.sp.sp.Metadata()
	desc := spMD.SPSSODescriptors[0]
	var keys []saml.KeyDescriptor
	for _, k := range desc.KeyDescriptors {
		if k.Use != "encryption" {
			keys = append(keys, k)
		}
	}
	desc.KeyDescriptors = keys
	req := &saml.IdpAuthnRequest{IDP: f.idp, ServiceProviderMetadata: spMD, SPSSODescriptor: &desc,
		ACSEndpoint: &desc.AssertionConsumerServices[0], Now: saml.TimeNow(), Request: saml.AuthnRequest{ID: id},
		HTTPRequest: httptest.NewRequest("POST", "https://idp.hosp.test/sso", nil)}
	sess := &saml.Session{ID: "s1", NameID: login, UserName: login, Groups: []string{"it-admins"}, CreateTime: saml.TimeNow(), ExpireTime: saml.TimeNow().Add(time.Hour)}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, sess); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(req)
	}
	if err := req.MakeAssertionEl(); err != nil {
		t.Fatal(err)
	}
	if err := req.MakeResponse(); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl)
	return doc
}

func bytesOf(t testing.TB, doc *etree.Document) []byte {
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSPAcceptsAGoodResponse(t *testing.T) {
	f := newFixture(t)
	id, err := f.sp.check(bytesOf(t, f.response(t, "jdoe", "req-1", nil)), []string{"req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if id.Login != "jdoe" || id.AssertionID == "" || id.Expires.IsZero() || len(id.Rights) != 2 {
		t.Fatalf("identity %+v", id)
	}
}

// TestSPOptions: IdP-initiated sign-in when enabled; the required
// authentication context.
func TestSPOptions(t *testing.T) {
	f := newFixture(t, func(o *SPOptions) { o.AllowIdPInitiated = true })
	if _, err := f.sp.check(bytesOf(t, f.response(t, "jdoe", "", nil)), nil); err != nil {
		t.Fatalf("IdP-initiated with allow_idp_initiated: %v", err)
	}
	if _, err := f.sp.check(bytesOf(t, f.response(t, "jdoe", "req-x", nil)), nil); !errors.Is(err, ErrRejected) {
		t.Fatalf("a response to a request this browser never made: %v", err)
	}
	mfa := "http://schemas.microsoft.com/claims/multipleauthn"
	g := newFixture(t, func(o *SPOptions) { o.RequiredAuthnContext = []string{mfa} })
	if _, err := g.sp.check(bytesOf(t, g.response(t, "jdoe", "r1", nil)), []string{"r1"}); !errors.Is(err, ErrRejected) {
		t.Fatalf("a password-only sign-in with MFA required: %v", err)
	}
	raw := g.response(t, "jdoe", "r2", func(r *saml.IdpAuthnRequest) {
		r.Assertion.AuthnStatements[0].AuthnContext.AuthnContextClassRef = &saml.AuthnContextClassRef{Value: mfa}
	})
	if _, err := g.sp.check(bytesOf(t, raw), []string{"r2"}); err != nil {
		t.Fatalf("an MFA sign-in: %v", err)
	}
}

// TestSPRefusesAttacks: each crafted response fails closed.
func TestSPRefusesAttacks(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t) // an IdP this SP does not trust
	cases := []struct {
		name string
		raw  func(t *testing.T) []byte
		ids  []string
	}{
		{"forged: signed by another key", func(t *testing.T) []byte {
			o := other
			o.sp = f.sp // same SP metadata, other IdP key
			o.idp.MetadataURL = f.idp.MetadataURL
			return bytesOf(t, o.response(t, "jdoe", "req-1", nil))
		}, []string{"req-1"}},
		{"unsigned", func(t *testing.T) []byte {
			doc := f.response(t, "jdoe", "req-1", nil)
			for _, sig := range doc.FindElements("//Signature") {
				sig.Parent().RemoveChild(sig)
			}
			return bytesOf(t, doc)
		}, []string{"req-1"}},
		{"tampered after signing", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(bytesOf(t, f.response(t, "jdoe", "req-1", nil))), ">jdoe<", ">mallory<", -1))
		}, []string{"req-1"}},
		{"wrong audience", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "req-1", func(r *saml.IdpAuthnRequest) {
				r.Assertion.Conditions.AudienceRestrictions[0].Audience.Value = "https://other-sp.test/metadata"
			}))
		}, []string{"req-1"}},
		{"wrong recipient", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "req-1", func(r *saml.IdpAuthnRequest) {
				r.Assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient = "https://evil.test/acs"
			}))
		}, []string{"req-1"}},
		{"expired", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "req-1", func(r *saml.IdpAuthnRequest) {
				past := time.Now().Add(-2 * time.Hour)
				r.Assertion.IssueInstant = past
				r.Assertion.Conditions.NotBefore, r.Assertion.Conditions.NotOnOrAfter = past, past.Add(5*time.Minute)
				r.Assertion.Subject.SubjectConfirmations[0].SubjectConfirmationData.NotOnOrAfter = past.Add(5 * time.Minute)
			}))
		}, []string{"req-1"}},
		{"not yet valid", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "req-1", func(r *saml.IdpAuthnRequest) {
				r.Assertion.Conditions.NotBefore = time.Now().Add(time.Hour)
			}))
		}, []string{"req-1"}},
		{"answers another browser's request", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "req-other", nil))
		}, []string{"req-1"}},
		{"unsolicited (IdP-initiated is off)", func(t *testing.T) []byte {
			return bytesOf(t, f.response(t, "jdoe", "", nil))
		}, nil},
		{"signature wrapping: an unsigned assertion for another user first", func(t *testing.T) []byte {
			doc := f.response(t, "jdoe", "req-1", nil)
			signed := doc.FindElement("//Assertion")
			evil := signed.Copy()
			if s := evil.FindElement("./Signature"); s != nil {
				evil.RemoveChild(s)
			}
			evil.CreateAttr("ID", "evil-1")
			for _, v := range evil.FindElements(".//AttributeValue") {
				if v.Text() == "jdoe" {
					v.SetText("admin")
				}
			}
			root := doc.Root()
			root.InsertChildAt(signed.Index(), evil)
			return bytesOf(t, doc)
		}, []string{"req-1"}},
		{"signature wrapping: signed assertion hidden in Extensions", func(t *testing.T) []byte {
			doc := f.response(t, "jdoe", "req-1", nil)
			signed := doc.FindElement("//Assertion")
			root := doc.Root()
			root.RemoveChild(signed)
			ext := root.CreateElement("samlp:Extensions")
			ext.AddChild(signed)
			return bytesOf(t, doc)
		}, []string{"req-1"}},
		{"a DTD (XXE)", func(t *testing.T) []byte {
			return append([]byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`), bytesOf(t, f.response(t, "jdoe", "req-1", nil))...)
		}, []string{"req-1"}},
		{"comment inside the login", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(bytesOf(t, f.response(t, "jdoe", "req-1", nil))), ">jdoe<", ">jdoe<!---->.evil<", -1))
		}, []string{"req-1"}},
		{"not XML", func(*testing.T) []byte { return []byte("<Response") }, []string{"req-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := f.sp.check(c.raw(t), c.ids)
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("accepted (%+v), err %v; want ErrRejected", id, err)
			}
		})
	}
}

// FuzzPrecheck: no input makes the pre-check panic.
func FuzzPrecheck(f *testing.F) {
	fx := newFixture(f)
	f.Add(bytesOf(f, fx.response(f, "jdoe", "req-1", nil)))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	f.Fuzz(func(t *testing.T, b []byte) { _ = Precheck(b) })
}

// FuzzSPCheck: no Response, however mangled, panics the service provider
// or signs anyone in.
func FuzzSPCheck(f *testing.F) {
	fx := newFixture(f)
	good := bytesOf(f, fx.response(f, "jdoe", "req-1", nil))
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), "jdoe", "root", -1)))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Equal(b, good) {
			return
		}
		if id, err := fx.sp.check(b, []string{"req-1"}); err == nil && id.Login != "jdoe" {
			t.Fatalf("a mangled response signed in %q", id.Login)
		}
	})
}
