package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wardline/wardline/audit"
)

// loadHead reads the recorded end of the audit chain.
func (s *Store) loadHead() (audit.Head, error) {
	var head audit.Head
	err := s.View(func(r *Reader) error {
		b, err := r.Get([]byte(keyAuditHead))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &head)
	})
	if err != nil {
		return audit.Head{}, fmt.Errorf("load audit head: %w", err)
	}
	return head, nil
}

// VerifyAudit walks the whole audit chain and returns the number of events
// checked, or an error wrapping a *audit.BreakError that names the first bad
// event: one altered, removed, duplicated or out of its place.
func (s *Store) VerifyAudit(ctx context.Context) (uint64, error) {
	var v audit.Verifier
	var head audit.Head
	err := s.View(func(r *Reader) error {
		if b, err := r.Get([]byte(keyAuditHead)); err == nil {
			if err := json.Unmarshal(b, &head); err != nil {
				return fmt.Errorf("audit head unreadable: %w", err)
			}
		}
		return r.Scan([]byte(prefixAudit), func(key, val []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			pos := binary.BigEndian.Uint64(key[len(prefixAudit):])
			var e audit.Event
			if err := json.Unmarshal(val, &e); err != nil {
				return &audit.BreakError{Seq: pos, Reason: "event unreadable (altered)"}
			}
			if e.Seq != pos && pos == v.Head().Seq+1 {
				return &audit.BreakError{Seq: pos, Reason: fmt.Sprintf("the event stored here is event %d (events reordered)", e.Seq)}
			}
			return v.Check(e)
		})
	})
	if err == nil {
		err = v.Finish(head)
	}
	return v.Count(), err
}

// AuditHead returns the end of the audit chain as committed.
func (s *Store) AuditHead() (audit.Head, error) { return s.loadHead() }

// ExportAudit calls fn for every audit event with since <= time < until, in
// chain order; a zero since or until is open. The export is itself audited
// (action "audit.export") before any event is read: it fails closed.
func (s *Store) ExportAudit(ctx context.Context, by audit.Actor, since, until time.Time, fn func(audit.Event) error) error {
	if err := s.Record(ctx, by.Event("audit.export", "audit:"+timeRange(since, until))); err != nil {
		return err
	}
	return s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixAudit), func(_, val []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var e audit.Event
			if err := json.Unmarshal(val, &e); err != nil {
				return fmt.Errorf("export audit: %w", err)
			}
			if (!since.IsZero() && e.Time.Before(since)) || (!until.IsZero() && !e.Time.Before(until)) {
				return nil
			}
			return fn(e)
		})
	})
}

// timeRange names an export's range for its audit event.
func timeRange(since, until time.Time) string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return f(since) + ".." + f(until)
}
