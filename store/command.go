package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
)

// Command is one change of state. The committer applies it in a transaction
// of its own and appends its audit event in the same transaction: with
// outcome "ok" when Apply succeeds, or "failed" and the error as reason when
// it does not (then none of its writes are kept). Ids and times are chosen
// before a command is applied or taken from Txn.Now, never from elsewhere.
type Command interface {
	// Event is the audit event that records the command: actor, action and
	// objects. The store fills in outcome, time and chain fields.
	Event() audit.Event
	// Apply reads and writes through tx. It must not keep tx, and it may run
	// more than once (when a batch is rebuilt), so it must have no effect
	// outside tx.
	Apply(tx *Txn) error
}

// Txn is the view of one command inside a batch: its writes stay apart
// until it succeeds, and it reads its own writes and those of the commands
// applied before it (in its batch and in the batch Badger is writing).
type Txn struct {
	p      *pipeline
	cache  *readCache
	now    time.Time
	writes map[string]*write
	events []audit.Event
}

// write is one pending change; del removes the key.
type write struct {
	val []byte
	del bool
}

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("not found")

// Now is the time at which the command is applied.
func (t *Txn) Now() time.Time { return t.now }

// pendingWrite is the newest write of key not yet durable: this command's,
// its batch's, or the batch in flight's.
func (t *Txn) pendingWrite(key string, own bool) (*write, bool) {
	if own {
		if w, ok := t.writes[key]; ok {
			return w, true
		}
	}
	for _, b := range [2]*batch{t.p.cur, t.p.inflight} {
		if b != nil {
			if w, ok := b.writes[key]; ok {
				return w, true
			}
		}
	}
	return nil, false
}

// Get returns a copy of the value stored under key, or ErrNotFound.
func (t *Txn) Get(key []byte) ([]byte, error) {
	v, err := t.peek(key)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v), nil
}

// peek is Get without the copy: the caller must not change or keep the
// value (pending and cached values are shared).
func (t *Txn) peek(key []byte) ([]byte, error) {
	if w, ok := t.pendingWrite(string(key), true); ok {
		if w.del {
			return nil, ErrNotFound
		}
		return w.val, nil
	}
	if v, ok := t.cache.get(string(key)); ok {
		return v, nil
	}
	v, err := getValue(t.p.snap, key)
	if err == nil {
		t.cache.fill(string(key), v)
	}
	return v, err
}

// Set stores val under key.
func (t *Txn) Set(key, val []byte) {
	t.writes[string(key)] = &write{val: bytes.Clone(val)}
}

// Delete removes key.
func (t *Txn) Delete(key []byte) {
	t.writes[string(key)] = &write{del: true}
}

// Audit appends another event in the same transaction, after the command's
// own event: for a command that acts on several objects.
func (t *Txn) Audit(e audit.Event) { t.events = append(t.events, e) }

// Scan calls fn for every key with prefix, in key order, as this command
// sees them (its own writes included). fn must not keep key or val.
func (t *Txn) Scan(prefix []byte, fn func(key, val []byte) error) error {
	return t.merged(prefix, prefix, true, fn)
}

// scanFrom calls fn for the keys with prefix, from start on, in key order,
// as the command's batch sees them. Unlike Scan it does not see this
// command's own writes: it is for commands that walk far and write only
// behind them.
func (t *Txn) scanFrom(prefix, start []byte, fn func(key, val []byte) error) error {
	return t.merged(prefix, start, false, fn)
}

// merged iterates the durable keys with prefix from start on, with the
// writes not yet durable laid over them (this command's too when own).
func (t *Txn) merged(prefix, start []byte, own bool, fn func(key, val []byte) error) error {
	keys := map[string]bool{}
	layers := []map[string]*write{}
	if own {
		layers = append(layers, t.writes)
	}
	for _, b := range [2]*batch{t.p.cur, t.p.inflight} {
		if b != nil {
			layers = append(layers, b.writes)
		}
	}
	for _, l := range layers {
		for k := range l {
			if strings.HasPrefix(k, string(prefix)) && k >= string(start) {
				keys[k] = true
			}
		}
	}
	pend := make([]string, 0, len(keys))
	for k := range keys {
		pend = append(pend, k)
	}
	sort.Strings(pend)
	emit := func(upTo []byte) error { // pending keys < upTo (all when nil)
		for len(pend) > 0 && (upTo == nil || pend[0] < string(upTo)) {
			k := pend[0]
			pend = pend[1:]
			if w, _ := t.pendingWrite(k, own); !w.del {
				if err := fn([]byte(k), w.val); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := scanFrom(t.p.snap, prefix, start, func(k, v []byte) error {
		if err := emit(k); err != nil {
			return err
		}
		if len(pend) > 0 && pend[0] == string(k) { // overwritten or deleted, not yet durable
			return emit(append(bytes.Clone(k), 0))
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	return emit(nil)
}

// getValue reads one key from a Badger transaction.
func getValue(btx *badger.Txn, key []byte) ([]byte, error) {
	item, err := btx.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return item.ValueCopy(nil)
}

// scan iterates a prefix of a Badger transaction in key order.
func scan(btx *badger.Txn, prefix []byte, fn func(key, val []byte) error) error {
	return scanFrom(btx, prefix, prefix, fn)
}

// scanFrom iterates the keys with prefix from start on, in key order.
func scanFrom(btx *badger.Txn, prefix, start []byte, fn func(key, val []byte) error) error {
	it := btx.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		val, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if err := fn(item.KeyCopy(nil), val); err != nil {
			return err
		}
	}
	return nil
}

// request is a command waiting for the committer. Its answer goes to done,
// or to cb when the command was submitted.
type request struct {
	cmd  Command
	done chan error
	cb   func(error)
}

// answer delivers the outcome of the request.
func (r *request) answer(err error) {
	if r.cb != nil {
		r.cb(err)
		return
	}
	r.done <- err
}

// Submit queues cmd without waiting and calls done with its outcome once it
// is durable (nil) or refused, exactly as Apply would return it. Commands
// are applied in the order they were submitted, so one caller's commands
// keep their order. done runs on the committer's goroutine: it must only
// hand the outcome on, never block. Submit itself blocks only while the
// committer's queue is full.
func (s *Store) Submit(cmd Command, done func(error)) {
	select {
	case <-s.stop:
		done(ErrClosed)
		return
	default:
	}
	select {
	case s.reqs <- &request{cmd: cmd, cb: done}:
	case <-s.stop:
		done(ErrClosed)
	}
}

// Apply applies cmd durably: it returns nil only after the command's writes
// and its audit event are synced to disk, and the command's own error (also
// audited) when it failed. A store that cannot write (full disk, I/O error)
// returns an error and applies nothing.
func (s *Store) Apply(ctx context.Context, cmd Command) error {
	r := &request{cmd: cmd, done: make(chan error, 1)}
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	select {
	case s.reqs <- r:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the command will be applied or refused; wait for the answer
	// rather than report a cancellation for a change that may yet be made.
	return <-r.done
}

// Record appends one audit event on its own, durably: for reads of
// protected data, which must not happen when their event cannot be written.
func (s *Store) Record(ctx context.Context, e audit.Event) error {
	return s.Apply(ctx, recordCommand{e})
}

// AuditOnly is a command that only appends e to the audit chain, for
// Submit.
func AuditOnly(e audit.Event) Command { return recordCommand{e} }

// recordCommand is an audit event with no other effect.
type recordCommand struct{ e audit.Event }

func (c recordCommand) Event() audit.Event { return c.e }
func (c recordCommand) Apply(*Txn) error   { return nil }
