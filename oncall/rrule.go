package oncall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rrule is the subset of an RFC 5545 RRULE that shifts need.
type rrule struct {
	freq     string // DAILY or WEEKLY
	interval int
	byday    []time.Weekday
	count    int
	until    time.Time
}

var weekdays = map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday,
	"WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}

// parseRRule reads an RRULE value, refusing the parts it does not support.
func parseRRule(v string) (rrule, error) {
	r := rrule{interval: 1}
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(part, "=")
		k = strings.ToUpper(k)
		if !ok || val == "" {
			return r, fmt.Errorf("RRULE part %q is not NAME=VALUE: %w", clip(part), ErrSyntax)
		}
		if seen[k] {
			return r, fmt.Errorf("RRULE repeats %s: %w", k, ErrSyntax)
		}
		seen[k] = true
		switch k {
		case "FREQ":
			r.freq = strings.ToUpper(val)
			if r.freq != "DAILY" && r.freq != "WEEKLY" {
				return r, fmt.Errorf("RRULE FREQ=%s: only DAILY and WEEKLY are supported: %w", clip(r.freq), ErrUnsupported)
			}
		case "INTERVAL":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 1000 {
				return r, fmt.Errorf("RRULE INTERVAL must be 1 to 1000: %w", ErrSyntax)
			}
			r.interval = n
		case "COUNT":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxOccurrences {
				return r, fmt.Errorf("RRULE COUNT must be 1 to %d: %w", MaxOccurrences, ErrSyntax)
			}
			r.count = n
		case "UNTIL":
			t, _, err := icalTime(prop{value: val, params: map[string]string{}})
			if d, derr := time.Parse("20060102", val); derr == nil {
				t, err = d.Add(24*time.Hour-time.Second), nil // a DATE: the whole day
			}
			if err != nil {
				return r, fmt.Errorf("RRULE UNTIL: %w", err)
			}
			r.until = t
		case "BYDAY":
			for _, d := range strings.Split(strings.ToUpper(val), ",") {
				wd, ok := weekdays[d]
				if !ok {
					return r, fmt.Errorf("RRULE BYDAY=%s: only plain weekdays (MO, TU, ...) are supported: %w", clip(d), ErrUnsupported)
				}
				r.byday = append(r.byday, wd)
			}
		case "WKST":
			if _, ok := weekdays[strings.ToUpper(val)]; !ok {
				return r, fmt.Errorf("RRULE WKST=%s is not a weekday: %w", clip(val), ErrSyntax)
			}
		default:
			return r, fmt.Errorf("RRULE %s is not supported (FREQ, INTERVAL, BYDAY, COUNT, UNTIL, WKST are): %w", clip(k), ErrUnsupported)
		}
	}
	switch {
	case r.freq == "":
		return r, fmt.Errorf("RRULE without FREQ: %w", ErrSyntax)
	case r.count > 0 && !r.until.IsZero():
		return r, fmt.Errorf("RRULE with both COUNT and UNTIL: %w", ErrSyntax)
	case r.freq == "DAILY" && len(r.byday) > 0:
		return r, fmt.Errorf("RRULE BYDAY with FREQ=DAILY is not supported: %w", ErrUnsupported)
	}
	return r, nil
}

// expand returns the occurrence starts of the rule from start (a time in
// the event's zone; the wall-clock time repeats), before horizon and
// UNTIL, at most COUNT of them (EXDATEs count, as RFC 5545 says), without
// the EXDATEs. It refuses an open rule without a horizon, and more than
// MaxOccurrences.
func (r rrule) expand(start, horizon time.Time, exdates []time.Time) ([]time.Time, error) {
	if r.count == 0 && r.until.IsZero() && horizon.IsZero() {
		return nil, fmt.Errorf("RRULE without COUNT or UNTIL needs a horizon: %w", ErrUnsupported)
	}
	loc := start.Location()
	y, m, d := start.Date()
	h, mi, s := start.Clock()
	at := func(day int) time.Time { return time.Date(y, m, d+day, h, mi, s, 0, loc) }
	var out []time.Time
	n := 0
	emit := func(t time.Time) (bool, error) {
		if (!r.until.IsZero() && t.After(r.until)) || (!horizon.IsZero() && !t.Before(horizon)) {
			return false, nil
		}
		n++
		if !containsTime(exdates, t) {
			out = append(out, t)
		}
		if len(out) > MaxOccurrences {
			return false, fmt.Errorf("RRULE expands to more than %d occurrences: %w", MaxOccurrences, ErrUnsupported)
		}
		return r.count == 0 || n < r.count, nil
	}
	if r.freq == "DAILY" {
		for i := 0; ; i += r.interval {
			more, err := emit(at(i))
			if err != nil || !more {
				return out, err
			}
		}
	}
	days := r.byday
	if len(days) == 0 {
		days = []time.Weekday{start.Weekday()}
	}
	// Weeks start on Monday (WKST=MO, the default); the first week is
	// start's, and days of it before start do not occur.
	weekStart := -((int(start.Weekday()) + 6) % 7)
	for w := 0; ; w += r.interval {
		for off := 0; off < 7; off++ {
			day := weekStart + w*7 + off
			t := at(day)
			if day < 0 || !hasDay(days, t.Weekday()) {
				continue
			}
			more, err := emit(t)
			if err != nil || !more {
				return out, err
			}
		}
		if w > 52*MaxOccurrences {
			return out, nil
		}
	}
}

func hasDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}
