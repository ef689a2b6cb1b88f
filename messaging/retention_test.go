package messaging

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var expiredCases = []struct {
	name      string
	sent      time.Time
	retention time.Duration
	now       time.Time
	want      bool
}{
	{"young", t0, 24 * time.Hour, t0.Add(time.Hour), false},
	{"just before", t0, 24 * time.Hour, t0.Add(24*time.Hour - time.Nanosecond), false},
	{"exactly", t0, 24 * time.Hour, t0.Add(24 * time.Hour), true},
	{"old", t0, 24 * time.Hour, t0.Add(48 * time.Hour), true},
	{"forever", t0, 0, t0.Add(1000 * time.Hour), false},
	{"negative", t0, -time.Hour, t0.Add(time.Hour), false},
	{"clock behind", t0, time.Hour, t0.Add(-time.Hour), false},
}

func TestExpired(t *testing.T) {
	for _, c := range expiredCases {
		if got := Expired(Message{SentAt: c.sent}, c.retention, c.now); got != c.want {
			t.Errorf("%s: Expired = %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzExpired(f *testing.F) {
	for _, c := range expiredCases {
		f.Add(int64(c.retention), int64(c.now.Sub(c.sent)))
	}
	f.Fuzz(func(t *testing.T, retention, age int64) {
		m := Message{SentAt: t0}
		now := t0.Add(time.Duration(age))
		got := Expired(m, time.Duration(retention), now)
		if got && (retention <= 0 || age < retention) {
			t.Fatalf("Expired(retention %d, age %d) = true", retention, age)
		}
		if got && !Expired(m, time.Duration(retention), now.Add(time.Hour)) && age < 1<<62 {
			t.Fatal("an expired message became young again")
		}
	})
}

func TestPurgeAndRecall(t *testing.T) {
	m := Message{ID: testMsg, Body: "K+ 6.1", Patient: &Patient{Name: "Doe"}, SentAt: t0, To: []Address{{User: "a"}}}
	now := t0.Add(time.Hour).In(time.FixedZone("x", 7200))
	for name, f := range map[string]func(Message, time.Time) Message{"Purge": Purge, "Recall": Recall} {
		got := f(m, now)
		if got.Body != "" || got.Patient != nil || got.ID != m.ID || len(got.To) != 1 {
			t.Fatalf("%s = %+v", name, got)
		}
		at := got.PurgedAt
		if name == "Recall" {
			at = got.RecalledAt
			if !got.PurgedAt.IsZero() {
				t.Fatal("Recall set PurgedAt")
			}
		} else if !got.RecalledAt.IsZero() {
			t.Fatal("Purge set RecalledAt")
		}
		if !at.Equal(now) || at.Location() != time.UTC {
			t.Fatalf("%s time = %v, want %v in UTC", name, at, now)
		}
		again := f(got, now.Add(time.Hour))
		if again.PurgedAt != got.PurgedAt || again.RecalledAt != got.RecalledAt {
			t.Fatalf("a second %s moved its time", name)
		}
	}
	if m.Body == "" || m.Patient == nil {
		t.Fatal("Purge or Recall changed its argument")
	}
}
