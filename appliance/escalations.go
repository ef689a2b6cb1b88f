package appliance

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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
// timer saw it, so a step fires once. Each escalation also has an expiry
// timer: at its expiry an escalation nobody accepted closes as expired.
// Every change of an alert is queued durably for each device it goes to
// (store.AlertQueue) and dropped once written, so a device that was away
// is told on connecting what changed, across restarts.
type escalations struct {
	store  *store.Store
	oncall *oncallService
	out    *deliveries
	log    *slog.Logger
	timers *alerting.Timers // the steps' waits
	expiry *alerting.Timers // the escalations' expiries
	runCtx context.Context

	mu      sync.Mutex
	alerts  map[string]map[string]bool // login -> active alert ids that reached them
	msgs    map[string]bool            // messages with an active escalation
	written []store.AlertWritten       // alert states written to devices, to drop from their queues

	steps, exhausted, accepted, expired atomic.Uint64
	maxLateMs                           atomic.Int64 // the latest a timer fired after its due time
}

func newEscalations(s *store.Store, o *oncallService, out *deliveries, log *slog.Logger) *escalations {
	x := &escalations{store: s, oncall: o, out: out, log: log, alerts: map[string]map[string]bool{}, msgs: map[string]bool{}, runCtx: context.Background()}
	x.timers = alerting.NewTimers(func(id string, step int) { go x.advance(id, step, true) })
	x.expiry = alerting.NewTimers(func(id string, _ int) { go x.expire(id) })
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
		x.expiry.Set(e.ID, 0, e.ExpiresAt())
	}
	if len(active) > 0 {
		x.log.Info("resumed escalations", "count", len(active))
	}
	go func() { _ = x.expiry.Run(ctx) }()
	go x.runDrops(ctx)
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
		}
	}
}

// online sends a device that connected, behind what its store queue holds,
// the current state of every alert that changed for it while it was away
// (in the order of the changes), then every other active alert that
// reached its user (a device enrolled since, or one that was told already
// and lost it).
func (x *escalations) online(dev, user string) {
	pending, err := x.store.AlertQueue(x.runCtx, dev)
	if err != nil {
		x.log.Error("reading a device's alert queue", "device", dev, "err", err)
	}
	told := map[string]bool{}
	for _, n := range pending {
		told[n.Esc.ID] = true
		x.out.push(dev, x.alertItem(dev, n.Esc, n.Stamp))
	}
	x.mu.Lock()
	var ids []string
	for id := range x.alerts[user] {
		if !told[id] {
			ids = append(ids, id)
		}
	}
	x.mu.Unlock()
	slices.Sort(ids) // alert ids sort by time
	for _, id := range ids {
		if e, err := x.store.Escalation(id); err == nil {
			x.out.push(dev, x.alertItem(dev, e, ""))
		}
	}
}

// alertItem is the in/alert of an alert's state for a device; once
// written, the device's durable notice of the change stamped stamp goes.
func (x *escalations) alertItem(dev string, e *alerting.Escalation, stamp string) outItem {
	it := outItem{topic: "alert", payload: alerting.EncodeAlert(e)}
	if stamp != "" {
		w := store.AlertWritten{Device: dev, ID: e.ID, Stamp: stamp}
		it.written = func() {
			x.mu.Lock()
			x.written = append(x.written, w)
			x.mu.Unlock()
		}
	}
	return it
}

// pushAlert sends an alert's current state (the change stamped stamp) to
// devices, and to the browsers of the people it reached.
func (x *escalations) pushAlert(e *alerting.Escalation, devs []store.Delivery, stamp string) {
	x.out.web.alert(e)
	for _, d := range devs {
		x.out.push(d.Device, x.alertItem(d.Device, e, stamp))
	}
}

