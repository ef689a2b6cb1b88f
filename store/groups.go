package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// Group is a named list of members: a local group (for appliances without
// Active Directory) or a role's fixed members until on-call scheduling
// routes roles.
type Group struct {
	Name    string           `json:"name"`
	Members []string         `json:"members"` // logins, sorted
	Source  directory.Source `json:"source"`
	Created time.Time        `json:"created"`
	Updated time.Time        `json:"updated"`
}

// groupKind tells groups from roles: they live under different prefixes.
type groupKind struct {
	prefix string
	noun   string // "group" or "role", for errors and audit actions
}

var (
	kindGroup = groupKind{prefixGroup, "group"}
	kindRole  = groupKind{prefixRole, "role"}
)

func getGroup(r getter, k groupKind, name string) (Group, error) {
	b, err := r.Get([]byte(k.prefix + name))
	if errors.Is(err, ErrNotFound) {
		return Group{}, fmt.Errorf("%s %s: %w", k.noun, name, directory.ErrNotFound)
	}
	if err != nil {
		return Group{}, err
	}
	var g Group
	return g, json.Unmarshal(b, &g)
}

// checkMembers normalizes logins and checks that each user exists.
func checkMembers(tx *Txn, members []string) ([]string, error) {
	out := make([]string, 0, len(members))
	for _, m := range members {
		login, err := directory.NormalizeLogin(m)
		if err != nil {
			return nil, err
		}
		if _, err := getUser(tx, login); err != nil {
			return nil, err
		}
		out = append(out, login)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// AddGroup adds a local group (Role false) or a role with fixed members
// (Role true). The name must be normalized (lower case).
type AddGroup struct {
	By      audit.Actor
	Name    string
	Members []string
	Role    bool
}

func (c AddGroup) kind() groupKind {
	if c.Role {
		return kindRole
	}
	return kindGroup
}

// Event implements Command.
func (c AddGroup) Event() audit.Event {
	k := c.kind()
	return c.By.Event(k.noun+".add", k.noun+":"+c.Name)
}

// Apply implements Command.
func (c AddGroup) Apply(tx *Txn) error {
	k := c.kind()
	if _, err := getGroup(tx, k, c.Name); err == nil {
		return fmt.Errorf("%s %s: %w", k.noun, c.Name, directory.ErrExists)
	}
	members, err := checkMembers(tx, c.Members)
	if err != nil {
		return err
	}
	g := Group{Name: c.Name, Members: members, Source: directory.SourceLocal, Created: tx.Now(), Updated: tx.Now()}
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	tx.Set([]byte(k.prefix+c.Name), b)
	return nil
}

// ChangeMembers adds and removes members of a local group or role.
type ChangeMembers struct {
	By          audit.Actor
	Name        string
	Role        bool
	Add, Remove []string
}

// Event implements Command.
func (c ChangeMembers) Event() audit.Event {
	k := AddGroup{Role: c.Role}.kind()
	return c.By.Event(k.noun+".members", k.noun+":"+c.Name)
}

// Apply implements Command.
func (c ChangeMembers) Apply(tx *Txn) error {
	k := AddGroup{Role: c.Role}.kind()
	g, err := getGroup(tx, k, c.Name)
	if err != nil {
		return err
	}
	if g.Source == directory.SourceAD {
		return fmt.Errorf("%s %s: %w", k.noun, c.Name, directory.ErrReadOnly)
	}
	add, err := checkMembers(tx, c.Add)
	if err != nil {
		return err
	}
	members := append(g.Members, add...)
	for _, r := range c.Remove {
		members = slices.DeleteFunc(members, func(m string) bool { return m == r })
	}
	slices.Sort(members)
	g.Members, g.Updated = slices.Compact(members), tx.Now()
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	tx.Set([]byte(k.prefix+c.Name), b)
	return nil
}

// Groups returns the local groups (role false) or roles (role true).
func (s *Store) Groups(ctx context.Context, role bool) ([]Group, error) {
	return listJSON[Group](s, ctx, AddGroup{Role: role}.kind().prefix)
}
