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

// prefixSharedSession holds who is signed in on each shared device:
// + device id: JSON SharedSession. While a user is signed in, the device is
// also in the user's device set (userDevicesKey), so that everything sent to
// the user is queued for it as for a personal device.
const prefixSharedSession = "shs/"

func sharedSessionKey(dev string) []byte { return []byte(prefixSharedSession + dev) }

// SharedSession is a user signed in on a shared device.
type SharedSession struct {
	Device  string    `json:"device"`
	User    string    `json:"user"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"` // the absolute end; the appliance signs the device out then
}

// ErrNotSignedIn is returned when no one is signed in on a shared device.
var ErrNotSignedIn = errors.New("no one is signed in on this device")

// SignInShared signs a user in on a shared device until Expires: the
// device joins the user's devices for delivery. A user already signed in
// there (the same one or another) is signed out first, with an audit event
// of its own, and named in Replaced.
type SignInShared struct {
	By      audit.Actor
	Device  string
	Login   string
	Expires time.Time
	// Replaced is set by Apply: who was signed in on the device before.
	Replaced string
}

// Event implements Command.
func (c *SignInShared) Event() audit.Event {
	return c.By.Event("session.signin", "device:"+c.Device, "user:"+c.Login)
}

// Apply implements Command.
func (c *SignInShared) Apply(tx *Txn) error {
	c.Replaced = ""
	d, err := getDevice(tx, c.Device)
	if err != nil {
		return err
	}
	switch {
	case !d.Active():
		return fmt.Errorf("device %s: %w", d.ID, ErrDeviceRevoked)
	case d.User != "":
		return fmt.Errorf("%w: device %s is personal", directory.ErrInvalid, d.ID)
	}
	u, err := getUser(tx, c.Login)
	if err != nil {
		return err
	}
	if !u.Enabled {
		return fmt.Errorf("%w: user %s is disabled", directory.ErrInvalid, u.Login)
	}
	if old, ok, err := getSharedSession(tx, d.ID); err != nil {
		return err
	} else if ok {
		if err := endSharedSession(tx, old); err != nil {
			return err
		}
		ev := c.By.Event("session.signout", "device:"+d.ID, "user:"+old.User)
		ev.Reason = "replaced"
		tx.Audit(ev)
		c.Replaced = old.User
	}
	ids, err := userDevices(tx, u.Login)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, d.ID) {
		if err := setUserDevices(tx, u.Login, append(ids, d.ID)); err != nil {
			return err
		}
	}
	return putJSON(tx, sharedSessionKey(d.ID), SharedSession{Device: d.ID, User: u.Login, Started: tx.Now(), Expires: c.Expires})
}

// SignOutShared ends the session on a shared device: the device leaves the
// user's devices and what was queued for it is dropped (the user's other
// devices and history still have it). Reason ("" when the user signs out,
// "expired", "idle", ...) goes into the audit event. With no session, or
// with User set and someone else signed in (an expiry that raced a new
// sign-in), it fails with ErrNotSignedIn. Apply sets User.
type SignOutShared struct {
	By     audit.Actor
	Device string
	User   string
	Reason string
}

// Event implements Command (after Apply, so it names the user).
func (c *SignOutShared) Event() audit.Event {
	objs := []string{"device:" + c.Device}
	if c.User != "" {
		objs = append(objs, "user:"+c.User)
	}
	ev := c.By.Event("session.signout", objs...)
	ev.Reason = c.Reason
	return ev
}

// Apply implements Command.
func (c *SignOutShared) Apply(tx *Txn) error {
	s, ok, err := getSharedSession(tx, c.Device)
	if err != nil {
		return err
	}
	if !ok || (c.User != "" && s.User != c.User) {
		return fmt.Errorf("device %s: %w", c.Device, ErrNotSignedIn)
	}
	c.User = s.User
	return endSharedSession(tx, s)
}

// endSharedSession removes a session: the device leaves its user's device
// set and its queue is cleared.
func endSharedSession(tx *Txn, s SharedSession) error {
	ids, err := userDevices(tx, s.User)
	if err != nil {
		return err
	}
	if err := setUserDevices(tx, s.User, slices.DeleteFunc(ids, func(id string) bool { return id == s.Device })); err != nil {
		return err
	}
	tx.Delete(sharedSessionKey(s.Device))
	return clearQueue(tx, s.Device)
}

// getSharedSession reads the session on a device inside a command.
func getSharedSession(r getter, dev string) (SharedSession, bool, error) {
	b, err := r.Get(sharedSessionKey(dev))
	if errors.Is(err, ErrNotFound) {
		return SharedSession{}, false, nil
	}
	if err != nil {
		return SharedSession{}, false, err
	}
	var s SharedSession
	if err := json.Unmarshal(b, &s); err != nil {
		return SharedSession{}, false, fmt.Errorf("shared session %s: decode: %w", dev, err)
	}
	return s, true, nil
}

// endUserSharedSessions signs a user out of the shared devices among ids
// (the user's device set), audits each, and returns those devices. A
// user's personal devices among ids are left alone.
func endUserSharedSessions(tx *Txn, by audit.Actor, login string, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		s, ok, err := getSharedSession(tx, id)
		if err != nil {
			return nil, err
		}
		if !ok || s.User != login {
			continue
		}
		if err := endSharedSession(tx, s); err != nil {
			return nil, err
		}
		ev := by.Event("session.signout", "device:"+id, "user:"+login)
		ev.Reason = "user disabled"
		tx.Audit(ev)
		out = append(out, id)
	}
	return out, nil
}

// SharedSessions returns every session on a shared device, in device order.
func (s *Store) SharedSessions(ctx context.Context) ([]SharedSession, error) {
	return listJSON[SharedSession](s, ctx, prefixSharedSession)
}

// SharedSessionOf returns the session on a shared device, if any.
func (s *Store) SharedSessionOf(dev string) (SharedSession, bool, error) {
	var ss SharedSession
	var ok bool
	err := s.View(func(r *Reader) error {
		var err error
		ss, ok, err = getSharedSession(r, dev)
		return err
	})
	return ss, ok, err
}
