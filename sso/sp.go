package sso

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/wardline/wardline/directory"
)

// ErrRejected is a SAML response refused: forged, unsigned, expired,
// replayed, for another audience, or otherwise not acceptable. The wrapped
// text says why, for the log and the audit trail (never shown to the
// browser beyond "sign-in failed").
var ErrRejected = errors.New("saml response rejected")

// SPOptions configure a service provider.
type SPOptions struct {
	BaseURL              *url.URL // https://host:port of the appliance
	EntityID             string   // default: <base>/saml/metadata
	Key                  crypto.Signer
	Certificate          *x509.Certificate
	IdPMetadata          []byte // the IdP's metadata XML
	AllowIdPInitiated    bool
	LoginAttribute       string // "" = NameID
	NameAttribute        string
	GroupsAttribute      string
	AdminGroups          []string
	AuditorGroups        []string
	RequiredAuthnContext []string // empty: any
	Now                  func() time.Time
}

// SP is the appliance's SAML service provider: metadata at /saml/metadata,
// the assertion consumer at /saml/acs, single logout at /saml/slo.
type SP struct {
	o   SPOptions
	sp  *saml.ServiceProvider
	now func() time.Time

	mu      sync.Mutex
	pending map[string]time.Time // AuthnRequest id -> when it stops being accepted
}

// Identity is what a verified assertion says about the person.
type Identity struct {
	Login        string
	Name         string
	Groups       []string
	Rights       []directory.Right
	NameID       string
	NameFormat   string
	SessionIndex string
	AssertionID  string
	Expires      time.Time // until when the assertion id must be remembered
}

// requestCookie carries the id of the AuthnRequest a browser was sent off
// with. It must come back on the IdP's cross-site POST, hence SameSite=None.
const requestCookie = "__Host-wardline-saml"

// requestTTL is how long a sign-in at the IdP may take.
const requestTTL = 10 * time.Minute

// NewSP checks the options and parses the IdP metadata. It does no I/O.
func NewSP(o SPOptions) (*SP, error) {
	if o.BaseURL == nil || o.BaseURL.Scheme != "https" {
		return nil, errors.New("saml: the base URL must be https")
	}
	if o.Key == nil || o.Certificate == nil {
		return nil, errors.New("saml: no service provider key")
	}
	md, err := ParseMetadata(o.IdPMetadata)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	base := *o.BaseURL
	base.Path, base.RawQuery, base.Fragment = "", "", ""
	at := func(p string) url.URL { u := base; u.Path = p; return u }
	sp := &saml.ServiceProvider{
		EntityID: o.EntityID, Key: o.Key, Certificate: o.Certificate,
		MetadataURL: at("/saml/metadata"), AcsURL: at("/saml/acs"), SloURL: at("/saml/slo"),
		IDPMetadata:       md,
		AllowIDPInitiated: o.AllowIdPInitiated,
		AuthnNameIDFormat: saml.UnspecifiedNameIDFormat,
		SignatureMethod:   dsig.RSASHA256SignatureMethod, // crewjam's default for RSA is SHA-1
		LogoutBindings:    []string{saml.HTTPRedirectBinding},
	}
	if sp.EntityID == "" {
		sp.EntityID = sp.MetadataURL.String()
	}
	p := &SP{o: o, sp: sp, now: o.Now, pending: map[string]time.Time{}}
	sp.ValidateRequestID = p.validateRequestID
	return p, nil
}

