package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/oncall"
)

// Keys of on-call schedules (kept here rather than in keys.go, which other
// work changes too).
const (
	prefixShift    = "ocs/" // + role/shift id: JSON oncall.Shift (explicit shifts and overrides)
	prefixRotation = "ocr/" // + role/rotation id: JSON oncall.Rotation
)

func shiftKey(role, id string) []byte    { return []byte(prefixShift + role + "/" + id) }
func rotationKey(role, id string) []byte { return []byte(prefixRotation + role + "/" + id) }

// AddShifts adds explicit shifts and overrides, all or nothing: every
// shift whose role or user does not exist, or that overlaps an entry of
// its role and layer (stored or in the same command), is reported by its
// line as an *oncall.ImportError, and then none is added. Ids are chosen
// by the caller.
type AddShifts struct {
	By     audit.Actor
	Shifts []oncall.Imported
	Source string // "set", "override", "swap", "csv" or "ical", for the audit trail

	Roles []string // set by Apply: the roles changed
}

// Event implements Command.
func (c *AddShifts) Event() audit.Event {
	objs := make([]string, 0, len(c.Roles))
	for _, r := range c.Roles {
		objs = append(objs, "role:"+r)
	}
	e := c.By.Event("oncall.shifts", objs...)
	e.Reason = fmt.Sprintf("%s: %d entries", c.Source, len(c.Shifts))
	return e
}

// Apply implements Command.
func (c *AddShifts) Apply(tx *Txn) error {
	c.Roles = nil
	roles, bad, err := checkShifts(tx, c.Shifts)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return &oncall.ImportError{Lines: bad}
	}
	for _, s := range c.Shifts {
		if err := putJSON(tx, shiftKey(s.Role, s.ID), s.Shift); err != nil {
			return err
		}
	}
	c.Roles = roles
	return nil
}

// reader is what checks read through: a Txn or a Reader.
type reader interface {
	getter
	scanner
}

// checkShifts finds the shifts whose role or user does not exist, or that
// overlap an entry of their role and layer, by line; and the roles named.
func checkShifts(r reader, shifts []oncall.Imported) ([]string, []*oncall.LineError, error) {
	var bad []*oncall.LineError
	roles := map[string]bool{}
	users := map[string]bool{}
	for _, s := range shifts {
		if err := s.Validate(); err != nil {
			bad = append(bad, &oncall.LineError{Line: s.Line, Err: err})
			continue
		}
		if _, ok := roles[s.Role]; !ok {
			_, err := getGroup(r, kindRole, s.Role)
			roles[s.Role] = err == nil
		}
		if !roles[s.Role] {
			bad = append(bad, &oncall.LineError{Line: s.Line, Err: fmt.Errorf("no role %s (add it with role add): %w", s.Role, directory.ErrNotFound)})
		}
		if _, ok := users[s.User]; !ok {
			_, err := r.Get(userKey(s.User))
			users[s.User] = err == nil
		}
		if !users[s.User] {
			bad = append(bad, &oncall.LineError{Line: s.Line, Err: fmt.Errorf("no user %s: %w", s.User, directory.ErrNotFound)})
		}
	}
	var existing []oncall.Shift
	var names []string
	for role, ok := range roles {
		if !ok {
			continue
		}
		names = append(names, role)
		sc, err := readSchedule(r, role)
		if err != nil {
			return nil, nil, err
		}
		existing = append(existing, sc.Shifts...)
	}
	bad = append(bad, oncall.Overlaps(existing, shifts)...)
	slices.SortStableFunc(bad, func(a, b *oncall.LineError) int { return a.Line - b.Line })
	slices.Sort(names)
	return names, bad, nil
}

// CheckShifts reports, without changing anything, the bad lines that
// AddShifts would report: to list every bad line of a file whose other
// lines failed to parse.
func (s *Store) CheckShifts(shifts []oncall.Imported) ([]*oncall.LineError, error) {
	var bad []*oncall.LineError
	err := s.View(func(r *Reader) error {
		var err error
		_, bad, err = checkShifts(r, shifts)
		return err
	})
	return bad, err
}

// RemoveShift deletes one explicit shift or override of a role.
type RemoveShift struct {
	By       audit.Actor
	Role, ID string
}

// Event implements Command.
func (c RemoveShift) Event() audit.Event {
	return c.By.Event("oncall.remove", "role:"+c.Role, "shift:"+c.ID)
}

