package appliance

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// deviceAPI is the device API of docs/device-api.md on top of the broker:
// it turns device publishes into store commands and answers, and committed
// commands into deliveries. It implements broker.Handler.
type deviceAPI struct {
	store   *store.Store
	access  *accessCache
	out     *deliveries
	audit   *authAuditor
	log     *slog.Logger
	maxBody int
	now     func() time.Time
	oncall  *oncallService // routes roles through the on-call schedules
	esc     *escalations   // escalation policies and alerts

	// The directory: search and shared-device sign-in (passwords is nil
	// without AD).
	index     *directory.Index
	passwords passwordChecker
	sessions  sharedSessions

	// Counters for /metrics.
	sent, refused, storeFailed, acks atomic.Uint64
}

var _ broker.Handler = (*deviceAPI)(nil)

// PUBACK reason codes of MQTT 5 the device API uses.
const (
	reasonOK           = 0x00
	reasonUnspecified  = 0x80
	reasonImplSpecific = 0x83
	reasonNotAuthz     = 0x87
	reasonQuota        = 0x97
	reasonBadPayload   = 0x99
)

// reasonFor maps a refusal to the PUBACK reason a v5 client sees; the
// error itself goes to in/reply.
func reasonFor(e *messaging.Error) byte {
	switch e.Code {
	case messaging.CodeForbidden:
		return reasonNotAuthz
	case messaging.CodeRateLimited:
		return reasonQuota
	case messaging.CodeInternal:
		return reasonUnspecified
	case messaging.CodeUnknownRecipient, messaging.CodeNotFound:
		return reasonImplSpecific
	}
	return reasonBadPayload
}

// storeFailure is the answer to a publish the store could not take: not
// acknowledged as accepted, so that the device sends it again.
func storeFailure(err error) broker.Ack {
	if errors.Is(err, store.ErrDiskFull) {
		return broker.Ack{Reason: reasonQuota, Retry: true}
	}
	return broker.Ack{Reason: reasonUnspecified, Retry: true}
}

// Online implements broker.Handler.
func (a *deviceAPI) Online(dev string) {
	d, err := a.access.get(dev)
	if err != nil || !d.active {
		return
	}
	user := d.user
	if user == "" {
		user = a.sessions.user(dev, a.now()) // the alerts of who signed in on a shared device
	}
	a.out.online(dev, user)
	if a.esc != nil {
		a.esc.online(dev, user)
	}
}

// Offline implements broker.Handler.
func (a *deviceAPI) Offline(dev string) { a.out.offline(dev) }

// AuthFailed implements broker.Handler.
func (a *deviceAPI) AuthFailed(dev, remote, reason string) { a.audit.record(dev, remote, reason) }

// Publish implements broker.Handler.
func (a *deviceAPI) Publish(p broker.Inbound, done func(broker.Ack)) {
	d, err := a.access.get(p.DeviceID)
	if err != nil || !d.active {
		done(broker.Ack{Reason: reasonNotAuthz})
		return
	}
	by := audit.Actor{User: d.user, Device: d.id, Source: p.Remote}
	if d.user == "" {
		by.User = a.sessions.user(d.id, a.now()) // who signed in on this shared device
	}
	switch p.Kind {
	case "send":
		a.send(p, by, done)
	case "ack":
		a.ack(p, by, done)
	case "req":
		a.req(p, by, done)
	case "respond":
		a.respond(p, by, done)
	default:
		done(broker.Ack{Reason: reasonNotAuthz})
	}
}

// reply sends an answer to the device: on its MQTT 5 response topic when it
// gave one, else on in/reply.
func (a *deviceAPI) reply(p broker.Inbound, _ string, payload []byte) {
	it := outItem{topic: "reply", payload: payload}
	if p.ResponseTopic != "" {
		it = outItem{topic: p.ResponseTopic, full: true, payload: payload, corr: p.CorrelationData}
	}
	a.out.push(p.DeviceID, it)
}

// send stores a message (PUBACK after the fsync) and delivers it.
func (a *deviceAPI) send(p broker.Inbound, by audit.Actor, done func(broker.Ack)) {
	req, merr := messaging.DecodeSend(p.Payload, a.maxBody)
	if merr == nil && by.User == "" {
		merr = messaging.Errorf(messaging.CodeForbidden, "sign in on this shared device first")
	}
	if merr != nil {
		a.refused.Add(1)
		a.reply(p, req.ClientRef, messaging.EncodeErrorReply(req.ClientRef, merr))
		a.store.Submit(store.AuditOnly(refusedSend(by, merr)), func(error) {})
		done(broker.Ack{Reason: reasonFor(merr)})
		return
	}
	rs := a.routeSend(by, by.User, req, a.now().UTC())
	a.store.Submit(rs.command, func(err error) {
		var me *messaging.Error
		switch {
		case errors.As(err, &me):
			a.refused.Add(1)
			a.reply(p, req.ClientRef, messaging.EncodeErrorReply(req.ClientRef, me))
			done(broker.Ack{Reason: reasonFor(me)})
		case err != nil:
			a.storeFailed.Add(1)
			a.log.Error("storing a message", "device", by.Device, "err", err)
			done(storeFailure(err))
		default:
			done(broker.Ack{Reason: reasonOK})
			r := rs.msg.Result
			a.reply(p, req.ClientRef, messaging.EncodeSendReply(req.ClientRef, r.ID, r.Conversation, r.Recipients))
			a.delivered(rs)
		}
	})
}

