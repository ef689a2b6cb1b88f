package oncall

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ICalOptions say how to read an iCalendar feed into shifts.
type ICalOptions struct {
	Role    string    // the role of events that carry no X-WARDLINE-ROLE
	Horizon time.Time // no occurrence starts at or after it (open-ended rules stop here)
	// UserByEmail maps an ATTENDEE's address to a login; nil: the part
	// before '@' is the login.
	UserByEmail func(email string) (string, bool)
}

// MaxOccurrences is the most shifts one VEVENT may expand to.
const MaxOccurrences = 5000

// ParseICal reads the VEVENTs of an iCalendar (RFC 5545) stream as shifts
// of the kind "shift". The person is X-WARDLINE-USER, else the first
// ATTENDEE's mailto address, else SUMMARY; the role is X-WARDLINE-ROLE,
// else opts.Role. DTSTART and DTEND (or DURATION) are UTC ("Z"), or
// local to a TZID that time.LoadLocation knows; an RRULE may use FREQ
// (DAILY or WEEKLY), INTERVAL, BYDAY (plain weekdays), COUNT, UNTIL and
// WKST, and EXDATE removes occurrences. Anything else that changes when
// an event happens (RDATE, RECURRENCE-ID, other FREQ or BY parts, floating
// or all-day times) is refused with a clear error naming its line, as is
// every bad line; as for ParseCSV, the good lines' shifts come with the
// error, and none may be imported.
func ParseICal(data []byte, opts ICalOptions) ([]Imported, error) {
	lines, err := unfold(data)
	if err != nil {
		return nil, err
	}
	var out []Imported
	var bad []*LineError
	var ev *vevent
	depth := 0
	for _, l := range lines {
		p, err := parseProp(l.text)
		if err != nil {
			bad = append(bad, &LineError{l.num, err})
			continue
		}
		switch {
		case p.name == "BEGIN":
			depth++
			if strings.EqualFold(p.value, "VEVENT") {
				if ev != nil {
					bad = append(bad, &LineError{l.num, fmt.Errorf("VEVENT inside a VEVENT: %w", ErrSyntax)})
				}
				ev = &vevent{line: l.num}
			}
		case p.name == "END":
			depth--
			if strings.EqualFold(p.value, "VEVENT") && ev != nil {
				shifts, lerr := ev.shifts(opts)
				if lerr != nil {
					bad = append(bad, lerr)
				}
				out = append(out, shifts...)
				ev = nil
			}
		case ev != nil:
			if lerr := ev.add(p, l.num); lerr != nil {
				bad = append(bad, lerr)
			}
		}
		if len(out) > MaxImportLines {
			bad = append(bad, &LineError{l.num, fmt.Errorf("more than %d shifts: %w", MaxImportLines, ErrSyntax)})
			break
		}
	}
	if ev != nil || depth != 0 {
		bad = append(bad, &LineError{len(lines), fmt.Errorf("the calendar ends inside a component: %w", ErrSyntax)})
	}
	return checked(out, bad)
}

type icalLine struct {
	num  int
	text string
}

// unfold joins folded lines (RFC 5545 3.1), keeping each logical line's
// first physical line number.
func unfold(data []byte) ([]icalLine, error) {
	if len(data) > 32<<20 {
		return nil, &ImportError{Lines: []*LineError{{1, fmt.Errorf("the file is larger than 32 MiB: %w", ErrSyntax)}}}
	}
	var out []icalLine
	for i, raw := range bytes.Split(data, []byte("\n")) {
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') && len(out) > 0 {
			out[len(out)-1].text += string(raw[1:])
			continue
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		out = append(out, icalLine{i + 1, string(raw)})
	}
	return out, nil
}

// prop is one content line: NAME;PARAM=V;...:VALUE.
type prop struct {
	name   string
	params map[string]string
	value  string
}

