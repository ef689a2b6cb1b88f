package appliance_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// TestStatusForwardingByLogin, over MQTT: a message addressed by login to
// a user on do-not-disturb with a colleague set goes to the colleague
// (the in/msg names both), a critical one reaches the user; on
// do-not-disturb alone an urgent message arrives without in/notify and a
// critical one with it; off shift forwards even critical messages; busy
// changes nothing but shows in directory.search.
func TestStatusForwardingByLogin(t *testing.T) {
	a := startMessaging(t)
	nID, nSec := a.Enroll(t, "rn.kim")
	lID, lSec := a.Enroll(t, "dr.lee")
	kID, kSec := a.Enroll(t, "dr.kim")
	nurse := mustDial(t, a, nID, nSec, false)
	lee := mustDial(t, a, lID, lSec, false)
	kim := mustDial(t, a, kID, kSec, false)
	toLee := []map[string]string{{"user": "dr.lee"}}
	status := func(st, fwd string) {
		t.Helper()
		body := map[string]any{"ref": "s", "op": "status.set", "status": st}
		if fwd != "" {
			body["forward_to"] = fwd
		}
		if rep := req(t, lee, body); rep.Fields["error"] != nil {
			t.Fatalf("status.set: %s", rep.Payload)
		}
	}
	status("dnd", "dr.kim")
	r := send(t, nurse, map[string]any{"to": toLee, "body": "routine question", "priority": "urgent"})
	if fmt.Sprint(r.Fields["recipients"]) != "[dr.kim]" {
		t.Fatalf("dnd did not forward a message addressed by login: %s", r.Payload)
	}
	if m := kim.Expect("msg", wait); !strings.Contains(string(m.Payload), `{"user":"dr.lee","forwarded_to":"dr.kim"}`) {
		t.Fatalf("the forwarded in/msg does not name both: %s", m.Payload)
	}
	if n := kim.Expect("notify", wait); n.Fields["id"] != r.Fields["id"] {
		t.Fatalf("the colleague's notify: %s", n.Payload)
	}
	// A reply goes to the colleague's conversation partner, the sender.
	if rr := send(t, kim, map[string]any{"conversation": r.Fields["conversation"], "body": "on it"}); fmt.Sprint(rr.Fields["recipients"]) != "[rn.kim]" {
		t.Fatalf("reply: %s", rr.Payload)
	}
	c := send(t, nurse, map[string]any{"to": toLee, "body": "STAT", "priority": "critical"})
	if fmt.Sprint(c.Fields["recipients"]) != "[dr.lee]" {
		t.Fatalf("a critical message did not bypass dnd: %s", c.Payload)
	}
	if m := lee.Expect("msg", wait); m.Fields["id"] != c.Fields["id"] {
		t.Fatalf("dr.lee got %s", m.Payload)
	}
	if n := lee.Expect("notify", wait); n.Fields["id"] != c.Fields["id"] {
		t.Fatalf("the critical notify: %s", n.Payload)
	}
	ackRead(t, lee, c.Fields["id"])

	// Do-not-disturb alone: delivered, quietly unless critical.
	status("dnd", "")
	q := send(t, nurse, map[string]any{"to": toLee, "body": "when you have a minute", "priority": "urgent"})
	if fmt.Sprint(q.Fields["recipients"]) != "[dr.lee]" {
		t.Fatalf("dnd without a colleague: %s", q.Payload)
	}
	if m := lee.Expect("msg", wait); m.Fields["id"] != q.Fields["id"] {
		t.Fatalf("dr.lee got %s", m.Payload)
	}
	if n, ok := lee.Next("notify", 1500*time.Millisecond); ok {
		t.Fatalf("a quiet message notified: %s", n.Payload)
	}
	c2 := send(t, nurse, map[string]any{"to": toLee, "body": "STAT again", "priority": "critical"})
	lee.Expect("msg", wait)
	if n := lee.Expect("notify", wait); n.Fields["id"] != c2.Fields["id"] {
		t.Fatalf("a critical message on dnd did not notify: %s", n.Payload)
	}
	ackRead(t, lee, c2.Fields["id"])

	// Off shift with a colleague: everything goes to the colleague.
	status("off_shift", "dr.kim")
	if o := send(t, nurse, map[string]any{"to": toLee, "body": "STAT 3", "priority": "critical"}); fmt.Sprint(o.Fields["recipients"]) != "[dr.kim]" {
		t.Fatalf("off shift did not forward a critical message: %s", o.Payload)
	}
	kim.Expect("msg", wait)

	// Busy: delivered as always, and shown in directory.search.
	status("busy", "")
	if b := send(t, nurse, map[string]any{"to": toLee, "body": "busy?"}); fmt.Sprint(b.Fields["recipients"]) != "[dr.lee]" {
		t.Fatalf("busy: %s", b.Payload)
	}
	lee.Expect("msg", wait)
	rep := req(t, nurse, map[string]any{"ref": "q", "op": "directory.search", "q": "dr."})
	var hits struct {
		Result []map[string]string `json:"result"`
	}
	if err := json.Unmarshal(rep.Payload, &hits); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, h := range hits.Result {
		seen[h["user"]] = h["status"]
	}
	if st, ok := seen["dr.lee"]; !ok || st != "busy" {
		t.Fatalf("search shows dr.lee as %q: %s", st, rep.Payload)
	}
	if st, ok := seen["dr.kim"]; !ok || st != "" {
		t.Fatalf("search shows a status dr.kim never set (%q): %s", st, rep.Payload)
	}
}

