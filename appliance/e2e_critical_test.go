package appliance_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// TestCriticalNotifyRepeatsUntilRead sends a critical message with the
// repeat set to one second: the recipient's notify comes again until the
// message is read, and then stops.
func TestCriticalNotifyRepeatsUntilRead(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "wardline.toml")
	os.WriteFile(cfg, []byte("[messaging]\ncritical_repeat = \"1s\"\n"), 0o600)
	a := testkit.Start(t, testkit.NewDataDir(t), "--mqtt-plain-addr", "127.0.0.1:0", "--config", cfg)
	sID, sSec := a.Enroll(t, "rn.kim")
	rID, rSec := a.Enroll(t, "dr.lee")
	s := mustDial(t, a, sID, sSec, false)
	r := mustDial(t, a, rID, rSec, false)
	reply := send(t, s, map[string]any{"to": []map[string]string{{"user": "dr.lee"}}, "body": "Pt 12B: VF arrest", "priority": "critical"})
	id := reply.Fields["id"]
	if m := r.Expect("msg", wait); m.Fields["id"] != id {
		t.Fatalf("in/msg %s", m.Payload)
	}
	first := r.Expect("notify", wait)
	second := r.Expect("notify", 5*time.Second)
	if second.Fields["id"] != id || second.Fields["priority"] != "critical" {
		t.Fatalf("repeated notify: %s", second.Payload)
	}
	if gap := second.At.Sub(first.At); gap < 500*time.Millisecond {
		t.Fatalf("the notify repeated after %s, want about 1s", gap)
	}
	if code, err := r.Publish("ack", map[string]any{"id": id, "state": "read"}); err != nil || code != 0 {
		t.Fatalf("read ack: %#x %v", code, err)
	}
	time.Sleep(300 * time.Millisecond) // a repeat already under way may still arrive
	for len(r.In) > 0 {
		<-r.In
	}
	select {
	case m := <-r.In:
		t.Fatalf("a notify came after the message was read: %s %s", m.Topic, m.Payload)
	case <-time.After(3 * time.Second):
	}
}
