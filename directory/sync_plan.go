package directory

import (
	"fmt"
	"slices"
)

// Kinds of change a directory sync makes to a user.
const (
	ChangeCreate  = "create"
	ChangeUpdate  = "update"
	ChangeDisable = "disable"
	ChangeEnable  = "enable"
)

// ReasonDeleted is why a user who left AD (deleted, or moved out of the
// base DN) is disabled: the record stays, with its history.
const ReasonDeleted = "deleted in AD"

// UserChange is one user a sync writes, as it will be stored.
type UserChange struct {
	Kind string
	User User
}

// SyncPlan is what a sync from AD changes, worked out before anything is
// written.
type SyncPlan struct {
	Changes []UserChange
	// LoginOf maps every AD user's objectGUID to its login here, for group
	// members and managers.
	LoginOf map[string]string
	// Disabling counts the enabled users the plan disables; Enabled counts
	// all enabled users (local ones too) before it.
	Disabling, Enabled int
	// Conflicts names AD users whose login was taken by another user: they
	// get the login "<login>-<first 8 digits of the GUID>" (they also sign
	// in with their AD name when it is free).
	Conflicts []string
}

// PlanSync compares the users in the store with the users read from AD
// (Source ad, GUID set, Login the lower-case sAMAccountName) and returns
// the changes. A user keeps the login it was created with for as long as
// its objectGUID lives: a rename in AD changes its ADLogin, DN and name,
// not its key, its devices or its history. managers maps a user's GUID to
// its manager's GUID.
func PlanSync(current, ad []User, managers map[string]string) SyncPlan {
	p := SyncPlan{LoginOf: make(map[string]string, len(ad))}
	byGUID := map[string]User{}
	taken := make(map[string]bool, len(current))
	for _, u := range current {
		taken[u.Login] = true
		if u.Enabled {
			p.Enabled++
		}
		if u.Source == SourceAD && u.GUID != "" {
			byGUID[u.GUID] = u
		}
	}
	// Logins first, so that managers and groups can be named.
	for _, u := range ad {
		if old, ok := byGUID[u.GUID]; ok {
			p.LoginOf[u.GUID] = old.Login
			continue
		}
		login := u.Login
		if taken[login] {
			login = fmt.Sprintf("%s-%.8s", login, u.GUID)
			p.Conflicts = append(p.Conflicts, u.Login)
			if len(login) > MaxLoginLen || taken[login] {
				continue // cannot name it; reported as a conflict
			}
		}
		taken[login] = true
		p.LoginOf[u.GUID] = login
	}
	seen := make(map[string]bool, len(ad))
	for _, u := range ad {
		login, ok := p.LoginOf[u.GUID]
		if !ok {
			continue
		}
		seen[u.GUID] = true
		u.Login, u.Source = login, SourceAD
		u.Manager = p.LoginOf[managers[u.GUID]]
		old, exists := byGUID[u.GUID]
		switch {
		case !exists:
			p.Changes = append(p.Changes, UserChange{ChangeCreate, u})
			continue
		case sameADFields(old, u):
			continue
		}
		u.Created = old.Created
		kind := ChangeUpdate
		switch {
		case old.Enabled && !u.Enabled:
			kind = ChangeDisable
			p.Disabling++
		case !old.Enabled && u.Enabled:
			kind = ChangeEnable
		}
		p.Changes = append(p.Changes, UserChange{kind, u})
	}
	for _, old := range current {
		if old.Source != SourceAD || old.GUID == "" || seen[old.GUID] {
			continue
		}
		if !old.Enabled && old.Disabled == ReasonDeleted {
			continue
		}
		u := old
		u.Enabled, u.Disabled = false, ReasonDeleted
		kind := ChangeUpdate
		if old.Enabled {
			kind = ChangeDisable
			p.Disabling++
		}
		p.Changes = append(p.Changes, UserChange{kind, u})
	}
	return p
}

// sameADFields reports whether a sync would leave u as it is.
func sameADFields(a, b User) bool {
	return a.Name == b.Name && a.Email == b.Email && a.Department == b.Department && a.Title == b.Title &&
		a.Enabled == b.Enabled && a.Disabled == b.Disabled && a.Manager == b.Manager && a.DN == b.DN &&
		a.ADLogin == b.ADLogin && a.UPN == b.UPN && slices.Equal(a.Phones, b.Phones)
}

// DisableShare is the share of enabled users the plan disables (0 when
// there are none).
func (p SyncPlan) DisableShare() float64 {
	if p.Enabled == 0 {
		return 0
	}
	return float64(p.Disabling) / float64(p.Enabled)
}

// Departments lists the distinct departments of enabled users, sorted.
func Departments(users []User) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range users {
		if u.Enabled && u.Department != "" && !seen[u.Department] {
			seen[u.Department] = true
			out = append(out, u.Department)
		}
	}
	slices.Sort(out)
	return out
}
