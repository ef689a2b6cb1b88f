package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// userKey is the key of a user record.
func userKey(login string) []byte { return []byte(prefixUser + login) }

// getUser reads a user inside a command.
func getUser(tx *Txn, login string) (directory.User, error) {
	u, err := getDecoded(tx, userKey(login), cloneUser)
	if errors.Is(err, ErrNotFound) {
		return directory.User{}, fmt.Errorf("user %s: %w", login, directory.ErrNotFound)
	}
	if err != nil {
		return directory.User{}, fmt.Errorf("user %s: %w", login, err)
	}
	return u, nil
}

// cloneUser copies a user so that the copy shares no slice with u.
func cloneUser(u directory.User) directory.User {
	u.Phones = slices.Clone(u.Phones)
	return u
}

// putUser writes a user inside a command.
func putUser(tx *Txn, u directory.User) error {
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("user %s: encode: %w", u.Login, err)
	}
	tx.Set(userKey(u.Login), b)
	return nil
}

// AddUser adds a local user, enabled. The user must be normalized
// (directory.User.Normalize) before the command is built.
type AddUser struct {
	By   audit.Actor
	User directory.User
}

// Event implements Command.
func (c AddUser) Event() audit.Event { return c.By.Event("user.add", "user:"+c.User.Login) }

// Apply implements Command.
func (c AddUser) Apply(tx *Txn) error {
	if _, err := getUser(tx, c.User.Login); err == nil {
		return fmt.Errorf("user %s: %w", c.User.Login, directory.ErrExists)
	} else if !errors.Is(err, directory.ErrNotFound) {
		return err
	}
	u := c.User
	u.Enabled, u.Source = true, directory.SourceLocal
	u.Created, u.Updated = tx.Now(), tx.Now()
	return putUser(tx, u)
}

// SetUserEnabled enables or disables a local user. Users from Active
// Directory follow AD and are refused with directory.ErrReadOnly. Disabling
// a user revokes all of the user's devices, which Revoked then lists (the
// appliance wipes and disconnects them); enabling does not restore them.
type SetUserEnabled struct {
	By      audit.Actor
	Login   string
	Enabled bool
	Revoked []string // set by Apply
	// SignedOut is set by Apply: the shared devices the user was signed
	// in on, now signed out (the appliance tells them in/cmd signout).
	SignedOut []string
}

// Event implements Command.
func (c *SetUserEnabled) Event() audit.Event {
	action := "user.disable"
	if c.Enabled {
		action = "user.enable"
	}
	return c.By.Event(action, "user:"+c.Login)
}

// Apply implements Command.
func (c *SetUserEnabled) Apply(tx *Txn) error {
	c.Revoked, c.SignedOut = nil, nil
	u, err := getUser(tx, c.Login)
	if err != nil {
		return err
	}
	if u.Source == directory.SourceAD {
		return fmt.Errorf("user %s: %w", c.Login, directory.ErrReadOnly)
	}
	if u.Enabled == c.Enabled {
		return nil
	}
	u.Enabled, u.Updated = c.Enabled, tx.Now()
	if !c.Enabled {
		if c.Revoked, c.SignedOut, err = revokeUserDevices(tx, c.By, u.Login); err != nil {
			return err
		}
	}
	return putUser(tx, u)
}

// revokeUserDevices revokes every active device of a user, audits each,
// and returns their ids.
func revokeUserDevices(tx *Txn, by audit.Actor, login string) (revoked, signedOut []string, err error) {
	ids, err := userDevices(tx, login)
	if err != nil {
		return nil, nil, err
	}
	// Shared devices the user is signed in on are signed out, not revoked.
	if signedOut, err = endUserSharedSessions(tx, by, login, ids); err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if slices.Contains(signedOut, id) {
			continue
		}
		d, err := getDevice(tx, id)
		if err != nil {
			return nil, nil, err
		}
		if err := revokeDevice(tx, d); err != nil {
			return nil, nil, err
		}
		tx.Audit(by.Event("device.revoke", "device:"+id, "user:"+login))
		revoked = append(revoked, id)
	}
	return revoked, signedOut, nil
}

// Users returns every user in login order.
func (s *Store) Users(ctx context.Context) ([]directory.User, error) {
	users, err := listJSON[directory.User](s, ctx, prefixUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// User returns one user, or an error wrapping directory.ErrNotFound.
func (s *Store) User(login string) (directory.User, error) {
	var u directory.User
	err := s.View(func(r *Reader) error {
		b, err := r.Get(userKey(login))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("user %s: %w", login, directory.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &u)
	})
	return u, err
}
