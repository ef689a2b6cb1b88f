package appliance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// nextAlert waits for the next alert event on a browser's stream.
func nextAlert(t *testing.T, ch <-chan ui.Event) ui.AlertItem {
	t.Helper()
	for {
		select {
		case ev := <-ch:
			if it, ok := ev.Data.(ui.AlertItem); ok && ev.Type == "alert" {
				return it
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no alert event")
		}
	}
}

// TestWebAlerts: an alert reaches the web client of the person on its
// first step (text and patient shown, live), a decline there moves it on
// as out/respond does, the first accept closes it for everyone it reached
// (their browsers are told), and a later accept is refused.
func TestWebAlerts(t *testing.T) {
	r := newSendRig(t, "dr.a", "dr.b", "lab")
	ctx := context.Background()
	p := alerting.Policy{Name: "lab", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: time.Hour},
		{Kind: alerting.TargetUser, Name: "dr.b", Wait: time.Hour}}}
	if err := r.st.Apply(ctx, store.PutPolicy{By: audit.System, Policy: p}); err != nil {
		t.Fatal(err)
	}
	hub := newWebHub()
	r.a.api.out.web = hub
	aEvents, cancelA := hub.subscribe("dr.a")
	defer cancelA()
	bEvents, cancelB := hub.subscribe("dr.b")
	defer cancelB()

	e, err := r.a.api.esc.raise(ctx, audit.Actor{User: "lab"}, "lab", alerting.Alert{Kind: "critical_result", Text: "K+ 6.9 mmol/l",
		Priority: messaging.Critical, Patient: &messaging.Patient{Name: "Ada Byron", MRN: "123", Location: "4B"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if live := nextAlert(t, aEvents); live.ID != e.ID || !live.Open || live.Text != "K+ 6.9 mmol/l" {
		t.Fatalf("dr.a's live alert: %+v", live)
	}
	list, err := r.web.Alerts(ctx, viewer("dr.a"))
	if err != nil || len(list) != 1 || list[0].Kind != "critical_result" || list[0].Priority != "critical" || list[0].Patient != "Ada Byron · 123 · 4B" {
		t.Fatalf("dr.a's alerts: %+v %v", list, err)
	}
	if list, _ := r.web.Alerts(ctx, viewer("dr.b")); len(list) != 0 {
		t.Fatalf("dr.b sees an alert that has not reached them: %+v", list)
	}
	var ue *ui.UserError
	if err := r.web.RespondAlert(ctx, viewer("dr.b"), e.ID, "accept"); !errors.As(err, &ue) {
		t.Fatalf("dr.b accepted an alert that did not reach them: %v", err)
	}

	if err := r.web.RespondAlert(ctx, viewer("dr.a"), e.ID, "decline"); err != nil {
		t.Fatal(err)
	}
	if live := nextAlert(t, bEvents); live.ID != e.ID || !live.Open {
		t.Fatalf("dr.b's live alert after the decline: %+v", live)
	}
	if list, _ := r.web.Alerts(ctx, viewer("dr.b")); len(list) != 1 {
		t.Fatalf("dr.b's alerts after the decline: %+v", list)
	}
	if err := r.web.RespondAlert(ctx, viewer("dr.b"), e.ID, "accept"); err != nil {
		t.Fatal(err)
	}
	for {
		live := nextAlert(t, aEvents)
		if !live.Open {
			if live.AcceptedBy != "dr.b" || live.Text != "" {
				t.Fatalf("dr.a told of the accept: %+v", live)
			}
			break
		}
	}
	for _, login := range []string{"dr.a", "dr.b"} {
		if list, _ := r.web.Alerts(ctx, viewer(login)); len(list) != 0 {
			t.Fatalf("%s still sees an accepted alert: %+v", login, list)
		}
	}
	if err := r.web.RespondAlert(ctx, viewer("dr.a"), e.ID, "accept"); !errors.As(err, &ue) {
		t.Fatalf("a second accept: %v", err)
	}
}

// TestWebStatus: the web client sets the user's own status through the
// same command as status.set; it routes at once, and a bad one is refused
// with text the person can act on.
func TestWebStatus(t *testing.T) {
	r := newSendRig(t, "dr.a", "dr.b")
	ctx := context.Background()
	var ue *ui.UserError
	for _, bad := range []ui.StatusItem{{Status: "asleep"}, {Status: "dnd", ForwardTo: "nobody"}, {Status: "dnd", ForwardTo: "dr.a"}} {
		if err := r.web.SetStatus(ctx, viewer("dr.a"), bad); !errors.As(err, &ue) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	if err := r.web.SetStatus(ctx, viewer("dr.a"), ui.StatusItem{Status: "off_shift", ForwardTo: "dr.b"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.web.MyStatus(ctx, viewer("dr.a")); st.Status != "off_shift" || st.ForwardTo != "dr.b" {
		t.Fatalf("status shown: %+v", st)
	}
	if got := r.a.api.oncall.forwardUsers([]messaging.Address{{User: "dr.a"}}, messaging.Critical); got[0].RoutedTo != "dr.b" {
		t.Fatalf("not routed by the new status: %+v", got)
	}
	sts, err := r.st.Statuses(ctx)
	if err != nil || sts["dr.a"].Status != "off_shift" {
		t.Fatalf("stored: %+v %v", sts, err)
	}
}
