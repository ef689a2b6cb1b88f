package alerting

import (
	"fmt"
	"slices"
	"time"

	"github.com/wardline/wardline/messaging"
)

// Kind is what an escalation escalates.
type Kind string

// Kinds of escalations.
const (
	KindAlert   Kind = "alert"   // a clinical alert: accept or decline on out/respond
	KindMessage Kind = "message" // an urgent or critical message: read it (out/ack)
)

// State is where an escalation stands.
type State string

// States of an escalation. Exhausted means every step's wait ran out:
// whoever was reached may still accept, and operations is told.
const (
	Open      State = "open"
	Accepted  State = "accepted"
	Exhausted State = "exhausted"
	Cancelled State = "cancelled"
	Expired   State = "expired" // its expiry came with nobody accepting (see Expire)
)

// Alert is the content of a clinical alert. Text is shown only to the
// people reached, never logged.
type Alert struct {
	Kind     string             `json:"kind"` // e.g. critical_result
	Text     string             `json:"text"`
	Priority messaging.Priority `json:"priority"`
	Patient  *messaging.Patient `json:"patient,omitempty"`
}

// Reach records one step reaching people (or no one: Note says why).
type Reach struct {
	Step  int       `json:"step"` // index into the policy's steps
	Users []string  `json:"users"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Escalation is one alert's or message's climb through a policy.
type Escalation struct {
	ID         string    `json:"id"` // alr_... for an alert; esc_<message id> for a message
	Kind       Kind      `json:"kind"`
	Subject    string    `json:"subject"` // the alert or message id
	Alert      *Alert    `json:"alert,omitempty"`
	Policy     Policy    `json:"policy"` // as it was when the escalation began
	Step       int       `json:"step"`   // the last step reached; -1 before the first
	Due        time.Time `json:"due,omitzero"`
	State      State     `json:"state"`
	Created    time.Time `json:"created"`
	By         string    `json:"by,omitempty"` // who raised it
	Reached    []Reach   `json:"reached"`
	Declined   []string  `json:"declined,omitempty"`
	AcceptedBy string    `json:"accepted_by,omitempty"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	Expires    time.Time `json:"expires,omitzero"`   // when it closes as expired; zero: Created + DefaultExpiry
	PurgedAt   time.Time `json:"purged_at,omitzero"` // an alert's text and patient deleted by retention
}

// New returns an escalation that has reached no step yet.
func New(id string, kind Kind, subject string, p Policy, now time.Time) *Escalation {
	return &Escalation{ID: id, Kind: kind, Subject: subject, Policy: p, Step: -1, State: Open, Created: now}
}

// Active reports whether the escalation can still be accepted.
func (e *Escalation) Active() bool { return e.State == Open || e.State == Exhausted }

// Reach moves the escalation to step, which must be the next one, having
// reached users (none: the step found nobody; it is recorded and its wait
// still runs unless the caller moves on at once). Past the last step it
// exhausts the escalation.
func (e *Escalation) Reach(step int, users []string, note string, now time.Time) error {
	if e.State != Open {
		return ErrClosed
	}
	if step != e.Step+1 {
		return ErrStale
	}
	if step >= len(e.Policy.Steps) {
		e.Step, e.State, e.Due = step, Exhausted, time.Time{}
		return nil
	}
	users = slices.Clone(users)
	slices.Sort(users)
	e.Step, e.Due = step, now.Add(e.Policy.Steps[step].Wait)
	e.Reached = append(e.Reached, Reach{Step: step, Users: slices.Compact(users), At: now, Note: note})
	return nil
}

// Everyone returns every user the escalation reached, sorted.
func (e *Escalation) Everyone() []string {
	var out []string
	for _, r := range e.Reached {
		out = append(out, r.Users...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// WasReached reports whether user was reached.
func (e *Escalation) WasReached(user string) bool {
	_, found := slices.BinarySearch(e.Everyone(), user)
	return found
}

// Accept closes the escalation: user accepted it (or, for a message, read
// it). Only someone it reached may.
func (e *Escalation) Accept(user string, now time.Time) error {
	if !e.Active() {
		return fmt.Errorf("%w (%s)", ErrClosed, e.State)
	}
	if !e.WasReached(user) {
		return ErrNotReached
	}
	e.State, e.AcceptedBy, e.AcceptedAt, e.Due = Accepted, user, now, time.Time{}
	return nil
}

// Decline records that user declined; the caller then moves the
// escalation to its next step at once.
func (e *Escalation) Decline(user string) error {
	if !e.Active() {
		return fmt.Errorf("%w (%s)", ErrClosed, e.State)
	}
	if !e.WasReached(user) {
		return ErrNotReached
	}
	if !slices.Contains(e.Declined, user) {
		e.Declined = append(e.Declined, user)
	}
	return nil
}

// Cancel closes the escalation without an acceptance (its message was
// recalled, for example).
func (e *Escalation) Cancel() {
	if e.Active() {
		e.State, e.Due = Cancelled, time.Time{}
	}
}
