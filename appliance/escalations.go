package appliance

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// escalations runs the escalation policies: it starts an escalation for
// each raised alert and each urgent or critical message that a policy
// covers, moves it to the next step when a step's wait runs out or its
// person declines, and closes it on the first accept (or read). Pending
// steps live in the store (esco/), so a restart resumes every timer; the
// store applies a step only if the escalation still stands where the
// timer saw it, so a step fires once.
type escalations struct {
	store  *store.Store
	oncall *oncallService
	out    *deliveries
	log    *slog.Logger
	timers *alerting.Timers
	runCtx context.Context

	mu     sync.Mutex
	alerts map[string]map[string]bool      // login -> active alert ids that reached them
	msgs   map[string]bool                 // messages with an active escalation
	closed map[string]map[string]time.Time // login -> alerts closed in the last day that reached them -> when

	steps, exhausted, accepted atomic.Uint64
	maxLateMs                  atomic.Int64 // the latest a timer fired after its due time
}

func newEscalations(s *store.Store, o *oncallService, out *deliveries, log *slog.Logger) *escalations {
	x := &escalations{store: s, oncall: o, out: out, log: log, alerts: map[string]map[string]bool{}, msgs: map[string]bool{}, closed: map[string]map[string]time.Time{}, runCtx: context.Background()}
	x.timers = alerting.NewTimers(func(id string, step int) { go x.advance(id, step, true) })
	return x
}

// run resumes the active escalations from the store and fires their timers.
func (x *escalations) run(ctx context.Context) error {
	x.runCtx = ctx
	active, err := x.store.ActiveEscalations(ctx)
	if err != nil {
		return err
	}
	for _, e := range active {
		x.track(e)
		if e.State == alerting.Open {
			x.timers.Set(e.ID, e.Step, e.Due)
		}
	}
	if len(active) > 0 {
		x.log.Info("resumed escalations", "count", len(active))
	}
	return x.timers.Run(ctx)
}

// track keeps the in-memory list of whom each active alert reached, to
// send it again to a device that connects.
func (x *escalations) track(e *alerting.Escalation) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e.Kind == alerting.KindMessage {
		if e.Active() {
			x.msgs[e.Subject] = true
		} else {
			delete(x.msgs, e.Subject)
		}
		return
	}
	for _, u := range e.Everyone() {
		if e.Active() {
			if x.alerts[u] == nil {
				x.alerts[u] = map[string]bool{}
			}
			x.alerts[u][e.ID] = true
		} else {
			delete(x.alerts[u], e.ID)
			if x.closed[u] == nil {
				x.closed[u] = map[string]time.Time{}
			}
			x.closed[u][e.ID] = time.Now()
		}
	}
}

// closedKept is how long a device that connects is still told that an
// alert which reached its user was accepted or closed.
const closedKept = 24 * time.Hour

// online sends a device that connected the active alerts that reached its
// user, and the updates (accepted by whom) of those closed in the last day.
func (x *escalations) online(dev, user string) {
	x.mu.Lock()
	ids := make([]string, 0, len(x.alerts[user])+len(x.closed[user]))
	for id := range x.alerts[user] {
		ids = append(ids, id)
	}
	for id, at := range x.closed[user] {
		if time.Since(at) > closedKept {
			delete(x.closed[user], id)
			continue
		}
		ids = append(ids, id)
	}
	x.mu.Unlock()
	for _, id := range ids {
		if e, err := x.store.Escalation(id); err == nil {
			x.out.push(dev, outItem{topic: "alert", payload: alerting.EncodeAlert(e)})
		}
	}
}

// pushAlert sends an alert's current state to devices.
func (x *escalations) pushAlert(e *alerting.Escalation, devs []store.Delivery) {
	p := alerting.EncodeAlert(e)
	for _, d := range devs {
		x.out.push(d.Device, outItem{topic: "alert", payload: p})
	}
}

// raise starts an alert under a policy: its first step is reached now.
func (x *escalations) raise(ctx context.Context, by audit.Actor, policy string, a alerting.Alert) (*alerting.Escalation, error) {
	p, err := x.store.Policy(policy)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	e := alerting.New(newID("alr_", now), alerting.KindAlert, "", p, now)
	e.Subject, e.Alert, e.By = e.ID, &a, by.User
	users, note := x.oncall.resolveStep(p.Steps[0], now, true)
	if err := e.Reach(0, users, note, now); err != nil {
		return nil, err
	}
	cmd := &store.StartEscalation{By: by, Esc: e}
	if err := x.store.Apply(ctx, cmd); err != nil {
		return nil, err
	}
	x.started(e, cmd.Devices)
	return e, nil
}

// started pushes a new escalation's first step and sets its timer.
func (x *escalations) started(e *alerting.Escalation, devs []store.Delivery) {
	x.track(e)
	x.pushAlert(e, devs)
	if len(e.Reached[0].Users) == 0 {
		go x.advance(e.ID, 0, false) // nobody to wait for
		return
	}
	x.timers.Set(e.ID, e.Step, e.Due)
}

