package appliance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// TestWebRoles: the roles page shows each role's coverage from the
// on-call service (on call now and next, fixed members, policy, gaps in
// the next 7 days), and its forms change it through the CLI's store
// commands, audited, routing by the change at once; a bad change is
// refused with text to act on.
func TestWebRoles(t *testing.T) {
	r := newSendRig(t, "dr.lee", "dr.kim", "dr.fix", "admin")
	ctx := context.Background()
	if err := r.st.Apply(ctx, store.AddGroup{By: audit.System, Name: "cardio", Members: []string{"dr.fix"}, Role: true}); err != nil {
		t.Fatal(err)
	}
	adm := viewer("admin")
	now := time.Now().UTC().Truncate(time.Minute)
	add := func(user string, from, to time.Duration, override bool) error {
		return r.web.AddShift(ctx, adm, ui.NewShift{Role: "cardio", User: user, Start: now.Add(from), End: now.Add(to), Override: override})
	}
	// dr.lee now for 8 hours, dr.kim from 12 to 20 hours: a gap between.
	if err := add("dr.lee", -time.Hour, 8*time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if err := add("dr.kim", 12*time.Hour, 20*time.Hour, false); err != nil {
		t.Fatal(err)
	}
	var ue *ui.UserError
	if err := add("dr.kim", 2*time.Hour, 3*time.Hour, false); !errors.As(err, &ue) {
		t.Fatalf("an overlapping shift: %v", err)
	}
	if err := add("nobody", 30*time.Hour, 31*time.Hour, false); !errors.As(err, &ue) {
		t.Fatalf("a shift for an unknown user: %v", err)
	}
	if err := r.web.AddPolicy(ctx, adm, "Cardio-Esc", []string{"role:cardio:5m", "user:dr.fix:5m"}); err != nil {
		t.Fatal(err)
	}
	if err := r.web.AddPolicy(ctx, adm, "bad", []string{"pager:x:5m"}); !errors.As(err, &ue) {
		t.Fatalf("a bad step: %v", err)
	}
	if err := r.web.AttachPolicy(ctx, adm, "cardio", "cardio-esc"); err != nil {
		t.Fatal(err)
	}
	if err := r.web.AttachPolicy(ctx, adm, "cardio", "missing"); err == nil {
		t.Fatal("attached a policy that does not exist")
	}

	p, err := r.web.Roles(ctx, adm)
	if err != nil || len(p.Roles) != 1 || !p.Schedules {
		t.Fatalf("roles page: %+v %v", p, err)
	}
	c := p.Roles[0]
	if c.OnCall != "dr.lee" || c.Source != "schedule" || c.Next == nil || c.Next.User != "dr.kim" || c.Policy != "cardio-esc" ||
		!slices.Equal(c.Members, []string{"dr.fix"}) || len(c.Shifts) != 2 {
		t.Fatalf("cardio: %+v", c)
	}
	if len(c.Gaps) != 2 || !c.Gaps[0].Start.Equal(now.Add(8*time.Hour)) || !c.Gaps[0].End.Equal(now.Add(12*time.Hour)) || !c.Gaps[0].Fallback {
		t.Fatalf("gaps: %+v", c.Gaps)
	}
	if len(p.Policies) != 1 || !slices.Equal(p.Policies[0].Attached, []string{"role/cardio"}) || len(p.Policies[0].Steps) != 2 {
		t.Fatalf("policies: %+v", p.Policies)
	}
	if got := r.a.api.oncall.policyFor([]messaging.Address{{Role: "cardio"}}, "urgent"); got != "cardio-esc" {
		t.Fatalf("the attached policy does not route: %q", got)
	}

	// Removing dr.lee's shift: the fixed member covers now, at once.
	if err := r.web.RemoveShift(ctx, adm, "cardio", c.Shifts[0].ID); err != nil {
		t.Fatal(err)
	}
	p, _ = r.web.Roles(ctx, adm)
	if c := p.Roles[0]; c.OnCall != "dr.fix" || c.Source != "fallback" || len(c.Shifts) != 1 {
		t.Fatalf("after removing the shift: %+v", c)
	}
	if err := r.web.AttachPolicy(ctx, adm, "cardio", ""); err != nil {
		t.Fatal(err)
	}
	if p, _ = r.web.Roles(ctx, adm); p.Roles[0].Policy != "" {
		t.Fatalf("detached but still %q", p.Roles[0].Policy)
	}

	// Every change is in the audit trail as the administrator's.
	evs, err := r.st.RecentAudit(ctx, audit.System, func(e audit.Event) bool { return e.Actor == "admin" }, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"oncall.shifts", "oncall.remove", "policy.put", "policy.attach", "role.list"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s event by admin in %v", want, actions)
		}
	}
}
