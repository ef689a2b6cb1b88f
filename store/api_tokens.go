package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// API tokens for integrations, kept only as the SHA-256 of the token (a
// 256-bit random token needs no slow hash, as device secrets do not):
//
//	apitok/n/ + name: JSON APIToken
//	apitok/h/ + hash: name (the lookup index)
const (
	prefixAPITokenName = "apitok/n/"
	prefixAPITokenHash = "apitok/h/"
)

func apiTokenNameKey(name string) []byte { return []byte(prefixAPITokenName + name) }
func apiTokenHashKey(hash string) []byte { return []byte(prefixAPITokenHash + hash) }

// APIToken is one integration's token: never the token itself.
type APIToken struct {
	Name     string          `json:"name"`
	Right    directory.Right `json:"right"`
	Hash     string          `json:"hash"` // hex SHA-256 of the token
	Created  time.Time       `json:"created"`
	Expires  time.Time       `json:"expires,omitzero"` // zero: never
	LastUsed time.Time       `json:"last_used,omitzero"`
}

// Expired reports whether the token has expired at now.
func (t APIToken) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// AddAPIToken records a new token. The name must be free; the right is
// auditor or administrator. Audited as token.add, without the hash.
type AddAPIToken struct {
	By    audit.Actor
	Token APIToken
}

// Event implements Command.
func (c AddAPIToken) Event() audit.Event {
	ev := c.By.Event("token.add", "token:"+c.Token.Name)
	ev.Reason = "right " + string(c.Token.Right)
	return ev
}

// Apply implements Command.
func (c AddAPIToken) Apply(tx *Txn) error {
	t := c.Token
	if t.Right != directory.RightAuditor && t.Right != directory.RightAdmin {
		return fmt.Errorf("%w: a token's right is auditor or administrator", directory.ErrInvalid)
	}
	if t.Name == "" || len(t.Hash) != 64 {
		return fmt.Errorf("%w: a token needs a name and a SHA-256 hash", directory.ErrInvalid)
	}
	if _, err := tx.Get(apiTokenNameKey(t.Name)); err == nil {
		return fmt.Errorf("%w: token %s", directory.ErrExists, t.Name)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := tx.Get(apiTokenHashKey(t.Hash)); err == nil {
		return fmt.Errorf("%w: token hash", directory.ErrExists)
	}
	t.Created, t.LastUsed = tx.Now(), time.Time{}
	tx.Set(apiTokenHashKey(t.Hash), []byte(t.Name))
	return putJSON(tx, apiTokenNameKey(t.Name), t)
}

// RevokeAPIToken removes a token: it stops working at once. Audited as
// token.revoke.
type RevokeAPIToken struct {
	By   audit.Actor
	Name string
}

// Event implements Command.
func (c RevokeAPIToken) Event() audit.Event { return c.By.Event("token.revoke", "token:"+c.Name) }

// Apply implements Command.
func (c RevokeAPIToken) Apply(tx *Txn) error {
	b, err := tx.Get(apiTokenNameKey(c.Name))
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: token %s", directory.ErrNotFound, c.Name)
	}
	if err != nil {
		return err
	}
	var t APIToken
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	tx.Delete(apiTokenHashKey(t.Hash))
	tx.Delete(apiTokenNameKey(c.Name))
	return nil
}

// TouchAPIToken records that a token was used (the appliance sends it at
// most once a minute per token). Audited as token.use by the token.
type TouchAPIToken struct {
	By   audit.Actor
	Name string
}

// Event implements Command.
func (c TouchAPIToken) Event() audit.Event { return c.By.Event("token.use", "token:"+c.Name) }

// Apply implements Command. A token revoked meanwhile stays revoked.
func (c TouchAPIToken) Apply(tx *Txn) error {
	b, err := tx.Get(apiTokenNameKey(c.Name))
	if err != nil {
		return err
	}
	var t APIToken
	if err := json.Unmarshal(b, &t); err != nil {
		return err
	}
	t.LastUsed = tx.Now()
	return putJSON(tx, apiTokenNameKey(c.Name), t)
}

// APITokenByHash returns the token whose SHA-256 is hash, or
// directory.ErrNotFound. The lookup is by key, so no comparison of
// secrets happens byte by byte.
func (s *Store) APITokenByHash(hash string) (APIToken, error) {
	var t APIToken
	err := s.View(func(r *Reader) error {
		name, err := r.Get(apiTokenHashKey(hash))
		if err != nil {
			return err
		}
		b, err := r.Get(apiTokenNameKey(string(name)))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &t)
	})
	if errors.Is(err, ErrNotFound) {
		return APIToken{}, directory.ErrNotFound
	}
	return t, err
}

// APITokens lists the tokens by name.
func (s *Store) APITokens() ([]APIToken, error) {
	var out []APIToken
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixAPITokenName), func(_, val []byte) error {
			var t APIToken
			if err := json.Unmarshal(val, &t); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
