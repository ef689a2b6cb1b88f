package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
)

// commitLoop is the single writer. It takes whatever commands are waiting,
// up to MaxBatch, and applies them in one Badger transaction with one fsync.
// There is no timer: a lone command is committed at once, and commands that
// arrive while a sync is running share the next one.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.stop:
			s.drain()
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// drain applies the commands that were queued before Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			s.commit([]*request{r})
		default:
			return
		}
	}
}

// pending is a command applied to the batch but not yet committed.
type pending struct {
	r   *request
	err error // the command's own error, returned once the batch is durable
}

// commit applies a batch in as few transactions as Badger allows (one,
// unless the batch is too big for one) and answers every request.
func (s *Store) commit(batch []*request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkSpace(); err != nil {
		for _, r := range batch {
			r.answer(err)
		}
		s.stats.refused.Add(uint64(len(batch)))
		return
	}
	base := s.head // the end of the chain as committed
	btx := s.db.NewTransaction(true)
	var done []pending
	for _, r := range batch {
		p, err := s.applyOne(btx, r)
		if err == nil {
			done = append(done, p)
			continue
		}
		// btx holds part of this command's writes: rebuild it without them.
		btx = s.rebuild(btx, &done, base)
		if errors.Is(err, badger.ErrTxnTooBig) && len(done) > 0 {
			// Commit what fits, then try this command in a transaction of its own.
			s.finish(btx, done, &base)
			done, btx = nil, s.db.NewTransaction(true)
			if p, err = s.applyOne(btx, r); err == nil {
				done = append(done, p)
				continue
			}
			btx = s.rebuild(btx, &done, base)
		}
		r.answer(s.writeError(err))
	}
	s.finish(btx, done, &base)
}

// rebuild discards btx and returns a new transaction holding the commands
// of done again (those that fail now are answered and dropped).
func (s *Store) rebuild(btx *badger.Txn, done *[]pending, base audit.Head) *badger.Txn {
	btx.Discard()
	s.cache.discarded()
	s.head = base
	btx = s.db.NewTransaction(true)
	*done = s.reapply(btx, *done)
	return btx
}

// reapply applies again, to a fresh transaction, the commands of a batch
// that had to be rebuilt. A command that fails now is answered at once.
func (s *Store) reapply(btx *badger.Txn, done []pending) []pending {
	var out []pending
	for _, q := range done {
		p, err := s.applyOne(btx, q.r)
		if err != nil {
			q.r.answer(s.writeError(err))
			continue
		}
		out = append(out, p)
	}
	return out
}

// finish commits btx (one fsync) and answers the commands in it. On failure
// it rolls the audit head back and reports the error to every command.
func (s *Store) finish(btx *badger.Txn, done []pending, base *audit.Head) {
	defer btx.Discard()
	if len(done) == 0 {
		s.cache.discarded()
		return
	}
	start := time.Now()
	err := btx.Commit()
	took := time.Since(start)
	s.stats.syncNanos.Add(uint64(took))
	s.stats.observeCommit(took)
	if err != nil {
		s.cache.discarded()
		s.head = *base
		err = s.writeError(err)
		for _, p := range done {
			p.r.answer(err)
		}
		s.stats.failedCommits.Add(1)
		return
	}
	s.cache.committed()
	*base = s.head
	s.stats.auditSeq.Store(s.head.Seq)
	s.stats.commits.Add(1)
	s.stats.commands.Add(uint64(len(done)))
	for _, p := range done {
		p.r.answer(p.err)
	}
}

// writeError turns a failed commit into an error an operator can act on.
func (s *Store) writeError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("store: %w: %s: %v", ErrDiskFull, s.opts.Dir, err)
	}
	return fmt.Errorf("store: commit: %w", err)
}

// applyOne runs one command against btx: its writes and audit events go in
// when it succeeds, only its audit event (outcome failed) when it fails. It
// returns an error only when btx cannot take the writes.
func (s *Store) applyOne(btx *badger.Txn, r *request) (pending, error) {
	tx := &Txn{btx: btx, cache: s.cache, now: s.now().UTC(), writes: map[string]*write{}}
	cmdErr := r.cmd.Apply(tx)
	ev := r.cmd.Event()
	events := tx.events
	if cmdErr != nil {
		ev.Outcome = audit.OutcomeFailed
		if ev.Reason == "" {
			ev.Reason = reason(cmdErr)
		}
		tx.writes = map[string]*write{}
		events = nil
	} else if ev.Outcome == "" {
		ev.Outcome = audit.OutcomeOK
	}
	head := s.head
	all := append([]audit.Event{ev}, events...)
	for i := range all {
		if all[i].Outcome == "" {
			all[i].Outcome = audit.OutcomeOK
		}
		var sealed audit.Event
		sealed, head = audit.Seal(head, all[i], tx.now)
		b, err := json.Marshal(sealed)
		if err != nil {
			return pending{}, fmt.Errorf("encode audit event: %w", err)
		}
		tx.writes[string(auditKey(sealed.Seq))] = &write{val: b}
	}
	hb, _ := json.Marshal(head)
	tx.writes[keyAuditHead] = &write{val: hb}
	for k, w := range tx.writes {
		var err error
		if w.del {
			err = btx.Delete([]byte(k))
		} else {
			err = btx.Set([]byte(k), w.val)
		}
		s.cache.wrote(k, w.val, w.del) // even when Set failed: the batch is rebuilt without it
		if err != nil {
			return pending{}, err
		}
	}
	s.head = head
	return pending{r: r, err: cmdErr}, nil
}

// reason is the text of an error as an audit reason: at most 200 characters.
// Commands must not put protected data into their errors.
func reason(err error) string {
	s := err.Error()
	for len(s) > 200 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// checkSpace refuses writes while free space on the data directory's file
// system is below MinFree, so that a full disk never half-writes a file.
func (s *Store) checkSpace() error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.opts.Dir, &st); err != nil {
		return nil // cannot tell; let the write itself fail if it must
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < s.opts.MinFree {
		return fmt.Errorf("store: %w: %d MiB free in %s, below the %d MiB reserve; writes are refused until space is freed", ErrDiskFull, free>>20, s.opts.Dir, s.opts.MinFree>>20)
	}
	return nil
}
