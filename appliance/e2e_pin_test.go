package appliance_test

import (
	"encoding/json"
	"os/exec"
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

	// An administrator sets carol's PIN with `wardline user pin` from stdin.
	a.CLI("user", "add", "carol", "--name", "Carol C")
	pinCLI := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(a.CLIBin, append(append([]string{"user", "pin"}, args...), "--data", a.Data)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := pinCLI("12\n", "carol"); err == nil {
		t.Fatalf("user pin took a 2-digit PIN: %s", out)
	}
	if out, err := pinCLI("7351904\n", "carol"); err != nil {
		t.Fatalf("user pin: %v %s", err, out)
	}
	req(shared, map[string]string{"ref": "s4", "op": "session.signin", "login": "carol", "pin": "7351904"})
	if r := shared.Expect("reply", wait); r.Fields["result"] == nil {
		t.Fatalf("PIN sign-in as carol: %s", r.Payload)
	}
	if out, err := pinCLI("", "carol", "--remove"); err != nil {
		t.Fatalf("user pin --remove: %v %s", err, out)
	}
	req(shared, map[string]string{"ref": "s5", "op": "session.signin", "login": "carol", "pin": "7351904"})
	if r := shared.Expect("reply", wait); r.Fields["error"] == nil {
		t.Fatalf("a removed PIN signed in: %s", r.Payload)
	}

	// The audit trail has the PIN change and the sign-ins, never the PIN.
	trail, errOut, code := a.CLI("audit", "export")
	if code != 0 {
		t.Fatalf("audit export: %s", errOut)
	}
	for _, want := range []string{"user.pin.set", "user.pin.remove", "session.signin", "bad pin", "throttled"} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %q", want)
		}
	}
	if strings.Contains(trail, "482913") || strings.Contains(a.Stderr(), "482913") || strings.Contains(trail, "7351904") {
		t.Fatal("the PIN is in the audit trail or the log")
	}
}
