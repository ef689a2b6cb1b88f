package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
)

// Keys of escalation policies and escalations.
const (
	prefixPolicy     = "pol/"     // + name: JSON alerting.Policy
	prefixPolicyUse  = "polu/"    // + "role/" + role or "priority/" + priority: policy name
	prefixEscalation = "esc/"     // + id: JSON alerting.Escalation
	prefixEscOpen    = "esco/"    // + id: present while the escalation is active (resumed after a restart)
	prefixUserStatus = "ustatus/" // + login: JSON UserStatus
)

func policyKey(name string) []byte          { return []byte(prefixPolicy + name) }
func escalationKey(id string) []byte        { return []byte(prefixEscalation + id) }
func escOpenKey(id string) []byte           { return []byte(prefixEscOpen + id) }
func policyUseKey(kind, name string) []byte { return []byte(prefixPolicyUse + kind + "/" + name) }

// PutPolicy adds or replaces an escalation policy. Escalations under way
// keep the policy as it was when they began.
type PutPolicy struct {
	By     audit.Actor
	Policy alerting.Policy // validated
}

// Event implements Command.
func (c PutPolicy) Event() audit.Event {
	steps := make([]string, 0, len(c.Policy.Steps))
	for _, s := range c.Policy.Steps {
		steps = append(steps, s.String())
	}
	e := c.By.Event("policy.put", "policy:"+c.Policy.Name)
	e.Reason = strings.Join(steps, " ")
	return e
}

// Apply implements Command.
func (c PutPolicy) Apply(tx *Txn) error {
	p := c.Policy
	if err := p.Validate(); err != nil {
		return err
	}
	return putJSON(tx, policyKey(p.Name), p)
}

// AttachPolicy makes a policy escalate the urgent and critical messages
// sent to a role (Kind "role") or every message of a priority (Kind
// "priority", Name "urgent" or "critical"); an empty Policy detaches.
type AttachPolicy struct {
	By         audit.Actor
	Kind, Name string
	Policy     string
}

// Event implements Command.
func (c AttachPolicy) Event() audit.Event {
	return c.By.Event("policy.attach", "policy:"+c.Policy, c.Kind+":"+c.Name)
}

// Apply implements Command.
func (c AttachPolicy) Apply(tx *Txn) error {
	switch c.Kind {
	case "role":
		if _, err := getGroup(tx, kindRole, c.Name); err != nil {
			return err
		}
	case "priority":
		if c.Name != string(messaging.Urgent) && c.Name != string(messaging.Critical) {
			return &directory.FieldError{Field: "priority", Reason: "must be urgent or critical"}
		}
	default:
		return &directory.FieldError{Field: "kind", Reason: "attach to a role or a priority"}
	}
	if c.Policy == "" {
		tx.Delete(policyUseKey(c.Kind, c.Name))
		return nil
	}
	if _, err := tx.Get(policyKey(c.Policy)); err != nil {
		return fmt.Errorf("policy %s: %w", c.Policy, directory.ErrNotFound)
	}
	tx.Set(policyUseKey(c.Kind, c.Name), []byte(c.Policy))
	return nil
}

// Policies returns every policy, by name.
func (s *Store) Policies(ctx context.Context) ([]alerting.Policy, error) {
	return listJSON[alerting.Policy](s, ctx, prefixPolicy)
}

// Policy returns a policy.
func (s *Store) Policy(name string) (alerting.Policy, error) {
	var p alerting.Policy
	err := s.View(func(r *Reader) error {
		b, err := r.Get(policyKey(name))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("policy %s: %w", name, directory.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &p)
	})
	return p, err
}

// PolicyUses maps "role/NAME" and "priority/NAME" to the policy attached.
func (s *Store) PolicyUses(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixPolicyUse), func(k, v []byte) error {
			out[string(k[len(prefixPolicyUse):])] = string(v)
			return ctx.Err()
		})
	})
	return out, err
}

