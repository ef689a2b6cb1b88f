package alerting

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
)

// Sentinel errors of alerting.
var (
	ErrInvalid    = fmt.Errorf("invalid escalation: %w", directory.ErrInvalid)
	ErrClosed     = errors.New("the escalation is closed")
	ErrNotReached = errors.New("the escalation did not reach this user")
	ErrStale      = errors.New("the escalation moved on already")
)

// Limits of a policy.
const (
	MaxSteps = 20
	MaxWait  = 24 * time.Hour
	MinWait  = time.Second
)

// TargetKind is what a step reaches.
type TargetKind string

// Kinds of step targets.
const (
	TargetRole  TargetKind = "role"
	TargetUser  TargetKind = "user"
	TargetGroup TargetKind = "group"
)

// Step is one rung of an escalation: whom to reach, and how long they have
// to accept (an alert) or read (a message) before the next step.
type Step struct {
	Kind TargetKind    `json:"kind"`
	Name string        `json:"name"`
	Wait time.Duration `json:"wait"`
}

// String writes a step as the CLI takes it: kind:name:wait.
func (s Step) String() string { return fmt.Sprintf("%s:%s:%s", s.Kind, s.Name, s.Wait) }

// Address is the step's target as a messaging address.
func (s Step) Address() messaging.Address {
	switch s.Kind {
	case TargetRole:
		return messaging.Address{Role: s.Name}
	case TargetGroup:
		return messaging.Address{Group: s.Name}
	}
	return messaging.Address{User: s.Name}
}

// ParseStep reads "role:cardiology-oncall:5m", "user:dr.lee:2m" or
// "group:icu-4:10m".
func ParseStep(s string) (Step, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Step{}, fmt.Errorf("step %q must be kind:name:wait (role:x:5m): %w", s, ErrInvalid)
	}
	wait, err := time.ParseDuration(parts[2])
	if err != nil {
		return Step{}, fmt.Errorf("step %q: wait %q is not a duration like 5m: %w", s, parts[2], ErrInvalid)
	}
	st := Step{Kind: TargetKind(strings.ToLower(parts[0])), Name: parts[1], Wait: wait}
	return st.Normalize()
}

// Normalize checks a step and returns it in canonical form.
func (s Step) Normalize() (Step, error) {
	a, ok := s.Address().Normalize()
	switch {
	case s.Kind != TargetRole && s.Kind != TargetUser && s.Kind != TargetGroup:
		return Step{}, fmt.Errorf("step kind %q must be role, user or group: %w", s.Kind, ErrInvalid)
	case !ok:
		return Step{}, fmt.Errorf("step %s names no valid %s: %w", s.Name, s.Kind, ErrInvalid)
	case s.Wait < MinWait || s.Wait > MaxWait:
		return Step{}, fmt.Errorf("step wait must be %s to %s: %w", MinWait, MaxWait, ErrInvalid)
	}
	s.Name = a.Name()
	return s, nil
}

// Policy is a named, ordered list of steps.
type Policy struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// Validate checks a policy and puts its names in canonical form.
func (p *Policy) Validate() error {
	n, ok := messaging.NormalizeName(p.Name)
	if !ok {
		return fmt.Errorf("policy name must be 1 to 64 letters, digits, '.', '-' or '_': %w", ErrInvalid)
	}
	p.Name = n
	if len(p.Steps) == 0 || len(p.Steps) > MaxSteps {
		return fmt.Errorf("a policy needs 1 to %d steps: %w", MaxSteps, ErrInvalid)
	}
	for i, s := range p.Steps {
		ns, err := s.Normalize()
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		p.Steps[i] = ns
	}
	return nil
}
