package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Reader is a consistent read-only snapshot of the store.
type Reader struct{ btx *badger.Txn }

// Get returns a copy of the value under key, or ErrNotFound.
func (r *Reader) Get(key []byte) ([]byte, error) { return getValue(r.btx, key) }

// Scan calls fn for every key with prefix, in key order.
func (r *Reader) Scan(prefix []byte, fn func(key, val []byte) error) error {
	return scan(r.btx, prefix, fn)
}

// View runs fn on a snapshot. Reads keep working when writes are refused
// (a full disk): they need no space.
func (s *Store) View(fn func(r *Reader) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	select {
	case <-s.stopped:
		return ErrClosed
	default:
	}
	return s.db.View(func(btx *badger.Txn) error { return fn(&Reader{btx: btx}) })
}

// listJSON decodes every record under prefix, in key order.
func listJSON[T any](s *Store, ctx context.Context, prefix string) ([]T, error) {
	var out []T
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefix), func(_, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("decode %s record: %w", strings.TrimSuffix(prefix, "/"), err)
			}
			out = append(out, x)
			return ctx.Err()
		})
	})
	return out, err
}