// ParseMetadata reads IdP metadata (an EntityDescriptor, or the first of
// an EntitiesDescriptor) and insists on a signing certificate and an SSO
// endpoint.
func ParseMetadata(b []byte) (*saml.EntityDescriptor, error) {
	if err := refuseDTD(b); err != nil {
		return nil, fmt.Errorf("saml: idp metadata: %w", err)
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(b, &md); err != nil || md.EntityID == "" {
		var all saml.EntitiesDescriptor
		if err2 := xml.Unmarshal(b, &all); err2 != nil || len(all.EntityDescriptors) == 0 {
			return nil, fmt.Errorf("saml: idp metadata is not SAML metadata: %v", err)
		}
		md = all.EntityDescriptors[0]
	}
	if len(md.IDPSSODescriptors) == 0 {
		return nil, errors.New("saml: the metadata describes no identity provider (IDPSSODescriptor)")
	}
	var certs, sso bool
	for _, d := range md.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "encryption" && len(kd.KeyInfo.X509Data.X509Certificates) > 0 {
				certs = true
			}
		}
		for _, s := range d.SingleSignOnServices {
			if s.Binding == saml.HTTPRedirectBinding {
				sso = true
			}
		}
	}
	if !certs {
		return nil, errors.New("saml: the idp metadata holds no signing certificate")
	}
	if !sso {
		return nil, errors.New("saml: the idp metadata has no HTTP-Redirect SingleSignOnService")
	}
	return &md, nil
}

// EntityID is the service provider's entity id.
func (p *SP) EntityID() string { return p.sp.EntityID }

// IdPName is the identity provider's name for the sign-in button: the
// OrganizationDisplayName of its metadata (English first), else its host
// name, else "your hospital account".
func (p *SP) IdPName() string {
	md := p.sp.IDPMetadata
	orgs := []*saml.Organization{md.Organization}
	for i := range md.IDPSSODescriptors {
		orgs = append(orgs, md.IDPSSODescriptors[i].Organization)
	}
	for _, o := range orgs {
		if o == nil {
			continue
		}
		for _, names := range [][]saml.LocalizedName{o.OrganizationDisplayNames, o.OrganizationNames} {
			for _, n := range names {
				if strings.HasPrefix(n.Lang, "en") && strings.TrimSpace(n.Value) != "" {
					return strings.TrimSpace(n.Value)
				}
			}
			for _, n := range names {
				if strings.TrimSpace(n.Value) != "" {
					return strings.TrimSpace(n.Value)
				}
			}
		}
	}
	if u, err := url.Parse(md.EntityID); err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil {
		return u.Hostname()
	}
	return "your hospital account"
}

