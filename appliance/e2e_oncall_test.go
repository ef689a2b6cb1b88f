package appliance_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// cli runs a CLI command that must succeed and returns its output.
func cli(t *testing.T, a *testkit.Appliance, args ...string) string {
	t.Helper()
	out, errOut, code := a.CLI(args...)
	if code != 0 {
		t.Fatalf("wardline %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// req sends an out/req and returns its reply.
func req(t *testing.T, d *testkit.Device, body map[string]any) testkit.Received {
	t.Helper()
	if code, err := d.Publish("req", body); err != nil || code != 0 {
		t.Fatalf("req: PUBACK %#x, %v", code, err)
	}
	return d.Expect("reply", wait)
}

// TestOncallEndToEnd: over MQTT (Paho), a message to a role reaches the
// person on call, records role and person, and the reply goes back; a role
// with nobody on call is refused at once; do-not-disturb forwards to a
// colleague but not a critical message; an unread critical message
// escalates to the next step's device, whose read closes it for the first;
// an alert climbs three steps with a decline and the accept reaches all.
func TestOncallEndToEnd(t *testing.T) {
	a := startMessaging(t)
	nID, nSec := a.Enroll(t, "rn.kim")
	lID, lSec := a.Enroll(t, "dr.lee")
	kID, kSec := a.Enroll(t, "dr.kim")
	oID, oSec := a.Enroll(t, "dr.old")
	cli(t, a, "role", "add", "cardio", "--members", "dr.old")
	cli(t, a, "role", "add", "empty-role")
	now := time.Now()
	cli(t, a, "oncall", "set", "cardio", "--user", "dr.lee", "--from", rfc(now.Add(-time.Hour)), "--to", rfc(now.Add(time.Hour)))
	var who struct{ User, Source string }
	if err := json.Unmarshal([]byte(cli(t, a, "oncall", "who", "cardio", "--json")), &who); err != nil || who.User != "dr.lee" || who.Source != "schedule" {
		t.Fatalf("oncall who: %+v %v", who, err)
	}
	nurse := mustDial(t, a, nID, nSec, false)
	lee := mustDial(t, a, lID, lSec, false)
	kim := mustDial(t, a, kID, kSec, false)
	old := mustDial(t, a, oID, oSec, false)

	// To the role: the covering person gets it, named in the role entry.
	r := send(t, nurse, map[string]any{"to": []map[string]string{{"role": "cardio"}}, "body": "Pt 12B K+ 6.1"})
	if fmt.Sprint(r.Fields["recipients"]) != "[dr.lee]" {
		t.Fatalf("send reply: %s", r.Payload)
	}
	m := lee.Expect("msg", wait)
	if !strings.Contains(string(m.Payload), `{"role":"cardio","user":"dr.lee"}`) {
		t.Fatalf("in/msg does not record role and person: %s", m.Payload)
	}
	if x, ok := old.Next("msg", time.Second); ok {
		t.Fatalf("the fallback member got a message while someone is on call: %s", x.Payload)
	}
	// The reply goes to the person who answered for the role.
	rr := send(t, lee, map[string]any{"conversation": r.Fields["conversation"], "body": "Calling now"})
	if fmt.Sprint(rr.Fields["recipients"]) != "[rn.kim]" {
		t.Fatalf("reply: %s", rr.Payload)
	}
	nurse.Expect("msg", wait)

	// Nobody on call and no fixed members: refused at once.
	if code, _ := nurse.Publish("send", map[string]any{"client_ref": "e1", "to": []map[string]string{{"role": "empty-role"}}, "body": "anyone?"}); code == 0 {
		t.Fatal("a send to a role nobody covers was accepted")
	}
	if e := nurse.Expect("reply", wait); !strings.Contains(string(e.Payload), "unknown_recipient") {
		t.Fatalf("refusal: %s", e.Payload)
	}

	// Do-not-disturb forwards to a colleague; a critical message bypasses it.
	if rep := req(t, lee, map[string]any{"ref": "s1", "op": "status.set", "status": "dnd", "forward_to": "dr.kim"}); rep.Fields["error"] != nil {
		t.Fatalf("status.set: %s", rep.Payload)
	}
	fw := send(t, nurse, map[string]any{"to": []map[string]string{{"role": "cardio"}}, "body": "routine question"})
	if fmt.Sprint(fw.Fields["recipients"]) != "[dr.kim]" {
		t.Fatalf("dnd did not forward: %s", fw.Payload)
	}
	if km := kim.Expect("msg", wait); !strings.Contains(string(km.Payload), `{"role":"cardio","user":"dr.kim"}`) {
		t.Fatalf("forwarded in/msg: %s", km.Payload)
	}

	// Escalation: a critical message nobody reads climbs to dr.kim, whose
	// read closes it; dr.lee sees who read it.
	cli(t, a, "policy", "add", "cardio-esc", "--step", "role:cardio:2s", "--step", "user:dr.kim:1m")
	cli(t, a, "policy", "attach", "cardio-esc", "--role", "cardio")
	cr := send(t, nurse, map[string]any{"to": []map[string]string{{"role": "cardio"}}, "body": "STAT: VF on monitor", "priority": "critical"})
	if fmt.Sprint(cr.Fields["recipients"]) != "[dr.lee]" {
		t.Fatalf("critical bypasses dnd: %s", cr.Payload)
	}
	id := cr.Fields["id"]
	if lm := lee.Expect("msg", wait); lm.Fields["id"] != id {
		t.Fatalf("dr.lee got %s", lm.Payload)
	}
	start := time.Now()
	km := kim.Expect("msg", wait)
	if km.Fields["id"] != id {
		t.Fatalf("the escalation reached dr.kim with %s", km.Payload)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("escalated after %s, before the 2 s wait", d)
	}
	if code, _ := kim.Publish("ack", map[string]string{"id": id.(string), "state": "read"}); code != 0 {
		t.Fatalf("ack: %#x", code)
	}
	rc := lee.Expect("receipt", wait)
	if rc.Fields["id"] != id || rc.Fields["user"] != "dr.kim" || rc.Fields["state"] != "read" {
		t.Fatalf("dr.lee's update: %s", rc.Payload)
	}

	// An alert through three steps with a decline: dr.lee declines, dr.kim
	// lets the wait run out, dr.old accepts; everyone sees who accepted.
	req(t, lee, map[string]any{"ref": "s2", "op": "status.set", "status": "available"})
	cli(t, a, "policy", "add", "three", "--step", "user:dr.lee:1m", "--step", "user:dr.kim:2s", "--step", "user:dr.old:1m")
	var raised struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, a, "alert", "raise", "--policy", "three", "--kind", "critical_result", "--text", "K+ 7.2 bed 4", "--json")), &raised); err != nil {
		t.Fatal(err)
	}
	al := lee.Expect("alert", wait)
	if al.Fields["id"] != raised.ID || al.Fields["text"] != "K+ 7.2 bed 4" || al.Fields["state"] != "open" {
		t.Fatalf("dr.lee's alert: %s", al.Payload)
	}
	if code, _ := lee.Publish("respond", map[string]string{"id": raised.ID, "response": "decline"}); code != 0 {
		t.Fatalf("decline: %#x", code)
	}
	declined := time.Now()
	if ka := kim.Expect("alert", wait); ka.Fields["id"] != raised.ID || time.Since(declined) > 5*time.Second /* step 1 waits a minute */ {
		t.Fatalf("the decline did not move it on at once: %s after %s", ka.Payload, time.Since(declined))
	}
	if oa := old.Expect("alert", wait); oa.Fields["id"] != raised.ID || oa.Fields["step"].(float64) != 3 {
		t.Fatalf("step 3: %s", oa.Payload)
	}
	kim.Close() // away when it is accepted
	if code, _ := old.Publish("respond", map[string]string{"id": raised.ID, "response": "accept"}); code != 0 {
		t.Fatalf("accept: %#x", code)
	}
	if u := lee.Expect("alert", wait); u.Fields["state"] != "accepted" || u.Fields["accepted_by"] != "dr.old" || u.Fields["text"] != nil {
		t.Fatalf("dr.lee's update: %s", u.Payload)
	}
	// A device that was away learns who accepted when it connects; one
	// that was told already is not told again.
	kim = mustDial(t, a, kID, kSec, false)
	if u := kim.Expect("alert", wait); u.Fields["id"] != raised.ID || u.Fields["accepted_by"] != "dr.old" || u.Fields["state"] != "accepted" {
		t.Fatalf("dr.kim on reconnecting: %s", u.Payload)
	}
	time.Sleep(500 * time.Millisecond) // the written notice is dropped within a quarter second
	lee.Close()
	lee = mustDial(t, a, lID, lSec, false)
	if u, ok := lee.Next("alert", time.Second); ok {
		t.Fatalf("dr.lee was told again of an alert it saw closed: %s", u.Payload)
	}
	// A late accept is refused, naming who accepted.
	if code, _ := kim.Publish("respond", map[string]string{"id": raised.ID, "response": "accept"}); code == 0 {
		t.Fatal("a second accept was taken")
	}
	if e := kim.Expect("reply", wait); !strings.Contains(string(e.Payload), "accepted by dr.old") {
		t.Fatalf("late accept: %s", e.Payload)
	}
	audit := cli(t, a, "audit", "export")
	for _, want := range []string{`"escalation.step"`, `"alert.decline"`, `"alert.accept"`, `"escalation.accept"`, `"step:3"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
	if strings.Contains(audit, "K+ 7.2") || strings.Contains(audit, "VF on monitor") {
		t.Error("the audit trail holds alert or message text")
	}
}

// TestEscalationSurvivesRestart: the appliance is killed while an alert's
// step is pending; after the restart the step fires once, on time.
func TestEscalationSurvivesRestart(t *testing.T) {
	a := startMessaging(t)
	a.Enroll(t, "dr.lee")
	kID, kSec := a.Enroll(t, "dr.kim")
	cli(t, a, "policy", "add", "two", "--step", "user:dr.lee:4s", "--step", "user:dr.kim:1m")
	var raised struct{ ID string }
	if err := json.Unmarshal([]byte(cli(t, a, "alert", "raise", "--policy", "two", "--kind", "lab", "--text", "check", "--json")), &raised); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(4 * time.Second)
	a.Kill()
	a.Restart()
	ready := time.Now()
	kim := mustDial(t, a, kID, kSec, false)
	al := kim.Expect("alert", wait)
	if al.Fields["id"] != raised.ID || al.Fields["step"].(float64) != 2 {
		t.Fatalf("after the restart: %s", al.Payload)
	}
	// The step fired at its due time, or at once if the restart took longer.
	var fired time.Time
	for _, line := range strings.Split(cli(t, a, "audit", "export"), "\n") {
		var ev struct {
			Time    time.Time
			Action  string
			Objects []string
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Action == "escalation.step" && slices.Contains(ev.Objects, "step:2") {
			fired = ev.Time
		}
	}
	if fired.Before(due.Add(-100*time.Millisecond)) || fired.After(maxTime(due, ready).Add(time.Second)) {
		t.Fatalf("step 2 fired at %s: due %s, appliance ready again at %s", fired, due, ready)
	}
	if x, ok := kim.Next("alert", 3*time.Second); ok {
		t.Fatalf("step 2 fired twice: %s", x.Payload)
	}
	// Restart again: nothing fires a second time.
	a.Stop()
	a.Restart()
	kim = mustDial(t, a, kID, kSec, false)
	kim.Expect("alert", wait) // the open alert is shown again to a device that connects
	if x, ok := kim.Next("alert", 2*time.Second); ok {
		t.Fatalf("another alert after the second restart: %s", x.Payload)
	}
	if n := strings.Count(cli(t, a, "audit", "export"), `"step:2"`); n != 1 {
		t.Fatalf("step 2 is audited %d times, want once", n)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
