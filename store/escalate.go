package store

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
)

// devicesOf lists the devices of users.
func devicesOf(tx *Txn, users []string) ([]Delivery, error) {
	var out []Delivery
	for _, u := range users {
		devs, err := userDevices(tx, u)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			out = append(out, Delivery{Device: d, User: u})
		}
	}
	return out, nil
}

// StartEscalation stores a new escalation that has reached its first step
// (Esc.Step 0): a raised alert, or an urgent or critical message whose
// recipients are the first step. The same id again changes nothing.
type StartEscalation struct {
	By  audit.Actor
	Esc *alerting.Escalation

	Duplicate bool       // set by Apply
	Devices   []Delivery // the first step's devices (an alert's to push)
	Stamp     string     // the change's stamp in their alert queues
}

// Event implements Command.
func (c *StartEscalation) Event() audit.Event {
	action := "escalation.start"
	objs := []string{"esc:" + c.Esc.ID, "policy:" + c.Esc.Policy.Name}
	if c.Esc.Kind == alerting.KindAlert {
		action = "alert.raise"
	} else {
		objs = append(objs, "msg:"+c.Esc.Subject)
	}
	e := c.By.Event(action, objs...)
	if c.Duplicate {
		e.Reason = "already started"
	}
	return e
}

// Apply implements Command.
func (c *StartEscalation) Apply(tx *Txn) error {
	c.Duplicate, c.Devices = false, nil
	if _, err := tx.Get(escalationKey(c.Esc.ID)); err == nil {
		c.Duplicate = true
		return nil
	}
	if err := putEscalation(tx, c.Esc); err != nil {
		return err
	}
	tx.Audit(stepEvent(c.By, c.Esc))
	if c.Esc.Kind == alerting.KindAlert && len(c.Esc.Reached) > 0 {
		var err error
		c.Devices, err = devicesOf(tx, c.Esc.Reached[len(c.Esc.Reached)-1].Users)
		c.Stamp = queueAlert(tx, c.Devices, c.Esc.ID)
		return err
	}
	return nil
}

// EscalateStep moves an escalation from step FromStep to ToStep, having
// reached Users (resolved by the caller at this moment; none when the
// step found nobody: Note says why). ToStep past the policy's last step
// exhausts it. When the escalation is no longer at FromStep, or closed,
// nothing changes (Stale): a timer that fires twice, or after a restart,
// moves an escalation once. A message's escalation closes instead when a
// reached recipient read it meanwhile. For a message, the new people
// become recipients of it (states, unread counts, device queues).
type EscalateStep struct {
	ID               string
	FromStep, ToStep int
	Users            []string
	Note             string

	Stale      bool // set by Apply
	Esc        *alerting.Escalation
	Msg        messaging.Message // a message escalation's message, as updated
	Deliveries []Delivery        // devices newly reached (an exhausted alert: everyone's)
	Unread     map[string]int64
	Stamp      string // an alert's change stamp in those devices' alert queues
}

// Event implements Command.
func (c *EscalateStep) Event() audit.Event {
	if c.Stale || c.Esc == nil {
		e := audit.System.Event("escalation.step", "esc:"+c.ID)
		e.Reason = "no change: it moved on or closed already"
		return e
	}
	if c.Esc.State == alerting.Accepted {
		return audit.System.Event("escalation.accept", "esc:"+c.ID, "user:"+c.Esc.AcceptedBy)
	}
	return stepEvent(audit.System, c.Esc)
}

// Apply implements Command.
func (c *EscalateStep) Apply(tx *Txn) error {
	c.Stale, c.Esc, c.Deliveries, c.Unread, c.Msg = false, nil, nil, nil, messaging.Message{}
	e, err := getEscalation(tx, c.ID)
	if err != nil {
		return err
	}
	if e.State != alerting.Open || e.Step != c.FromStep {
		c.Stale = true
		return nil
	}
	c.Esc = e
	if e.Kind == alerting.KindMessage {
		for _, u := range e.Everyone() {
			if st, err := readState(tx, e.Subject, u); err == nil && st.State == messaging.Read {
				_ = e.Accept(u, tx.Now())
				return putEscalation(tx, e)
			}
		}
	}
	if err := e.Reach(c.ToStep, c.Users, c.Note, tx.Now()); err != nil {
		c.Stale, c.Esc = true, nil
		return nil
	}
	if err := putEscalation(tx, e); err != nil {
		return err
	}
	if e.Kind == alerting.KindAlert && e.State == alerting.Exhausted {
		c.Deliveries, err = devicesOf(tx, e.Everyone())
		c.Stamp = queueAlert(tx, c.Deliveries, e.ID)
		return err
	}
	if e.State != alerting.Open {
		return nil
	}
	if e.Kind == alerting.KindAlert {
		c.Deliveries, err = devicesOf(tx, c.Users)
		c.Stamp = queueAlert(tx, c.Deliveries, e.ID)
		return err
	}
	return c.addRecipients(tx, e.Subject)
}

// addRecipients makes the step's users recipients of the message.
func (c *EscalateStep) addRecipients(tx *Txn, id string) error {
	m, err := getMessage(tx, id)
	if err != nil {
		return err
	}
	if !m.RecalledAt.IsZero() {
		c.Esc.Cancel()
		return putEscalation(tx, c.Esc)
	}
	c.Unread = map[string]int64{}
	for _, login := range c.Users {
		if login == m.From || slices.Contains(m.Recipients, login) {
			continue
		}
		if err := joinConversation(tx, m, login); err != nil {
			return err
		}
		if err := queueForRecipient(tx, m, m.Conversation, login, c.Unread, &c.Deliveries); err != nil {
			return err
		}
		m.Recipients = append(m.Recipients, login)
	}
	slices.Sort(m.Recipients)
	c.Msg = m
	return putJSON(tx, messageKey(m.ID), m)
}

