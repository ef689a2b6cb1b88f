package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
)

// A device's queue is what the appliance owes the device: messages until the
// device acks them delivered (qm/), receipts of messages its user sent
// (qr/), and commands such as recall (qc/). Message ids sort by time, so
// each part of the queue is in order.

// Receipt is a delivery state change to tell a sender's device about.
type Receipt struct {
	Message string          `json:"id"`
	User    string          `json:"user"`
	State   messaging.State `json:"state"`
	At      time.Time       `json:"at"`
}

// DeviceCmd is a control command queued for a device.
type DeviceCmd struct {
	Cmd     string `json:"cmd"`
	Message string `json:"id,omitempty"`
}

func queueMsgKey(dev, msg string) []byte { return []byte(prefixQueueMsg + dev + "/" + msg) }
func queueRcptKey(dev, msg, user string) []byte {
	return []byte(prefixQueueRcpt + dev + "/" + msg + "/" + user)
}
func queueCmdKey(dev, id string) []byte { return []byte(prefixQueueCmd + dev + "/" + id) }

// clearQueue drops everything queued for a device.
func clearQueue(tx *Txn, dev string) error {
	for _, p := range []string{prefixQueueMsg, prefixQueueRcpt, prefixQueueCmd, prefixAlertQueue} {
		var keys [][]byte
		if err := tx.Scan([]byte(p+dev+"/"), func(k, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
			return err
		}
		for _, k := range keys {
			tx.Delete(k)
		}
	}
	return nil
}

// Queue is what is waiting for one device.
type Queue struct {
	Messages []messaging.Message
	Receipts []Receipt
	Cmds     []DeviceCmd
}

// DeviceQueue reads what is waiting for a device, in order.
func (s *Store) DeviceQueue(ctx context.Context, dev string) (Queue, error) {
	var q Queue
	err := s.View(func(r *Reader) error {
		prefix := []byte(prefixQueueMsg + dev + "/")
		if err := r.Scan(prefix, func(k, _ []byte) error {
			m, err := getMessage(r, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			q.Messages = append(q.Messages, m)
			return ctx.Err()
		}); err != nil {
			return err
		}
		if err := r.Scan([]byte(prefixQueueRcpt+dev+"/"), func(_, v []byte) error {
			var rc Receipt
			if err := json.Unmarshal(v, &rc); err != nil {
				return err
			}
			q.Receipts = append(q.Receipts, rc)
			return nil
		}); err != nil {
			return err
		}
		return r.Scan([]byte(prefixQueueCmd+dev+"/"), func(_, v []byte) error {
			var c DeviceCmd
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			q.Cmds = append(q.Cmds, c)
			return nil
		})
	})
	if err != nil {
		return Queue{}, fmt.Errorf("device queue %s: %w", dev, err)
	}
	return q, nil
}

// Notice is a receipt or command that was written to a device's
// connection.
type Notice struct {
	Device  string
	Receipt *Receipt
	Cmd     *DeviceCmd
}

// DropNotices removes receipts and commands that were written to devices'
// connections, for many devices at once. (Messages stay until the device
// acks them delivered.)
type DropNotices struct {
	By      audit.Actor
	Notices []Notice
}

// Event implements Command. It names the devices, not every notice: this
// is bookkeeping of what reached them, and it runs four times a second.
func (c DropNotices) Event() audit.Event {
	seen := map[string]bool{}
	var objs []string
	for _, n := range c.Notices {
		if !seen[n.Device] {
			seen[n.Device] = true
			objs = append(objs, "device:"+n.Device)
		}
	}
	e := c.By.Event("device.notices_sent", objs...)
	e.Reason = strconv.Itoa(len(c.Notices)) + " receipts and commands delivered"
	return e
}

// mayWait implements mayWait: bookkeeping, waited on by no one.
func (DropNotices) mayWait() {}

// Apply implements Command. A receipt is dropped only if it still holds the
// state that was sent (a newer one waits for its own delivery).
func (c DropNotices) Apply(tx *Txn) error {
	for _, n := range c.Notices {
		if r := n.Receipt; r != nil {
			k := queueRcptKey(n.Device, r.Message, r.User)
			b, err := tx.Get(k)
			if err != nil {
				continue
			}
			// Stored as written (AckMessage), so the same receipt has the
			// same bytes; compare the state only if they differ.
			if sent, err := json.Marshal(r); err == nil && bytes.Equal(sent, b) {
				tx.Delete(k)
				continue
			}
			var cur Receipt
			if json.Unmarshal(b, &cur) == nil && cur.State == r.State {
				tx.Delete(k)
			}
		}
		if n.Cmd != nil {
			tx.Delete(queueCmdKey(n.Device, n.Cmd.Message))
		}
	}
	return nil
}
