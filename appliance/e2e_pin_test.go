package appliance_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSharedDevicePINSignin: a user sets a PIN from a personal device
// (pin.set), signs in with it on a shared device, and receives there what is
// sent to them; wrong PINs are refused and, after five, throttled for the
// login on every device; a shared device cannot set a PIN. No AD: PINs work
// for local users too.
func TestSharedDevicePINSignin(t *testing.T) {
	a := startMessaging(t)
	aID, aSec := a.Enroll(t, "alice")
	bID, bSec := a.Enroll(t, "bob")
	out, errOut, code := a.CLI("device", "enroll", "--shared", "--json")
	if code != 0 {
		t.Fatalf("enroll shared: %s", errOut)
	}
	var sd struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &sd); err != nil {
		t.Fatal(err)
	}
	alice := mustDial(t, a, aID, aSec, false)
	bob := mustDial(t, a, bID, bSec, false)
	shared := mustDial(t, a, sd.ID, sd.Secret, false)
	req := func(d interface {
		Publish(string, any) (byte, error)
	}, v map[string]string) {
		t.Helper()
		d.Publish("req", v) // a refusal is a PUBACK error too; the reply tells which
	}

	// Before bob has a PIN, a PIN sign-in is refused like a wrong one.
	req(shared, map[string]string{"ref": "s0", "op": "session.signin", "login": "bob", "pin": "482913"})
	if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("PIN sign-in without a PIN: %s", r.Payload)
	}
	req(shared, map[string]string{"ref": "p0", "op": "pin.set", "pin": "482913"})
	if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("a shared device set a PIN: %s", r.Payload)
	}
	req(bob, map[string]string{"ref": "p1", "op": "pin.set", "pin": "12ab"})
	if r := bob.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("a bad PIN was taken: %s", r.Payload)
	}
	req(bob, map[string]string{"ref": "p2", "op": "pin.set", "pin": "482913"})
	if r := bob.Expect("reply", wait); r.Fields["result"] == nil {
		t.Fatalf("pin.set: %s", r.Payload)
	}
	req(shared, map[string]string{"ref": "s1", "op": "session.signin", "login": "bob", "pin": "000000"})
	if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("a wrong PIN signed in: %s", r.Payload)
	}
	req(shared, map[string]string{"ref": "s2", "op": "session.signin", "login": "bob", "pin": "482913"})
	if r := shared.Expect("reply", wait); r.Fields["result"] == nil {
		t.Fatalf("PIN sign-in: %s", r.Payload)
	}
	id, _ := send(t, alice, map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": "see bed 7"}).Fields["id"].(string)
	if m := shared.Expect("msg", wait); m.Fields["id"] != id {
		t.Fatalf("shared device got %s, want %s", m.Payload, id)
	}
	if m := bob.Expect("msg", wait); m.Fields["id"] != id {
		t.Fatalf("bob's own device got %s, want %s", m.Payload, id)
	}

	// Five wrong PINs (one was above) throttle bob's PIN sign-in, even with
	// the right PIN.
	for i := range 4 {
		req(shared, map[string]string{"ref": "w", "op": "session.signin", "login": "bob", "pin": "111111"})
		if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
			t.Fatalf("wrong PIN %d signed in: %s", i, r.Payload)
		}
	}
	req(shared, map[string]string{"ref": "s3", "op": "session.signin", "login": "bob", "pin": "482913"})
	r := shared.Expect("reply", wait)
	e, _ := r.Fields["error"].(map[string]any)
	if e["code"] != "rate_limited" {
		t.Fatalf("after five wrong PINs: %s", r.Payload)
	}

	// The audit trail has the PIN change and the sign-ins, never the PIN.
	trail, errOut, code := a.CLI("audit", "export")
	if code != 0 {
		t.Fatalf("audit export: %s", errOut)
	}
	for _, want := range []string{"user.pin.set", "session.signin", "bad pin", "throttled"} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %q", want)
		}
	}
	if strings.Contains(trail, "482913") || strings.Contains(a.Stderr(), "482913") {
		t.Fatal("the PIN is in the audit trail or the log")
	}
}
