package store

import (
	"fmt"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// Keys of iCalendar feed tokens. A token is a bearer secret in a URL, so
// only its SHA-256 is kept.
const (
	prefixFeed     = "icalfeed/"  // + hex SHA-256 of the token: login
	prefixUserFeed = "icalfeedu/" // + login: hex SHA-256 of the user's current token
)

// SetFeedToken gives a user a new iCalendar feed token (its hash), which
// replaces the previous one, or revokes it (Hash "").
type SetFeedToken struct {
	By   audit.Actor
	User string
	Hash string // hex SHA-256 of the token; "" revokes
}

// Event implements Command.
func (c SetFeedToken) Event() audit.Event {
	action := "schedule.feed.new"
	if c.Hash == "" {
		action = "schedule.feed.revoke"
	}
	return c.By.Event(action, "user:"+c.User)
}

// Apply implements Command.
func (c SetFeedToken) Apply(tx *Txn) error {
	if _, err := getUser(tx, c.User); err != nil {
		return err
	}
	if old, err := tx.Get([]byte(prefixUserFeed + c.User)); err == nil {
		tx.Delete([]byte(prefixFeed + string(old)))
	} else if c.Hash == "" {
		return fmt.Errorf("feed of %s: %w", c.User, directory.ErrNotFound)
	}
	if c.Hash == "" {
		tx.Delete([]byte(prefixUserFeed + c.User))
		return nil
	}
	tx.Set([]byte(prefixUserFeed+c.User), []byte(c.Hash))
	tx.Set([]byte(prefixFeed+c.Hash), []byte(c.User))
	return nil
}

// FeedUser returns the user whose feed token hashes to hash.
func (s *Store) FeedUser(hash string) (string, bool) {
	var login string
	err := s.View(func(r *Reader) error {
		b, err := r.Get([]byte(prefixFeed + hash))
		login = string(b)
		return err
	})
	return login, err == nil && login != ""
}
