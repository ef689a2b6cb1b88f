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
	auditSeq      atomic.Uint64 // last committed audit event
}

// Stats are counters for metrics and status.
type Stats struct {
	Commits       uint64        // synced transactions
	Commands      uint64        // commands applied (Commands/Commits is the mean batch)
	FailedCommits uint64        // transactions that could not be written
	Refused       uint64        // commands refused for lack of disk space
	SyncTime      time.Duration // total time spent committing and syncing
	AuditSeq      uint64        // sequence number of the last audit event
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:       s.stats.commits.Load(),
		Commands:      s.stats.commands.Load(),
		FailedCommits: s.stats.failedCommits.Load(),
		Refused:       s.stats.refused.Load(),
		SyncTime:      time.Duration(s.stats.syncNanos.Load()),
		AuditSeq:      s.stats.auditSeq.Load(),
	}
}
