package oncall

import (
	"sort"
	"sync"
	"time"
)

// Index holds the compiled timelines of every role over a window (by
// default from a month ago to 400 days ahead) and answers "who covers" in
// a map lookup and a binary search. Times outside the window are answered
// by compiling the role's schedule around them. It is safe for concurrent
// use; Set replaces one role's schedule.
type Index struct {
	mu        sync.RWMutex
	from, to  time.Time
	schedules map[string]*Schedule
	timelines map[string]*Timeline
}

// Window is how far before and after now an index compiles timelines.
const (
	WindowBefore = 31 * 24 * time.Hour
	WindowAfter  = 400 * 24 * time.Hour
)

// NewIndex returns an empty index compiled around now.
func NewIndex(now time.Time) *Index {
	return &Index{from: now.Add(-WindowBefore), to: now.Add(WindowAfter),
		schedules: map[string]*Schedule{}, timelines: map[string]*Timeline{}}
}

// Set replaces a role's schedule and recompiles it.
func (x *Index) Set(sc *Schedule) {
	x.mu.RLock()
	from, to := x.from, x.to
	x.mu.RUnlock()
	tl := sc.Compile(from, to)
	x.mu.Lock()
	x.schedules[sc.Role], x.timelines[sc.Role] = sc, tl
	x.mu.Unlock()
}

// Remove forgets a role.
func (x *Index) Remove(role string) {
	x.mu.Lock()
	delete(x.schedules, role)
	delete(x.timelines, role)
	x.mu.Unlock()
}

// Recenter moves the window around now and recompiles every role, for a
// daily refresh.
func (x *Index) Recenter(now time.Time) {
	x.mu.Lock()
	x.from, x.to = now.Add(-WindowBefore), now.Add(WindowAfter)
	scs := make([]*Schedule, 0, len(x.schedules))
	for _, sc := range x.schedules {
		scs = append(scs, sc)
	}
	x.mu.Unlock()
	for _, sc := range scs {
		x.Set(sc)
	}
}

// timeline returns a role's timeline covering t, or false when the role
// has no schedule.
func (x *Index) timeline(role string, t time.Time) (*Timeline, bool) {
	x.mu.RLock()
	tl, ok := x.timelines[role]
	sc := x.schedules[role]
	x.mu.RUnlock()
	if !ok {
		return nil, false
	}
	if t.Before(tl.From) || !t.Before(tl.To) {
		return sc.Compile(t, t.Add(8*24*time.Hour)), true
	}
	return tl, true
}

// Has reports whether a role has a schedule.
func (x *Index) Has(role string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.schedules[role]
	return ok
}

// Who returns who covers role at t.
func (x *Index) Who(role string, t time.Time) (Entry, bool) {
	tl, ok := x.timeline(role, t)
	if !ok {
		return Entry{}, false
	}
	return tl.Who(t)
}

// Next returns who covers role next after the person covering it at t.
func (x *Index) Next(role string, t time.Time) (Entry, bool) {
	tl, ok := x.timeline(role, t)
	if !ok {
		return Entry{}, false
	}
	return tl.Next(t)
}

// Entries returns a role's stretches overlapping [from, to).
func (x *Index) Entries(role string, from, to time.Time) []Entry {
	x.mu.RLock()
	sc := x.schedules[role]
	tl := x.timelines[role]
	x.mu.RUnlock()
	if sc == nil {
		return nil
	}
	if from.Before(tl.From) || to.After(tl.To) {
		tl = sc.Compile(from, to)
	}
	return tl.Entries(from, to)
}

// Gaps returns the gaps of every scheduled role within [from, to), by start.
func (x *Index) Gaps(from, to time.Time) []Gap {
	x.mu.RLock()
	roles := make([]string, 0, len(x.schedules))
	for r := range x.schedules {
		roles = append(roles, r)
	}
	x.mu.RUnlock()
	var out []Gap
	for _, r := range roles {
		x.mu.RLock()
		sc, tl := x.schedules[r], x.timelines[r]
		x.mu.RUnlock()
		if sc == nil {
			continue
		}
		if from.Before(tl.From) || to.After(tl.To) {
			tl = sc.Compile(from, to)
		}
		out = append(out, tl.Gaps(from, to)...)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Role < out[j].Role
	})
	return out
}

// UserEntries returns a user's stretches across all roles in [from, to),
// with the role, for an iCalendar feed.
func (x *Index) UserEntries(user string, from, to time.Time) []RoleEntry {
	x.mu.RLock()
	roles := make([]string, 0, len(x.schedules))
	for r := range x.schedules {
		roles = append(roles, r)
	}
	x.mu.RUnlock()
	sort.Strings(roles)
	var out []RoleEntry
	for _, r := range roles {
		for _, e := range x.Entries(r, from, to) {
			if e.User == user {
				out = append(out, RoleEntry{Role: r, Entry: e})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// RoleEntry is an Entry with its role.
type RoleEntry struct {
	Role string `json:"role"`
	Entry
}