// refusedSend is the audit event of a send refused before it reached the
// store (never with the body).
func refusedSend(by audit.Actor, e *messaging.Error) audit.Event {
	ev := by.Event("message.send")
	ev.Outcome, ev.Reason = audit.OutcomeFailed, string(e.Code)+": "+e.Message
	return ev
}

// ack records a delivery state (PUBACK after the fsync) and passes it on.
func (a *deviceAPI) ack(p broker.Inbound, by audit.Actor, done func(broker.Ack)) {
	req, merr := messaging.DecodeAck(p.Payload)
	if merr != nil {
		done(broker.Ack{Reason: reasonFor(merr)})
		return
	}
	cmd := &store.AckMessage{By: by, ID: req.ID, State: req.State}
	a.store.Submit(cmd, func(err error) {
		var me *messaging.Error
		switch {
		case errors.As(err, &me):
			done(broker.Ack{Reason: reasonFor(me)})
		case err != nil:
			done(storeFailure(err))
		default:
			a.acks.Add(1)
			done(broker.Ack{Reason: reasonOK})
			a.out.acked(cmd)
			if a.esc != nil && cmd.Changed && cmd.Receipt.State == messaging.Read {
				a.esc.read(by, req.ID)
			}
		}
	})
}

// req answers a request on in/reply (or the MQTT 5 response topic).
func (a *deviceAPI) req(p broker.Inbound, by audit.Actor, done func(broker.Ack)) {
	req, merr := messaging.DecodeReq(p.Payload)
	if merr != nil {
		a.reply(p, req.Ref, messaging.EncodeErrorReply(req.Ref, merr))
		done(broker.Ack{Reason: reasonFor(merr)})
		return
	}
	answer := func(result any, err error) {
		var me *messaging.Error
		switch {
		case err == nil:
			a.reply(p, req.Ref, messaging.EncodeReply(req.Ref, result))
			done(broker.Ack{Reason: reasonOK})
		case errors.As(err, &me):
			a.reply(p, req.Ref, messaging.EncodeErrorReply(req.Ref, me))
			done(broker.Ack{Reason: reasonFor(me)})
		default:
			a.log.Error("answering a device request", "device", by.Device, "op", req.Op, "err", err)
			a.reply(p, req.Ref, messaging.EncodeErrorReply(req.Ref, messaging.Errorf(messaging.CodeInternal, "the request failed; try again")))
			done(storeFailure(err))
		}
	}
	switch req.Op {
	case "directory.search":
		// Directory reads hold no PHI; they run off the write path.
		go func() { answer(a.search(req.Q), nil) }()
	case "history":
		if by.User == "" {
			answer(nil, messaging.Errorf(messaging.CodeForbidden, "sign in on this shared device first"))
			return
		}
		go func() {
			msgs, err := a.store.History(context.Background(), by, req.Conversation, req.Before, req.Limit)
			out := make([]jsonRaw, 0, len(msgs))
			for _, m := range msgs {
				out = append(out, jsonRaw(messaging.EncodeMsg(m)))
			}
			answer(out, err)
		}()
	case "message.recall":
		cmd := &store.RecallMessage{By: by, ID: req.ID}
		a.store.Submit(cmd, func(err error) {
			if err == nil {
				a.out.recalled(cmd)
				answer(map[string]string{"id": req.ID, "state": "recalled"}, nil)
				return
			}
			answer(nil, err)
		})
	case "status.set", "status.get":
		a.statusReq(req, by, answer)
	case messaging.OpSessionSignin:
		acc, _ := a.access.get(p.DeviceID)
		shared := acc.user == ""
		go func() { answer(a.signin(context.Background(), p.DeviceID, shared, by, req)) }()
	case messaging.OpPINSet:
		acc, _ := a.access.get(p.DeviceID)
		go func() { answer(a.setPIN(context.Background(), p.DeviceID, acc.user == "", by, req)) }()
	case messaging.OpSessionSignout:
		go func() { answer(a.signout(context.Background(), p.DeviceID, by)) }()
	default:
		answer(nil, messaging.Errorf(messaging.CodeInvalid, "unknown op"))
	}
}

// jsonRaw embeds already encoded JSON in a reply.
type jsonRaw []byte

// MarshalJSON implements json.Marshaler.
func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

// searchHit is one result of directory.search.
type searchHit struct {
	User       string `json:"user,omitempty"`
	Role       string `json:"role,omitempty"`
	Group      string `json:"group,omitempty"`
	Name       string `json:"name,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
	Status     string `json:"status,omitempty"`     // the user's status, where set: available, busy, dnd, off_shift
	ForwardTo  string `json:"forward_to,omitempty"` // the colleague a dnd or off_shift user forwards to
}

// search finds enabled users a prefix of whose name words, login,
// department or title is q (ignoring case and accents), from the
// in-memory index, then groups and roles whose names start with q.
func (a *deviceAPI) search(q string) []searchHit {
	out := []searchHit{}
	if a.index == nil {
		return out
	}
	for _, h := range a.index.Search(q) {
		hit := searchHit{User: h.User, Group: h.Group, Name: h.Name, Department: h.Department, Title: h.Title}
		if st, ok := a.oncall.statusOf(h.User); ok && h.User != "" {
			hit.Status, hit.ForwardTo = st.Status, st.ForwardTo
		}
		out = append(out, hit)
	}
	fq := directory.Fold(strings.TrimSpace(q))
	roles, _ := a.store.Groups(context.Background(), true)
	for _, g := range roles {
		if strings.HasPrefix(g.Name, fq) {
			out = append(out, searchHit{Role: g.Name})
		}
	}
	return out
}
