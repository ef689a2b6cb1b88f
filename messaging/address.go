package messaging

import (
	"strings"

	"github.com/wardline/wardline/directory"
)

// MaxNameLen is the longest role or group name.
const MaxNameLen = 64

// NormalizeName returns the canonical (lower-case, trimmed) form of a role
// or group name, and false when it is not 1 to 64 characters of letters,
// digits, '.', '_' and '-'.
func NormalizeName(name string) (string, bool) {
	n := strings.TrimSpace(name)
	if n == "" || len(n) > MaxNameLen {
		return "", false
	}
	// Checked before lower-casing, which maps some non-ASCII letters (the
	// Kelvin sign) to ASCII ones.
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return "", false
		}
	}
	return strings.ToLower(n), true
}

// Kind returns which of "user", "role" or "group" the address names, or ""
// when it names none or more than one.
func (a Address) Kind() string {
	k, n := "", 0
	if a.User != "" {
		k, n = "user", n+1
	}
	if a.Role != "" {
		k, n = "role", n+1
	}
	if a.Group != "" {
		k, n = "group", n+1
	}
	if n != 1 {
		return ""
	}
	return k
}

// Name returns the login, role or group name the address names.
func (a Address) Name() string {
	switch a.Kind() {
	case "user":
		return a.User
	case "role":
		return a.Role
	case "group":
		return a.Group
	}
	return ""
}

// Normalize returns the address in canonical form (lower case, trimmed,
// RoutedTo cleared: routing is the appliance's to decide), or false when it
// does not name exactly one valid user, role or group.
func (a Address) Normalize() (Address, bool) {
	var out Address
	var ok bool
	switch a.Kind() {
	case "user":
		var err error
		out.User, err = directory.NormalizeLogin(a.User)
		ok = err == nil
	case "role":
		out.Role, ok = NormalizeName(a.Role)
	case "group":
		out.Group, ok = NormalizeName(a.Group)
	}
	if !ok {
		return Address{}, false
	}
	return out, true
}