// UserStatus is what a user says about their availability (set on out/req
// status.set). ForwardTo names a colleague who takes their role messages
// while they are on do-not-disturb or off shift.
type UserStatus struct {
	Status    string `json:"status"` // available, busy, dnd, off_shift
	ForwardTo string `json:"forward_to,omitempty"`
	Updated   string `json:"updated,omitempty"`
}

// Statuses a user may set.
var statuses = []string{"available", "busy", "dnd", "off_shift"}

// SetStatus sets a user's status.
type SetStatus struct {
	By     audit.Actor // the user, from their device
	Status UserStatus
}

// Event implements Command.
func (c SetStatus) Event() audit.Event {
	e := c.By.Event("user.status", "user:"+c.By.User)
	e.Reason = c.Status.Status
	if c.Status.ForwardTo != "" {
		e.Reason += " forward_to " + c.Status.ForwardTo
	}
	return e
}

// Apply implements Command.
func (c SetStatus) Apply(tx *Txn) error {
	st := c.Status
	if !slices.Contains(statuses, st.Status) {
		return messaging.Errorf(messaging.CodeInvalid, "status must be available, busy, dnd or off_shift")
	}
	if st.ForwardTo != "" {
		u, err := getUser(tx, st.ForwardTo)
		if err != nil || !u.Enabled || st.ForwardTo == c.By.User {
			return messaging.Errorf(messaging.CodeUnknownRecipient, "forward_to names no other enabled user")
		}
	}
	st.Updated = tx.Now().UTC().Format("2006-01-02T15:04:05Z")
	return putJSON(tx, []byte(prefixUserStatus+c.By.User), st)
}

// Statuses returns every user's status that is set.
func (s *Store) Statuses(ctx context.Context) (map[string]UserStatus, error) {
	out := map[string]UserStatus{}
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixUserStatus), func(k, v []byte) error {
			var st UserStatus
			if json.Unmarshal(v, &st) == nil {
				out[string(k[len(prefixUserStatus):])] = st
			}
			return ctx.Err()
		})
	})
	return out, err
}

func getEscalation(r getter, id string) (*alerting.Escalation, error) {
	b, err := r.Get(escalationKey(id))
	if errors.Is(err, ErrNotFound) {
		return nil, messaging.Errorf(messaging.CodeNotFound, "no alert %s", id)
	}
	if err != nil {
		return nil, err
	}
	var e alerting.Escalation
	return &e, json.Unmarshal(b, &e)
}

func putEscalation(tx *Txn, e *alerting.Escalation) error {
	if e.Active() {
		tx.Set(escOpenKey(e.ID), nil)
	} else {
		tx.Delete(escOpenKey(e.ID))
	}
	return putJSON(tx, escalationKey(e.ID), e)
}

// Escalation returns one escalation.
func (s *Store) Escalation(id string) (*alerting.Escalation, error) {
	var e *alerting.Escalation
	err := s.View(func(r *Reader) error {
		var err error
		e, err = getEscalation(r, id)
		return err
	})
	return e, err
}

// ActiveEscalations returns every open or exhausted escalation, to resume
// their timers after a restart.
func (s *Store) ActiveEscalations(ctx context.Context) ([]*alerting.Escalation, error) {
	var out []*alerting.Escalation
	err := s.View(func(r *Reader) error {
		return r.Scan([]byte(prefixEscOpen), func(k, _ []byte) error {
			e, err := getEscalation(r, string(k[len(prefixEscOpen):]))
			if err != nil {
				return err
			}
			out = append(out, e)
			return ctx.Err()
		})
	})
	return out, err
}

// stepEvent is the audit event of one step of an escalation.
func stepEvent(by audit.Actor, e *alerting.Escalation) audit.Event {
	objs := []string{"esc:" + e.ID, "step:" + strconv.Itoa(e.Step+1)}
	if e.State == alerting.Exhausted {
		ev := by.Event("escalation.exhausted", objs...)
		return ev
	}
	r := e.Reached[len(e.Reached)-1]
	for _, u := range r.Users {
		objs = append(objs, "to:"+u)
	}
	ev := by.Event("escalation.step", objs...)
	ev.Reason = r.Note
	return ev
}
