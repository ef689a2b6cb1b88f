package store

import (
	"sync/atomic"
	"time"
)

// stats are the committer's counters.
type stats struct {
	commits       atomic.Uint64
	commands      atomic.Uint64
	failedCommits atomic.Uint64
	refused       atomic.Uint64
	syncNanos     atomic.Uint64
	auditSeq      atomic.Uint64    // last committed audit event
	commitHist    [9]atomic.Uint64 // len(CommitBuckets)+1
}

// CommitBuckets are the upper bounds of the commit-time histogram.
var CommitBuckets = []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond}

// observeCommit counts one commit's duration.
func (s *stats) observeCommit(d time.Duration) {
	i := 0
	for i < len(CommitBuckets) && d > CommitBuckets[i] {
		i++
	}
	s.commitHist[i].Add(1)
}

// Stats are counters for metrics and status.
type Stats struct {
	Commits       uint64        // synced transactions
	Commands      uint64        // commands applied (Commands/Commits is the mean batch)
	FailedCommits uint64        // transactions that could not be written
	Refused       uint64        // commands refused for lack of disk space
	SyncTime      time.Duration // total time spent committing and syncing
	AuditSeq      uint64        // sequence number of the last audit event
	// CommitTimes counts commits by duration: CommitTimes[i] took at most
	// CommitBuckets[i]; the last counts the slower ones.
	CommitTimes []uint64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		Commits:       s.stats.commits.Load(),
		Commands:      s.stats.commands.Load(),
		FailedCommits: s.stats.failedCommits.Load(),
		Refused:       s.stats.refused.Load(),
		SyncTime:      time.Duration(s.stats.syncNanos.Load()),
		AuditSeq:      s.stats.auditSeq.Load(),
		CommitTimes:   make([]uint64, len(CommitBuckets)+1),
	}
	for i := range st.CommitTimes {
		st.CommitTimes[i] = s.stats.commitHist[i].Load()
	}
	return st
}
