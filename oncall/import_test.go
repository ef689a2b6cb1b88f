package oncall

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var csvCases = []struct {
	name    string
	in      string
	shifts  int
	badLine []int
}{
	{"good", "role,user,start,end\ncardio,lee,2026-01-01T08:00:00Z,2026-01-01T20:00:00Z\ncardio,kim,2026-01-01T21:00:00+01:00,2026-01-02T09:00:00+01:00\n", 2, nil},
	{"columns any order, kind", "user,end,start,role,kind\nlee,2026-01-02T00:00:00Z,2026-01-01T00:00:00Z,ICU,override\n", 1, nil},
	{"every bad line named", "role,user,start,end\nr,a,2026-01-01T08:00:00Z,2026-01-01T07:00:00Z\nr,b,2026-01-01T08:00:00Z,2026-01-01T09:00:00Z\nr,,x,y\nbad name!,c,2026-01-01T08:00:00Z,2026-01-01T09:00:00Z\n", 0, []int{2, 4, 5}},
	{"overlap within the file", "role,user,start,end\nr,a,2026-01-01T08:00:00Z,2026-01-01T20:00:00Z\nr,b,2026-01-01T19:00:00Z,2026-01-02T08:00:00Z\n", 0, []int{3}},
	{"no header", "", 0, []int{1}},
	{"unknown column", "role,user,start,end,colour\n", 0, []int{1}},
	{"missing column", "role,user,start\n", 0, []int{1}},
	{"bad kind", "role,user,start,end,kind\nr,a,2026-01-01T08:00:00Z,2026-01-01T20:00:00Z,holiday\n", 0, []int{2}},
	{"bare quote", "role,user,start,end\nr,a\"b,2026-01-01T08:00:00Z,2026-01-01T20:00:00Z\n", 0, []int{2}},
	{"too long", "role,user,start,end\nr,a,2026-01-01T08:00:00Z,2026-07-01T20:00:00Z\n", 0, []int{2}},
}

func TestParseCSV(t *testing.T) {
	for _, c := range csvCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCSV([]byte(c.in))
			var ie *ImportError
			if c.badLine == nil {
				if err != nil || len(got) != c.shifts {
					t.Fatalf("got %d shifts, %v", len(got), err)
				}
				return
			}
			if !errors.As(err, &ie) {
				t.Fatalf("want an ImportError, got %v, %d shifts", err, len(got))
			}
			var lines []int
			for _, l := range ie.Lines {
				lines = append(lines, l.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(c.badLine) {
				t.Fatalf("bad lines %v, want %v: %v", lines, c.badLine, err)
			}
		})
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, c := range csvCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCSV(data)
		if err == nil {
			for _, s := range got {
				if s.Validate() != nil {
					t.Fatalf("accepted an invalid shift %+v", s)
				}
			}
			if len(Overlaps(nil, got)) > 0 {
				t.Fatal("accepted overlapping shifts")
			}
		} else if _, ok := err.(*ImportError); !ok {
			t.Fatalf("not an ImportError: %v", err)
		}
	})
}

const icalWeekly = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\n" +
	"DTSTART;TZID=Europe/Berlin:20260302T080000\r\nDTEND;TZID=Europe/Berlin:20260302T200000\r\n" +
	"RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=6\r\nEXDATE;TZID=Europe/Berlin:20260304T080000\r\n" +
	"SUMMARY:On call\r\nATTENDEE;CN=\"Lee, Dr\":mailto:dr.lee@hospital.example\r\nX-WARDLINE-ROLE:cardio\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

