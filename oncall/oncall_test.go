package oncall

import (
	"errors"
	"testing"
	"time"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDayNightAcrossDST: a 20:00-08:00 night in Europe/Berlin is 11 hours
// on the spring-forward night and 13 hours in autumn, and the handovers
// stay at 08:00 and 20:00 local time.
func TestDayNightAcrossDST(t *testing.T) {
	berlin, _ := LoadZone("Europe/Berlin")
	r := Rotation{ID: "rot1", Role: "icu", Kind: DayNight, Zone: "Europe/Berlin", NightStart: "20:00",
		Start: time.Date(2026, 3, 27, 8, 0, 0, 0, berlin), Users: []string{"day.anna", "night.ben"}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	sc := &Schedule{Role: "icu"}
	if err := sc.AddRotation(r); err != nil {
		t.Fatal(err)
	}
	tl := sc.Compile(mustTime(t, "2026-03-20T00:00:00Z"), mustTime(t, "2026-11-01T00:00:00Z"))
	cases := []struct {
		name   string
		at     string
		user   string
		length time.Duration
		start  string // local start
	}{
		{"night before the switch", "2026-03-27T23:00:00Z", "night.ben", 12 * time.Hour, "2026-03-27T20:00:00+01:00"},
		{"spring-forward night", "2026-03-29T01:30:00Z", "night.ben", 11 * time.Hour, "2026-03-28T20:00:00+01:00"},
		{"day after", "2026-03-29T10:00:00Z", "day.anna", 12 * time.Hour, "2026-03-29T08:00:00+02:00"},
		{"fall-back night", "2026-10-25T01:30:00Z", "night.ben", 13 * time.Hour, "2026-10-24T20:00:00+02:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := tl.Who(mustTime(t, c.at))
			if !ok {
				t.Fatal("nobody covers")
			}
			if e.User != c.user || e.End.Sub(e.Start) != c.length || !e.Start.Equal(mustTime(t, c.start)) {
				t.Fatalf("got %s %s-%s (%s), want %s from %s lasting %s", e.User, e.Start.In(berlin), e.End.In(berlin), e.End.Sub(e.Start), c.user, c.start, c.length)
			}
			if lh := e.End.In(berlin).Hour(); lh != 8 && lh != 20 {
				t.Fatalf("handover at %d:00 local", lh)
			}
		})
	}
	// The spring-forward night is really 11 hours: 20:00 CET to 08:00 CEST.
	if got := mustTime(t, "2026-03-29T06:00:00Z").Sub(mustTime(t, "2026-03-28T19:00:00Z")); got != 11*time.Hour {
		t.Fatal(got)
	}
}

func TestWeeklyRotationAndNext(t *testing.T) {
	ny, _ := LoadZone("America/New_York")
	sc := &Schedule{Role: "cardiology-oncall"}
	if err := sc.AddRotation(Rotation{ID: "w", Role: "cardiology-oncall", Kind: Weekly, Zone: "America/New_York",
		Start: time.Date(2026, 3, 2, 7, 0, 0, 0, ny), Users: []string{"a", "b", "c"}}); err != nil {
		t.Fatal(err)
	}
	tl := sc.Compile(mustTime(t, "2026-03-01T00:00:00Z"), mustTime(t, "2026-04-01T00:00:00Z"))
	e, _ := tl.Who(mustTime(t, "2026-03-05T12:00:00Z")) // week 1 spans the 8 March switch
	if e.User != "a" || e.End.Sub(e.Start) != 7*24*time.Hour-time.Hour {
		t.Fatalf("week of the switch: %+v (%s)", e, e.End.Sub(e.Start))
	}
	n, ok := tl.Next(mustTime(t, "2026-03-05T12:00:00Z"))
	if !ok || n.User != "b" || !n.Start.Equal(e.End) {
		t.Fatalf("next: %+v", n)
	}
	if _, ok := tl.Who(mustTime(t, "2026-03-02T11:59:00Z")); ok {
		t.Fatal("covered before the rotation starts")
	}
}

// TestOverrideAndPrecedence: an override beats a shift, which beats a
// rotation; overlapping entries of one layer are refused.
func TestOverrideAndPrecedence(t *testing.T) {
	sc := &Schedule{Role: "r"}
	if err := sc.AddRotation(Rotation{ID: "d", Role: "r", Kind: Daily, Start: mustTime(t, "2026-01-01T08:00:00Z"), Users: []string{"rot"}}); err != nil {
		t.Fatal(err)
	}
	shift := Shift{ID: "s1", Role: "r", User: "lee", Start: mustTime(t, "2026-01-05T08:00:00Z"), End: mustTime(t, "2026-01-06T08:00:00Z"), Layer: LayerShift}
	if err := sc.AddShift(shift); err != nil {
		t.Fatal(err)
	}
	over := Shift{ID: "o1", Role: "r", User: "kim", Start: mustTime(t, "2026-01-05T12:00:00Z"), End: mustTime(t, "2026-01-05T14:00:00Z"), Layer: LayerOverride}
	if err := sc.AddShift(over); err != nil {
		t.Fatal(err)
	}
	bad := shift
	bad.ID, bad.Start = "s2", mustTime(t, "2026-01-05T20:00:00Z")
	bad.End = bad.Start.Add(time.Hour)
	if err := sc.AddShift(bad); !errors.Is(err, ErrOverlap) {
		t.Fatalf("overlapping shift: %v", err)
	}
	backwards := Shift{Role: "r", User: "x", Start: mustTime(t, "2026-02-01T10:00:00Z"), End: mustTime(t, "2026-02-01T09:00:00Z"), Layer: LayerShift}
	if err := sc.AddShift(backwards); !errors.Is(err, ErrRange) {
		t.Fatalf("backwards shift: %v", err)
	}
	tl := sc.Compile(mustTime(t, "2026-01-01T00:00:00Z"), mustTime(t, "2026-02-01T00:00:00Z"))
	for _, c := range []struct{ at, want string }{
		{"2026-01-05T07:00:00Z", "rot"}, {"2026-01-05T09:00:00Z", "lee"}, {"2026-01-05T12:30:00Z", "kim"},
		{"2026-01-05T14:00:00Z", "lee"}, {"2026-01-06T08:00:00Z", "rot"},
	} {
		if e, _ := tl.Who(mustTime(t, c.at)); e.User != c.want {
			t.Errorf("at %s: %q, want %q", c.at, e.User, c.want)
		}
	}
	gaps := tl.Gaps(mustTime(t, "2025-12-31T00:00:00Z"), mustTime(t, "2026-01-02T00:00:00Z"))
	if len(gaps) != 1 || !gaps[0].End.Equal(mustTime(t, "2026-01-01T08:00:00Z")) {
		t.Fatalf("gaps: %+v", gaps)
	}
}

func TestSwap(t *testing.T) {
	sc := &Schedule{Role: "r"}
	for i, u := range []string{"ann", "bob"} {
		start := mustTime(t, "2026-05-01T08:00:00Z").Add(time.Duration(i) * 24 * time.Hour)
		if err := sc.AddShift(Shift{ID: u, Role: "r", User: u, Start: start, End: start.Add(24 * time.Hour), Layer: LayerShift}); err != nil {
			t.Fatal(err)
		}
	}
	x := NewIndex(mustTime(t, "2026-05-01T00:00:00Z"))
	x.Set(sc)
	pair, err := Swap(x, "r", mustTime(t, "2026-05-01T10:00:00Z"), mustTime(t, "2026-05-02T10:00:00Z"), [2]string{"o1", "o2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range pair {
		if err := sc.AddShift(s); err != nil {
			t.Fatal(err)
		}
	}
	x.Set(sc)
	if e, _ := x.Who("r", mustTime(t, "2026-05-01T10:00:00Z")); e.User != "bob" || e.Kind != "override" {
		t.Fatalf("day 1 after swap: %+v", e)
	}
	if e, _ := x.Who("r", mustTime(t, "2026-05-02T10:00:00Z")); e.User != "ann" {
		t.Fatalf("day 2 after swap: %+v", e)
	}
	if _, err := Swap(x, "r", mustTime(t, "2026-05-01T10:00:00Z"), mustTime(t, "2026-05-01T11:00:00Z"), [2]string{"a", "b"}); err == nil {
		t.Fatal("swapped a stretch with itself")
	}
	if _, err := Swap(x, "r", mustTime(t, "2026-06-01T10:00:00Z"), mustTime(t, "2026-05-01T11:00:00Z"), [2]string{"a", "b"}); !errors.Is(err, ErrNoCover) {
		t.Fatalf("swap into a gap: %v", err)
	}
}

func TestIndexOutsideWindow(t *testing.T) {
	sc := &Schedule{Role: "r"}
	_ = sc.AddRotation(Rotation{ID: "d", Role: "r", Kind: Daily, Start: mustTime(t, "2026-01-01T08:00:00Z"), Users: []string{"a", "b"}})
	x := NewIndex(mustTime(t, "2026-01-10T00:00:00Z"))
	x.Set(sc)
	e, ok := x.Who("r", mustTime(t, "2028-01-01T09:00:00Z"))
	if !ok || (e.User != "a" && e.User != "b") {
		t.Fatalf("far future: %+v %v", e, ok)
	}
	if _, ok := x.Who("nope", time.Now()); ok {
		t.Fatal("unknown role covered")
	}
}
