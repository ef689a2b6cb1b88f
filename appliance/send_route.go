package appliance

import (
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// routedSend is a send ready for the store, prepared the same way for a
// device (in/send) and for the web client: its roles routed through the
// on-call schedules, its users' statuses forwarding, and, when a policy
// covers it, wrapped with its escalation so that both are stored together.
type routedSend struct {
	msg       *store.SendMessage   // the message; Result is set once committed
	command   store.Command        // what to submit: msg, or escalated
	escalated *store.SendEscalated // nil when no policy covers the message
}

// routeSend prepares what from sends at now as by (req already
// validated); by.Device and req.ClientRef are empty for the web client,
// and by.User differs from from for a break-glass session.
func (a *deviceAPI) routeSend(by audit.Actor, from string, req messaging.Send, now time.Time) routedSend {
	to := req.To
	if a.oncall != nil {
		to = a.oncall.routeRoles(req.To, req.Priority, now)
		to = a.oncall.forwardUsers(to, req.Priority)
	}
	cmd := &store.SendMessage{By: by, NewConversation: messaging.NewConversationID(), Msg: messaging.Message{
		ID: messaging.NewMessageID(now), Conversation: req.Conversation, From: from, SenderDevice: by.Device,
		ClientRef: req.ClientRef, To: to, Body: req.Body, Priority: req.Priority, Patient: req.Patient, SentAt: now,
	}}
	rs := routedSend{msg: cmd, command: cmd}
	if a.esc != nil {
		if rs.escalated = a.esc.wrapSend(cmd); rs.escalated != nil {
			rs.command = rs.escalated
		}
	}
	return rs
}

// delivered passes a committed send on: counted, delivered (quietly to
// whom do-not-disturb keeps it from notifying) and its escalation armed.
func (a *deviceAPI) delivered(rs routedSend) {
	a.sent.Add(1)
	a.out.sent(a.oncall.quietSend(rs.msg))
	if rs.escalated != nil {
		a.esc.sent(rs.escalated)
	}
}
