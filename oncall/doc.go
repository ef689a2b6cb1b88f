// Package oncall is the on-call core: the schedule of each role (explicit
// shifts, recurring rotations, overrides and swaps), compiled into a
// timeline that answers "who covers role R at time t", who comes next, and
// where coverage has gaps. It also reads schedules from CSV and iCalendar
// (RFC 5545) and writes a person's shifts as iCalendar.
//
// Precedence, when layers overlap: an override (or a swap, which is a pair
// of overrides) wins over an explicit shift, which wins over a rotation.
// Within one layer of one role, overlapping entries are refused
// (ErrOverlap). Times are instants; rotations repeat a wall-clock time in
// their IANA zone, so a shift that spans a daylight-saving change has its
// true length (a 20:00-08:00 night is 11 hours on the spring-forward night
// in Europe/Berlin and 13 hours in autumn).
//
// It imports only the standard library and directory; time/tzdata is
// embedded so that zones load on a host without a zoneinfo database.
package oncall