var icalCases = []struct {
	name   string
	in     string
	shifts int
	err    string // substring of the error; "" for none
}{
	{"weekly with exdate", icalWeekly, 5, ""},
	{"daily nights across dst", "BEGIN:VEVENT\nDTSTART;TZID=Europe/Berlin:20260327T200000\nDTEND;TZID=Europe/Berlin:20260328T080000\nRRULE:FREQ=DAILY;UNTIL=20260330T000000Z\nX-WARDLINE-USER:ben\nX-WARDLINE-ROLE:icu\nEND:VEVENT\n", 3, ""},
	{"duration and interval", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRRULE:FREQ=DAILY;INTERVAL=2;COUNT=3\nSUMMARY:kim\nEND:VEVENT\n", 3, ""},
	{"folded line", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT1\n 2H\nSUMMARY:kim\nEND:VEVENT\n", 1, ""},
	{"monthly refused", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRRULE:FREQ=MONTHLY\nSUMMARY:kim\nEND:VEVENT\n", 0, "FREQ=MONTHLY"},
	{"bysetpos refused", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRRULE:FREQ=WEEKLY;BYSETPOS=1\nSUMMARY:kim\nEND:VEVENT\n", 0, "BYSETPOS"},
	{"numbered byday refused", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRRULE:FREQ=WEEKLY;BYDAY=1MO\nSUMMARY:kim\nEND:VEVENT\n", 0, "BYDAY"},
	{"rdate refused", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRDATE:20260105T080000Z\nSUMMARY:kim\nEND:VEVENT\n", 0, "RDATE"},
	{"floating refused", "BEGIN:VEVENT\nDTSTART:20260101T080000\nDURATION:PT12H\nSUMMARY:kim\nEND:VEVENT\n", 0, "floating"},
	{"all-day refused", "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nDURATION:P1D\nSUMMARY:kim\nEND:VEVENT\n", 0, "all-day"},
	{"unknown zone", "BEGIN:VEVENT\nDTSTART;TZID=Mars/Olympus:20260101T080000\nDURATION:PT1H\nSUMMARY:kim\nEND:VEVENT\n", 0, "zone"},
	{"open rule stops at the horizon", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT12H\nRRULE:FREQ=DAILY\nSUMMARY:kim\nEND:VEVENT\n", 365, ""},
	{"unterminated", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\n", 0, "ends inside"},
	{"overlapping occurrences", "BEGIN:VEVENT\nDTSTART:20260101T080000Z\nDURATION:PT36H\nRRULE:FREQ=DAILY;COUNT=2\nSUMMARY:kim\nEND:VEVENT\n", 0, "overlaps"},
}

func TestParseICal(t *testing.T) {
	opts := ICalOptions{Role: "default-role", Horizon: mustTime(t, "2027-01-01T00:00:00Z")}
	for _, c := range icalCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseICal([]byte(c.in), opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("want an error with %q, got %v", c.err, err)
				}
				return
			}
			if err != nil || len(got) != c.shifts {
				t.Fatalf("got %d shifts, %v", len(got), err)
			}
		})
	}
	got, _ := ParseICal([]byte(icalCases[1].in), opts)
	// 27, 28 (spring-forward: 11 h) and 29 March.
	if l := got[1].End.Sub(got[1].Start); l != 11*time.Hour {
		t.Fatalf("the spring-forward night lasts %s", l)
	}
	got, _ = ParseICal([]byte(icalWeekly), opts)
	if got[0].User != "dr.lee" || got[0].Role != "cardio" || got[1].Start.Weekday() != time.Monday {
		t.Fatalf("weekly: %+v", got)
	}
}

func TestICalRoundTrip(t *testing.T) {
	entries := []RoleEntry{{Role: "cardio", Entry: Entry{User: "lee", Start: mustTime(t, "2026-01-01T08:00:00Z"), End: mustTime(t, "2026-01-01T20:00:00Z"), Kind: "shift"}},
		{Role: "a-very-long-role-name-that-needs-folding-when-written-out-ab", Entry: Entry{User: "lee", Start: mustTime(t, "2026-01-02T08:00:00Z"), End: mustTime(t, "2026-01-02T20:00:00Z"), Kind: "override"}}}
	out := WriteICal("lee", "wardline.example", entries, mustTime(t, "2026-01-01T00:00:00Z"))
	for _, l := range strings.Split(string(out), "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line longer than 75 octets: %q", l)
		}
	}
	back, err := ParseICal(out, ICalOptions{})
	if err != nil || len(back) != 2 || back[0].User != "lee" || back[1].Role != entries[1].Role {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func FuzzParseICal(f *testing.F) {
	for _, c := range icalCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseICal(data, ICalOptions{Role: "r", Horizon: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
		if _, ok := err.(*ImportError); err != nil && !ok {
			t.Fatalf("not an ImportError: %v", err)
		}
		for _, s := range got {
			if s.Validate() != nil {
				t.Fatalf("accepted an invalid shift %+v", s)
			}
		}
	})
}

// FuzzRRule expands arbitrary rules from arbitrary starts: bounded, in
// order, never before the start.
func FuzzRRule(f *testing.F) {
	for _, r := range []string{"FREQ=DAILY;COUNT=3", "FREQ=WEEKLY;BYDAY=MO,FR;INTERVAL=2;UNTIL=20270101T000000Z", "FREQ=WEEKLY;WKST=SU", "FREQ=DAILY;INTERVAL=1000"} {
		f.Add(r, int64(1767225600), "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, rule string, start int64, zone string) {
		r, err := parseRRule(rule)
		if err != nil {
			return
		}
		loc, err := LoadZone(zone)
		if err != nil {
			return
		}
		st := time.Unix(start%(1<<34), 0).In(loc)
		got, err := r.expand(st, st.Add(3*365*24*time.Hour), nil)
		if err != nil {
			return
		}
		if len(got) > MaxOccurrences || (r.count > 0 && len(got) > r.count) {
			t.Fatalf("%d occurrences", len(got))
		}
		for i, x := range got {
			if x.Before(st.Add(-time.Hour)) || (i > 0 && !x.After(got[i-1])) {
				t.Fatalf("occurrence %d out of order: %v", i, x)
			}
		}
	})
}
