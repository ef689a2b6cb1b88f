package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var stepCases = []struct {
	in   string
	want string
	ok   bool
}{
	{"role:Cardiology-Oncall:5m", "role:cardiology-oncall:5m0s", true},
	{"user:dr.lee:90s", "user:dr.lee:1m30s", true},
	{"group:icu-4:1h", "group:icu-4:1h0m0s", true},
	{"pager:x:5m", "", false},
	{"role:x", "", false},
	{"role:x:0s", "", false},
	{"role:bad name:5m", "", false},
	{"user:x:48h", "", false},
}

func TestParseStep(t *testing.T) {
	for _, c := range stepCases {
		s, err := ParseStep(c.in)
		if (err == nil) != c.ok || (c.ok && s.String() != c.want) {
			t.Errorf("ParseStep(%q) = %v, %v", c.in, s, err)
		}
	}
}

func FuzzParseStep(f *testing.F) {
	for _, c := range stepCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseStep(in)
		if err != nil {
			return
		}
		again, err := ParseStep(s.String())
		if err != nil || again != s || s.Wait < MinWait || s.Wait > MaxWait {
			t.Fatalf("%q parsed to %v, which does not parse back: %v", in, s, err)
		}
	})
}

// TestEscalationThreeStepsWithDecline runs the timers on fake time
// (testing/synctest): step 1's wait runs out, step 2's person declines and
// the alert moves on at once, step 3's person accepts; the others then
// see who accepted, and a late timer changes nothing.
func TestEscalationThreeStepsWithDecline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Name: "cardio", Steps: []Step{{TargetRole, "cardio", 5 * time.Minute}, {TargetUser, "dr.b", 2 * time.Minute}, {TargetUser, "dr.c", 2 * time.Minute}}}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		who := map[int][]string{0: {"dr.a"}, 1: {"dr.b"}, 2: {"dr.c"}}
		start := time.Now()
		e := New("alr_1", KindAlert, "alr_1", p, start)
		var mu sync.Mutex
		var log []string
		var timers *Timers
		advance := func(id string, step int) {
			mu.Lock()
			defer mu.Unlock()
			if e.Step != step { // the store's idempotency check
				return
			}
			next := step + 1
			if err := e.Reach(next, who[next], "", time.Now()); err != nil {
				return
			}
			log = append(log, time.Since(start).String()+" step "+string(rune('1'+next)))
			if e.State == Open {
				timers.Set(id, next, e.Due)
			}
		}
		timers = NewTimers(advance)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go timers.Run(ctx)
		_ = e.Reach(0, who[0], "", start)
		timers.Set(e.ID, 0, e.Due)

		time.Sleep(5*time.Minute + time.Second) // step 1's wait runs out
		synctest.Wait()
		mu.Lock()
		if e.Step != 1 || !slices.Equal(e.Everyone(), []string{"dr.a", "dr.b"}) {
			t.Fatalf("after 5m: step %d, reached %v", e.Step, e.Everyone())
		}
		if err := e.Decline("dr.x"); !errors.Is(err, ErrNotReached) {
			t.Fatalf("a stranger declined: %v", err)
		}
		if err := e.Decline("dr.b"); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
		advance(e.ID, 1) // a decline moves it on at once
		mu.Lock()
		if e.Step != 2 {
			t.Fatalf("after the decline: step %d", e.Step)
		}
		if err := e.Accept("dr.c", time.Now()); err != nil {
			t.Fatal(err)
		}
		timers.Cancel(e.ID)
		mu.Unlock()
		advance(e.ID, 1) // a stale, repeated firing changes nothing
		time.Sleep(time.Hour)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if e.State != Accepted || e.AcceptedBy != "dr.c" || e.Step != 2 || len(log) != 2 {
			t.Fatalf("end: %+v, log %v", e, log)
		}
		if log[0] != "5m0s step 2" || log[1] != "5m1s step 3" {
			t.Fatalf("step times: %v", log)
		}
		if err := e.Accept("dr.a", time.Now()); !errors.Is(err, ErrClosed) {
			t.Fatalf("second accept: %v", err)
		}
		if string(EncodeAlert(e)) == "" || e.Alert != nil {
			t.Fatal("encode")
		}
	})
}

