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

// The committer is the single writer, and a pipeline of two stages: while
// Badger writes and syncs one batch (the batch in flight), the committer
// applies the commands that arrive meanwhile to the next batch, reading
// through the writes of both batches over a snapshot of what is durable.
// When the batch in flight is durable its commands are answered and the
// next batch is sent at once. There is no timer: a lone command is sent at
// once, and commands that arrive during a sync share the next one. A batch
// holds at most MaxBatch commands and what one Badger transaction takes.
// If a batch cannot be written, its commands get the error and the next
// batch, which read its writes and continued its audit chain, is applied
// again from the commands.

// batch is the commands that share one Badger transaction and one fsync:
// their writes merged (a later command's write of a key replaces an
// earlier one's) and the commands to answer once they are durable.
type batch struct {
	writes map[string]*write
	done   []pending
	count  int64      // entries, as Badger counts them
	size   int64      // bytes, as Badger estimates them
	base   audit.Head // the end of the audit chain before the batch
	end    audit.Head // and after it (set when it is sent)
	opened time.Time  // when its first command was applied
	urgent bool       // it holds a command that is not a mayWait
}

// mayWait is implemented by commands whose effect no one waits on but the
// device that sent them (an ack's PUBACK), so that a batch holding only
// such commands may wait up to deferFor for a message to share its fsync,
// rather than pay one of its own. (The design notes on Badger measured
// 20 ms; 5 ms keeps a device that acks synchronously fast.)
type mayWait interface{ mayWait() }

// deferFor bounds how long a batch of mayWait commands waits for company:
// short, so that a device that acks one message at a time, waiting for
// each PUBACK, still acks hundreds a second.
const deferFor = 5 * time.Millisecond

// minGap is the least time between the starts of two commits. Under light
// load a commit takes less than the time between two messages, so that
// each would pay a sync of its own (an msync of the memtable's log costs
// about 100 µs of CPU, and Badger's write path more); waiting up to minGap
// lets a few share one, at the cost of at most minGap of latency. Under
// load the previous commit takes longer than minGap and nothing waits.
const minGap = 2 * time.Millisecond

func newBatch(base audit.Head) *batch {
	return &batch{writes: map[string]*write{}, base: base}
}

// entrySize is Badger's estimate of an entry (key, value, metadata, and
// the version it adds to the key), with a little room to spare.
func entrySize(k string, w *write) int64 { return int64(len(k)+len(w.val)) + 16 }

// pending is a command applied to a batch but not yet durable.
type pending struct {
	r   *request
	err error // the command's own error, returned once the batch is durable
}

// pipeline is the committer's state. Only the committer goroutine uses it.
type pipeline struct {
	s        *Store
	locked   bool        // the committer holds s.mu shared (from its first command until it is idle)
	snap     *badger.Txn // read-only: everything durable, that is, all but inflight
	cur      *batch      // being applied; nil when empty
	inflight *batch      // being written by Badger; nil when none
	results  chan error  // the outcome of inflight's commit
	started  time.Time   // when inflight was sent
	held     []*request  // commands to apply before taking new ones (they did not fit)
	lastSent time.Time   // when the last commit began
	lastSize int         // and how many commands it held
}

