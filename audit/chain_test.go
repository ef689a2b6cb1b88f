package audit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain builds a sealed chain of n events.
func chain(n int) []Event {
	var head Head
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	out := make([]Event, 0, n)
	for i := 0; i < n; i++ {
		var e Event
		e, head = Seal(head, Event{Actor: "local:root", Action: "user.add", Objects: []string{fmt.Sprintf("user:u%d", i)}, Outcome: OutcomeOK}, t0.Add(time.Duration(i)*time.Second))
		out = append(out, e)
	}
	return out
}

// verify runs a Verifier over events and returns its first error.
func verify(events []Event, want Head) error {
	var v Verifier
	for _, e := range events {
		if err := v.Check(e); err != nil {
			return err
		}
	}
	return v.Finish(want)
}

var tamperCases = []struct {
	name    string
	tamper  func([]Event) []Event
	wantSeq uint64 // 0: the chain must verify
	reason  string
}{
	{"intact", func(e []Event) []Event { return e }, 0, ""},
	{"altered actor", func(e []Event) []Event { e[3].Actor = "mallory"; return e }, 4, "altered"},
	{"altered object", func(e []Event) []Event { e[5].Objects = []string{"user:x"}; return e }, 6, "altered"},
	{"altered time", func(e []Event) []Event { e[2].Time = e[2].Time.Add(time.Hour); return e }, 3, "altered"},
	{"altered outcome", func(e []Event) []Event { e[0].Outcome = OutcomeDenied; return e }, 1, "altered"},
	{"removed middle", func(e []Event) []Event { return append(e[:4:4], e[5:]...) }, 5, "missing"},
	{"removed first", func(e []Event) []Event { return e[1:] }, 1, "missing"},
	{"removed last", func(e []Event) []Event { return e[:len(e)-1] }, 10, "missing"},
	{"swapped", func(e []Event) []Event { e[6], e[7] = e[7], e[6]; return e }, 7, "missing"},
	{"duplicated", func(e []Event) []Event { return append(e[:5:5], append([]Event{e[3]}, e[5:]...)...) }, 6, "again"},
	{"resealed replacement", func(e []Event) []Event {
		r := e[4]
		r.Actor = "mallory"
		r.Hash = r.ComputeHash() // consistent in itself, but the next event links to the old hash
		e[4] = r
		return e
	}, 6, "link"},
}

func TestVerifyNamesFirstBadEvent(t *testing.T) {
	for _, c := range tamperCases {
		t.Run(c.name, func(t *testing.T) {
			events := chain(10)
			head := Head{Seq: events[9].Seq, Hash: events[9].Hash}
			err := verify(c.tamper(events), head)
			if c.wantSeq == 0 {
				if err != nil {
					t.Fatalf("intact chain: %v", err)
				}
				return
			}
			var b *BreakError
			if !errors.As(err, &b) || !errors.Is(err, ErrBroken) {
				t.Fatalf("got %v, want a BreakError", err)
			}
			if b.Seq != c.wantSeq || !strings.Contains(b.Error(), c.reason) {
				t.Fatalf("got %q, want event %d and %q", b.Error(), c.wantSeq, c.reason)
			}
		})
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := chain(1)[0]
	mutations := map[string]func(*Event){
		"seq":     func(e *Event) { e.Seq++ },
		"time":    func(e *Event) { e.Time = e.Time.Add(time.Nanosecond) },
		"actor":   func(e *Event) { e.Actor += "x" },
		"device":  func(e *Event) { e.Device = "dev_x" },
		"session": func(e *Event) { e.Session = "s" },
		"source":  func(e *Event) { e.Source = "10.0.0.1" },
		"action":  func(e *Event) { e.Action = "user.disable" },
		"objects": func(e *Event) { e.Objects = append(e.Objects, "") },
		"outcome": func(e *Event) { e.Outcome = OutcomeFailed },
		"reason":  func(e *Event) { e.Reason = "r" },
		"prev":    func(e *Event) { e.Prev = strings.Repeat("1", 64) },
		"shift":   func(e *Event) { e.Actor, e.Device = e.Actor[:3], e.Actor[3:]+e.Device },
	}
	for name, m := range mutations {
		e := base
		e.Objects = append([]string(nil), base.Objects...)
		m(&e)
		if e.ComputeHash() == base.Hash {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for i := range tamperCases {
		f.Add(uint8(i), "mallory", uint8(3))
	}
	f.Fuzz(func(t *testing.T, which uint8, actor string, at uint8) {
		events := chain(8)
		head := Head{Seq: 8, Hash: events[7].Hash}
		i := int(at) % len(events)
		switch which % 3 {
		case 0:
			if events[i].Actor == actor {
				return
			}
			events[i].Actor = actor
		case 1:
			events = append(events[:i:i], events[i+1:]...)
		case 2:
			j := (i + 1) % len(events)
			events[i], events[j] = events[j], events[i]
		}
		if err := verify(events, head); !errors.Is(err, ErrBroken) {
			t.Fatalf("tampered chain verified: %v", err)
		}
	})
}
