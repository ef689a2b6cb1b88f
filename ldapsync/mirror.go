package ldapsync

import (
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
)

// adUser is a user as read from AD.
type adUser struct {
	GUID, DN, SAM, UPN           string
	Display, Given, SN, Mail     string
	Department, Title, ManagerDN string
	Phones                       []string
	UAC                          uint32
	Expires                      time.Time // zero: never
}

// adGroup is a group as read from AD; Members are memberRef values.
type adGroup struct {
	GUID, DN, SAM string
	Members       []string
}

// mirror is the last good read of AD. It is replaced as a whole, never
// changed in place, so a failed read leaves the previous one untouched.
type mirror struct {
	users      map[string]*adUser  // by GUID
	groups     map[string]*adGroup // by GUID
	usn        int64               // highestCommittedUSN read before the searches
	invocation string              // the DC's invocationId: USNs are per DC
}

// clone returns a copy that can be changed without touching m.
func (m *mirror) clone() *mirror {
	return &mirror{users: maps.Clone(m.users), groups: maps.Clone(m.groups), usn: m.usn, invocation: m.invocation}
}

// Directory is AD as Wardline sees it: every user in scope (enabled or
// not) and every group, nested membership flattened.
type Directory struct {
	Users  []User
	Groups []Group
	// Skipped counts users left out because their sAMAccountName cannot be
	// a Wardline login.
	Skipped int
}

// User is one AD user: the directory record, with Login the lower-case
// sAMAccountName (the appliance keeps an older login after a rename), and
// the objectGUID of the manager (Manager left empty).
type User struct {
	directory.User
	ManagerGUID string
}

// Group is one AD group: its Wardline name (from sAMAccountName), and the
// objectGUIDs of every user in it, directly or through nested groups.
type Group struct {
	Name    string
	GUID    string
	DN      string
	Members []string // user GUIDs, sorted
}

// build computes the Directory of the mirror at time now (accountExpires
// is compared with now).
func (m *mirror) build(now time.Time) *Directory {
	d := &Directory{}
	userByDN := make(map[string]string, len(m.users))
	for g, u := range m.users {
		userByDN[strings.ToLower(u.DN)] = g
	}
	groupByDN := make(map[string]string, len(m.groups))
	for g, gr := range m.groups {
		groupByDN[strings.ToLower(gr.DN)] = g
	}
	for _, u := range m.users {
		login, err := directory.NormalizeLogin(u.SAM)
		if err != nil {
			d.Skipped++
			continue
		}
		du := directory.User{
			Login: login, ADLogin: login, Source: directory.SourceAD, GUID: u.GUID, DN: u.DN,
			UPN: cleanText(u.UPN, directory.MaxFieldLen), Name: displayName(u, login),
			Department: cleanText(u.Department, directory.MaxFieldLen), Title: cleanText(u.Title, directory.MaxFieldLen),
			Email: plausibleMail(u.Mail), Phones: u.Phones, Enabled: true,
		}
		switch {
		case u.UAC&uacAccountDisable != 0:
			du.Enabled, du.Disabled = false, "disabled in AD"
		case !u.Expires.IsZero() && !now.Before(u.Expires):
			du.Enabled, du.Disabled = false, "expired"
		}
		d.Users = append(d.Users, User{User: du, ManagerGUID: userByDN[strings.ToLower(u.ManagerDN)]})
	}
	sort.Slice(d.Users, func(i, j int) bool { return d.Users[i].GUID < d.Users[j].GUID })
	flat := map[string][]string{}
	var expand func(guid string, visiting map[string]bool) []string
	expand = func(guid string, visiting map[string]bool) []string {
		if f, ok := flat[guid]; ok {
			return f
		}
		if visiting[guid] { // a cycle: AD allows it; each group is counted once
			return nil
		}
		visiting[guid] = true
		set := map[string]bool{}
		for _, ref := range m.groups[guid].Members {
			id, isGUID := strings.CutPrefix(ref, "guid:")
			if !isGUID {
				dn := strings.TrimPrefix(ref, "dn:")
				if id = userByDN[dn]; id == "" {
					id = groupByDN[dn]
				}
			}
			if _, ok := m.users[id]; ok {
				set[id] = true
			} else if g, ok := m.groups[id]; ok && g != nil {
				g := id
				for _, u := range expand(g, visiting) {
					set[u] = true
				}
			}
		}
		delete(visiting, guid)
		out := make([]string, 0, len(set))
		for u := range set {
			out = append(out, u)
		}
		sort.Strings(out)
		flat[guid] = out
		return out
	}
	for guid, g := range m.groups {
		name := groupName(g.SAM, directory.Fold)
		if name == "" {
			continue
		}
		d.Groups = append(d.Groups, Group{Name: name, GUID: guid, DN: g.DN, Members: expand(guid, map[string]bool{})})
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	return d
}

// displayName is displayName, else "given sn", else the login.
func displayName(u *adUser, login string) string {
	if n := cleanText(u.Display, directory.MaxFieldLen); n != "" {
		return n
	}
	if n := cleanText(strings.TrimSpace(u.Given+" "+u.SN), directory.MaxFieldLen); n != "" {
		return n
	}
	return login
}

// plausibleMail keeps mail when the directory core accepts it.
func plausibleMail(m string) string {
	m = cleanText(m, directory.MaxFieldLen)
	if m == "" {
		return ""
	}
	if _, err := (directory.User{Login: "x", Name: "x", Email: m}).Normalize(); err != nil {
		return ""
	}
	return m
}
