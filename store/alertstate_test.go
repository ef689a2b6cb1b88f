package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/messaging"
)

// alertNotices lists the alert ids (and states) a device is owed, in order.
func alertNotices(t *testing.T, s *Store, dev string) []string {
	t.Helper()
	q, err := s.AlertQueue(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range q {
		out = append(out, n.Esc.ID+":"+string(n.Esc.State))
	}
	return out
}

// TestAlertStateDurable: every change of an alert is queued for each device
// it goes to; a notice written to a device is dropped, unless a newer change
// stamped it meanwhile; the queue survives reopening the store and comes
// in the order of the changes; an alert past its expiry closes as expired.
func TestAlertStateDurable(t *testing.T) {
	s, opts := openTemp(t)
	ctx := context.Background()
	for _, u := range []string{"dr.a", "dr.b"} {
		addUser(t, s, u, u)
		if err := s.Apply(ctx, EnrollDevice{By: admin, Device: Device{ID: "dev-" + u, User: u, SecretHash: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	p := alerting.Policy{Name: "p", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: time.Minute},
		{Kind: alerting.TargetUser, Name: "dr.b", Wait: time.Minute}}}
	raise := func(id string, created time.Time, expires time.Time) *StartEscalation {
		e := alerting.New(id, alerting.KindAlert, id, p, created)
		e.Alert = &alerting.Alert{Kind: "lab", Text: "K+ 7.2", Priority: messaging.Critical, Patient: &messaging.Patient{MRN: "123"}}
		e.Expires = expires
		_ = e.Reach(0, []string{"dr.a"}, "", created)
		c := &StartEscalation{By: admin, Esc: e}
		if err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := time.Now()
	first := raise("alr_1", now.Add(-2*time.Hour), now.Add(-time.Hour)) // past its expiry
	second := raise("alr_2", now, time.Time{})
	if len(first.Devices) != 1 || first.Stamp == "" {
		t.Fatalf("raise: %+v", first)
	}
	// dr.a's device was written the second alert: that notice goes.
	if err := s.Apply(ctx, DropAlertNotices{Written: []AlertWritten{{Device: "dev-dr.a", ID: "alr_2", Stamp: second.Stamp}}}); err != nil {
		t.Fatal(err)
	}
	// The first alert moves on to dr.b, then dr.b accepts the second.
	if err := s.Apply(ctx, &EscalateStep{ID: "alr_2", FromStep: 0, ToStep: 1, Users: []string{"dr.b"}}); err != nil {
		t.Fatal(err)
	}
	acc := &RespondAlert{By: admin, ID: "alr_2", Response: "accept"}
	acc.By.User = "dr.b"
	if err := s.Apply(ctx, acc); err != nil {
		t.Fatal(err)
	}
	// A drop with the stamp of an earlier change keeps the newer one.
	if err := s.Apply(ctx, DropAlertNotices{Written: []AlertWritten{{Device: "dev-dr.b", ID: "alr_2", Stamp: "00000000000000000001"}}}); err != nil {
		t.Fatal(err)
	}
	exp := &ExpireEscalation{ID: "alr_1"}
	if err := s.Apply(ctx, exp); err != nil || exp.Stale || exp.Esc.State != alerting.Expired || len(exp.Devices) != 1 {
		t.Fatalf("expire: %+v %v", exp, err)
	}
	if again := (&ExpireEscalation{ID: "alr_2"}); s.Apply(ctx, again) != nil || !again.Stale {
		t.Fatal("an accepted alert expired")
	}
	s.Close()
	s2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s = s2
	cases := []struct {
		dev  string
		want []string
	}{
		{"dev-dr.a", []string{"alr_2:accepted", "alr_1:expired"}}, // in the order of the changes
		{"dev-dr.b", []string{"alr_2:accepted"}},
	}
	for _, c := range cases {
		if got := alertNotices(t, s2, c.dev); !slices.Equal(got, c.want) {
			t.Errorf("%s is owed %v, want %v", c.dev, got, c.want)
		}
	}
	if active, _ := s2.ActiveEscalations(ctx); len(active) != 0 {
		t.Fatalf("still active: %v", active)
	}
}

// TestPurgeAlerts: retention deletes the text and patient of alerts raised
// before its cutoff, and keeps the rest of the alert.
func TestPurgeAlerts(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addUser(t, s, "dr.a", "dr.a")
	p := alerting.Policy{Name: "p", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: time.Minute}}}
	now := time.Now()
	for i, age := range []time.Duration{72 * time.Hour, 48 * time.Hour, time.Hour} {
		id := "alr_" + string(rune('1'+i))
		e := alerting.New(id, alerting.KindAlert, id, p, now.Add(-age))
		e.Alert = &alerting.Alert{Kind: "lab", Text: "K+ 7.2", Patient: &messaging.Patient{MRN: "123", Name: "Ada Q"}}
		_ = e.Reach(0, []string{"dr.a"}, "", e.Created)
		if err := s.Apply(ctx, &StartEscalation{By: admin, Esc: e}); err != nil {
			t.Fatal(err)
		}
	}
	purge := func(max int) []string {
		c := &PurgeAlerts{Before: now.Add(-24 * time.Hour), Max: max}
		if err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c.Purged
	}
	if got := purge(1); !slices.Equal(got, []string{"alr_1"}) {
		t.Fatalf("first run purged %v", got)
	}
	if got := purge(10); !slices.Equal(got, []string{"alr_2"}) {
		t.Fatalf("second run purged %v", got)
	}
	if got := purge(10); len(got) != 0 {
		t.Fatalf("third run purged %v", got)
	}
	for id, purged := range map[string]bool{"alr_1": true, "alr_2": true, "alr_3": false} {
		e, err := s.Escalation(id)
		if err != nil {
			t.Fatal(err)
		}
		if purged != (e.Alert.Text == "" && e.Alert.Patient == nil && !e.PurgedAt.IsZero()) || len(e.Reached) != 1 {
			t.Errorf("%s: purged %v, %+v", id, purged, e.Alert)
		}
	}
}

// TestAlertStampsWithinOneTick: two changes of an alert at the same clock
// reading get different stamps, so that dropping the first change's notice
// (written to the device) keeps the second's.
func TestAlertStampsWithinOneTick(t *testing.T) {
	frozen := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	s, err := Open(Options{Dir: t.TempDir() + "/data", CreateKey: true, MinFree: 1 << 20, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	addUser(t, s, "dr.a", "dr.a")
	if err := s.Apply(ctx, EnrollDevice{By: admin, Device: Device{ID: "dev-a", User: "dr.a", SecretHash: "x"}}); err != nil {
		t.Fatal(err)
	}
	p := alerting.Policy{Name: "p", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: time.Minute}}}
	e := alerting.New("alr_1", alerting.KindAlert, "alr_1", p, frozen)
	e.Alert = &alerting.Alert{Kind: "lab", Text: "x"}
	_ = e.Reach(0, []string{"dr.a"}, "", frozen)
	start := &StartEscalation{By: admin, Esc: e}
	if err := s.Apply(ctx, start); err != nil {
		t.Fatal(err)
	}
	acc := &RespondAlert{By: admin, ID: "alr_1", Response: "accept"}
	acc.By.User = "dr.a"
	if err := s.Apply(ctx, acc); err != nil {
		t.Fatal(err)
	}
	if acc.Stamp <= start.Stamp {
		t.Fatalf("stamps %s then %s", start.Stamp, acc.Stamp)
	}
	if err := s.Apply(ctx, DropAlertNotices{Written: []AlertWritten{{Device: "dev-a", ID: "alr_1", Stamp: start.Stamp}}}); err != nil {
		t.Fatal(err)
	}
	if got := alertNotices(t, s, "dev-a"); !slices.Equal(got, []string{"alr_1:accepted"}) {
		t.Fatalf("owed %v", got)
	}
	if err := s.Apply(ctx, DropAlertNotices{Written: []AlertWritten{{Device: "dev-a", ID: "alr_1", Stamp: acc.Stamp}}}); err != nil {
		t.Fatal(err)
	}
	if got := alertNotices(t, s, "dev-a"); len(got) != 0 {
		t.Fatalf("owed %v after the accept was written", got)
	}
}
