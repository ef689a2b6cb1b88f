package oncall

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// MaxImportLines is the most shifts one import may hold.
const MaxImportLines = 200000

// Imported is a shift read from a file, with the line it came from.
type Imported struct {
	Line int
	Shift
}

// ParseCSV reads shifts from CSV: a header line naming the columns role,
// user, start and end (any order), optionally kind (shift or override) and
// note; then one shift a line, times in RFC 3339 with an offset. Role
// names are case-insensitive. Every bad line is reported (an
// *ImportError), and shifts of one role and layer that overlap within the
// file are bad lines too. With an error, the shifts of the good lines are
// returned as well, so that the caller can check them against the store
// and report every bad line at once; it must import none of them.
func ParseCSV(data []byte) ([]Imported, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return nil, &ImportError{Lines: []*LineError{{Line: 1, Err: fmt.Errorf("no header line: %w", ErrSyntax)}}}
	}
	col := map[string]int{}
	var bad []*LineError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "role", "user", "start", "end", "kind", "note":
			if _, dup := col[h]; dup {
				bad = append(bad, &LineError{1, fmt.Errorf("column %s twice: %w", h, ErrSyntax)})
			}
			col[h] = i
		default:
			bad = append(bad, &LineError{1, fmt.Errorf("unknown column %q (want role, user, start, end, kind, note): %w", clip(h), ErrSyntax)})
		}
	}
	for _, need := range []string{"role", "user", "start", "end"} {
		if _, ok := col[need]; !ok {
			bad = append(bad, &LineError{1, fmt.Errorf("the header has no %s column: %w", need, ErrSyntax)})
		}
	}
	if len(bad) > 0 {
		return nil, &ImportError{Lines: bad}
	}
	var out []Imported
	for {
		rec, err := r.Read()
		line := 0
		if err == nil && len(rec) > 0 {
			line, _ = r.FieldPos(0)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, &LineError{pe.StartLine, fmt.Errorf("%v: %w", pe.Err, ErrSyntax)})
			if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
				break // the reader cannot find the next line reliably
			}
			continue
		}
		if err != nil {
			bad = append(bad, &LineError{line, fmt.Errorf("%v: %w", err, ErrSyntax)})
			break
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(out)+len(bad) >= MaxImportLines {
			bad = append(bad, &LineError{line, fmt.Errorf("more than %d lines: %w", MaxImportLines, ErrSyntax)})
			break
		}
		s, err := csvShift(rec, col)
		if err != nil {
			bad = append(bad, &LineError{line, err})
			continue
		}
		out = append(out, Imported{Line: line, Shift: s})
	}
	return checked(out, bad)
}

// checked returns the shifts and, when any line is bad, every bad line.
func checked(out []Imported, bad []*LineError) ([]Imported, error) {
	bad = append(bad, overlapsWithin(out)...)
	if len(bad) > 0 {
		sortLines(bad)
		return out, &ImportError{Lines: bad}
	}
	return out, nil
}

func csvShift(rec []string, col map[string]int) (Shift, error) {
	field := func(name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var s Shift
	var ok bool
	if s.Role, ok = normalName(field("role")); !ok {
		return s, fmt.Errorf("role must be 1 to 64 letters, digits, '.', '-' or '_': %w", ErrSyntax)
	}
	if s.User = strings.ToLower(field("user")); s.User == "" || len(s.User) > 64 {
		return s, fmt.Errorf("user is empty or too long: %w", ErrSyntax)
	}
	var err error
	if s.Start, err = time.Parse(time.RFC3339, field("start")); err != nil {
		return s, fmt.Errorf("start is not an RFC 3339 time: %w", ErrSyntax)
	}
	if s.End, err = time.Parse(time.RFC3339, field("end")); err != nil {
		return s, fmt.Errorf("end is not an RFC 3339 time: %w", ErrSyntax)
	}
	s.Start, s.End = s.Start.UTC(), s.End.UTC()
	if s.Layer, ok = ParseLayer(strings.ToLower(field("kind"))); !ok {
		return s, fmt.Errorf("kind must be shift or override: %w", ErrSyntax)
	}
	if s.Note = field("note"); len(s.Note) > 200 {
		return s, fmt.Errorf("note is longer than 200 characters: %w", ErrSyntax)
	}
	return s, s.Validate()
}

// overlapsWithin reports imported shifts of one role and layer that
// overlap another line of the same file.
func overlapsWithin(in []Imported) []*LineError { return Overlaps(nil, in) }

// Overlaps reports each new shift that overlaps, in its role and layer, an
// existing one or another new one (the later line is the bad one). It
// sorts, so it takes O(n log n) for a whole year's import.
func Overlaps(existing []Shift, in []Imported) []*LineError {
	type item struct {
		Imported
		old bool
	}
	type key struct {
		role  string
		layer Layer
	}
	groups := map[key][]item{}
	for _, s := range existing {
		k := key{s.Role, s.Layer}
		groups[k] = append(groups[k], item{Imported{Shift: s}, true})
	}
	for _, s := range in {
		k := key{s.Role, s.Layer}
		groups[k] = append(groups[k], item{s, false})
	}
	var bad []*LineError
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b item) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			if a.old != b.old { // existing first: the new one is at fault
				if a.old {
					return -1
				}
				return 1
			}
			return a.Line - b.Line
		})
		var last *item
		for i := range g {
			it := &g[i]
			if last != nil && it.Start.Before(last.End) {
				culprit, other := it, last
				if culprit.old { // an old one after a new one: blame the new one
					culprit, other = last, it
				}
				if !culprit.old {
					what := fmt.Sprintf("line %d", other.Line)
					if other.old {
						what = fmt.Sprintf("the existing %s of %s from %s", other.Layer, other.User, other.Start.Format(time.RFC3339))
					}
					bad = append(bad, &LineError{culprit.Line, fmt.Errorf("overlaps %s: %w", what, ErrOverlap)})
				}
				if it.End.After(last.End) {
					last = it
				}
				continue
			}
			last = it
		}
	}
	sortLines(bad)
	return bad
}

func sortLines(l []*LineError) {
	slices.SortStableFunc(l, func(a, b *LineError) int { return a.Line - b.Line })
}

// normalName is messaging.NormalizeName, which oncall may not import.
func normalName(n string) (string, bool) {
	n = strings.TrimSpace(n)
	if n == "" || len(n) > 64 {
		return "", false
	}
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return "", false
		}
	}
	return strings.ToLower(n), true
}

// clip shortens a value for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
