package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// Keys of web sign-in state.
const (
	prefixWebSession  = "wses/"   // + hex SHA-256 of the cookie: JSON directory.WebSession
	prefixUserSession = "uwses/"  // + login/hash: index of a user's sessions
	prefixAssertion   = "samlid/" // + assertion id: 8-byte unix ns until which it is remembered
	prefixLocalAdmin  = "badm/"   // + login: JSON directory.LocalAdmin
)

// Sentinel errors of web sign-in.
var (
	// ErrReplay is a SAML assertion that was used before.
	ErrReplay = errors.New("assertion already used")
	// ErrNoSession is a session that does not exist (ended, or never was).
	ErrNoSession = errors.New("no such session")
	// ErrCodeReused is a TOTP code (time step) that was used before.
	ErrCodeReused = errors.New("code already used")
)

func webSessionKey(hash string) []byte         { return []byte(prefixWebSession + hash) }
func userSessionKey(login, hash string) []byte { return []byte(prefixUserSession + login + "/" + hash) }

// StartWebSession records a new web session. For a SAML sign-in it
// remembers the assertion id until the assertion expires and refuses one
// seen before (ErrReplay); it refuses a user who is not in the directory or
// is disabled. For a break-glass sign-in it refuses a TOTP step used
// before (ErrCodeReused). All of it happens in one transaction.
type StartWebSession struct {
	By               audit.Actor
	Hash             string // hex SHA-256 of the cookie value
	Session          directory.WebSession
	AssertionID      string    // SAML only
	AssertionExpires time.Time // SAML only: remember the id until then
	TOTPStep         int64     // break-glass only
}

// Event implements Command.
func (c *StartWebSession) Event() audit.Event {
	e := c.By.Event("session.start", "user:"+c.Session.Login, "session:"+c.Session.ID, "method:"+c.Session.Method)
	e.Session = c.Session.ID // a refusal's reason is the error's, filled in by the committer
	if c.Session.BreakGlass() {
		e.Action = "session.start.breakglass"
	}
	return e
}

// Apply implements Command.
func (c *StartWebSession) Apply(tx *Txn) error {
	s := c.Session
	switch s.Method {
	case directory.MethodSAML:
		if c.AssertionID == "" {
			return fmt.Errorf("saml sign-in without an assertion id: %w", directory.ErrInvalid)
		}
		key := []byte(prefixAssertion + c.AssertionID)
		if b, err := tx.Get(key); err == nil && len(b) == 8 {
			return ErrReplay
		}
		until := c.AssertionExpires
		if until.IsZero() || until.Before(tx.Now()) {
			until = tx.Now().Add(time.Hour)
		}
		tx.Set(key, be64(uint64(until.UnixNano())))
		u, err := getUser(tx, s.Login)
		if err != nil {
			return err
		}
		if !u.Enabled {
			return fmt.Errorf("user %s is disabled: %w", s.Login, directory.ErrInvalid)
		}
	case directory.MethodBreakGlass:
		adm, err := getLocalAdmin(tx, s.Login)
		if err != nil {
			return err
		}
		if c.TOTPStep <= adm.LastStep {
			return ErrCodeReused
		}
		adm.LastStep = c.TOTPStep
		if err := putJSON(tx, []byte(prefixLocalAdmin+adm.Login), adm); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown sign-in method %q: %w", s.Method, directory.ErrInvalid)
	}
	if err := putJSON(tx, webSessionKey(c.Hash), s); err != nil {
		return err
	}
	tx.Set(userSessionKey(s.Login, c.Hash), nil)
	return nil
}

// EndWebSession ends one web session (sign-out, idle or absolute timeout).
type EndWebSession struct {
	By     audit.Actor
	Hash   string
	Reason string // "logout", "idle", "expired"
}

// Event implements Command.
func (c EndWebSession) Event() audit.Event {
	e := c.By.Event("session.end")
	e.Reason = c.Reason
	return e
}

// Apply implements Command.
func (c EndWebSession) Apply(tx *Txn) error {
	b, err := tx.Get(webSessionKey(c.Hash))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var s directory.WebSession
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	tx.Delete(webSessionKey(c.Hash))
	tx.Delete(userSessionKey(s.Login, c.Hash))
	return nil
}

// EndUserWebSessions ends every web session of a user: when the user is
// disabled (locally or in AD), or by an administrator.
type EndUserWebSessions struct {
	By     audit.Actor
	Login  string
	Reason string

	Ended int // set by Apply
}

// Event implements Command.
func (c *EndUserWebSessions) Event() audit.Event {
	e := c.By.Event("session.end_all", "user:"+c.Login)
	e.Reason = c.Reason
	return e
}

// Apply implements Command.
func (c *EndUserWebSessions) Apply(tx *Txn) error {
	c.Ended = 0
	prefix := []byte(prefixUserSession + c.Login + "/")
	var hashes []string
	if err := tx.Scan(prefix, func(k, _ []byte) error {
		hashes = append(hashes, string(k[len(prefix):]))
		return nil
	}); err != nil {
		return err
	}
	for _, h := range hashes {
		tx.Delete(webSessionKey(h))
		tx.Delete(userSessionKey(c.Login, h))
		c.Ended++
	}
	return nil
}