// runDrops removes the alert notices written to devices from the store,
// in one command every quarter second.
func (x *escalations) runDrops(ctx context.Context) {
	_ = every(ctx, 250*time.Millisecond, func() {
		x.mu.Lock()
		batch := x.written
		x.written = nil
		x.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		x.store.Submit(store.DropAlertNotices{Written: batch}, func(err error) {
			if err != nil {
				x.log.Warn("dropping delivered alert notices from the store", "err", err)
			}
		})
	})
}

// raise starts an alert under a policy: its first step is reached now.
// It expires after expiresIn (alerting.DefaultExpiry when zero).
func (x *escalations) raise(ctx context.Context, by audit.Actor, policy string, a alerting.Alert, expiresIn time.Duration) (*alerting.Escalation, error) {
	p, err := x.store.Policy(policy)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	e := alerting.New(newID("alr_", now), alerting.KindAlert, "", p, now)
	e.Subject, e.Alert, e.By = e.ID, &a, by.User
	if expiresIn > 0 {
		e.Expires = now.Add(expiresIn)
	}
	users, note := x.oncall.resolveStep(p.Steps[0], now, true)
	if err := e.Reach(0, users, note, now); err != nil {
		return nil, err
	}
	cmd := &store.StartEscalation{By: by, Esc: e}
	if err := x.store.Apply(ctx, cmd); err != nil {
		return nil, err
	}
	x.started(e, cmd.Devices, cmd.Stamp)
	return e, nil
}

// started pushes a new escalation's first step and sets its timers.
func (x *escalations) started(e *alerting.Escalation, devs []store.Delivery, stamp string) {
	x.track(e)
	x.expiry.Set(e.ID, 0, e.ExpiresAt())
	x.pushAlert(e, devs, stamp)
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
	x.expiry.Set(c.Esc.ID, 0, c.Esc.ExpiresAt())
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
		x.expiry.Cancel(id)
		return
	case alerting.Exhausted:
		x.exhausted.Add(1)
		x.log.Warn("escalation exhausted: every step's wait ran out without an accept", "esc", id, "policy", e.Policy.Name,
			"expires", e.ExpiresAt().UTC().Format(time.RFC3339))
		if e.Kind == alerting.KindAlert {
			x.pushAlert(e, cmd.Deliveries, cmd.Stamp)
		}
		return
	case alerting.Cancelled:
		x.expiry.Cancel(id)
		return
	}
	x.steps.Add(1)
	if e.Kind == alerting.KindAlert {
		x.pushAlert(e, cmd.Deliveries, cmd.Stamp)
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
		x.out.sent(x.oncall.quietSend(&store.SendMessage{Result: m, Deliveries: cmd.Deliveries, Unread: cmd.Unread}))
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

// responded handles a committed accept or decline of an alert.
func (x *escalations) responded(c *store.RespondAlert) {
	e := c.Esc
	x.track(e)
	if c.Response == "accept" {
		x.timers.Cancel(e.ID)
		x.expiry.Cancel(e.ID)
		x.accepted.Add(1)
		x.pushAlert(e, c.Devices, c.Stamp) // everyone sees who accepted
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
		x.expiry.Cancel(store.MessageEscalationID(msg))
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

// expire closes escalation id at its expiry if nobody accepted it: audited
// by the store, and an alert's people are told (state "expired").
func (x *escalations) expire(id string) {
	cmd := &store.ExpireEscalation{ID: id}
	if err := x.store.Apply(x.runCtx, cmd); err != nil {
		if !errors.Is(err, context.Canceled) {
			x.log.Error("expiring an escalation failed; retrying in 5s", "esc", id, "err", err)
			x.expiry.Set(id, 0, time.Now().Add(5*time.Second))
		}
		return
	}
	if cmd.Stale {
		return
	}
	e := cmd.Esc
	x.timers.Cancel(id)
	x.track(e)
	x.expired.Add(1)
	x.log.Warn("escalation expired without an accept", "esc", id, "kind", string(e.Kind), "policy", e.Policy.Name, "step", e.Step+1)
	if e.Kind == alerting.KindAlert {
		x.pushAlert(e, cmd.Devices, cmd.Stamp)
	}
}
