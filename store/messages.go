package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
)

// Delivery is one device a new message must reach.
type Delivery struct {
	Device string
	User   string
}

// recipientState is a recipient's delivery state of a message (read on
// one device counts for all of the user's devices).
type recipientState struct {
	State       messaging.State    `json:"state"`
	From        string             `json:"from,omitempty"`     // the sender, so that an ack need not read the message
	Priority    messaging.Priority `json:"priority,omitempty"` // likewise
	Conv        string             `json:"conv,omitempty"`     // the conversation, for the web client's unread counts
	DeliveredAt time.Time          `json:"delivered_at,omitzero"`
	ReadAt      time.Time          `json:"read_at,omitzero"`
}

func messageKey(id string) []byte           { return []byte(prefixMessage + id) }
func recipientKey(msg, login string) []byte { return []byte(prefixRecipient + msg + "/" + login) }
func unreadCountKey(login string) []byte    { return []byte(prefixUnread + login) }
func criticalKey(login, msg string) []byte  { return []byte(prefixCritical + login + "/" + msg) }

// CriticalUnread lists the critical messages each user has not read yet, to
// resume their repeated notifications after a restart.
func (s *Store) CriticalUnread(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixCritical), func(k, _ []byte) error {
			rest := string(k[len(prefixCritical):])
			i := strings.LastIndexByte(rest, '/')
			if i > 0 {
				out[rest[:i]] = append(out[rest[:i]], rest[i+1:])
			}
			return ctx.Err()
		})
	})
	return out, err
}

// UnreadCount returns how many messages a user has not read.
func (s *Store) UnreadCount(login string) int64 {
	var n int64
	_ = s.View(func(r *Reader) error {
		if b, err := r.Get(unreadCountKey(login)); err == nil && len(b) == 8 {
			n = int64(binary.BigEndian.Uint64(b))
		}
		return nil
	})
	return n
}

// UserDevices returns the ids of a user's devices that are not revoked.
func (s *Store) UserDevices(login string) ([]string, error) {
	var ids []string
	err := s.View(func(r *Reader) error {
		var err error
		ids, err = userDevices(r, login)
		return err
	})
	return ids, err
}

// Message returns a stored message.
func (s *Store) Message(id string) (messaging.Message, error) {
	var m messaging.Message
	err := s.View(func(r *Reader) error {
		var err error
		m, err = getMessage(r, id)
		return err
	})
	return m, err
}

func getMessage(r getter, id string) (messaging.Message, error) {
	b, err := r.Get(messageKey(id))
	if errors.Is(err, ErrNotFound) {
		return messaging.Message{}, messaging.Errorf(messaging.CodeNotFound, "no message %s", id)
	}
	if err != nil {
		return messaging.Message{}, err
	}
	var m messaging.Message
	return m, json.Unmarshal(b, &m)
}

func putJSON(tx *Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.Set(key, b)
	return nil
}

// addUnread changes a user's unread count by delta and returns the new count.
func addUnread(tx *Txn, login string, delta int64) int64 {
	var n int64
	if b, err := tx.Get(unreadCountKey(login)); err == nil && len(b) == 8 {
		n = int64(binary.BigEndian.Uint64(b))
	}
	n = max(n+delta, 0)
	tx.Set(unreadCountKey(login), binary.BigEndian.AppendUint64(nil, uint64(n)))
	return n
}

// txDirectory lets messaging.Resolve read users, groups and roles inside a
// command.
type txDirectory struct{ tx *Txn }

func (d txDirectory) User(login string) (directory.User, bool) {
	u, err := getUser(d.tx, login)
	return u, err == nil
}

func (d txDirectory) GroupMembers(name string) ([]string, bool) {
	g, err := getGroup(d.tx, kindGroup, name)
	return g.Members, err == nil
}

func (d txDirectory) RoleMembers(name string) ([]string, bool) {
	g, err := getGroup(d.tx, kindRole, name)
	return g.Members, err == nil
}

// SendMessage stores a new message: the conversation (a 1:1 conversation is
// reused by its two participants, a group's by the group), the resolved
// recipients and their states, and each recipient device's queue entry.
// Msg carries what was decided before: id, time, sender, sender device,
// client_ref, addresses, body, priority, patient, and an optional
// conversation to reply in. A client_ref seen before from the same device
// returns the first message and creates nothing (Duplicate).
type SendMessage struct {
	By              audit.Actor
	Msg             messaging.Message
	NewConversation string // the id to give a new conversation

	Result     messaging.Message // set by Apply
	Duplicate  bool
	Deliveries []Delivery
	Unread     map[string]int64 // recipient login -> unread count
}

