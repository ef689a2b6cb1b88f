package sso

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// LogoutRequest is a verified logout request from the IdP (IdP-initiated
// single logout, HTTP-Redirect binding).
type LogoutRequest struct {
	ID           string
	NameID       string
	SessionIndex []string
	RelayState   string
}

// logoutRequestXML is what is read of a LogoutRequest.
type logoutRequestXML struct {
	XMLName      xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:protocol LogoutRequest"`
	ID           string     `xml:"ID,attr"`
	IssueInstant time.Time  `xml:"IssueInstant,attr"`
	NotOnOrAfter *time.Time `xml:"NotOnOrAfter,attr"`
	Destination  string     `xml:"Destination,attr"`
	Issuer       string     `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID       string     `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	SessionIndex []string   `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
}

// maxLogoutRequest bounds an inflated LogoutRequest.
const maxLogoutRequest = 64 << 10

// ParseLogoutRequest checks a LogoutRequest the IdP sent to /saml/slo with
// the HTTP-Redirect binding: it must be signed (RSA-SHA256 over the query,
// by a signing key of the IdP metadata), issued by the IdP, addressed to
// this SP and fresh.
func (p *SP) ParseLogoutRequest(r *http.Request) (LogoutRequest, error) {
	raw := map[string]string{}
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if _, dup := raw[k]; dup {
			return LogoutRequest{}, fmt.Errorf("%w: %s given twice", ErrRejected, k)
		}
		raw[k] = v
	}
	if raw["SAMLRequest"] == "" {
		return LogoutRequest{}, fmt.Errorf("%w: no SAMLRequest", ErrRejected)
	}
	sigAlg, err := url.QueryUnescape(raw["SigAlg"])
	if err != nil || sigAlg != dsig.RSASHA256SignatureMethod {
		return LogoutRequest{}, fmt.Errorf("%w: a logout request must be signed with RSA-SHA256", ErrRejected)
	}
	signed := "SAMLRequest=" + raw["SAMLRequest"]
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	sigText, err1 := url.QueryUnescape(raw["Signature"])
	sig, err2 := base64.StdEncoding.DecodeString(sigText)
	if err1 != nil || err2 != nil || len(sig) == 0 {
		return LogoutRequest{}, fmt.Errorf("%w: the logout request's signature is not base64", ErrRejected)
	}
	sum := sha256.Sum256([]byte(signed))
	verified := false
	for _, c := range p.idpSigningCerts() {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			verified = true
		}
	}
	if !verified {
		return LogoutRequest{}, fmt.Errorf("%w: the logout request's signature does not verify", ErrRejected)
	}
	reqText, err := url.QueryUnescape(raw["SAMLRequest"])
	if err != nil {
		return LogoutRequest{}, fmt.Errorf("%w: SAMLRequest: %v", ErrRejected, err)
	}
	deflated, err := base64.StdEncoding.DecodeString(reqText)
	if err != nil {
		return LogoutRequest{}, fmt.Errorf("%w: SAMLRequest is not base64", ErrRejected)
	}
	doc, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), maxLogoutRequest+1))
	if err != nil || len(doc) > maxLogoutRequest {
		return LogoutRequest{}, fmt.Errorf("%w: SAMLRequest does not inflate to a small document", ErrRejected)
	}
	if err := refuseDTD(doc); err != nil {
		return LogoutRequest{}, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	var lr logoutRequestXML
	if err := xml.Unmarshal(doc, &lr); err != nil {
		return LogoutRequest{}, fmt.Errorf("%w: not a LogoutRequest: %v", ErrRejected, err)
	}
	now := p.now()
	switch {
	case strings.TrimSpace(lr.Issuer) != p.sp.IDPMetadata.EntityID:
		return LogoutRequest{}, fmt.Errorf("%w: the logout request is not from the IdP", ErrRejected)
	case lr.Destination != "" && lr.Destination != p.sp.SloURL.String():
		return LogoutRequest{}, fmt.Errorf("%w: the logout request is for another destination", ErrRejected)
	case lr.IssueInstant.Add(saml.MaxIssueDelay + saml.MaxClockSkew).Before(now), lr.IssueInstant.Add(-saml.MaxClockSkew).After(now):
		return LogoutRequest{}, fmt.Errorf("%w: the logout request is not fresh", ErrRejected)
	case lr.NotOnOrAfter != nil && lr.NotOnOrAfter.Add(saml.MaxClockSkew).Before(now):
		return LogoutRequest{}, fmt.Errorf("%w: the logout request expired", ErrRejected)
	case strings.TrimSpace(lr.NameID) == "" || lr.ID == "":
		return LogoutRequest{}, fmt.Errorf("%w: the logout request names no one", ErrRejected)
	}
	rs, _ := url.QueryUnescape(raw["RelayState"])
	return LogoutRequest{ID: lr.ID, NameID: strings.TrimSpace(lr.NameID), SessionIndex: lr.SessionIndex, RelayState: rs}, nil
}

// LogoutResponseURL is where to send the browser back to the IdP after an
// IdP-initiated logout.
func (p *SP) LogoutResponseURL(req LogoutRequest) (string, error) {
	if len(req.RelayState) > 512 {
		req.RelayState = ""
	}
	u, err := p.sp.MakeRedirectLogoutResponse(req.ID, req.RelayState)
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", errors.New("the IdP's logout address is not a web address")
	}
	return u.String(), nil
}

// idpSigningCerts are the signing certificates of the IdP metadata.
func (p *SP) idpSigningCerts() []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range p.sp.IDPMetadata.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use == "encryption" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err != nil {
					continue
				}
				if cert, err := x509.ParseCertificate(der); err == nil {
					out = append(out, cert)
				}
			}
		}
	}
	return out
}