// commitLoop runs the pipeline until Close, then commits what was queued
// before it.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	p := &pipeline{s: s, results: make(chan error, 1)}
	stopping := false
	for {
		var due <-chan time.Time
		if p.inflight == nil && p.cur != nil {
			if wait := p.cur.wait(stopping || len(p.held) > 0 || s.pausing.Load(), s.opts.MaxBatch, p.lastSent, p.lastSize); wait > 0 {
				due = time.After(wait)
			} else {
				p.send()
			}
		}
		if p.inflight == nil && p.cur == nil && len(p.held) > 0 {
			p.takeHeld()
			continue
		}
		if p.inflight == nil && p.cur == nil {
			p.release() // idle: a key rotation may close the database now
			if stopping {
				return
			}
		}
		var results <-chan error
		if p.inflight != nil {
			results = p.results
		}
		reqs := s.reqs
		if len(p.held) > 0 || (p.cur != nil && len(p.cur.done) >= s.opts.MaxBatch) || s.pausing.Load() {
			reqs = nil // the next batch is full, or a rotation waits for the committer to be idle
		}
		var pause <-chan time.Time
		if reqs == nil && results == nil && due == nil {
			pause = time.After(5 * time.Millisecond)
		}
		if stopping {
			select {
			case err := <-results:
				p.finished(err)
			case r := <-reqs:
				p.take(r)
			default:
				if results != nil {
					p.finished(<-results)
				}
			}
			continue
		}
		select {
		case err := <-results:
			p.finished(err)
		case r := <-reqs:
			p.take(r)
			p.fill()
		case <-pause:
		case <-due:
		case <-s.stop:
			stopping = true
		}
	}
}

// wait is how long the batch may still wait for company before it is
// sent: none when it is full, something presses, or the last batch held a
// single command (one writer at a time: waiting would only slow it down);
// else until minGap after the last commit began, and for a batch of
// mayWait commands only, until deferFor after its first command.
func (b *batch) wait(press bool, maxBatch int, lastSent time.Time, lastSize int) time.Duration {
	if press || len(b.done) == 0 || len(b.done) >= maxBatch || lastSize <= 1 {
		return 0 // a lone writer (the last batch held one command) never waits
	}
	wait := minGap - time.Since(lastSent)
	if !b.urgent {
		wait = max(wait, deferFor-time.Since(b.opened))
	}
	return max(wait, 0)
}

// fill applies the commands already waiting, up to a full batch. It stops
// as soon as the batch in flight is durable, so that the loop sends the
// next one at once: under load commands keep arriving, and applying a whole
// batch of them (up to 1,024, some 25 ms) while Badger sat idle made the
// committer, not Badger, set the pace.
func (p *pipeline) fill() {
	for len(p.held) == 0 && (p.cur == nil || len(p.cur.done) < p.s.opts.MaxBatch) {
		if p.inflight != nil {
			select {
			case err := <-p.results:
				p.finished(err)
				return
			default:
			}
		}
		select {
		case r := <-p.s.reqs:
			p.take(r)
		default:
			return
		}
	}
}

// acquire takes the store's lock shared and a snapshot to read from, when
// the committer was idle.
func (p *pipeline) acquire() {
	if p.locked {
		return
	}
	p.s.mu.RLock()
	p.locked = true
	p.snap = p.s.db.NewTransaction(false)
}

// release gives the lock and the snapshot back; the committer is idle.
func (p *pipeline) release() {
	if !p.locked {
		return
	}
	p.snap.Discard()
	p.snap = nil
	p.locked = false
	p.s.mu.RUnlock()
}

// take applies a new command to the batch being built. The first command
// of a batch checks the free space; with too little, it is refused.
func (p *pipeline) take(r *request) {
	p.acquire()
	if p.cur == nil {
		if err := p.s.checkSpace(); err != nil {
			p.s.stats.refused.Add(1) // before the answer, so a caller sees it counted
			r.answer(err)
			return
		}
	}
	p.apply(r)
}

// takeHeld applies the commands held back from a full batch, in order.
func (p *pipeline) takeHeld() {
	held := p.held
	p.held = nil
	for i, r := range held {
		if len(p.held) > 0 { // the batch filled up again
			p.held = append(p.held, held[i:]...)
			return
		}
		p.take(r)
	}
}