// Event implements Command.
func (c *SendMessage) Event() audit.Event {
	id := c.Msg.ID
	if c.Duplicate {
		id = c.Result.ID
	}
	objs := []string{"msg:" + id}
	if c.Result.Conversation != "" {
		objs = append(objs, "cnv:"+c.Result.Conversation)
	}
	for _, r := range c.Result.Recipients {
		objs = append(objs, "to:"+r)
	}
	e := c.By.Event("message.send", objs...)
	if c.Duplicate {
		e.Reason = "repeated client_ref"
	}
	return e
}

// Apply implements Command.
func (c *SendMessage) Apply(tx *Txn) error {
	c.Result, c.Duplicate, c.Deliveries, c.Unread = messaging.Message{}, false, nil, nil
	m := c.Msg
	var crefKey []byte
	if m.ClientRef != "" {
		crefKey = []byte(prefixClientRef + m.SenderDevice + "/" + m.ClientRef)
		if id, err := tx.Get(crefKey); err == nil {
			prev, err := getMessage(tx, string(id))
			if err != nil {
				return err
			}
			c.Result, c.Duplicate = prev, true
			return nil
		}
	}
	sender, err := getUser(tx, m.From)
	if err != nil || !sender.Enabled {
		return messaging.Errorf(messaging.CodeForbidden, "the sender may not send")
	}
	m.FromName = sender.Name
	conv, err := c.conversation(tx, &m)
	if err != nil {
		return err
	}
	m.Conversation = conv.ID
	if err := putJSON(tx, messageKey(m.ID), m); err != nil {
		return err
	}
	tx.Set([]byte(prefixConvMsg+conv.ID+"/"+m.ID), nil)
	if err := indexMessage(tx, conv, m); err != nil {
		return err
	}
	if crefKey != nil {
		tx.Set(crefKey, []byte(m.ID))
	}
	c.Unread = map[string]int64{}
	for _, login := range m.Recipients {
		if err := queueForRecipient(tx, m, conv.ID, login, c.Unread, &c.Deliveries); err != nil {
			return err
		}
	}
	c.Result = m
	return nil
}

// queueForRecipient records login as a recipient of m: its delivery state
// (queued), one more unread, the critical index, and a queue entry for
// each of its devices, which it appends to deliveries.
func queueForRecipient(tx *Txn, m messaging.Message, conv, login string, unread map[string]int64, deliveries *[]Delivery) error {
	if err := putJSON(tx, recipientKey(m.ID, login), recipientState{State: messaging.Queued, From: m.From, Priority: m.Priority, Conv: conv}); err != nil {
		return err
	}
	unread[login] = addUnread(tx, login, 1)
	if m.Priority == messaging.Critical {
		tx.Set(criticalKey(login, m.ID), nil)
	}
	devs, err := userDevices(tx, login)
	if err != nil {
		return err
	}
	for _, dev := range devs {
		tx.Set(queueMsgKey(dev, m.ID), nil)
		*deliveries = append(*deliveries, Delivery{Device: dev, User: login})
	}
	return nil
}

// conversation finds or creates the conversation of a new message and sets
// its recipients.
func (c *SendMessage) conversation(tx *Txn, m *messaging.Message) (messaging.Conversation, error) {
	if m.Conversation != "" {
		conv, err := getConversation(tx, m.Conversation)
		if err != nil || !messaging.IsMember(conv, m.From) {
			return messaging.Conversation{}, messaging.Errorf(messaging.CodeForbidden, "not a member of conversation %s", m.Conversation)
		}
		var to []messaging.Address
		for _, login := range conv.Members {
			if login != m.From {
				to = append(to, messaging.Address{User: login})
			}
		}
		if len(m.To) == 0 {
			m.To = to
		}
		recipients, resolved, merr := messaging.Resolve(to, m.From, txDirectory{tx})
		if merr != nil {
			return messaging.Conversation{}, merr
		}
		m.Recipients, m.To = recipients, keepAddressed(m.To, resolved)
		return conv, nil
	}
	recipients, resolved, merr := messaging.Resolve(m.To, m.From, txDirectory{tx})
	if merr != nil {
		return messaging.Conversation{}, merr
	}
	m.Recipients, m.To = recipients, resolved
	var indexKey []byte
	kind := messaging.Group
	switch {
	case len(resolved) == 1 && len(recipients) == 1 && (resolved[0].User != "" || resolved[0].Role != ""):
		indexKey, kind = []byte(prefixDirectConv+messaging.DirectKey(m.From, recipients[0])), messaging.Direct
	case len(resolved) == 1 && resolved[0].Group != "":
		indexKey = []byte(prefixGroupConv + resolved[0].Group)
	}
	members := append([]string{m.From}, recipients...)
	slices.Sort(members)
	members = slices.Compact(members)
	if indexKey != nil {
		if id, err := tx.Get(indexKey); err == nil {
			conv, err := getConversation(tx, string(id))
			if err != nil {
				return messaging.Conversation{}, err
			}
			// People an escalation step added stay members.
			members = slices.Compact(slices.Sorted(slices.Values(append(members, conv.Joined...))))
			if !slices.Equal(conv.Members, members) { // a group's membership changed
				conv.Members = members
				if err := putRemembered(tx, []byte(prefixConv+conv.ID), conv, cloneConversation); err != nil {
					return messaging.Conversation{}, err
				}
			}
			return conv, nil
		}
	}
	conv := messaging.Conversation{ID: c.NewConversation, Kind: kind, Members: members, Created: tx.Now()}
	if err := putRemembered(tx, []byte(prefixConv+conv.ID), conv, cloneConversation); err != nil {
		return messaging.Conversation{}, err
	}
	if indexKey != nil {
		tx.Set(indexKey, []byte(conv.ID))
	}
	return conv, nil
}

