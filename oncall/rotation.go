package oncall

import (
	"fmt"
	"time"
)

// RotationKind is how a rotation repeats.
type RotationKind string

// Kinds of rotations.
const (
	Daily    RotationKind = "daily"     // one shift a day, handed over at Start's wall-clock time
	Weekly   RotationKind = "weekly"    // one shift a week, handed over at Start's weekday and time
	DayNight RotationKind = "day-night" // a day shift from Start's time and a night shift from NightStart, every day
)

// MaxRotationUsers is the most people one rotation cycles through.
const MaxRotationUsers = 100

// Rotation hands a role from one person to the next at a wall-clock time
// in its zone, cycling through Users in order: period i goes to
// Users[i % len(Users)]. Because handovers are wall-clock times, periods
// that span a daylight-saving change are an hour shorter or longer.
type Rotation struct {
	ID         string       `json:"id"`
	Role       string       `json:"role"`
	Kind       RotationKind `json:"kind"`
	Zone       string       `json:"zone"`                  // IANA zone, "" for UTC
	Start      time.Time    `json:"start"`                 // the first handover
	Until      time.Time    `json:"until,omitzero"`        // no period starts at or after it; zero: open-ended
	NightStart string       `json:"night_start,omitempty"` // "HH:MM" in Zone, for day-night
	Users      []string     `json:"users"`
}

// Validate checks the rotation.
func (r Rotation) Validate() error {
	if _, err := LoadZone(r.Zone); err != nil {
		return err
	}
	switch r.Kind {
	case Daily, Weekly:
	case DayNight:
		if _, _, err := parseClock(r.NightStart); err != nil {
			return err
		}
		loc, _ := LoadZone(r.Zone)
		st := r.Start.In(loc)
		h, m, _ := parseClock(r.NightStart)
		if h*60+m <= st.Hour()*60+st.Minute() {
			return fmt.Errorf("night_start must be later in the day than the start: %w", ErrSyntax)
		}
	default:
		return fmt.Errorf("rotation kind must be daily, weekly or day-night: %w", ErrSyntax)
	}
	switch {
	case r.Start.IsZero():
		return fmt.Errorf("rotation needs a start: %w", ErrRange)
	case !r.Until.IsZero() && !r.Until.After(r.Start):
		return fmt.Errorf("rotation ends before it starts: %w", ErrRange)
	case len(r.Users) == 0 || len(r.Users) > MaxRotationUsers:
		return fmt.Errorf("rotation needs 1 to %d users: %w", MaxRotationUsers, ErrSyntax)
	}
	return nil
}

// parseClock reads "HH:MM".
func parseClock(s string) (h, m int, err error) {
	t, perr := time.Parse("15:04", s)
	if perr != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("time of day %q must be HH:MM: %w", s, ErrSyntax)
	}
	return t.Hour(), t.Minute(), nil
}

// Expand returns the rotation's shifts that overlap [from, to), in order.
// It assumes a valid rotation.
func (r Rotation) Expand(from, to time.Time) []Shift {
	loc, err := LoadZone(r.Zone)
	if err != nil || len(r.Users) == 0 {
		return nil
	}
	st := r.Start.In(loc)
	y, mo, d := st.Date()
	h, mi, sec := st.Clock()
	nh, nm, _ := parseClock(r.NightStart)
	// boundary returns the start of period i (i may be negative).
	var step, perDay int
	switch r.Kind {
	case Daily:
		step, perDay = 1, 1
	case Weekly:
		step, perDay = 7, 1
	case DayNight:
		step, perDay = 1, 2
	}
	boundary := func(i int) time.Time {
		day, part := i/perDay, i%perDay
		if part == 1 {
			return time.Date(y, mo, d+day*step, nh, nm, 0, 0, loc)
		}
		return time.Date(y, mo, d+day*step, h, mi, sec, 0, loc)
	}
	// Skip to about from: periods are at least 11 hours long (a 12-hour
	// half of a day on a daylight-saving night), at most 7 days + 1 hour.
	i := 0
	if from.After(st) {
		approx := time.Duration(step) * 24 * time.Hour / time.Duration(perDay)
		i = max(int(from.Sub(st)/approx)-2, 0)
		for i > 0 && boundary(i).After(from) {
			i--
		}
	}
	var out []Shift
	for ; ; i++ {
		s, e := boundary(i), boundary(i+1)
		if !s.Before(to) || (!r.Until.IsZero() && !s.Before(r.Until)) {
			break
		}
		if !r.Until.IsZero() && e.After(r.Until) {
			e = r.Until
		}
		if e.After(from) {
			out = append(out, Shift{ID: fmt.Sprintf("%s#%d", r.ID, i), Role: r.Role, User: r.Users[i%len(r.Users)],
				Start: s.UTC(), End: e.UTC(), Layer: LayerRotation})
		}
	}
	return out
}