// WebSession returns the session whose cookie hashes to hash, or
// ErrNoSession.
func (s *Store) WebSession(hash string) (directory.WebSession, error) {
	var ws directory.WebSession
	err := s.View(func(r *Reader) error {
		b, err := r.Get(webSessionKey(hash))
		if errors.Is(err, ErrNotFound) {
			return ErrNoSession
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &ws)
	})
	return ws, err
}

// PurgeWebState forgets replay-cache entries and sessions that have
// expired, at most Max of each in one command.
type PurgeWebState struct {
	Max int

	Purged int // set by Apply
}

// Event implements Command.
func (c *PurgeWebState) Event() audit.Event { return audit.System.Event("session.purge") }

// Apply implements Command.
func (c *PurgeWebState) Apply(tx *Txn) error {
	c.Purged = 0
	now := tx.Now()
	var dead [][]byte
	if err := tx.Scan([]byte(prefixAssertion), func(k, v []byte) error {
		if len(v) == 8 && time.Unix(0, int64(be64get(v))).Before(now) && len(dead) < c.Max {
			dead = append(dead, k)
		}
		return nil
	}); err != nil {
		return err
	}
	var sessions []directory.WebSession
	var hashes []string
	if err := tx.Scan([]byte(prefixWebSession), func(k, v []byte) error {
		var s directory.WebSession
		if json.Unmarshal(v, &s) == nil && s.Expires.Before(now) && len(hashes) < c.Max {
			sessions = append(sessions, s)
			hashes = append(hashes, strings.TrimPrefix(string(k), prefixWebSession))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range dead {
		tx.Delete(k)
	}
	for i, h := range hashes {
		tx.Delete(webSessionKey(h))
		tx.Delete(userSessionKey(sessions[i].Login, h))
	}
	c.Purged = len(dead) + len(hashes)
	return nil
}

// AddLocalAdmin adds (or, with Replace, resets) a break-glass
// administrator.
type AddLocalAdmin struct {
	By      audit.Actor
	Admin   directory.LocalAdmin
	Replace bool
}

// Event implements Command.
func (c AddLocalAdmin) Event() audit.Event { return c.By.Event("admin.add", "admin:"+c.Admin.Login) }

// Apply implements Command.
func (c AddLocalAdmin) Apply(tx *Txn) error {
	if _, err := getLocalAdmin(tx, c.Admin.Login); err == nil && !c.Replace {
		return fmt.Errorf("break-glass administrator %s: %w", c.Admin.Login, directory.ErrExists)
	}
	a := c.Admin
	a.Created = tx.Now()
	return putJSON(tx, []byte(prefixLocalAdmin+a.Login), a)
}

// LocalAdmin returns a break-glass administrator, or an error wrapping
// directory.ErrNotFound.
func (s *Store) LocalAdmin(login string) (directory.LocalAdmin, error) {
	var a directory.LocalAdmin
	err := s.View(func(r *Reader) error {
		var err error
		a, err = getLocalAdmin(r, login)
		return err
	})
	return a, err
}

func getLocalAdmin(r getter, login string) (directory.LocalAdmin, error) {
	b, err := r.Get([]byte(prefixLocalAdmin + login))
	if errors.Is(err, ErrNotFound) {
		return directory.LocalAdmin{}, fmt.Errorf("break-glass administrator %s: %w", login, directory.ErrNotFound)
	}
	if err != nil {
		return directory.LocalAdmin{}, err
	}
	var a directory.LocalAdmin
	return a, json.Unmarshal(b, &a)
}

func be64(v uint64) []byte    { return binary.BigEndian.AppendUint64(nil, v) }
func be64get(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// EndNameIDSessions ends the SAML sessions of a NameID: the IdP's single
// logout of that person.
type EndNameIDSessions struct {
	By     audit.Actor
	NameID string

	Ended []string // set by Apply: the logins whose sessions ended
}

// Event implements Command.
func (c *EndNameIDSessions) Event() audit.Event {
	objs := []string{}
	for _, l := range c.Ended {
		objs = append(objs, "user:"+l)
	}
	e := c.By.Event("session.end_all", objs...)
	e.Reason = "idp logout"
	return e
}

// Apply implements Command.
func (c *EndNameIDSessions) Apply(tx *Txn) error {
	c.Ended = nil
	type hit struct{ hash, login string }
	var hits []hit
	if err := tx.Scan([]byte(prefixWebSession), func(k, v []byte) error {
		var s directory.WebSession
		if json.Unmarshal(v, &s) == nil && s.Method == directory.MethodSAML && s.NameID != "" && s.NameID == c.NameID {
			hits = append(hits, hit{strings.TrimPrefix(string(k), prefixWebSession), s.Login})
		}
		return nil
	}); err != nil {
		return err
	}
	for _, h := range hits {
		tx.Delete(webSessionKey(h.hash))
		tx.Delete(userSessionKey(h.login, h.hash))
		c.Ended = append(c.Ended, h.login)
	}
	return nil
}