// readState reads a recipient's delivery state of a message.
func readState(tx *Txn, msg, login string) (recipientState, error) {
	var st recipientState
	b, err := tx.Get(recipientKey(msg, login))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// RespondAlert records a reached user's accept or decline of an alert.
// The first accept closes it for everyone; a decline is recorded and the
// caller moves the alert to its next step at once.
type RespondAlert struct {
	By       audit.Actor
	ID       string
	Response string // accept or decline

	Esc     *alerting.Escalation // set by Apply
	Devices []Delivery           // everyone reached, for the update
	Stamp   string               // an accept's change stamp in their alert queues
}

// Event implements Command.
func (c *RespondAlert) Event() audit.Event { return c.By.Event("alert."+c.Response, "esc:"+c.ID) }

// Apply implements Command.
func (c *RespondAlert) Apply(tx *Txn) error {
	c.Esc, c.Devices = nil, nil
	e, err := getEscalation(tx, c.ID)
	if err != nil || e.Kind != alerting.KindAlert {
		return messaging.Errorf(messaging.CodeNotFound, "no alert %s", c.ID)
	}
	if c.Response == "accept" {
		err = e.Accept(c.By.User, tx.Now())
	} else {
		err = e.Decline(c.By.User)
	}
	switch {
	case errors.Is(err, alerting.ErrNotReached):
		return messaging.Errorf(messaging.CodeForbidden, "the alert %s did not reach you", c.ID)
	case errors.Is(err, alerting.ErrClosed) && e.AcceptedBy != "":
		return messaging.Errorf(messaging.CodeInvalid, "the alert was accepted by %s", e.AcceptedBy)
	case err != nil:
		return messaging.Errorf(messaging.CodeInvalid, "the alert is closed")
	}
	if err := putEscalation(tx, e); err != nil {
		return err
	}
	c.Esc = e
	c.Devices, err = devicesOf(tx, e.Everyone())
	if err == nil && c.Response == "accept" {
		c.Stamp = queueAlert(tx, c.Devices, e.ID)
	}
	return err
}

// CloseOnRead closes a message's escalation when a reached recipient read
// it: the others it reached get a receipt naming the reader (through
// their device queues, so offline devices learn it too).
type CloseOnRead struct {
	By  audit.Actor // the reader
	Msg string

	Closed  bool // set by Apply
	Receipt Receipt
	Devices []string
}

// Event implements Command.
func (c *CloseOnRead) Event() audit.Event {
	e := c.By.Event("escalation.accept", "esc:"+messageEscalationID(c.Msg), "msg:"+c.Msg)
	if !c.Closed {
		e.Reason = "no escalation open"
	}
	return e
}

// messageEscalationID is the id of a message's escalation.
func messageEscalationID(msg string) string { return "esc_" + msg }

// MessageEscalationID is the id of a message's escalation.
func MessageEscalationID(msg string) string { return messageEscalationID(msg) }

// Apply implements Command.
func (c *CloseOnRead) Apply(tx *Txn) error {
	c.Closed, c.Devices = false, nil
	e, err := getEscalation(tx, messageEscalationID(c.Msg))
	if err != nil || !e.Active() || e.Accept(c.By.User, tx.Now()) != nil {
		return nil
	}
	if err := putEscalation(tx, e); err != nil {
		return err
	}
	c.Closed = true
	c.Receipt = Receipt{Message: c.Msg, User: c.By.User, State: messaging.Read, At: tx.Now()}
	m, err := getMessage(tx, c.Msg)
	if err != nil {
		return err
	}
	for _, u := range e.Everyone() {
		if u == c.By.User || u == m.From { // the sender has its receipt already
			continue
		}
		devs, err := userDevices(tx, u)
		if err != nil {
			return err
		}
		for _, d := range devs {
			if err := putJSON(tx, queueRcptKey(d, c.Msg, c.By.User), c.Receipt); err != nil {
				return err
			}
			c.Devices = append(c.Devices, d)
		}
	}
	return nil
}

// SendEscalated is a SendMessage whose message an escalation policy
// covers: the message and the start of its escalation (its recipients are
// the first step) are stored in one transaction, so that no crash can
// leave an urgent message without its escalation. A repeated client_ref
// starts nothing.
type SendEscalated struct {
	*SendMessage
	Policy alerting.Policy

	Esc *alerting.Escalation // set by Apply; nil for a duplicate
}

// Event implements Command: the send's event (the escalation's own events
// follow it in the same transaction).
func (c *SendEscalated) Event() audit.Event { return c.SendMessage.Event() }

// Apply implements Command.
func (c *SendEscalated) Apply(tx *Txn) error {
	c.Esc = nil
	if err := c.SendMessage.Apply(tx); err != nil || c.Duplicate {
		return err
	}
	m := c.Result
	e := alerting.New(messageEscalationID(m.ID), alerting.KindMessage, m.ID, c.Policy, tx.Now())
	e.By = m.From
	if err := e.Reach(0, m.Recipients, "the message's recipients", tx.Now()); err != nil {
		return err
	}
	if err := putEscalation(tx, e); err != nil {
		return err
	}
	tx.Audit(audit.System.Event("escalation.start", "esc:"+e.ID, "policy:"+e.Policy.Name, "msg:"+m.ID))
	tx.Audit(stepEvent(audit.System, e))
	c.Esc = e
	return nil
}
