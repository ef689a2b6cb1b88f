package appliance_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// TestSharedDeviceSessionDelivery signs a user in on a shared device with
// the AD password (a real Samba DC) and shows that the device is one of the
// user's devices while signed in: it receives what is sent to the user and
// acks it as the user; the session survives a restart; after sign-out it
// receives nothing more; disabling the user in AD signs the device out
// (in/cmd signout) without revoking it.
func TestSharedDeviceSessionDelivery(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Shift")
	for i := 1; i <= 12; i++ { // 12, so that disabling one passes the mass-disable guard
		dc.Tool(t, "user", "create", fmt.Sprintf("shift%02d", i), "Passw0rd!Shift1", "--userou=OU=Shift")
	}
	a := startWithAD(t, dc, ou, "5s")
	deadline := time.Now().Add(30 * time.Second)
	for !users(t, a)["shift02"].Enabled {
		if time.Now().After(deadline) {
			t.Fatal("shift02 not synced")
		}
		time.Sleep(200 * time.Millisecond)
	}
	enroll := func(args ...string) (id, secret string) {
		t.Helper()
		out, errOut, code := a.CLI(append([]string{"device", "enroll", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("enroll %v: %s", args, errOut)
		}
		var d struct{ ID, Secret string }
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		return d.ID, d.Secret
	}
	pID, pSec := enroll("--user", "shift01")
	sID, sSec := enroll("--shared")
	personal := mustDial(t, a, pID, pSec, false)
	shared := mustDial(t, a, sID, sSec, false)
	signin := func(d *testkit.Device) {
		t.Helper()
		d.Publish("req", map[string]string{"ref": "in", "op": "session.signin", "login": "shift02", "password": "Passw0rd!Shift1"})
		r := d.Expect("reply", 15*time.Second)
		res, _ := r.Fields["result"].(map[string]any)
		if res["user"] != "shift02" || res["expires"] == nil {
			t.Fatalf("sign-in: %s", r.Payload)
		}
	}
	toShift02 := func(body string) string {
		t.Helper()
		r := send(t, personal, map[string]any{"to": []map[string]string{{"user": "shift02"}}, "body": body})
		id, _ := r.Fields["id"].(string)
		return id
	}
	// Sent before the sign-in: not pushed to the shared device (history has it).
	toShift02("before the shift")
	signin(shared)

	id := toShift02("bed 4 needs review")
	if m := shared.Expect("msg", wait); m.Fields["id"] != id {
		t.Fatalf("shared device got %s, want %s", m.Payload, id)
	}
	if code, err := shared.Publish("ack", map[string]string{"id": id, "state": "delivered"}); err != nil || code != 0 {
		t.Fatalf("ack: %#x %v", code, err)
	}
	if rc := personal.Expect("receipt", wait); rc.Fields["id"] != id || rc.Fields["user"] != "shift02" || rc.Fields["state"] != "delivered" {
		t.Fatalf("receipt: %s", rc.Payload)
	}

	// A restart (after a kill) keeps the session: the device still receives
	// as shift02.
	a.Kill()
	a.Restart()
	personal = mustDial(t, a, pID, pSec, false)
	shared = mustDial(t, a, sID, sSec, false)
	id = toShift02("after the restart")
	if m := shared.Expect("msg", wait); m.Fields["id"] != id {
		t.Fatalf("after restart the shared device got %s, want %s", m.Payload, id)
	}
	shared.Publish("ack", map[string]string{"id": id, "state": "read"})
	personal.Expect("receipt", wait)

	// After sign-out, nothing more for shift02 reaches the device.
	shared.Publish("req", map[string]string{"ref": "out", "op": "session.signout"})
	if r := shared.Expect("reply", wait); r.Fields["result"] == nil {
		t.Fatalf("sign-out: %s", r.Payload)
	}
	toShift02("after the sign-out")
	if m, ok := shared.Next("msg", 3*time.Second); ok {
		t.Fatalf("a signed-out shared device received %s", m.Payload)
	}
	shared.Publish("send", map[string]any{"to": []map[string]string{{"user": "shift01"}}, "body": "as whom?"})
	if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("a signed-out shared device sent: %s", r.Payload)
	}

	// Disabling the user in AD signs the device out; the device stays enrolled.
	signin(shared)
	dc.Tool(t, "user", "disable", "shift02")
	if r := shared.Expect("cmd", 15*time.Second); r.Fields["cmd"] != "signout" {
		t.Fatalf("in/cmd = %s, want signout", r.Payload)
	}
	shared.Close()
	again := mustDial(t, a, sID, sSec, false)
	again.Publish("req", map[string]string{"ref": "q", "op": "directory.search", "q": "shift"})
	if r := again.Expect("reply", wait); r.Fields["error"] != nil {
		t.Fatalf("the shared device lost its enrolment with its user: %s", r.Payload)
	}
}
