package oncall

import (
	"fmt"
	"slices"
	"time"
)

// Schedule is everything one role's coverage is made of.
type Schedule struct {
	Role      string     `json:"role"`
	Shifts    []Shift    `json:"shifts"` // explicit shifts and overrides, by start
	Rotations []Rotation `json:"rotations"`
}

// CheckShift reports whether s may join the schedule: valid, and not
// overlapping an entry of the same layer (ErrOverlap, naming it).
func (sc *Schedule) CheckShift(s Shift) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Layer != LayerShift && s.Layer != LayerOverride {
		return fmt.Errorf("a shift must be a shift or an override: %w", ErrSyntax)
	}
	for _, o := range sc.Shifts {
		if o.Layer == s.Layer && o.Overlaps(s) {
			return fmt.Errorf("%s %s-%s of %s %w", o.Layer, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339), o.User, ErrOverlap)
		}
	}
	return nil
}

// AddShift adds a shift or override after CheckShift.
func (sc *Schedule) AddShift(s Shift) error {
	if err := sc.CheckShift(s); err != nil {
		return err
	}
	i, _ := slices.BinarySearchFunc(sc.Shifts, s.Start, func(x Shift, t time.Time) int { return x.Start.Compare(t) })
	sc.Shifts = slices.Insert(sc.Shifts, i, s)
	return nil
}

// AddRotation adds a rotation; two rotations of a role may not run at the
// same time.
func (sc *Schedule) AddRotation(r Rotation) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for _, o := range sc.Rotations {
		if (o.Until.IsZero() || r.Start.Before(o.Until)) && (r.Until.IsZero() || o.Start.Before(r.Until)) {
			return fmt.Errorf("rotation %s %w", o.ID, ErrOverlap)
		}
	}
	sc.Rotations = append(sc.Rotations, r)
	return nil
}

// Compile flattens the schedule over [from, to) into a timeline, applying
// precedence: overrides over shifts over rotations.
func (sc *Schedule) Compile(from, to time.Time) *Timeline {
	var rot, shifts, over []Shift
	for _, r := range sc.Rotations {
		rot = append(rot, r.Expand(from, to)...)
	}
	slices.SortFunc(rot, func(a, b Shift) int { return a.Start.Compare(b.Start) })
	for _, s := range sc.Shifts {
		if !s.Overlaps(Shift{Start: from, End: to}) {
			continue
		}
		if s.Layer == LayerOverride {
			over = append(over, s)
		} else {
			shifts = append(shifts, s)
		}
	}
	segs := overlay(overlay(toSegments(rot), toSegments(shifts)), toSegments(over))
	return &Timeline{Role: sc.Role, From: from, To: to, segs: segs}
}

// Entry is who covers a role over one stretch of a timeline.
type Entry struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Layer Layer     `json:"-"`
	Kind  string    `json:"kind"` // the layer's name
	ID    string    `json:"id,omitempty"`
}

// segment is an Entry in compact form: times as Unix nanoseconds.
type segment struct {
	start, end int64
	user       string
	layer      Layer
	id         string
}

func toSegments(shifts []Shift) []segment {
	out := make([]segment, 0, len(shifts))
	for _, s := range shifts {
		out = append(out, segment{s.Start.UnixNano(), s.End.UnixNano(), s.User, s.Layer, s.ID})
	}
	return out
}

// overlay returns top and the parts of base that top does not cover, by
// start. Each list must be sorted and free of overlaps.
func overlay(base, top []segment) []segment {
	if len(top) == 0 {
		return base
	}
	out := make([]segment, 0, len(base)+len(top))
	k := 0
	for _, b := range base {
		for k < len(top) && top[k].end <= b.start {
			k++
		}
		cur := b.start
		for j := k; j < len(top) && top[j].start < b.end; j++ {
			if top[j].start > cur {
				p := b
				p.start, p.end = cur, top[j].start
				out = append(out, p)
			}
			cur = max(cur, top[j].end)
		}
		if cur < b.end {
			p := b
			p.start = cur
			out = append(out, p)
		}
	}
	out = append(out, top...)
	slices.SortFunc(out, func(a, b segment) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}
