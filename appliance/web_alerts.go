package appliance

import (
	"context"
	"slices"
	"strings"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// alertFor is an alert as login sees it in the web client: its text and
// patient only while it can still be accepted (as in/alert carries them).
func alertFor(e *alerting.Escalation, login string) ui.AlertItem {
	it := ui.AlertItem{ID: e.ID, State: string(e.State), AcceptedBy: e.AcceptedBy, Open: e.Active(),
		Declined: slices.Contains(e.Declined, login), At: e.Created}
	for _, r := range e.Reached {
		if slices.Contains(r.Users, login) {
			it.At = r.At
			break
		}
	}
	if a := e.Alert; a != nil {
		it.Kind, it.Priority = a.Kind, string(a.Priority)
		if it.Open {
			it.Text = a.Text
			if p := a.Patient; p != nil {
				it.Patient = strings.Trim(strings.Join([]string{p.Name, p.MRN, p.Location}, " · "), " ·")
			}
		}
	}
	return it
}

// alertsFor returns the ids of the active alerts that reached login.
func (x *escalations) alertsFor(login string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	ids := make([]string, 0, len(x.alerts[login]))
	for id := range x.alerts[login] {
		ids = append(ids, id)
	}
	slices.Sort(ids) // alert ids sort by time
	slices.Reverse(ids)
	return ids
}

// webUser refuses what only a person's own account may do (a status, an
// alert's answer) to a break-glass session.
func webUser(v ui.Viewer) error {
	if v.Session.BreakGlass() {
		return &ui.UserError{Msg: "A break-glass session has no status or alerts of its own."}
	}
	return nil
}

func (b *webBackend) Alerts(ctx context.Context, v ui.Viewer) ([]ui.AlertItem, error) {
	esc := b.a.api.esc
	if esc == nil || v.Session.BreakGlass() {
		return nil, nil
	}
	ids := esc.alertsFor(v.Session.Login)
	if len(ids) == 0 {
		return nil, nil
	}
	// Alert texts may hold PHI: the read is audited before it is shown.
	if err := b.a.store.Record(ctx, v.Actor().Event("alert.list", "user:"+v.Session.Login)); err != nil {
		return nil, err
	}
	var out []ui.AlertItem
	for _, id := range ids {
		if e, err := b.a.store.Escalation(id); err == nil && e.Active() {
			out = append(out, alertFor(e, v.Session.Login))
		}
	}
	return out, nil
}

func (b *webBackend) RespondAlert(ctx context.Context, v ui.Viewer, id, response string) error {
	if err := webUser(v); err != nil {
		return err
	}
	errc := make(chan error, 1)
	b.a.api.respondAlert(v.Actor(), alerting.Response{ID: id, Response: response}, func(_ *store.RespondAlert, err error) { errc <- err })
	select {
	case err := <-errc:
		return userError(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *webBackend) MyStatus(ctx context.Context, v ui.Viewer) (ui.StatusItem, error) {
	if b.a.api.oncall == nil || v.Session.BreakGlass() {
		return ui.StatusItem{Status: "available"}, nil
	}
	st := b.a.api.oncall.status(v.Session.Login)
	return ui.StatusItem{Status: st.Status, ForwardTo: st.ForwardTo}, nil
}

func (b *webBackend) SetStatus(ctx context.Context, v ui.Viewer, st ui.StatusItem) error {
	if err := webUser(v); err != nil {
		return err
	}
	if b.a.api.oncall == nil {
		return &ui.UserError{Msg: "On-call routing is not running."}
	}
	errc := make(chan error, 1)
	b.a.api.setStatus(v.Actor(), store.UserStatus{Status: st.Status, ForwardTo: st.ForwardTo}, func(err error) { errc <- err })
	select {
	case err := <-errc:
		return userError(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// alert passes an alert's new state to the browsers of everyone it
// reached.
func (h *webHub) alert(e *alerting.Escalation) {
	if h == nil || e.Kind != alerting.KindAlert {
		return
	}
	for _, login := range e.Everyone() {
		if h.watching(login) {
			h.publish(login, ui.Event{Type: "alert", Data: alertFor(e, login)})
		}
	}
}