func parseProp(s string) (prop, error) {
	var p prop
	i, inQuote := 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			inQuote = !inQuote
		}
		if !inQuote && c == ':' {
			break
		}
	}
	if i == len(s) {
		return p, fmt.Errorf("content line without ':': %w", ErrSyntax)
	}
	head, value := s[:i], s[i+1:]
	parts := splitUnquoted(head, ';')
	p.name = strings.ToUpper(parts[0])
	if p.name == "" {
		return p, fmt.Errorf("content line without a name: %w", ErrSyntax)
	}
	p.params = map[string]string{}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("parameter %q without '=': %w", clip(kv), ErrSyntax)
		}
		p.params[strings.ToUpper(k)] = strings.Trim(v, `"`)
	}
	p.value = value
	return p, nil
}

func splitUnquoted(s string, sep byte) []string {
	var out []string
	start, inQuote := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case sep:
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// vevent gathers one VEVENT's properties.
type vevent struct {
	line                int
	start, end          time.Time
	dur                 time.Duration
	hasDur              bool
	zone                *time.Location
	user, role, summary string
	attendee            string
	rrule               *rrule
	exdates             []time.Time
}

func (ev *vevent) add(p prop, num int) *LineError {
	bad := func(err error) *LineError { return &LineError{num, err} }
	switch p.name {
	case "DTSTART":
		t, loc, err := icalTime(p)
		if err != nil {
			return bad(fmt.Errorf("DTSTART: %w", err))
		}
		ev.start, ev.zone = t, loc
	case "DTEND":
		t, _, err := icalTime(p)
		if err != nil {
			return bad(fmt.Errorf("DTEND: %w", err))
		}
		ev.end = t
	case "DURATION":
		d, err := icalDuration(p.value)
		if err != nil {
			return bad(err)
		}
		ev.dur, ev.hasDur = d, true
	case "RRULE":
		if ev.rrule != nil {
			return bad(fmt.Errorf("more than one RRULE: %w", ErrUnsupported))
		}
		r, err := parseRRule(p.value)
		if err != nil {
			return bad(err)
		}
		ev.rrule = &r
	case "EXDATE":
		for _, v := range strings.Split(p.value, ",") {
			t, _, err := icalTime(prop{name: "EXDATE", params: p.params, value: v})
			if err != nil {
				return bad(fmt.Errorf("EXDATE: %w", err))
			}
			ev.exdates = append(ev.exdates, t)
		}
	case "RDATE", "RECURRENCE-ID", "EXRULE":
		return bad(fmt.Errorf("%s is not supported; expand it into separate events: %w", p.name, ErrUnsupported))
	case "X-WARDLINE-USER":
		ev.user = strings.ToLower(strings.TrimSpace(p.value))
	case "X-WARDLINE-ROLE":
		ev.role = strings.TrimSpace(p.value)
	case "SUMMARY":
		ev.summary = unescapeText(p.value)
	case "ATTENDEE":
		if ev.attendee == "" {
			v := p.value
			if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
				v = v[7:]
			}
			ev.attendee = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return nil
}

// shifts expands the event into shifts.
func (ev *vevent) shifts(opts ICalOptions) ([]Imported, *LineError) {
	bad := func(err error) *LineError { return &LineError{ev.line, err} }
	if ev.start.IsZero() {
		return nil, bad(fmt.Errorf("VEVENT without DTSTART: %w", ErrSyntax))
	}
	length := ev.dur
	switch {
	case !ev.end.IsZero() && ev.hasDur:
		return nil, bad(fmt.Errorf("VEVENT with both DTEND and DURATION: %w", ErrSyntax))
	case !ev.end.IsZero():
		length = ev.end.Sub(ev.start)
	case !ev.hasDur:
		return nil, bad(fmt.Errorf("VEVENT without DTEND or DURATION: %w", ErrSyntax))
	}
	user := ev.user
	if user == "" && ev.attendee != "" {
		if opts.UserByEmail != nil {
			u, ok := opts.UserByEmail(ev.attendee)
			if !ok {
				return nil, bad(fmt.Errorf("no user has the ATTENDEE's address: %w", ErrSyntax))
			}
			user = u
		} else {
			user, _, _ = strings.Cut(ev.attendee, "@")
		}
	}
	if user == "" {
		user = strings.ToLower(strings.TrimSpace(ev.summary))
	}
	role := ev.role
	if role == "" {
		role = opts.Role
	}
	role, ok := normalName(role)
	if !ok {
		return nil, bad(fmt.Errorf("VEVENT names no valid role (X-WARDLINE-ROLE or --role): %w", ErrSyntax))
	}
	starts := []time.Time{ev.start}
	if ev.rrule != nil {
		var err error
		if starts, err = ev.rrule.expand(ev.start.In(ev.zone), opts.Horizon, ev.exdates); err != nil {
			return nil, bad(err)
		}
	} else if len(ev.exdates) > 0 && containsTime(ev.exdates, ev.start) {
		starts = nil
	}
	out := make([]Imported, 0, len(starts))
	for _, st := range starts {
		// A wall-clock event keeps its wall-clock length across a
		// daylight-saving change: 20:00-08:00 stays 20:00-08:00.
		end := st.Add(length)
		if ev.zone != time.UTC && ev.rrule != nil {
			wall := ev.start.In(ev.zone)
			we := wall.Add(length)
			days := int(civilDay(we).Sub(civilDay(wall)) / (24 * time.Hour))
			sl := st.In(ev.zone)
			end = time.Date(sl.Year(), sl.Month(), sl.Day()+days, we.Hour(), we.Minute(), we.Second(), 0, ev.zone)
		}
		s := Shift{Role: role, User: user, Start: st.UTC(), End: end.UTC(), Layer: LayerShift}
		if err := s.Validate(); err != nil {
			return nil, bad(err)
		}
		out = append(out, Imported{Line: ev.line, Shift: s})
	}
	return out, nil
}

func containsTime(ts []time.Time, t time.Time) bool {
	for _, x := range ts {
		if x.Equal(t) {
			return true
		}
	}
	return false
}

// icalTime reads a DATE-TIME: UTC ("...Z") or local to TZID. Floating
// times and all-day DATEs are refused: a shift is an instant range.
func icalTime(p prop) (time.Time, *time.Location, error) {
	if strings.EqualFold(p.params["VALUE"], "DATE") || len(p.value) == 8 {
		return time.Time{}, nil, fmt.Errorf("all-day dates are not supported; give a DATE-TIME: %w", ErrUnsupported)
	}
	v := p.value
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("%q is not a DATE-TIME: %w", clip(v), ErrSyntax)
		}
		return t, time.UTC, nil
	}
	tz := p.params["TZID"]
	if tz == "" {
		return time.Time{}, nil, fmt.Errorf("floating time %q; give TZID or a UTC time: %w", clip(v), ErrUnsupported)
	}
	loc, err := LoadZone(strings.TrimPrefix(tz, "/"))
	if err != nil {
		return time.Time{}, nil, err
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("%q is not a DATE-TIME: %w", clip(v), ErrSyntax)
	}
	return t, loc, nil
}