// Apply implements Command.
func (c RemoveShift) Apply(tx *Txn) error {
	if _, err := tx.Get(shiftKey(c.Role, c.ID)); err != nil {
		return fmt.Errorf("shift %s of role %s: %w", c.ID, c.Role, directory.ErrNotFound)
	}
	tx.Delete(shiftKey(c.Role, c.ID))
	return nil
}

// AddRotation adds a recurring rotation to a role. Its users must exist;
// it may not run at the same time as another rotation of the role.
type AddRotation struct {
	By       audit.Actor
	Rotation oncall.Rotation
}

// Event implements Command.
func (c AddRotation) Event() audit.Event {
	return c.By.Event("oncall.rotation", "role:"+c.Rotation.Role, "rotation:"+c.Rotation.ID)
}

// Apply implements Command.
func (c AddRotation) Apply(tx *Txn) error {
	r := c.Rotation
	if _, err := getGroup(tx, kindRole, r.Role); err != nil {
		return err
	}
	for _, u := range r.Users {
		if _, err := getUser(tx, u); err != nil {
			return err
		}
	}
	sc, err := readSchedule(tx, r.Role)
	if err != nil {
		return err
	}
	if err := sc.AddRotation(r); err != nil {
		return err
	}
	return putJSON(tx, rotationKey(r.Role, r.ID), r)
}

// scanner is a Txn or a Reader.
type scanner interface {
	Scan(prefix []byte, fn func(key, val []byte) error) error
}

// readSchedule reads one role's schedule.
func readSchedule(r scanner, role string) (*oncall.Schedule, error) {
	sc := &oncall.Schedule{Role: role}
	err := r.Scan([]byte(prefixShift+role+"/"), func(_, v []byte) error {
		var s oncall.Shift
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode shift: %w", err)
		}
		sc.Shifts = append(sc.Shifts, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(sc.Shifts, func(a, b oncall.Shift) int { return a.Start.Compare(b.Start) })
	err = r.Scan([]byte(prefixRotation+role+"/"), func(_, v []byte) error {
		var x oncall.Rotation
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode rotation: %w", err)
		}
		sc.Rotations = append(sc.Rotations, x)
		return nil
	})
	return sc, err
}

// Schedule returns one role's schedule.
func (s *Store) Schedule(role string) (*oncall.Schedule, error) {
	var sc *oncall.Schedule
	err := s.View(func(r *Reader) error {
		var err error
		sc, err = readSchedule(r, role)
		return err
	})
	return sc, err
}

// Schedules returns the schedule of every role that has shifts or
// rotations.
func (s *Store) Schedules(ctx context.Context) (map[string]*oncall.Schedule, error) {
	out := map[string]*oncall.Schedule{}
	err := s.View(func(r *Reader) error {
		for _, p := range []string{prefixShift, prefixRotation} {
			err := r.Scan([]byte(p), func(k, v []byte) error {
				rest := string(k[len(p):])
				role, _, ok := strings.Cut(rest, "/")
				if !ok {
					return nil
				}
				sc := out[role]
				if sc == nil {
					sc = &oncall.Schedule{Role: role}
					out[role] = sc
				}
				if p == prefixShift {
					var x oncall.Shift
					if err := json.Unmarshal(v, &x); err != nil {
						return err
					}
					sc.Shifts = append(sc.Shifts, x)
				} else {
					var x oncall.Rotation
					if err := json.Unmarshal(v, &x); err != nil {
						return err
					}
					sc.Rotations = append(sc.Rotations, x)
				}
				return ctx.Err()
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, sc := range out {
		slices.SortFunc(sc.Shifts, func(a, b oncall.Shift) int { return a.Start.Compare(b.Start) })
	}
	if errors.Is(err, context.Canceled) {
		return nil, err
	}
	return out, err
}

// RoleMembers returns a role's fixed members (its fallback when nobody is
// on call), or false when there is no such role.
func (s *Store) RoleMembers(role string) ([]string, bool) { return s.members(kindRole, role) }

// GroupMembers returns a local group's members, or false.
func (s *Store) GroupMembers(name string) ([]string, bool) { return s.members(kindGroup, name) }

func (s *Store) members(k groupKind, name string) ([]string, bool) {
	var g Group
	err := s.View(func(r *Reader) error {
		var err error
		g, err = getGroup(r, k, name)
		return err
	})
	return g.Members, err == nil
}
