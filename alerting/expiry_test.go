package alerting

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wardline/wardline/messaging"
)

func TestExpire(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	p := Policy{Name: "p", Steps: []Step{{TargetUser, "a", time.Minute}}}
	mk := func(expires time.Duration, state State) *Escalation {
		e := New("alr_1", KindAlert, "alr_1", p, t0)
		if expires > 0 {
			e.Expires = t0.Add(expires)
		}
		_ = e.Reach(0, []string{"a"}, "", t0)
		switch state {
		case Exhausted:
			_ = e.Reach(1, nil, "", t0.Add(time.Minute))
		case Accepted:
			_ = e.Accept("a", t0.Add(time.Second))
		}
		return e
	}
	cases := []struct {
		name    string
		expires time.Duration
		state   State
		at      time.Duration
		err     error
	}{
		{"open, before its expiry", time.Hour, Open, 59 * time.Minute, ErrStale},
		{"open, at its expiry", time.Hour, Open, time.Hour, nil},
		{"exhausted, after its expiry", time.Hour, Exhausted, 2 * time.Hour, nil},
		{"exhausted, default expiry not yet", 0, Exhausted, DefaultExpiry - time.Second, ErrStale},
		{"exhausted, default expiry", 0, Exhausted, DefaultExpiry, nil},
		{"accepted", time.Hour, Accepted, 2 * time.Hour, ErrClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mk(c.expires, c.state)
			err := e.Expire(t0.Add(c.at))
			if !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
				t.Fatalf("Expire = %v, want %v", err, c.err)
			}
			if c.err == nil && (e.State != Expired || e.Active() || !e.Due.IsZero()) {
				t.Fatalf("after Expire: %+v", e)
			}
			if c.err != nil && e.State != c.state {
				t.Fatalf("a refused Expire changed the state to %s", e.State)
			}
		})
	}
}

// TestEncodeAlertPatientAndExpiry: an open alert carries its text, patient,
// expires_at (the alert's expiry) and step_due; a closed one none of them.
func TestEncodeAlertPatientAndExpiry(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	p := Policy{Name: "p", Steps: []Step{{TargetUser, "a", time.Minute}}}
	e := New("alr_1", KindAlert, "alr_1", p, t0)
	e.Alert = &Alert{Kind: "lab", Text: "K+ 7.2", Priority: messaging.Critical, Patient: &messaging.Patient{MRN: "123", Name: "Ada Q", Location: "ICU-4"}}
	e.Expires = t0.Add(2 * time.Hour)
	_ = e.Reach(0, []string{"a"}, "", t0)
	var w map[string]any
	decode := func() {
		w = nil
		if err := json.Unmarshal(EncodeAlert(e), &w); err != nil {
			t.Fatal(err)
		}
	}
	decode()
	if w["expires_at"] != "2026-03-29T03:00:00Z" || w["step_due"] != "2026-03-29T01:01:00Z" || w["patient"] == nil || w["text"] != "K+ 7.2" {
		t.Fatalf("open: %v", w)
	}
	if err := e.Expire(t0.Add(3 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	decode()
	if w["state"] != "expired" || w["patient"] != nil || w["text"] != nil || w["expires_at"] != nil || w["step_due"] != nil {
		t.Fatalf("expired: %v", w)
	}
}

func TestPurge(t *testing.T) {
	now := time.Unix(100, 0)
	e := &Escalation{Alert: &Alert{Kind: "lab", Text: "x", Patient: &messaging.Patient{MRN: "1"}}}
	if !e.Purge(now) || e.Alert.Text != "" || e.Alert.Patient != nil || !e.PurgedAt.Equal(now) {
		t.Fatalf("purge: %+v", e)
	}
	if e.Purge(now.Add(time.Hour)) || !e.PurgedAt.Equal(now) {
		t.Fatal("a second purge changed something")
	}
	if (&Escalation{Kind: KindMessage}).Purge(now) {
		t.Fatal("a message escalation has nothing to purge")
	}
}
