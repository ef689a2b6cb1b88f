package appliance_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// receiver records what a device gets, acks each message delivered, and
// remembers which acks the appliance acknowledged (PUBACK 0): those must
// never come back.
type receiver struct {
	mu       sync.Mutex
	got      map[string]int    // body -> times received
	ackedIDs map[string]bool   // message ids whose delivered ack got PUBACK 0
	redone   []string          // ids received again after their ack was acknowledged
	byID     map[string]string // id -> body
}

func (r *receiver) run(d *testkit.Device, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case m := <-d.In:
			if m.Fields["body"] == nil {
				continue
			}
			id, body := m.Fields["id"].(string), m.Fields["body"].(string)
			r.mu.Lock()
			r.got[body]++
			r.byID[id] = body
			if r.ackedIDs[id] {
				r.redone = append(r.redone, id)
			}
			r.mu.Unlock()
			if code, err := d.Publish("ack", map[string]string{"id": id, "state": "delivered"}); err == nil && code == 0 {
				r.mu.Lock()
				r.ackedIDs[id] = true
				r.mu.Unlock()
			}
		}
	}
}

// TestKillDuringSendsDeliversEveryAcked kills the appliance with SIGKILL
// during a burst of QoS 1 sends, restarts it, and checks that every send
// that got a PUBACK reaches every recipient device, and that no message a
// device had acked delivered comes to it again.
func TestKillDuringSendsDeliversEveryAcked(t *testing.T) {
	a := startMessaging(t)
	sID, sSec := a.Enroll(t, "sender")
	type dev struct{ id, secret string }
	var devs []dev
	for _, u := range []string{"r1", "r2"} {
		id, sec := a.Enroll(t, u)
		devs = append(devs, dev{id, sec})
	}
	id2, sec2 := a.Enroll(t, "r2") // r2 has two devices
	devs = append(devs, dev{id2, sec2})
	recv := make([]*receiver, len(devs))
	stop := make(chan struct{})
	connectAll := func() {
		for i, d := range devs {
			dd := mustDial(t, a, d.id, d.secret, false)
			go recv[i].run(dd, stop)
		}
	}
	for i := range recv {
		recv[i] = &receiver{got: map[string]int{}, ackedIDs: map[string]bool{}, byID: map[string]string{}}
	}
	connectAll()
	s := mustDial(t, a, sID, sSec, false)

	var acked sync.Map // body -> true
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf("kill-%d-%d", w, i)
				code, err := s.Publish("send", map[string]any{"to": []map[string]string{{"user": "r1"}, {"user": "r2"}}, "body": body})
				if err != nil {
					return // the appliance is gone
				}
				if code == 0 {
					acked.Store(body, true)
					nAcked.Add(1)
				}
			}
		}(w)
	}
	for deadline := time.Now().Add(30 * time.Second); nAcked.Load() < 300 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	a.Kill()
	wg.Wait()
	close(stop)
	n := nAcked.Load()
	if n < 50 {
		t.Fatalf("only %d sends acknowledged before the kill", n)
	}

	a.Restart()
	stop = make(chan struct{})
	defer close(stop)
	connectAll()
	missing := func() (int, string) {
		count, example := 0, ""
		acked.Range(func(k, _ any) bool {
			for i, r := range recv {
				r.mu.Lock()
				ok := r.got[k.(string)] > 0
				r.mu.Unlock()
				if !ok {
					count++
					example = fmt.Sprintf("%s on device %d", k, i)
				}
			}
			return true
		})
		return count, example
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, ex := missing()
		if m == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged sends missing after the restart (e.g. %s)", m, ex)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dups := 0
	for _, r := range recv {
		r.mu.Lock()
		for _, c := range r.got {
			dups += c - 1
		}
		if len(r.redone) > 0 {
			t.Errorf("a device got %d messages again after the appliance had acknowledged its delivered ack (e.g. %s)", len(r.redone), r.redone[0])
		}
		r.mu.Unlock()
	}
	t.Logf("%d sends acknowledged before SIGKILL; all delivered to all %d devices after restart; %d redeliveries of messages whose ack was not yet stored", n, len(devs), dups)
}
