package oncall

import (
	"sort"
	"time"
)

// Timeline is one role's coverage over [From, To), flattened: stretches
// that do not overlap, by start. It is immutable and safe to share.
type Timeline struct {
	Role     string
	From, To time.Time
	segs     []segment
}

func (s segment) entry() Entry {
	return Entry{User: s.user, Start: time.Unix(0, s.start).UTC(), End: time.Unix(0, s.end).UTC(), Layer: s.layer, Kind: s.layer.String(), ID: s.id}
}

// find returns the index of the last stretch starting at or before t, or -1.
func (tl *Timeline) find(t int64) int {
	return sort.Search(len(tl.segs), func(i int) bool { return tl.segs[i].start > t }) - 1
}

// Who returns the stretch that covers t, or false when nobody does.
func (tl *Timeline) Who(t time.Time) (Entry, bool) {
	n := t.UnixNano()
	i := tl.find(n)
	if i < 0 || n >= tl.segs[i].end {
		return Entry{}, false
	}
	return tl.segs[i].entry(), true
}

// Next returns the first stretch after t with another person than the one
// covering t (the next stretch at all when nobody covers t), or false.
func (tl *Timeline) Next(t time.Time) (Entry, bool) {
	n := t.UnixNano()
	i := tl.find(n)
	cur := ""
	if i >= 0 && n < tl.segs[i].end {
		cur = tl.segs[i].user
	}
	for j := i + 1; j < len(tl.segs); j++ {
		if tl.segs[j].user != cur {
			return tl.segs[j].entry(), true
		}
	}
	return Entry{}, false
}

// Entries returns the stretches that overlap [from, to).
func (tl *Timeline) Entries(from, to time.Time) []Entry {
	f, t := from.UnixNano(), to.UnixNano()
	var out []Entry
	for i := max(tl.find(f), 0); i < len(tl.segs) && tl.segs[i].start < t; i++ {
		if tl.segs[i].end > f {
			out = append(out, tl.segs[i].entry())
		}
	}
	return out
}

// Gap is a stretch of time in which nobody covers a role.
type Gap struct {
	Role  string    `json:"role"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Gaps returns the stretches of [from, to) that nobody covers.
func (tl *Timeline) Gaps(from, to time.Time) []Gap {
	var out []Gap
	cur := from
	for _, e := range tl.Entries(from, to) {
		if e.Start.After(cur) {
			out = append(out, Gap{Role: tl.Role, Start: cur, End: e.Start})
		}
		if e.End.After(cur) {
			cur = e.End
		}
	}
	if cur.Before(to) {
		out = append(out, Gap{Role: tl.Role, Start: cur, End: to})
	}
	return out
}
