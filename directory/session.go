package directory

import (
	"slices"
	"time"
)

// Right is what a signed-in person may do on the web.
type Right string

// Rights of docs/web.md. Every signed-in directory user is a clinician;
// administrator and auditor come from IdP groups or a break-glass account.
const (
	RightAdmin     Right = "administrator" // everything
	RightAuditor   Right = "auditor"       // dashboard, audit log and export; no change of any kind
	RightClinician Right = "clinician"     // the web client
)

// Ways of signing in on the web.
const (
	MethodSAML       = "saml"       // through the hospital's identity provider
	MethodBreakGlass = "breakglass" // a local emergency administrator with password and TOTP
)

// WebSession is a signed-in browser. It is kept on the server; the browser
// holds only an opaque random cookie, whose hash keys the record.
type WebSession struct {
	ID         string    `json:"id"`    // public id, for the audit trail (never the cookie)
	Login      string    `json:"login"` // directory login, or the break-glass account's
	Name       string    `json:"name"`
	Rights     []Right   `json:"rights"`
	Method     string    `json:"method"`
	CSRF       string    `json:"csrf"`                    // the token state changes must carry
	NameID     string    `json:"name_id,omitempty"`       // SAML: for single logout
	NameFormat string    `json:"name_format,omitempty"`   // SAML: NameID format
	SAMLIndex  string    `json:"session_index,omitempty"` // SAML: SessionIndex
	Source     string    `json:"source,omitempty"`        // address it signed in from
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"` // the absolute end (web.session_max)
}

// Has reports whether the session holds right r. An administrator holds
// every right but the clinician's, which needs a directory user.
func (s WebSession) Has(r Right) bool {
	if slices.Contains(s.Rights, r) {
		return true
	}
	return r == RightAuditor && slices.Contains(s.Rights, RightAdmin)
}

// BreakGlass reports whether the session is a break-glass sign-in.
func (s WebSession) BreakGlass() bool { return s.Method == MethodBreakGlass }

// LocalAdmin is a break-glass administrator: an account of the appliance
// itself, for when the identity provider or Active Directory is down.
type LocalAdmin struct {
	Login        string    `json:"login"`
	PasswordHash string    `json:"password_hash"` // argon2id, PHC string format
	TOTPSecret   string    `json:"totp_secret"`   // base32; the store is encrypted
	LastStep     int64     `json:"last_step"`     // the last TOTP time step used: a code works once
	Created      time.Time `json:"created"`
}
