package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/oncall"
)

// TestEscalateStepOnce: the same step applied twice (a timer that fires
// again, or after a restart) moves the escalation once; a reopened store
// resumes it where it stood.
func TestEscalateStepOnce(t *testing.T) {
	s, opts := openTemp(t)
	ctx := context.Background()
	for _, u := range []string{"dr.a", "dr.b", "dr.c"} {
		addUser(t, s, u, u)
	}
	p := alerting.Policy{Name: "p", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: time.Minute},
		{Kind: alerting.TargetUser, Name: "dr.b", Wait: time.Minute}, {Kind: alerting.TargetUser, Name: "dr.c", Wait: time.Minute}}}
	now := time.Now()
	e := alerting.New("alr_1", alerting.KindAlert, "alr_1", p, now)
	e.Alert = &alerting.Alert{Kind: "lab", Text: "x", Priority: "urgent"}
	_ = e.Reach(0, []string{"dr.a"}, "", now)
	if err := s.Apply(ctx, &StartEscalation{By: admin, Esc: e}); err != nil {
		t.Fatal(err)
	}
	step := func(from int, users ...string) *EscalateStep {
		c := &EscalateStep{ID: "alr_1", FromStep: from, ToStep: from + 1, Users: users}
		if err := s.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := step(0, "dr.b"); c.Stale || c.Esc.Step != 1 {
		t.Fatalf("first step: %+v", c)
	}
	if c := step(0, "dr.b"); !c.Stale {
		t.Fatal("the same step applied twice")
	}
	// Reopen: the escalation is still active at step 1.
	s.Close()
	s2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.ActiveEscalations(ctx)
	if err != nil || len(list) != 1 || list[0].Step != 1 || len(list[0].Reached) != 2 {
		t.Fatalf("after reopening: %+v %v", list, err)
	}
	// A stranger may not respond; a reached user declines, another accepts.
	r := &RespondAlert{By: admin, ID: "alr_1", Response: "accept"}
	if err := s2.Apply(ctx, r); err == nil {
		t.Fatal("a user it did not reach accepted")
	}
	by := admin
	by.User = "dr.b"
	if err := s2.Apply(ctx, &RespondAlert{By: by, ID: "alr_1", Response: "accept"}); err != nil {
		t.Fatal(err)
	}
	by.User = "dr.a"
	if err := s2.Apply(ctx, &RespondAlert{By: by, ID: "alr_1", Response: "accept"}); err == nil {
		t.Fatal("a second accept was taken")
	}
	if list, _ := s2.ActiveEscalations(ctx); len(list) != 0 {
		t.Fatalf("accepted but still active: %+v", list)
	}
}

// TestAddShiftsAllOrNothing: one bad shift (unknown user, overlap with a
// stored one) and none is added; every bad line is named.
func TestAddShiftsAllOrNothing(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addUser(t, s, "dr.a", "A")
	if err := s.Apply(ctx, AddGroup{By: admin, Name: "cardio", Role: true}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sh := func(line int, user string, start time.Time) oncall.Imported {
		return oncall.Imported{Line: line, Shift: oncall.Shift{ID: "s" + string(rune('0'+line)), Role: "cardio", User: user, Start: start, End: start.Add(12 * time.Hour), Layer: oncall.LayerShift}}
	}
	if err := s.Apply(ctx, &AddShifts{By: admin, Shifts: []oncall.Imported{sh(1, "dr.a", at)}}); err != nil {
		t.Fatal(err)
	}
	err := s.Apply(ctx, &AddShifts{By: admin, Shifts: []oncall.Imported{sh(2, "dr.a", at.Add(24*time.Hour)), sh(3, "ghost", at.Add(48*time.Hour)), sh(4, "dr.a", at.Add(time.Hour))}})
	var ie *oncall.ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != 2 || ie.Lines[0].Line != 3 || ie.Lines[1].Line != 4 {
		t.Fatalf("got %v", err)
	}
	sc, _ := s.Schedule("cardio")
	if len(sc.Shifts) != 1 {
		t.Fatalf("%d shifts stored, want the first only", len(sc.Shifts))
	}
}
