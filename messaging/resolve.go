package messaging

import (
	"slices"

	"github.com/wardline/wardline/directory"
)

// MaxResolved is the most recipients one message may reach.
const MaxResolved = 5000

// Directory is what recipient resolution needs; the store implements it
// inside a transaction.
type Directory interface {
	// User returns the user with this login.
	User(login string) (directory.User, bool)
	// GroupMembers returns the logins of a group's members.
	GroupMembers(name string) ([]string, bool)
	// RoleMembers returns the logins of the people covering a role, the one
	// it routes to first. It is a fixed list until on-call scheduling.
	RoleMembers(name string) ([]string, bool)
}

// Resolve turns addresses into recipients. A user must exist and be
// enabled. A group reaches its enabled members. A role address that
// arrives with RoutedTo set was routed by the on-call schedule when it was
// sent (the appliance does that before the store command) and reaches that
// person, who must be enabled; otherwise a role is routed to its first
// enabled fixed member (the fallback), whom the returned address names in
// RoutedTo. A user address that arrives with RoutedTo set was forwarded
// by the user's status (do-not-disturb or off shift) and reaches that
// colleague when enabled and not the sender, else the user. The
// sender is never a recipient. recipients is sorted and without
// duplicates; resolved is to in the same order, RoutedTo set for roles.
//
// It refuses with unknown_recipient an address that names no one, a
// disabled user, a role nobody covers, or addresses that reach no one but
// the sender; with too_large more than MaxResolved recipients; and with
// invalid an address that does not name exactly one user, role or group.
func Resolve(to []Address, sender string, dir Directory) (recipients []string, resolved []Address, err *Error) {
	set := make(map[string]bool)
	add := func(login string) *Error {
		if login == sender || set[login] {
			return nil
		}
		if len(set) >= MaxResolved {
			return Errorf(CodeTooLarge, "the addresses reach more than %d people", MaxResolved)
		}
		set[login] = true
		return nil
	}
	// enabled returns the canonical login of an enabled user.
	enabled := func(login string) (string, bool) {
		u, ok := dir.User(login)
		if !ok || !u.Enabled {
			return "", false
		}
		if u.Login != "" {
			return u.Login, true
		}
		return login, true
	}
	resolved = make([]Address, 0, len(to))
	for i, a := range to {
		r := Address{User: a.User, Role: a.Role, Group: a.Group}
		switch a.Kind() {
		case "user":
			u, ok := dir.User(a.User)
			switch {
			case !ok:
				return nil, nil, unknown(a.User)
			case !u.Enabled:
				return nil, nil, Errorf(CodeUnknownRecipient, "user %s is disabled", a.User)
			}
			login := u.Login
			if login == "" {
				login = a.User
			}
			// Forwarded by the user's status (the appliance sets RoutedTo):
			// the colleague, who must be enabled and not the sender, gets it.
			// RoutedTo is tested first: looking "" up costs the store a miss.
			if a.RoutedTo != "" {
				if fwd, ok := enabled(a.RoutedTo); ok && fwd != sender && fwd != login {
					r.RoutedTo, login = fwd, fwd
				}
			}
			if e := add(login); e != nil {
				return nil, nil, e
			}
		case "group":
			members, ok := dir.GroupMembers(a.Group)
			if !ok {
				return nil, nil, unknown(a.Group)
			}
			for _, m := range members {
				if login, ok := enabled(m); ok {
					if e := add(login); e != nil {
						return nil, nil, e
					}
				}
			}
		case "role":
			if a.RoutedTo != "" { // routed by the on-call schedule at the moment of sending
				login, ok := enabled(a.RoutedTo)
				if !ok {
					return nil, nil, Errorf(CodeUnknownRecipient, "the person on call for role %s is disabled", a.Role)
				}
				r.RoutedTo = login
				if e := add(login); e != nil {
					return nil, nil, e
				}
				break
			}
			members, ok := dir.RoleMembers(a.Role)
			if !ok {
				return nil, nil, unknown(a.Role)
			}
			for _, m := range members {
				if login, ok := enabled(m); ok {
					r.RoutedTo = login
					break
				}
			}
			if r.RoutedTo == "" {
				return nil, nil, Errorf(CodeUnknownRecipient, "nobody covers role %s", a.Role)
			}
			if e := add(r.RoutedTo); e != nil {
				return nil, nil, e
			}
		default:
			return nil, nil, Errorf(CodeInvalid, "to[%d] must name exactly one of user, role or group", i)
		}
		resolved = append(resolved, r)
	}
	if len(set) == 0 {
		return nil, nil, Errorf(CodeUnknownRecipient, "no one to deliver to")
	}
	recipients = make([]string, 0, len(set))
	for login := range set {
		recipients = append(recipients, login)
	}
	slices.Sort(recipients)
	return recipients, resolved, nil
}

// unknown is the error for an address that names no one.
func unknown(name string) *Error {
	return Errorf(CodeUnknownRecipient, "no user, role or group named %s", name)
}