// wrapSend returns the send as a SendEscalated when an escalation policy
// covers it (urgent or critical, to a role with a policy or of a priority
// with one), so that the message and its escalation are stored together;
// else nil.
func (x *escalations) wrapSend(c *store.SendMessage) *store.SendEscalated {
	name := x.oncall.policyFor(c.Msg.To, c.Msg.Priority)
	if name == "" {
		return nil
	}
	p, err := x.store.Policy(name)
	if err != nil {
		x.log.Warn("an attached escalation policy is missing", "policy", name, "err", err)
		return nil
	}
	return &store.SendEscalated{SendMessage: c, Policy: p}
}

// sent arms the timer of a committed message escalation.
func (x *escalations) sent(c *store.SendEscalated) {
	if c.Esc == nil {
		return
	}
	x.track(c.Esc)
	x.timers.Set(c.Esc.ID, c.Esc.Step, c.Esc.Due)
}

// advance moves escalation id on from step from, if it still stands there.
func (x *escalations) advance(id string, from int, timer bool) {
	e, err := x.store.Escalation(id)
	if err != nil || e.State != alerting.Open || e.Step != from {
		return
	}
	if timer && !e.Due.IsZero() {
		late := time.Since(e.Due).Milliseconds()
		for {
			cur := x.maxLateMs.Load()
			if late <= cur || x.maxLateMs.CompareAndSwap(cur, late) {
				break
			}
		}
	}
	next := from + 1
	var users []string
	var note string
	if next < len(e.Policy.Steps) {
		users, note = x.oncall.resolveStep(e.Policy.Steps[next], time.Now(), e.Kind == alerting.KindAlert || x.critical(e))
	}
	cmd := &store.EscalateStep{ID: id, FromStep: from, ToStep: next, Users: users, Note: note}
	if err := x.store.Apply(x.runCtx, cmd); err != nil {
		if !errors.Is(err, context.Canceled) {
			x.log.Error("escalation step failed; retrying in 5s", "esc", id, "err", err)
			x.timers.Set(id, from, time.Now().Add(5*time.Second))
		}
		return
	}
	if cmd.Stale || cmd.Esc == nil {
		return
	}
	e = cmd.Esc
	x.track(e)
	switch e.State {
	case alerting.Accepted:
		x.accepted.Add(1)
		return
	case alerting.Exhausted:
		x.exhausted.Add(1)
		x.log.Warn("escalation exhausted: every step's wait ran out without an accept", "esc", id, "policy", e.Policy.Name)
		if e.Kind == alerting.KindAlert {
			devs, _ := x.devicesOf(e.Everyone())
			x.pushAlert(e, devs)
		}
		return
	case alerting.Cancelled:
		return
	}
	x.steps.Add(1)
	if e.Kind == alerting.KindAlert {
		x.pushAlert(e, cmd.Deliveries)
	} else {
		// Delivered as a send to the new people is: in/msg, in/notify, and
		// the repeats of a critical message until read.
		m := cmd.Msg
		m.Recipients = nil
		for _, u := range users {
			if _, added := cmd.Unread[u]; added { // not the sender, nor a recipient already
				m.Recipients = append(m.Recipients, u)
			}
		}
		x.out.sent(&store.SendMessage{Result: m, Deliveries: cmd.Deliveries, Unread: cmd.Unread})
	}
	if len(users) == 0 {
		x.advance(id, next, false) // nobody to wait for
		return
	}
	x.timers.Set(id, e.Step, e.Due)
}

// critical reports whether a message escalation's message is critical.
func (x *escalations) critical(e *alerting.Escalation) bool {
	m, err := x.store.Message(e.Subject)
	return err == nil && m.Priority == messaging.Critical
}

func (x *escalations) devicesOf(users []string) ([]store.Delivery, error) {
	var out []store.Delivery
	for _, u := range users {
		devs, err := x.store.UserDevices(u)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			out = append(out, store.Delivery{Device: d, User: u})
		}
	}
	return out, nil
}

// responded handles a committed accept or decline of an alert.
func (x *escalations) responded(c *store.RespondAlert) {
	e := c.Esc
	x.track(e)
	if c.Response == "accept" {
		x.timers.Cancel(e.ID)
		x.accepted.Add(1)
		x.pushAlert(e, c.Devices) // everyone sees who accepted
		return
	}
	go x.advance(e.ID, e.Step, false) // a decline moves it on at once
}

// read closes the escalation of a message that a reached recipient read.
func (x *escalations) read(by audit.Actor, msg string) {
	x.mu.Lock()
	open := x.msgs[msg]
	x.mu.Unlock()
	if !open {
		return
	}
	cmd := &store.CloseOnRead{By: by, Msg: msg}
	x.store.Submit(cmd, func(err error) {
		if err != nil || !cmd.Closed {
			return
		}
		x.timers.Cancel(store.MessageEscalationID(msg))
		x.mu.Lock()
		delete(x.msgs, msg)
		x.mu.Unlock()
		x.accepted.Add(1)
		r := cmd.Receipt
		for _, dev := range cmd.Devices {
			x.out.push(dev, outItem{topic: "receipt", payload: messaging.EncodeReceipt(r.Message, r.User, r.State, r.At), receipt: &r})
		}
	})
}
