package appliance

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
)

// gapWarning is how long before a gap in a role's coverage starts that
// the appliance warns (log, status, metric).
const gapWarning = 12 * time.Hour

// oncallService routes roles through the on-call schedules: it keeps every
// role's compiled timeline (oncall.Index), the users' statuses and the
// policies attached to roles and priorities, reloading a part from the
// store after each command that changes it.
type oncallService struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	index *oncall.Index

	mu       sync.RWMutex
	statuses map[string]store.UserStatus
	uses     map[string]string    // "role/NAME" or "priority/NAME" -> policy
	warned   map[string]time.Time // role and end of each gap warned of -> its end

	gapsAhead atomic.Int64 // gaps starting within gapWarning, for status and metrics
}

func newOncallService(s *store.Store, log *slog.Logger) *oncallService {
	return &oncallService{store: s, log: log, now: time.Now, index: oncall.NewIndex(time.Now()),
		statuses: map[string]store.UserStatus{}, uses: map[string]string{}, warned: map[string]time.Time{}}
}

// load reads every schedule, status and policy attachment.
func (o *oncallService) load(ctx context.Context) error {
	scs, err := o.store.Schedules(ctx)
	if err != nil {
		return err
	}
	for _, sc := range scs {
		o.index.Set(sc)
	}
	return o.reloadSettings(ctx)
}

// reloadSettings rereads statuses and policy attachments.
func (o *oncallService) reloadSettings(ctx context.Context) error {
	sts, err := o.store.Statuses(ctx)
	if err != nil {
		return err
	}
	uses, err := o.store.PolicyUses(ctx)
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.statuses, o.uses = sts, uses
	o.mu.Unlock()
	return nil
}

// reloadRoles recompiles the roles a command changed.
func (o *oncallService) reloadRoles(roles ...string) {
	for _, r := range roles {
		sc, err := o.store.Schedule(r)
		if err != nil {
			o.log.Warn("reloading an on-call schedule", "role", r, "err", err)
			continue
		}
		o.index.Set(sc)
	}
}

// status returns a user's status ("available" when none is set).
func (o *oncallService) status(login string) store.UserStatus {
	o.mu.RLock()
	defer o.mu.RUnlock()
	st, ok := o.statuses[login]
	if !ok {
		return store.UserStatus{Status: "available"}
	}
	return st
}

// setStatus records a status the store took.
func (o *oncallService) setStatus(login string, st store.UserStatus) {
	o.mu.Lock()
	o.statuses[login] = st
	o.mu.Unlock()
}

// forward applies a user's status: on do-not-disturb (unless bypass, for
// critical messages and alerts) or off shift, with a colleague to forward
// to, the colleague gets it instead.
func (o *oncallService) forward(login string, bypassDND bool) string {
	st := o.status(login)
	if st.ForwardTo != "" && (st.Status == "off_shift" || (st.Status == "dnd" && !bypassDND)) {
		return st.ForwardTo
	}
	return login
}

// routeRoles sets RoutedTo on each role address whose schedule has an
// enabled person on call at now (after status forwarding). A role without
// a schedule, or with nobody (enabled) on call, is left for its fixed members (the fallback) when
// the store resolves it; with none of those the send is refused as
// unknown_recipient at once.
func (o *oncallService) routeRoles(to []messaging.Address, p messaging.Priority, now time.Time) []messaging.Address {
	var out []messaging.Address
	for i, a := range to {
		if a.Role == "" {
			continue
		}
		if e, ok := o.index.Who(a.Role, now); ok {
			login := o.forward(e.User, p == messaging.Critical)
			if u, err := o.store.User(login); err != nil || !u.Enabled {
				continue // a disabled person on call: the fixed members take it
			}
			if out == nil {
				out = append([]messaging.Address(nil), to...)
			}
			out[i].RoutedTo = login
		}
	}
	if out == nil {
		return to
	}
	return out
}

// policyFor returns the policy that escalates a message: the one attached
// to the first role it was sent to that has one, else the one attached to
// its priority. Only urgent and critical messages escalate.
func (o *oncallService) policyFor(to []messaging.Address, p messaging.Priority) string {
	if p != messaging.Urgent && p != messaging.Critical {
		return ""
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, a := range to {
		if a.Role != "" {
			if name := o.uses["role/"+a.Role]; name != "" {
				return name
			}
		}
	}
	return o.uses["priority/"+string(p)]
}

// resolveStep returns the people a step reaches now: a role's person on
// call (or its first enabled fixed member), a user, or a group's enabled
// members; statuses forward, but alerts and critical messages bypass
// do-not-disturb. note says why nobody was reached.
func (o *oncallService) resolveStep(s alerting.Step, now time.Time, bypassDND bool) (users []string, note string) {
	enabled := func(login string) bool {
		u, err := o.store.User(login)
		return err == nil && u.Enabled
	}
	switch s.Kind {
	case alerting.TargetRole:
		if e, ok := o.index.Who(s.Name, now); ok {
			if login := o.forward(e.User, bypassDND); enabled(login) {
				return []string{login}, ""
			}
		}
		members, _ := o.store.RoleMembers(s.Name)
		for _, m := range members {
			if enabled(m) {
				return []string{o.forward(m, bypassDND)}, "fallback member"
			}
		}
		return nil, "nobody covers role " + s.Name
	case alerting.TargetUser:
		if login := o.forward(s.Name, bypassDND); enabled(login) {
			return []string{login}, ""
		}
		return nil, "user " + s.Name + " is unknown or disabled"
	case alerting.TargetGroup:
		members, _ := o.store.GroupMembers(s.Name)
		for _, m := range members {
			if enabled(m) {
				users = append(users, o.forward(m, bypassDND))
			}
		}
		if len(users) == 0 {
			return nil, "group " + s.Name + " has no enabled member"
		}
		return users, ""
	}
	return nil, "unknown step kind"
}

// runGapWatch warns, once per gap, of every gap in a scheduled role's
// coverage that starts within gapWarning, and recompiles the timelines
// around today once a day.
func (o *oncallService) runGapWatch(ctx context.Context) error {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	day := o.now()
	for {
		now := o.now()
		if now.Sub(day) > 24*time.Hour {
			o.index.Recenter(now)
			day = now
		}
		gaps := o.index.Gaps(now, now.Add(gapWarning))
		o.gapsAhead.Store(int64(len(gaps)))
		o.mu.Lock()
		for _, g := range gaps {
			key := g.Role + "/" + g.End.Format(time.RFC3339) // a gap under way starts "now" at every check
			if _, done := o.warned[key]; !done {
				o.warned[key] = g.End
				o.log.Warn("on-call coverage gap ahead: nobody is scheduled", "role", g.Role,
					"from", g.Start.Format(time.RFC3339), "until", g.End.Format(time.RFC3339), "fallback", o.hasFallback(g.Role))
			}
		}
		for k, end := range o.warned {
			if end.Before(now) {
				delete(o.warned, k)
			}
		}
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// hasFallback reports whether a role has fixed members to fall back on.
func (o *oncallService) hasFallback(role string) bool {
	members, _ := o.store.RoleMembers(role)
	return len(members) > 0
}

// newID returns an id with a prefix, sorted by time like message ids.
func newID(prefix string, now time.Time) string {
	return prefix + strings.TrimPrefix(messaging.NewMessageID(now), messaging.MessageIDPrefix)
}
