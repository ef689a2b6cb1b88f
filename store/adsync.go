package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// keySyncProgress marks a directory sync that was split into several
// commands and has not written its last one yet.
const keySyncProgress = "meta/directory-sync-progress"

// SyncProgress is the record of a directory sync in progress.
type SyncProgress struct {
	Gen     string    `json:"gen"`
	Started time.Time `json:"started"`
}

// SyncDirectory writes part or all of a sync from Active Directory: the
// users that changed, as directory.PlanSync made them, and the AD groups
// that changed or left AD. A sync small enough goes in one command, which
// is atomic; a large one (a first full sync) is split into several, the
// last with Final set: until it is written, SyncInProgress reports the
// sync, and the appliance runs a full sync again. A user whose login
// belongs to a local user is not touched (reported in Conflicts).
// Disabling a user revokes its devices (listed in Revoked; the appliance
// wipes and disconnects them). Every change is audited with its reason.
type SyncDirectory struct {
	By           audit.Actor
	Gen          string // the sync's id, for the progress record
	Users        []directory.UserChange
	Groups       []Group  // AD groups to create or replace (Members are logins)
	DeleteGroups []string // AD groups gone from AD
	Final        bool

	// Set by Apply.
	Revoked   []string // device ids
	Disabled  []string // logins disabled by this command
	Conflicts []string // logins or group names held by local users or groups
	SignedOut []string // shared devices whose disabled user was signed out
}

// Event implements Command.
func (c *SyncDirectory) Event() audit.Event {
	e := c.By.Event("directory.sync", "directory:ad")
	e.Reason = fmt.Sprintf("%d users, %d groups, %d groups removed", len(c.Users), len(c.Groups), len(c.DeleteGroups))
	return e
}

// Apply implements Command.
func (c *SyncDirectory) Apply(tx *Txn) error {
	c.Revoked, c.Disabled, c.Conflicts, c.SignedOut = nil, nil, nil, nil
	for _, ch := range c.Users {
		if err := c.applyUser(tx, ch); err != nil {
			return err
		}
	}
	for _, g := range c.Groups {
		old, err := getGroup(tx, kindGroup, g.Name)
		switch {
		case err == nil && old.Source != directory.SourceAD:
			c.Conflicts = append(c.Conflicts, "group:"+g.Name)
			continue
		case err == nil:
			g.Created = old.Created
		case errors.Is(err, directory.ErrNotFound):
			g.Created = tx.Now()
		default:
			return err
		}
		g.Source, g.Updated = directory.SourceAD, tx.Now()
		if err := putJSON(tx, []byte(prefixGroup+g.Name), g); err != nil {
			return err
		}
		tx.Audit(c.By.Event("group.sync", "group:"+g.Name))
	}
	for _, name := range c.DeleteGroups {
		old, err := getGroup(tx, kindGroup, name)
		if err != nil || old.Source != directory.SourceAD {
			continue
		}
		tx.Delete([]byte(prefixGroup + name))
		tx.Audit(c.By.Event("group.remove", "group:"+name))
	}
	if c.Final {
		tx.Delete([]byte(keySyncProgress))
		return nil
	}
	return putJSON(tx, []byte(keySyncProgress), SyncProgress{Gen: c.Gen, Started: tx.Now()})
}

// applyUser writes one user of the sync.
func (c *SyncDirectory) applyUser(tx *Txn, ch directory.UserChange) error {
	u := ch.User
	old, err := getUser(tx, u.Login)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, directory.ErrNotFound):
		return err
	case exists && (old.Source != directory.SourceAD || old.GUID != u.GUID):
		c.Conflicts = append(c.Conflicts, "user:"+u.Login)
		return nil
	case exists:
		u.Created = old.Created
	default:
		u.Created = tx.Now()
	}
	u.Source, u.Updated = directory.SourceAD, tx.Now()
	ev := c.By.Event("user.sync."+ch.Kind, "user:"+u.Login)
	ev.Reason = u.Disabled
	tx.Audit(ev)
	if exists && old.Enabled && !u.Enabled {
		revoked, signedOut, err := revokeUserDevices(tx, c.By, u.Login)
		if err != nil {
			return err
		}
		c.Revoked = append(c.Revoked, revoked...)
		c.SignedOut = append(c.SignedOut, signedOut...)
		c.Disabled = append(c.Disabled, u.Login)
	}
	return putUser(tx, u)
}

// SyncInProgress returns the record of a split directory sync whose last
// command was not written, or false.
func (s *Store) SyncInProgress() (SyncProgress, bool) {
	var p SyncProgress
	err := s.View(func(r *Reader) error {
		b, err := r.Get([]byte(keySyncProgress))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &p)
	})
	return p, err == nil
}
