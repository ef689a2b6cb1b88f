package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
)

// Alert state is durable: every change of an alert that devices are told
// of (raised, a step reaching them, accepted, exhausted, expired) writes,
// in the same transaction, one key per device it goes to, alrq/DEVICE/ID,
// holding the change's stamp. The key goes once the device was written
// the alert's state (DropAlertNotices, which keeps a key a newer change
// stamped meanwhile), so a device that was away is told, when it
// connects, the current state of every alert that changed since, in the
// order of the changes, and across restarts of the appliance.
const prefixAlertQueue = "alrq/" // + device + "/" + alert id: change stamp

func alertQueueKey(dev, id string) []byte { return []byte(prefixAlertQueue + dev + "/" + id) }

// queueAlert records that alert id changed for each of devs, and returns
// the change's stamp: the transaction's time in nanoseconds, fixed width so
// it sorts, and always later than a stamp it replaces (two changes within
// one clock tick must not share one, or dropping the first's notice would
// drop the second's).
func queueAlert(tx *Txn, devs []Delivery, id string) string {
	n := tx.Now().UnixNano()
	for _, d := range devs {
		if v, err := tx.Get(alertQueueKey(d.Device, id)); err == nil {
			if old, err := strconv.ParseInt(string(v), 10, 64); err == nil && old >= n {
				n = old + 1
			}
		}
	}
	stamp := fmt.Sprintf("%020d", n)
	for _, d := range devs {
		tx.Set(alertQueueKey(d.Device, id), []byte(stamp))
	}
	return stamp
}

// AlertNotice is one alert whose state a device is owed, with the stamp
// of the change it is owed since.
type AlertNotice struct {
	Esc   *alerting.Escalation
	Stamp string
}

// AlertQueue returns the alerts whose state changed since a device was
// last written it, in the order of the changes.
func (s *Store) AlertQueue(ctx context.Context, dev string) ([]AlertNotice, error) {
	var out []AlertNotice
	prefix := []byte(prefixAlertQueue + dev + "/")
	err := s.View(func(r *Reader) error {
		return r.Scan(prefix, func(k, v []byte) error {
			e, err := getEscalation(r, string(k[len(prefix):]))
			if err != nil {
				return nil // the alert is gone; nothing to tell
			}
			out = append(out, AlertNotice{Esc: e, Stamp: string(v)})
			return ctx.Err()
		})
	})
	slices.SortStableFunc(out, func(a, b AlertNotice) int { return strings.Compare(a.Stamp, b.Stamp) })
	return out, err
}

// AlertWritten is an alert state written to a device.
type AlertWritten struct {
	Device, ID, Stamp string
}

// DropAlertNotices removes the alert notices written to devices, each only
// if no later change stamped it again meanwhile.
type DropAlertNotices struct {
	Written []AlertWritten
}

// Event implements Command.
func (c DropAlertNotices) Event() audit.Event {
	e := audit.System.Event("alert.delivered")
	e.Reason = fmt.Sprintf("%d alert states written to devices", len(c.Written))
	return e
}

// Apply implements Command.
func (c DropAlertNotices) Apply(tx *Txn) error {
	for _, w := range c.Written {
		k := alertQueueKey(w.Device, w.ID)
		if v, err := tx.Get(k); err == nil && string(v) == w.Stamp {
			tx.Delete(k)
		}
	}
	return nil
}
