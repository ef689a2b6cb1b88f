package directory

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Source says where a user comes from.
type Source string

// Sources of users.
const (
	SourceLocal Source = "local" // added on the appliance (wardline user add)
	SourceAD    Source = "ad"    // synchronised from Active Directory, read-only here
)

// Limits on user fields.
const (
	MaxLoginLen = 64
	MaxFieldLen = 256
)

// User is a person who may use Wardline.
type User struct {
	Login      string    `json:"login"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Department string    `json:"department"`
	Title      string    `json:"title"`
	Enabled    bool      `json:"enabled"`
	Source     Source    `json:"source"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`

	// Fields of users from Active Directory (empty for local users).
	Phones  []string `json:"phones,omitempty"`   // telephoneNumber, mobile, ipPhone
	Manager string   `json:"manager,omitempty"`  // the manager's login
	GUID    string   `json:"guid,omitempty"`     // objectGUID, the stable key: a rename keeps the user
	DN      string   `json:"dn,omitempty"`       // distinguishedName at the last sync
	ADLogin string   `json:"ad_login,omitempty"` // sAMAccountName in lower case (differs from Login after a rename in AD)
	UPN     string   `json:"upn,omitempty"`      // userPrincipalName
	// Disabled says why an AD user is disabled: "disabled in AD", "expired",
	// "deleted in AD" ("" when enabled or local).
	Disabled string `json:"disabled_reason,omitempty"`
}

// NormalizeLogin returns the canonical (lower-case) form of a login, or an
// error when it is not a valid login: 1 to 64 characters of letters, digits,
// '.', '-' and '_', starting with a letter or digit.
func NormalizeLogin(login string) (string, error) {
	l := strings.TrimSpace(login)
	for i := 0; i < len(l); i++ {
		if l[i] >= 0x80 { // before lower-casing: "\u212a" (Kelvin) would become "k"
			return "", &FieldError{Field: "login", Reason: "may hold only letters, digits, '.', '-' and '_', and must start with a letter or digit"}
		}
	}
	l = strings.ToLower(l)
	if l == "" {
		return "", &FieldError{Field: "login", Reason: "is empty"}
	}
	if len(l) > MaxLoginLen {
		return "", &FieldError{Field: "login", Reason: "is longer than 64 characters"}
	}
	for i, r := range l {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '.' || r == '-' || r == '_') && i > 0:
		default:
			return "", &FieldError{Field: "login", Reason: "may hold only letters, digits, '.', '-' and '_', and must start with a letter or digit"}
		}
	}
	return l, nil
}

// Normalize checks a user and returns it in canonical form: login in lower
// case, surrounding spaces trimmed. It does not touch Enabled, Source or the
// times.
func (u User) Normalize() (User, error) {
	login, err := NormalizeLogin(u.Login)
	if err != nil {
		return User{}, err
	}
	u.Login = login
	fields := []struct {
		name     string
		v        *string
		required bool
	}{
		{"name", &u.Name, true},
		{"email", &u.Email, false},
		{"department", &u.Department, false},
		{"title", &u.Title, false},
	}
	for _, f := range fields {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkText(f.name, *f.v, f.required); err != nil {
			return User{}, err
		}
	}
	if u.Email != "" && !plausibleEmail(u.Email) {
		return User{}, &FieldError{Field: "email", Reason: "is not an e-mail address"}
	}
	switch u.Source {
	case "", SourceLocal, SourceAD:
	default:
		return User{}, &FieldError{Field: "source", Reason: "is neither local nor ad"}
	}
	return u, nil
}

// checkText checks one free-text field: valid UTF-8, no control characters,
// at most MaxFieldLen characters, and present when required.
func checkText(field, v string, required bool) error {
	switch {
	case required && v == "":
		return &FieldError{Field: field, Reason: "is empty"}
	case !utf8.ValidString(v):
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	case utf8.RuneCountInString(v) > MaxFieldLen:
		return &FieldError{Field: field, Reason: "is longer than 256 characters"}
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return &FieldError{Field: field, Reason: "holds a control character"}
		}
	}
	return nil
}

// plausibleEmail accepts local@domain with no spaces and a dot in the domain.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t<>") {
		return false
	}
	return strings.Contains(s[at+1:], ".")
}