func TestExhaust(t *testing.T) {
	p := Policy{Name: "p", Steps: []Step{{TargetUser, "a", time.Minute}}}
	e := New("x", KindMessage, "msg_1", p, time.Unix(0, 0))
	_ = e.Reach(0, []string{"a"}, "", time.Unix(0, 0))
	if err := e.Reach(1, nil, "", time.Unix(60, 0)); err != nil || e.State != Exhausted || !e.Active() {
		t.Fatalf("%v %+v", err, e)
	}
	if err := e.Accept("a", time.Unix(70, 0)); err != nil {
		t.Fatal("the last reached cannot accept an exhausted escalation")
	}
}

var responseCases = map[string]bool{`{"id":"alr_1","response":"accept"}`: true, `{"id":"alr_1","response":"decline"}`: true,
	`{"id":"alr_1","response":"maybe"}`: false, `{"response":"accept"}`: false, `[]`: false, `null`: false, ``: false,
	`{"id":"","response":"accept"}`: false, `{"id":7,"response":"accept"}`: false}

func TestDecodeResponse(t *testing.T) {
	for in, ok := range responseCases {
		if _, e := DecodeResponse([]byte(in)); (e == nil) != ok {
			t.Errorf("%s: %v", in, e)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	for in := range responseCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, e := DecodeResponse(in)
		if e == nil && (r.ID == "" || len(r.ID) > 128 || (r.Response != "accept" && r.Response != "decline")) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// TestRestartWithPendingStep, on fake time: the escalation is persisted
// (JSON, as the store keeps it), the timers die with the process before
// the step is due, new timers are armed from the persisted state, and the
// step fires once, at its due time; the second restart fires the next,
// overdue step at once and not the first again.
func TestRestartWithPendingStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Name: "p", Steps: []Step{{TargetUser, "a", 10 * time.Minute}, {TargetUser, "b", 10 * time.Minute}}}
		start := time.Now()
		e := New("alr_1", KindAlert, "alr_1", p, start)
		_ = e.Reach(0, []string{"a"}, "", start)
		var mu sync.Mutex
		saved, _ := json.Marshal(e)
		var fired []time.Duration
		// fire is the store's idempotent step: it applies only at the step the timer saw.
		fire := func(_ string, step int) {
			mu.Lock()
			defer mu.Unlock()
			var cur Escalation
			_ = json.Unmarshal(saved, &cur)
			if cur.Step != step || cur.Reach(step+1, []string{"b"}, "", time.Now()) != nil {
				return
			}
			saved, _ = json.Marshal(&cur)
			fired = append(fired, time.Since(start))
		}
		ctx1, crash := context.WithCancel(t.Context())
		t1 := NewTimers(fire)
		go t1.Run(ctx1)
		t1.Set(e.ID, e.Step, e.Due)
		time.Sleep(4 * time.Minute)
		crash() // the process dies with the step pending
		synctest.Wait()
		time.Sleep(time.Minute) // down for a minute

		arm := func() context.CancelFunc {
			ctx, cancel := context.WithCancel(t.Context())
			tm := NewTimers(fire)
			go tm.Run(ctx)
			mu.Lock()
			var cur Escalation
			_ = json.Unmarshal(saved, &cur)
			mu.Unlock()
			if cur.State == Open {
				tm.Set(cur.ID, cur.Step, cur.Due)
			}
			return cancel
		}
		stop := arm()
		time.Sleep(time.Hour)
		synctest.Wait()
		stop()
		stop = arm() // a second restart after the step fired
		time.Sleep(time.Hour)
		synctest.Wait()
		stop()
		mu.Lock()
		defer mu.Unlock()
		// Step 2 fired once, at its due time (10 min), not at the restart (5 min).
		// This test's fire arms no next timer, so step 2's own wait (due at 20
		// min) is re-armed only by the second restart, which fires it at once,
		// as an overdue step fires after a restart.
		if len(fired) != 2 || fired[0] != 10*time.Minute || fired[1] != 65*time.Minute {
			t.Fatalf("fired at %v, want [10m 1h5m]", fired)
		}
		var cur Escalation
		_ = json.Unmarshal(saved, &cur)
		if cur.State != Exhausted || len(cur.Reached) != 2 || !cur.Reached[1].At.Equal(start.Add(10*time.Minute)) {
			t.Fatalf("end state: %+v", cur)
		}
	})
}