// ackRead marks a message read from a device.
func ackRead(t *testing.T, d *testkit.Device, id any) {
	t.Helper()
	if code, err := d.Publish("ack", map[string]any{"id": id, "state": "read"}); err != nil || code != 0 {
		t.Fatalf("ack: %#x %v", code, err)
	}
}

// TestAlertExpiryPatientAndDurableState, over MQTT: an alert raised with
// patient fields carries them in in/alert only (never in logs, the audit
// trail or alert list); when its single step runs out it is exhausted and,
// at its expiry, closed as expired, audited and no longer listed; a device
// that was away is told it expired when it connects, after a restart of
// the appliance, and only once, in the order of the changes; an alert
// whose expiry passes while the appliance is down expires when it is back.
func TestAlertExpiryPatientAndDurableState(t *testing.T) {
	a := startMessaging(t)
	oID, oSec := a.Enroll(t, "dr.old")
	old := mustDial(t, a, oID, oSec, false)
	cli(t, a, "policy", "add", "one", "--step", "user:dr.old:1s")
	var raised struct {
		ID      string
		Patient bool
		Expires time.Time
	}
	out := cli(t, a, "alert", "raise", "--policy", "one", "--kind", "critical_result", "--text", "K+ 7.2",
		"--mrn", "MRN-5550123", "--patient-name", "Ada Quist", "--location", "ICU-4 bed 12", "--expires", "4s", "--json")
	if err := json.Unmarshal([]byte(out), &raised); err != nil || !raised.Patient || time.Until(raised.Expires) > 5*time.Second {
		t.Fatalf("alert raise: %s %v", out, err)
	}
	al := old.Expect("alert", wait)
	pt, _ := al.Fields["patient"].(map[string]any)
	if al.Fields["id"] != raised.ID || pt["mrn"] != "MRN-5550123" || pt["name"] != "Ada Quist" || pt["location"] != "ICU-4 bed 12" || al.Fields["expires_at"] == nil {
		t.Fatalf("in/alert: %s", al.Payload)
	}
	if ex := old.Expect("alert", wait); ex.Fields["state"] != "exhausted" || ex.Fields["id"] != raised.ID {
		t.Fatalf("after its step: %s", ex.Payload)
	}
	old.Close() // away when it expires
	// A second alert, raised while the device is away, expires while the
	// appliance is down: at once when it is back.
	cli(t, a, "policy", "add", "long", "--step", "user:dr.old:1h")
	var second struct {
		ID      string
		Expires time.Time
	}
	if err := json.Unmarshal([]byte(cli(t, a, "alert", "raise", "--policy", "long", "--kind", "lab", "--text", "check", "--expires", "6s", "--json")), &second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(raised.Expires) + time.Second)
	list := cli(t, a, "alert", "list", "--json")
	if strings.Contains(list, raised.ID) || !strings.Contains(list, second.ID) {
		t.Fatalf("alert list after the first expiry: %s", list)
	}
	if table := cli(t, a, "alert", "list"); !strings.Contains(table, "EXPIRES") || !strings.Contains(table, second.Expires.UTC().Format(time.RFC3339)) {
		t.Fatalf("alert list does not show the expiry: %s", table)
	}
	a.Stop()
	time.Sleep(time.Until(second.Expires) + 500*time.Millisecond)
	a.Restart()
	old = mustDial(t, a, oID, oSec, false)
	if u := old.Expect("alert", wait); u.Fields["id"] != raised.ID || u.Fields["state"] != "expired" || u.Fields["patient"] != nil || u.Fields["text"] != nil {
		t.Fatalf("on reconnecting, first: %s", u.Payload)
	}
	if u := old.Expect("alert", wait); u.Fields["id"] != second.ID || u.Fields["state"] != "expired" {
		t.Fatalf("on reconnecting, second (expired during the restart): %s", u.Payload)
	}
	if list := cli(t, a, "alert", "list", "--json"); strings.Contains(list, second.ID) {
		t.Fatalf("still listed after the restart: %s", list)
	}
	time.Sleep(500 * time.Millisecond) // the written notice is dropped within a quarter second
	old.Close()
	old = mustDial(t, a, oID, oSec, false)
	if u, ok := old.Next("alert", time.Second); ok {
		t.Fatalf("told again: %s", u.Payload)
	}
	trail := cli(t, a, "audit", "export")
	if n := strings.Count(trail, `"alert.expire"`); n != 2 {
		t.Errorf("alert.expire is audited %d times, want 2", n)
	}
	for _, phi := range []string{"MRN-5550123", "Ada Quist", "ICU-4 bed 12"} {
		for name, text := range map[string]string{"the audit trail": trail, "the log": a.Stdout() + a.Stderr(), "alert raise --json": out, "alert list": list} {
			if strings.Contains(text, phi) {
				t.Errorf("%s holds patient data %q", name, phi)
			}
		}
	}
}
