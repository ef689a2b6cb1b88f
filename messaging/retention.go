package messaging

import "time"

// Purge returns m with its body and patient data deleted, as retention
// does, and PurgedAt set to now (kept when m was purged before).
func Purge(m Message, now time.Time) Message {
	m.Body, m.Patient = "", nil
	if m.PurgedAt.IsZero() {
		m.PurgedAt = now.UTC()
	}
	return m
}

// Expired reports whether m is older than the retention period at now. A
// retention of zero or less keeps messages forever.
func Expired(m Message, retention time.Duration, now time.Time) bool {
	return retention > 0 && !now.Before(m.SentAt.Add(retention))
}

// Recall returns m with its body and patient data deleted, as its sender's
// recall does, and RecalledAt set to now (kept when m was recalled before).
func Recall(m Message, now time.Time) Message {
	m.Body, m.Patient = "", nil
	if m.RecalledAt.IsZero() {
		m.RecalledAt = now.UTC()
	}
	return m
}