// icalDuration reads a DURATION such as PT12H or P1DT2H30M (weeks too).
func icalDuration(v string) (time.Duration, error) {
	bad := fmt.Errorf("DURATION %q is not like P1DT12H: %w", clip(v), ErrSyntax)
	s := strings.TrimPrefix(v, "+")
	if strings.HasPrefix(s, "-") || !strings.HasPrefix(s, "P") {
		return 0, bad
	}
	s = s[1:]
	var d time.Duration
	inTime, any := false, false
	for s != "" {
		if s[0] == 'T' {
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return 0, bad
		}
		n, _ := strconv.Atoi(s[:i])
		unit := map[bool]map[byte]time.Duration{
			false: {'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
			true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
		}[inTime][s[i]]
		if unit == 0 {
			return 0, bad
		}
		d += time.Duration(n) * unit
		s, any = s[i+1:], true
	}
	if !any {
		return 0, bad
	}
	return d, nil
}

// unescapeText undoes TEXT escaping (\\, \;, \,, \n).
func unescapeText(s string) string {
	r := strings.NewReplacer(`\\`, `\`, `\;`, `;`, `\,`, `,`, `\n`, "\n", `\N`, "\n")
	return r.Replace(s)
}

// civilDay is t's calendar date as midnight UTC, to count days between dates.
func civilDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
