package appliance

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// rolesWindow is how far ahead the roles page shows shifts and gaps.
const rolesWindow = 7 * 24 * time.Hour

func (b *webBackend) Roles(ctx context.Context, v ui.Viewer) (ui.RolesPage, error) {
	if err := b.a.store.Record(ctx, v.Actor().Event("role.list", "roles:*")); err != nil {
		return ui.RolesPage{}, err
	}
	now := time.Now().UTC()
	p := ui.RolesPage{From: now, To: now.Add(rolesWindow)}
	groups, err := b.a.store.Groups(ctx, false)
	if err != nil {
		return p, err
	}
	for _, g := range groups {
		p.Groups = append(p.Groups, ui.RoleItem{Name: g.Name, Members: g.Members})
	}
	roles, err := b.a.store.Groups(ctx, true)
	if err != nil {
		return p, err
	}
	uses, err := b.a.store.PolicyUses(ctx)
	if err != nil {
		return p, err
	}
	o := b.a.api.oncall
	p.Schedules = o != nil
	var gaps []oncall.Gap
	if o != nil {
		gaps = o.index.Gaps(p.From, p.To)
	}
	for _, g := range roles {
		it := ui.RoleItem{Name: g.Name, Members: g.Members, Policy: uses["role/"+g.Name], Source: "fallback"}
		if o == nil {
			p.Roles = append(p.Roles, it)
			continue
		}
		who := o.who(g.Name, g.Members, now)
		it.OnCall, it.Source = who.User, who.Source
		if who.Status != "" && who.Status != "available" {
			it.Status = who.Status
		}
		if n := who.Next; n != nil {
			it.Next = &ui.ShiftItem{ID: n.ID, User: n.User, Kind: n.Kind, Start: n.Start, End: n.End}
		}
		for _, e := range o.index.Entries(g.Name, p.From, p.To) {
			it.Shifts = append(it.Shifts, ui.ShiftItem{ID: e.ID, User: e.User, Kind: e.Kind, Start: e.Start, End: e.End})
		}
		for _, gap := range gaps {
			if gap.Role == g.Name {
				it.Gaps = append(it.Gaps, ui.GapItem{Start: gap.Start, End: gap.End, Fallback: len(g.Members) > 0})
			}
		}
		p.Roles = append(p.Roles, it)
	}
	policies, err := b.a.store.Policies(ctx)
	if err != nil {
		return p, err
	}
	for _, pol := range policies {
		pi := ui.PolicyItem{Name: pol.Name}
		for _, st := range pol.Steps {
			pi.Steps = append(pi.Steps, st.String())
		}
		for k, name := range uses {
			if name == pol.Name {
				pi.Attached = append(pi.Attached, k)
			}
		}
		slices.Sort(pi.Attached)
		p.Policies = append(p.Policies, pi)
	}
	return p, nil
}

// roleChange applies an on-call change from the roles page as the admin
// API does for the CLI, then routes by it at once.
func (b *webBackend) roleChange(ctx context.Context, c store.Command, roles ...string) error {
	if err := b.a.store.Apply(ctx, c); err != nil {
		return userError(err)
	}
	b.a.api.oncall.changed(roles...)
	return nil
}

func (b *webBackend) AddShift(ctx context.Context, v ui.Viewer, s ui.NewShift) error {
	kind := "shift"
	if s.Override {
		kind = "override"
	}
	sh, err := shiftIn{Role: s.Role, User: s.User, Start: s.Start, End: s.End, Kind: kind}.shift("shift", time.Now())
	if err != nil {
		return userError(err)
	}
	source := "set"
	if s.Override {
		source = "override"
	}
	cmd := &store.AddShifts{By: v.Actor(), Shifts: []oncall.Imported{{Line: 1, Shift: sh}}, Source: source}
	if err := b.a.store.Apply(ctx, cmd); err != nil {
		return shiftError(err)
	}
	b.a.api.oncall.changed(cmd.Roles...)
	return nil
}

// shiftError is a refused shift as text the administrator can act on.
func shiftError(err error) error {
	var le *oncall.ImportError
	if errors.As(err, &le) && len(le.Lines) > 0 {
		return &ui.UserError{Msg: "The shift was not added: " + le.Lines[0].Err.Error() + "."}
	}
	return userError(err)
}

func (b *webBackend) RemoveShift(ctx context.Context, v ui.Viewer, role, id string) error {
	return b.roleChange(ctx, store.RemoveShift{By: v.Actor(), Role: role, ID: id}, role)
}

func (b *webBackend) AttachPolicy(ctx context.Context, v ui.Viewer, role, policy string) error {
	cmd, err := attachRequest{Policy: policy, Role: role}.command(v.Actor())
	if err != nil {
		return userError(err)
	}
	return b.roleChange(ctx, cmd)
}

func (b *webBackend) AddPolicy(ctx context.Context, v ui.Viewer, name string, steps []string) error {
	p, err := policyRequest{Name: strings.ToLower(name), Steps: steps}.policy()
	if err != nil {
		return userError(err)
	}
	return b.roleChange(ctx, store.PutPolicy{By: v.Actor(), Policy: p})
}