// apply runs one command against the batch being built: its writes and
// audit events go in when it succeeds, only its audit event (outcome
// failed) when it fails. A command whose writes do not fit in the batch
// waits for the next one; one that fits in no transaction is refused.
func (p *pipeline) apply(r *request) {
	s := p.s
	if p.cur == nil {
		p.cur = newBatch(s.head)
		p.cur.opened = time.Now()
	}
	tx := &Txn{p: p, cache: s.cache, now: s.now().UTC(), writes: map[string]*write{}}
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
			r.answer(fmt.Errorf("store: encode audit event: %w", err))
			return
		}
		tx.writes[string(auditKey(sealed.Seq))] = &write{val: b}
	}
	hb, _ := json.Marshal(head)
	tx.writes[keyAuditHead] = &write{val: hb}

	count, size := p.cur.count, p.cur.size
	for k, w := range tx.writes {
		count++
		size += entrySize(k, w)
	}
	if count >= s.db.MaxBatchCount() || size >= s.db.MaxBatchSize() {
		if len(p.cur.done) == 0 {
			r.answer(s.writeError(badger.ErrTxnTooBig))
			p.cur = nil
			return
		}
		p.held = append(p.held, r) // the next batch takes it first
		return
	}
	for k, w := range tx.writes {
		if old, ok := p.cur.writes[k]; ok {
			p.cur.count--
			p.cur.size -= entrySize(k, old)
		}
		p.cur.writes[k] = w
		p.cur.count++
		p.cur.size += entrySize(k, w)
	}
	p.cur.done = append(p.cur.done, pending{r: r, err: cmdErr})
	if _, ok := r.cmd.(mayWait); !ok {
		p.cur.urgent = true
	}
	s.head = head
}

// send hands the batch being built to Badger, which writes and syncs it
// while the committer builds the next one.
func (p *pipeline) send() {
	b := p.cur
	p.cur = nil
	if len(b.done) == 0 {
		return
	}
	b.end = p.s.head
	p.lastSent, p.lastSize = time.Now(), len(b.done)
	wtx := p.s.db.NewTransaction(true)
	for k, w := range b.writes {
		var err error
		if w.del {
			err = wtx.Delete([]byte(k))
		} else {
			err = wtx.Set([]byte(k), w.val)
		}
		if err != nil {
			wtx.Discard()
			p.inflight, p.started = b, time.Now()
			p.finished(err)
			return
		}
	}
	p.inflight, p.started = b, time.Now()
	if hook := p.s.failCommit; hook != nil {
		if err := hook(); err != nil { // a test's failed write, reported as Badger would: later
			wtx.Discard()
			go func() { time.Sleep(5 * time.Millisecond); p.results <- err }()
			return
		}
	}
	wtx.CommitWith(func(err error) { p.results <- err })
}

// finished answers the commands of the batch in flight once Badger is done
// with it. On failure the audit head goes back to before it, every command
// gets the error, and the batch being built is applied again.
func (p *pipeline) finished(err error) {
	s, b := p.s, p.inflight
	p.inflight = nil
	took := time.Since(p.started)
	s.stats.syncNanos.Add(uint64(took))
	s.stats.observeCommit(took)
	// The next batch reads from a snapshot that holds this one (or not).
	p.snap.Discard()
	p.snap = s.db.NewTransaction(false)
	if err != nil {
		err = s.writeError(err)
		s.cache.forget(b.writes)
		s.head = b.base
		for _, q := range b.done {
			q.r.answer(err)
		}
		s.stats.failedCommits.Add(1)
		if next := p.cur; next != nil {
			p.cur = nil
			redo := make([]*request, 0, len(next.done)+len(p.held))
			for _, q := range next.done {
				redo = append(redo, q.r)
			}
			p.held = append(redo, p.held...)
		}
		return
	}
	s.cache.committed(b.writes)
	s.stats.auditSeq.Store(b.end.Seq)
	s.stats.commits.Add(1)
	s.stats.commands.Add(uint64(len(b.done)))
	for _, q := range b.done {
		q.r.answer(q.err)
	}
}

// writeError turns a failed commit into an error an operator can act on.
func (s *Store) writeError(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("store: %w: %s: %v", ErrDiskFull, s.opts.Dir, err)
	}
	return fmt.Errorf("store: commit: %w", err)
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
