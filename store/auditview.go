package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
)

// RecentAudit returns up to limit audit events that match, newest first,
// for the audit viewer. The read itself is audited first (fail closed).
func (s *Store) RecentAudit(ctx context.Context, by audit.Actor, match func(audit.Event) bool, limit int) ([]audit.Event, error) {
	if err := s.Record(ctx, by.Event("audit.view", "audit:*")); err != nil {
		return nil, err
	}
	var out []audit.Event
	err := s.View(func(r *Reader) error {
		prefix := []byte(prefixAudit)
		it := r.btx.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		for it.Seek(append(append([]byte{}, prefix...), 0xff)); it.Valid() && len(out) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			var e audit.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit view: %w", err)
			}
			if match(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}
