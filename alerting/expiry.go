package alerting

import (
	"fmt"
	"time"
)

// Expiry of an escalation: an alert or message escalation that nobody
// accepted closes as Expired at its expiry, exhausted or not, so that
// nothing stays listed (or resumed after restarts) forever.
const (
	DefaultExpiry = 24 * time.Hour     // after it is raised, unless raised with another
	MaxExpiry     = 7 * 24 * time.Hour // the longest an alert may be raised with
)

// ExpiresAt is when the escalation expires: Expires, or Created plus
// DefaultExpiry for one raised without (or stored before expiry existed).
func (e *Escalation) ExpiresAt() time.Time {
	if !e.Expires.IsZero() {
		return e.Expires
	}
	return e.Created.Add(DefaultExpiry)
}

// Expire closes an active escalation whose expiry has come. Before its
// expiry it is ErrStale (a timer set before the expiry moved); a closed
// one is ErrClosed.
func (e *Escalation) Expire(now time.Time) error {
	switch {
	case !e.Active():
		return fmt.Errorf("%w (%s)", ErrClosed, e.State)
	case now.Before(e.ExpiresAt()):
		return ErrStale
	}
	e.State, e.Due = Expired, time.Time{}
	return nil
}

// Purge deletes an alert's text and patient data, as retention does, and
// sets PurgedAt (kept when it was purged before). It reports whether
// there was anything to delete.
func (e *Escalation) Purge(now time.Time) bool {
	if e.Alert == nil || (e.Alert.Text == "" && e.Alert.Patient == nil) {
		return false
	}
	e.Alert.Text, e.Alert.Patient = "", nil
	if e.PurgedAt.IsZero() {
		e.PurgedAt = now.UTC()
	}
	return true
}
