package appliance

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// sendRig is an appliance's send path (store, on-call service,
// escalations, deliveries) without a broker or a web server.
type sendRig struct {
	st  *store.Store
	a   *Appliance
	web *webBackend
}

func newSendRig(t *testing.T, users ...string) *sendRig {
	t.Helper()
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, u := range users {
		if err := st.Apply(ctx, store.AddUser{By: audit.System, User: directory.User{Login: u, Name: u}}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := &deviceAPI{store: st, log: log, now: time.Now, out: newDeliveries(st, nil, log, time.Minute), oncall: newOncallService(st, log)}
	if err := api.oncall.load(ctx); err != nil {
		t.Fatal(err)
	}
	api.esc = newEscalations(st, api.oncall, api.out, log)
	a := &Appliance{store: st, api: api, log: log, cfg: Config{}}
	a.cfg.Messaging.MaxBody = messaging.MaxBody
	return &sendRig{st: st, a: a, web: &webBackend{a: a, w: &web{hub: newWebHub()}}}
}

// viewer is a web session of login.
func viewer(login string) ui.Viewer {
	return ui.Viewer{Session: directory.WebSession{ID: "wss_" + login, Login: login}, Source: "127.0.0.1"}
}

// TestWebSendRoutesAndEscalates: a message sent from the web client goes
// through the same routing as a device's: a role reaches whoever is on
// call, a user on do-not-disturb forwards to their colleague, an urgent
// message to a role with a policy escalates, and the person an
// escalation step adds finds the conversation in their web list, unread,
// and may open it.
func TestWebSendRoutesAndEscalates(t *testing.T) {
	r := newSendRig(t, "dr.send", "dr.lee", "dr.kim", "dr.fix", "dr.esc")
	ctx := context.Background()
	o := r.a.api.oncall
	now := time.Now().UTC()
	if err := r.st.Apply(ctx, store.AddGroup{By: audit.System, Name: "cardio", Members: []string{"dr.fix"}, Role: true}); err != nil {
		t.Fatal(err)
	}
	add := &store.AddShifts{By: audit.System, Source: "set", Shifts: []oncall.Imported{{Line: 1, Shift: oncall.Shift{ID: "shf_1", Role: "cardio",
		User: "dr.lee", Start: now.Add(-time.Hour), End: now.Add(time.Hour), Layer: oncall.LayerShift}}}}
	if err := r.st.Apply(ctx, add); err != nil {
		t.Fatal(err)
	}
	o.reloadRoles("cardio")
	p := alerting.Policy{Name: "cardio-urgent", Steps: []alerting.Step{{Kind: alerting.TargetRole, Name: "cardio", Wait: time.Hour},
		{Kind: alerting.TargetUser, Name: "dr.esc", Wait: time.Hour}}}
	for _, c := range []store.Command{store.PutPolicy{By: audit.System, Policy: p}, store.AttachPolicy{By: audit.System, Kind: "role", Name: "cardio", Policy: p.Name}} {
		if err := r.st.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.reloadSettings(ctx); err != nil {
		t.Fatal(err)
	}
	o.setStatus("dr.kim", store.UserStatus{Status: "dnd", ForwardTo: "dr.fix"})

	cases := []struct {
		name      string
		compose   ui.Compose
		reaches   string
		escalates bool
	}{
		{"role to the person on call", ui.Compose{ToKind: "role", To: "cardio", Body: "bed 4", Priority: "normal"}, "dr.lee", false},
		{"dnd forwards", ui.Compose{ToKind: "user", To: "dr.kim", Body: "call me", Priority: "normal"}, "dr.fix", false},
		{"urgent to a role with a policy", ui.Compose{ToKind: "role", To: "cardio", Body: "bed 5 now", Priority: "urgent"}, "dr.lee", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv, err := r.web.Send(ctx, viewer("dr.send"), c.compose)
			if err != nil {
				t.Fatal(err)
			}
			list, err := r.st.UserConversations(ctx, c.reaches, 100)
			if err != nil || !slices.ContainsFunc(list, func(s store.ConversationSummary) bool { return s.Conversation.ID == conv }) {
				t.Fatalf("%s's list lacks %s: %+v %v", c.reaches, conv, list, err)
			}
			last := list[0].Last
			_, err = r.st.Escalation(store.MessageEscalationID(last.ID))
			if (err == nil) != c.escalates {
				t.Fatalf("escalation of %s: %v, want one: %v", last.ID, err, c.escalates)
			}
		})
	}

	// The escalation's next step adds dr.esc: they join the thread, which
	// is in their list with the message unread, and they may read it.
	list, _ := r.st.UserConversations(ctx, "dr.lee", 1)
	msg := list[0].Last
	id := store.MessageEscalationID(msg.ID)
	r.a.api.esc.advance(id, 0, false)
	e, err := r.st.Escalation(id)
	if err != nil || e.Step != 1 {
		t.Fatalf("after the step: %+v %v", e, err)
	}
	list, err = r.st.UserConversations(ctx, "dr.esc", 100)
	if err != nil || len(list) != 1 || list[0].Conversation.ID != msg.Conversation || list[0].Unread != 1 || list[0].Last.ID != msg.ID {
		t.Fatalf("dr.esc's list: %+v %v", list, err)
	}
	page, err := r.web.Conversation(ctx, viewer("dr.esc"), msg.Conversation)
	if err != nil || !slices.ContainsFunc(page.Messages, func(m ui.MessageItem) bool { return m.ID == msg.ID }) {
		t.Fatalf("dr.esc opening it: %+v %v", page, err)
	}
	if list, _ = r.st.UserConversations(ctx, "dr.esc", 100); list[0].Unread != 0 {
		t.Fatalf("read in the browser but still unread: %+v", list[0])
	}
}
