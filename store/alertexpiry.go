package store

import (
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
)

// ExpireEscalation closes an escalation whose expiry came with nobody
// accepting (exhausted or still climbing): it is audited, leaves the
// active list, and, for an alert, everyone it reached is told (through
// their devices' alert queues). Before its expiry, or once closed,
// nothing changes (Stale).
type ExpireEscalation struct {
	ID string

	Stale   bool                 // set by Apply
	Esc     *alerting.Escalation // as expired
	Devices []Delivery           // an alert's: everyone reached
	Stamp   string
}

// Event implements Command.
func (c *ExpireEscalation) Event() audit.Event {
	e := audit.System.Event("escalation.expire", "esc:"+c.ID)
	if c.Esc != nil && c.Esc.Kind == alerting.KindAlert {
		e.Action = "alert.expire"
	}
	if c.Stale {
		e.Reason = "no change: closed already or not yet due"
	}
	return e
}

// Apply implements Command.
func (c *ExpireEscalation) Apply(tx *Txn) error {
	c.Stale, c.Esc, c.Devices, c.Stamp = false, nil, nil, ""
	e, err := getEscalation(tx, c.ID)
	if err != nil {
		return err
	}
	if err := e.Expire(tx.Now()); err != nil {
		c.Stale = true
		return nil
	}
	if err := putEscalation(tx, e); err != nil {
		return err
	}
	c.Esc = e
	if e.Kind == alerting.KindAlert {
		c.Devices, err = devicesOf(tx, e.Everyone())
		c.Stamp = queueAlert(tx, c.Devices, e.ID)
	}
	return err
}

// keyAlertPurgeCursor is the last alert id PurgeAlerts reached.
const keyAlertPurgeCursor = "meta/alert-purge-cursor"

// PurgeAlerts deletes the text and patient data of alerts raised before
// Before (retention, as PurgeMessages does for message bodies), at most
// Max in one command; the rest of the alert (who it reached, who
// accepted, when) stays for the audit trail. Alert ids sort by time, so a
// cursor keeps each run short.
type PurgeAlerts struct {
	Before time.Time
	Max    int

	Purged []string // set by Apply
}

// Event implements Command.
func (c *PurgeAlerts) Event() audit.Event {
	objs := make([]string, 0, len(c.Purged))
	for _, id := range c.Purged {
		objs = append(objs, "esc:"+id)
	}
	return audit.System.Event("alert.purge", objs...)
}

// Apply implements Command.
func (c *PurgeAlerts) Apply(tx *Txn) error {
	c.Purged = nil
	var purged []*alerting.Escalation
	err := walkFromCursor(tx, []byte(prefixEscalation+"alr_"), keyAlertPurgeCursor, escalationKey, func(k, _ []byte) (string, bool, error) {
		e, err := getEscalation(tx, string(k[len(prefixEscalation):]))
		if err != nil {
			return "", false, err
		}
		if !e.Created.Before(c.Before) || len(c.Purged) >= c.Max {
			return "", false, nil
		}
		if e.Purge(tx.Now()) {
			c.Purged = append(c.Purged, e.ID)
			purged = append(purged, e)
		}
		return e.ID, true, nil
	})
	if err != nil {
		return err
	}
	for _, e := range purged {
		if err := putEscalation(tx, e); err != nil {
			return err
		}
	}
	return nil
}
