package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// prefixUserPIN holds each user's shared-device PIN, only as a slow hash:
// + login: JSON PINHash.
const prefixUserPIN = "upin/"

func userPINKey(login string) []byte { return []byte(prefixUserPIN + login) }

// PINHash is the stored form of a PIN: an argon2id hash, its salt and its
// parameters (so that they can change later). The appliance computes it
// outside the committer; the store never sees the PIN.
type PINHash struct {
	Alg     string `json:"alg"` // "argon2id"
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
	Salt    []byte `json:"salt"`
	Hash    []byte `json:"hash"`
}

// SetUserPIN sets (or, with a nil Hash, removes) a user's PIN. The user
// must exist and be enabled. Audited as user.pin.set or user.pin.remove,
// without the hash.
type SetUserPIN struct {
	By    audit.Actor
	Login string
	Hash  *PINHash
}

// Event implements Command.
func (c SetUserPIN) Event() audit.Event {
	action := "user.pin.set"
	if c.Hash == nil {
		action = "user.pin.remove"
	}
	return c.By.Event(action, "user:"+c.Login)
}

// Apply implements Command.
func (c SetUserPIN) Apply(tx *Txn) error {
	u, err := getUser(tx, c.Login)
	if err != nil {
		return err
	}
	if !u.Enabled {
		return fmt.Errorf("%w: user %s is disabled", directory.ErrInvalid, u.Login)
	}
	if c.Hash == nil {
		tx.Delete(userPINKey(u.Login))
		return nil
	}
	return putJSON(tx, userPINKey(u.Login), c.Hash)
}

// UserPIN returns a user's PIN hash, or false when the user has none.
func (s *Store) UserPIN(login string) (PINHash, bool, error) {
	var h PINHash
	err := s.View(func(r *Reader) error {
		b, err := r.Get(userPINKey(login))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &h)
	})
	if errors.Is(err, ErrNotFound) {
		return PINHash{}, false, nil
	}
	return h, err == nil, err
}