// Metadata returns the SP metadata XML that the IdP imports.
func (p *SP) Metadata() ([]byte, error) {
	b, err := xml.MarshalIndent(p.sp.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// BeginLogin sends the browser to the IdP with a signed AuthnRequest and
// remembers the request for the response to match.
func (p *SP) BeginLogin(w http.ResponseWriter, r *http.Request) {
	req, err := p.sp.MakeAuthenticationRequest(p.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		http.Error(w, "cannot start the sign-in", http.StatusInternalServerError)
		return
	}
	u, err := req.Redirect("", p.sp)
	if err != nil {
		http.Error(w, "cannot start the sign-in", http.StatusInternalServerError)
		return
	}
	now := p.now()
	p.mu.Lock()
	for id, until := range p.pending {
		if now.After(until) {
			delete(p.pending, id)
		}
	}
	if len(p.pending) < 100000 {
		p.pending[req.ID] = now.Add(requestTTL)
	}
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: requestCookie, Value: req.ID, Path: "/", MaxAge: int(requestTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// takeRequestID returns the browser's pending AuthnRequest id, once.
func (p *SP) takeRequestID(r *http.Request) []string {
	c, err := r.Cookie(requestCookie)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.pending[c.Value]
	if !ok || p.now().After(until) {
		return nil
	}
	delete(p.pending, c.Value)
	return []string{c.Value}
}

// validateRequestID accepts a response to a request of this browser, and
// an unsolicited one only when IdP-initiated sign-in is on.
func (p *SP) validateRequestID(resp saml.Response, ids []string) error {
	if resp.InResponseTo == "" {
		if p.o.AllowIdPInitiated {
			return nil
		}
		return errors.New("unsolicited response and IdP-initiated sign-in is off")
	}
	if !slices.Contains(ids, resp.InResponseTo) {
		return errors.New("InResponseTo names no sign-in of this browser")
	}
	return nil
}

// maxResponse bounds the SAMLResponse form field (base64).
const maxResponse = 256 << 10

// Finish checks the IdP's POST to /saml/acs and returns who signed in. The
// caller must still refuse a replay (Identity.AssertionID, remembered
// until Identity.Expires) and a user not in the directory.
func (p *SP) Finish(w http.ResponseWriter, r *http.Request) (Identity, error) {
	http.SetCookie(w, &http.Cookie{Name: requestCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
	r.Body = http.MaxBytesReader(w, r.Body, maxResponse+4096)
	if err := r.ParseForm(); err != nil {
		return Identity{}, fmt.Errorf("%w: form: %v", ErrRejected, err)
	}
	if r.PostForm.Get("SAMLart") != "" {
		return Identity{}, fmt.Errorf("%w: the artifact binding is not supported", ErrRejected)
	}
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil || len(raw) == 0 {
		return Identity{}, fmt.Errorf("%w: SAMLResponse is not base64", ErrRejected)
	}
	return p.check(raw, p.takeRequestID(r))
}

// check verifies a decoded Response.
func (p *SP) check(raw []byte, ids []string) (Identity, error) {
	if err := Precheck(raw); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	a, err := p.sp.ParseXMLResponse(raw, ids, p.sp.AcsURL)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr
		}
		return Identity{}, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	for _, sc := range a.Subject.SubjectConfirmations {
		irt := sc.SubjectConfirmationData.InResponseTo
		if irt == "" && !p.o.AllowIdPInitiated || irt != "" && !slices.Contains(ids, irt) {
			return Identity{}, fmt.Errorf("%w: the assertion answers no sign-in of this browser", ErrRejected)
		}
	}
	if a.ID == "" {
		return Identity{}, fmt.Errorf("%w: the assertion has no ID", ErrRejected)
	}
	return p.identity(a)
}

// identity maps a verified assertion onto a person.
func (p *SP) identity(a *saml.Assertion) (Identity, error) {
	id := Identity{AssertionID: a.ID}
	if a.Subject != nil && a.Subject.NameID != nil {
		id.NameID, id.NameFormat = a.Subject.NameID.Value, a.Subject.NameID.Format
	}
	id.Expires = a.Conditions.NotOnOrAfter
	for _, sc := range a.Subject.SubjectConfirmations {
		if t := sc.SubjectConfirmationData.NotOnOrAfter; t.After(id.Expires) {
			id.Expires = t
		}
	}
	id.Expires = id.Expires.Add(saml.MaxClockSkew)
	if len(p.o.RequiredAuthnContext) > 0 {
		ok := false
		for _, s := range a.AuthnStatements {
			if slices.Contains(p.o.RequiredAuthnContext, s.AuthnContext.AuthnContextClassRef.Value) {
				ok = true
			}
		}
		if !ok {
			return Identity{}, fmt.Errorf("%w: the sign-in did not use a required authentication context (MFA)", ErrRejected)
		}
	}
	for _, s := range a.AuthnStatements {
		if s.SessionIndex != "" {
			id.SessionIndex = s.SessionIndex
		}
	}
	values := func(name string) []string {
		var out []string
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				if at.Name == name || at.FriendlyName == name {
					for _, v := range at.Values {
						out = append(out, v.Value)
					}
				}
			}
		}
		return out
	}
	login := id.NameID
	if p.o.LoginAttribute != "" {
		v := values(p.o.LoginAttribute)
		if len(v) != 1 {
			return Identity{}, fmt.Errorf("%w: attribute %s holds %d values, not one", ErrRejected, p.o.LoginAttribute, len(v))
		}
		login = v[0]
	}
	// The whole text, never a prefix: "alice<!---->.evil" reads as "alice.evil".
	norm, err := directory.NormalizeLogin(login)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: the login is not a valid login: %v", ErrRejected, err)
	}
	id.Login = norm
	if v := values(p.o.NameAttribute); len(v) > 0 {
		id.Name = v[0]
	}
	id.Groups = values(p.o.GroupsAttribute)
	id.Rights = []directory.Right{directory.RightClinician}
	for _, g := range id.Groups {
		if slices.Contains(p.o.AdminGroups, g) && !slices.Contains(id.Rights, directory.RightAdmin) {
			id.Rights = append(id.Rights, directory.RightAdmin)
		}
		if slices.Contains(p.o.AuditorGroups, g) && !slices.Contains(id.Rights, directory.RightAuditor) {
			id.Rights = append(id.Rights, directory.RightAuditor)
		}
	}
	return id, nil
}

// LogoutURL is where to send the browser for single logout, when the IdP
// offers it.
func (p *SP) LogoutURL(s directory.WebSession) (string, bool) {
	loc := p.sp.GetSLOBindingLocation(saml.HTTPRedirectBinding)
	if loc == "" || s.NameID == "" {
		return "", false
	}
	req, err := p.sp.MakeLogoutRequest(loc, s.NameID)
	if err != nil {
		return "", false
	}
	if s.NameFormat != "" {
		req.NameID.Format = s.NameFormat
	}
	if s.SAMLIndex != "" {
		req.SessionIndex = &saml.SessionIndex{Value: s.SAMLIndex}
	}
	u := req.Redirect("")
	return u.String(), true
}

// CheckLogoutResponse checks the IdP's answer to a logout request at
// /saml/slo (redirect binding).
func (p *SP) CheckLogoutResponse(r *http.Request) error {
	if err := p.sp.ValidateLogoutResponseRequest(r); err != nil {
		return fmt.Errorf("%w: logout response: %v", ErrRejected, err)
	}
	return nil
}

const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// Precheck refuses, before any signature is checked, the shapes of
// response that a stock crewjam SP would accept or that have no business
// here: a DTD, anything but one Response at the root, anything but exactly
// one (plain) Assertion anywhere in it, an assertion without its own
// signature, and any SHA-1 algorithm.
func Precheck(raw []byte) error {
	if err := refuseDTD(raw); err != nil {
		return err
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	depth, assertions, assertionSigned := 0, 0, false
	assertionDepth := -1
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && (t.Name.Space != nsProtocol || t.Name.Local != "Response") {
				return errors.New("the document is not a SAML Response")
			}
			switch {
			case t.Name.Space == nsAssertion && t.Name.Local == "Assertion":
				assertions++
				assertionDepth = depth
			case t.Name.Local == "EncryptedAssertion":
				return errors.New("encrypted assertions are not supported")
			case t.Name.Space == nsDSig && t.Name.Local == "Signature" && depth == assertionDepth+1:
				assertionSigned = true
			case t.Name.Space == nsDSig && (t.Name.Local == "SignatureMethod" || t.Name.Local == "DigestMethod"):
				for _, at := range t.Attr {
					if at.Name.Local == "Algorithm" && strings.Contains(strings.ToLower(at.Value), "sha1") {
						return errors.New("a SHA-1 signature or digest")
					}
				}
			}
		case xml.EndElement:
			if depth == assertionDepth {
				assertionDepth = -1
			}
			depth--
		}
	}
	if assertions != 1 {
		return fmt.Errorf("the response holds %d assertions, not exactly one", assertions)
	}
	if !assertionSigned {
		return errors.New("the assertion is not signed")
	}
	return nil
}

// refuseDTD refuses a document with a DOCTYPE (entity expansion, XXE).
func refuseDTD(raw []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // well-formedness is checked elsewhere
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return errors.New("a DTD is not allowed")
			}
		case xml.StartElement:
			return nil
		}
	}
}

// randomID returns n random bytes in hex.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