// keepAddressed keeps the sender's own addressing when it has one.
func keepAddressed(addressed, resolved []messaging.Address) []messaging.Address {
	if len(addressed) > 0 {
		return addressed
	}
	return resolved
}

func getConversation(r getter, id string) (messaging.Conversation, error) {
	c, err := getDecoded(r, []byte(prefixConv+id), cloneConversation)
	if err != nil {
		return messaging.Conversation{}, fmt.Errorf("conversation %s: %w", id, err)
	}
	return c, nil
}

// cloneConversation copies a conversation so that the copy shares no slice
// with c.
func cloneConversation(c messaging.Conversation) messaging.Conversation {
	c.Members, c.Joined = slices.Clone(c.Members), slices.Clone(c.Joined)
	return c
}

// AckMessage records a device's ack of a message: delivered (the device
// has it: it leaves the device's queue) or read. The recipient's state only
// moves forward, and a read on one device counts for all of the user's
// devices. A change produces a receipt for each of the sender's devices.
type AckMessage struct {
	By    audit.Actor // User: the recipient; Device: the acking device
	ID    string
	State messaging.State

	Changed       bool // set by Apply
	Receipt       Receipt
	SenderDevices []string
	Unread        int64
	CriticalRead  bool
	Sender        string // the message's sender, whose web sessions see the receipt
}

// Event implements Command.
func (c *AckMessage) Event() audit.Event {
	e := c.By.Event("message."+string(c.State), "msg:"+c.ID)
	if !c.Changed {
		e.Reason = "no change"
	}
	return e
}

// mayWait implements mayWait: an ack's batch may wait for a message.
func (c *AckMessage) mayWait() {}

// Apply implements Command.
func (c *AckMessage) Apply(tx *Txn) error {
	c.Changed, c.SenderDevices, c.Receipt, c.CriticalRead, c.Sender = false, nil, Receipt{}, false, ""
	login, dev := c.By.User, c.By.Device
	b, err := tx.Get(recipientKey(c.ID, login))
	if errors.Is(err, ErrNotFound) {
		return messaging.Errorf(messaging.CodeNotFound, "no message %s for this user", c.ID)
	}
	if err != nil {
		return err
	}
	var st recipientState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	tx.Delete(queueMsgKey(dev, c.ID))
	next, changed := messaging.Advance(st.State, c.State)
	if !changed {
		return nil
	}
	c.Changed, st.State = true, next
	if next == messaging.Read {
		st.ReadAt = tx.Now()
		if st.DeliveredAt.IsZero() {
			st.DeliveredAt = tx.Now()
		}
		c.Unread = addUnread(tx, login, -1)
		tx.Delete(criticalKey(login, c.ID))
		if err := unindexUnread(tx, login, st.Conv); err != nil {
			return err
		}
	} else {
		st.DeliveredAt = tx.Now()
	}
	if err := putJSON(tx, recipientKey(c.ID, login), st); err != nil {
		return err
	}
	from, priority := st.From, st.Priority
	if from == "" { // a record from before the sender was kept in it
		m, err := getMessage(tx, c.ID)
		if err != nil {
			return err
		}
		from, priority = m.From, m.Priority
	}
	c.CriticalRead = next == messaging.Read && priority == messaging.Critical
	c.Receipt = Receipt{Message: c.ID, User: login, State: next, At: tx.Now()}
	c.Sender = from
	devs, err := userDevices(tx, from)
	if err != nil {
		return err
	}
	for _, sd := range devs {
		if err := putJSON(tx, queueRcptKey(sd, c.ID, login), c.Receipt); err != nil {
			return err
		}
	}
	c.SenderDevices = devs
	return nil
}

// RecallMessage recalls a message: only its sender may. The body and
// patient data are deleted, the message leaves every queue, and each
// recipient device gets a recall command.
type RecallMessage struct {
	By audit.Actor
	ID string

	Devices []string // set by Apply: devices to tell
}

// Event implements Command.
func (c *RecallMessage) Event() audit.Event { return c.By.Event("message.recall", "msg:"+c.ID) }

// Apply implements Command.
func (c *RecallMessage) Apply(tx *Txn) error {
	c.Devices = nil
	m, err := getMessage(tx, c.ID)
	if err != nil {
		return err
	}
	if m.From != c.By.User {
		return messaging.Errorf(messaging.CodeForbidden, "only the sender may recall a message")
	}
	if !m.RecalledAt.IsZero() {
		return nil
	}
	m = messaging.Recall(m, tx.Now())
	if err := putJSON(tx, messageKey(m.ID), m); err != nil {
		return err
	}
	for _, login := range m.Recipients {
		if b, err := tx.Get(recipientKey(m.ID, login)); err == nil {
			var st recipientState
			if json.Unmarshal(b, &st) == nil && st.State != messaging.Read {
				addUnread(tx, login, -1)
				if err := unindexUnread(tx, login, st.Conv); err != nil {
					return err
				}
			}
		}
		tx.Delete(criticalKey(login, m.ID))
		devs, err := userDevices(tx, login)
		if err != nil {
			return err
		}
		for _, dev := range devs {
			tx.Delete(queueMsgKey(dev, m.ID))
			if err := putJSON(tx, queueCmdKey(dev, m.ID), DeviceCmd{Cmd: "recall", Message: m.ID}); err != nil {
				return err
			}
			c.Devices = append(c.Devices, dev)
		}
	}
	return nil
}

// History returns up to limit messages of a conversation, newest first,
// older than the message before (all when ""), for a member of it. The read
// is audited before any message is returned (fail closed).
func (s *Store) History(ctx context.Context, by audit.Actor, conv, before string, limit int) ([]messaging.Message, error) {
	var c messaging.Conversation
	err := s.View(func(r *Reader) error {
		var err error
		c, err = getConversation(r, conv)
		return err
	})
	if err != nil || !messaging.IsMember(c, by.User) {
		ev := by.Event("message.history", "cnv:"+conv)
		ev.Outcome, ev.Reason = audit.OutcomeDenied, "not a member"
		if rerr := s.Record(ctx, ev); rerr != nil {
			return nil, rerr
		}
		return nil, messaging.Errorf(messaging.CodeForbidden, "not a member of conversation %s", conv)
	}
	if err := s.Record(ctx, by.Event("message.history", "cnv:"+conv)); err != nil {
		return nil, err
	}
	var out []messaging.Message
	err = s.View(func(r *Reader) error {
		prefix := []byte(prefixConvMsg + conv + "/")
		seek := append(append([]byte{}, prefix...), 0xff)
		if before != "" {
			seek = append(append([]byte{}, prefix...), before...)
		}
		it := r.btx.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		for it.Seek(seek); it.Valid() && len(out) < limit; it.Next() {
			id := string(it.Item().Key()[len(prefix):])
			if id == before {
				continue
			}
			m, err := getMessage(r, id)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// PurgeMessages deletes the bodies and patient data of messages sent before
// Before (retention), at most Max in one command; the metadata stays for
// the audit trail. Purged lists the ids.
type PurgeMessages struct {
	Before time.Time
	Max    int

	Purged []string // set by Apply
}

// Event implements Command.
func (c *PurgeMessages) Event() audit.Event {
	objs := make([]string, 0, len(c.Purged))
	for _, id := range c.Purged {
		objs = append(objs, "msg:"+id)
	}
	return audit.System.Event("message.purge", objs...)
}

// Apply implements Command.
func (c *PurgeMessages) Apply(tx *Txn) error {
	c.Purged = nil
	return walkFromCursor(tx, []byte(prefixMessage), keyPurgeCursor, messageKey, func(k, v []byte) (string, bool, error) {
		var m messaging.Message
		if err := json.Unmarshal(v, &m); err != nil {
			return "", false, err
		}
		if !m.SentAt.Before(c.Before) || len(c.Purged) >= c.Max {
			return "", false, nil
		}
		if m.PurgedAt.IsZero() {
			c.Purged = append(c.Purged, m.ID)
			if err := putJSON(tx, k, messaging.Purge(m, tx.Now())); err != nil {
				return "", false, err
			}
		}
		return m.ID, true, nil
	})
}
