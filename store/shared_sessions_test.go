package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wardline/wardline/messaging"
)

// TestSharedSessionDelivery: a shared device signed in as bob gets what is
// sent to bob, keeps nothing after sign-out, and is signed out (not
// revoked) when bob is disabled; another user signing in replaces bob.
func TestSharedSessionDelivery(t *testing.T) {
	f := newMsgFixture(t)
	ctx := context.Background()
	if err := f.s.Apply(ctx, EnrollDevice{By: admin, Device: Device{ID: "dev_s1", SecretHash: "x"}}); err != nil {
		t.Fatal(err)
	}
	bob := []messaging.Address{{User: "bob"}}
	if _, err := f.send(t, bob, "", "", messaging.Normal); err != nil {
		t.Fatal(err)
	}
	if q := f.queue(t, "dev_s1"); len(q.Messages) != 0 {
		t.Fatalf("signed-out shared device has %d messages queued", len(q.Messages))
	}
	in := &SignInShared{By: admin, Device: "dev_s1", Login: "bob", Expires: f.now.Add(12 * time.Hour)}
	if err := f.s.Apply(ctx, in); err != nil {
		t.Fatal(err)
	}
	if q := f.queue(t, "dev_s1"); len(q.Messages) != 0 {
		t.Fatal("messages sent before the sign-in were queued for the shared device")
	}
	c, err := f.send(t, bob, "", "", messaging.Urgent)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Deliveries, func(d Delivery) bool { return d.Device == "dev_s1" && d.User == "bob" }) {
		t.Fatalf("deliveries %v miss the shared device", c.Deliveries)
	}
	if q := f.queue(t, "dev_s1"); len(q.Messages) != 1 || q.Messages[0].ID != c.Result.ID {
		t.Fatalf("shared device queue = %+v", q.Messages)
	}
	f.ack(t, "bob", "dev_s1", c.Result.ID, messaging.Delivered)

	// Another user signing in replaces bob, whose queue there is dropped.
	if _, err := f.send(t, bob, "", "", messaging.Normal); err != nil {
		t.Fatal(err)
	}
	in = &SignInShared{By: admin, Device: "dev_s1", Login: "carol", Expires: f.now.Add(12 * time.Hour)}
	if err := f.s.Apply(ctx, in); err != nil || in.Replaced != "bob" {
		t.Fatalf("sign-in over bob: replaced %q, %v", in.Replaced, err)
	}
	if q := f.queue(t, "dev_s1"); len(q.Messages) != 0 {
		t.Fatalf("bob's messages stayed queued for carol's session: %d", len(q.Messages))
	}
	if devs, _ := f.s.UserDevices("bob"); slices.Contains(devs, "dev_s1") {
		t.Fatal("the shared device is still bob's")
	}
	if ss, ok, _ := f.s.SharedSessionOf("dev_s1"); !ok || ss.User != "carol" {
		t.Fatalf("session = %+v %v", ss, ok)
	}

	// A stale expiry for bob changes nothing; carol's sign-out ends it.
	if err := f.s.Apply(ctx, &SignOutShared{By: admin, Device: "dev_s1", User: "bob", Reason: "expired"}); !errors.Is(err, ErrNotSignedIn) {
		t.Fatalf("stale sign-out: %v", err)
	}
	out := &SignOutShared{By: admin, Device: "dev_s1"}
	if err := f.s.Apply(ctx, out); err != nil || out.User != "carol" {
		t.Fatalf("sign-out: %q %v", out.User, err)
	}
	if _, err := f.send(t, []messaging.Address{{User: "carol"}}, "", "", messaging.Normal); err != nil {
		t.Fatal(err)
	}
	if q := f.queue(t, "dev_s1"); len(q.Messages) != 0 {
		t.Fatal("a signed-out shared device still gets carol's messages")
	}
	if err := f.s.Apply(ctx, &SignOutShared{By: admin, Device: "dev_s1"}); !errors.Is(err, ErrNotSignedIn) {
		t.Fatalf("second sign-out: %v", err)
	}

	// Disabling carol signs her out of the shared device and leaves it enrolled.
	if err := f.s.Apply(ctx, &SignInShared{By: admin, Device: "dev_s1", Login: "carol", Expires: f.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	dis := &SetUserEnabled{By: admin, Login: "carol"}
	if err := f.s.Apply(ctx, dis); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dis.SignedOut, []string{"dev_s1"}) || !slices.Equal(dis.Revoked, []string{"dev_c1"}) {
		t.Fatalf("disable: signed out %v, revoked %v", dis.SignedOut, dis.Revoked)
	}
	if d, _, err := f.s.DeviceAccess("dev_s1"); err != nil || !d.Active() {
		t.Fatalf("the shared device was revoked with its user: %+v %v", d, err)
	}
	if _, ok, _ := f.s.SharedSessionOf("dev_s1"); ok {
		t.Fatal("session of a disabled user survived")
	}
	if err := f.s.Apply(ctx, &SignInShared{By: admin, Device: "dev_s1", Login: "carol"}); err == nil {
		t.Fatal("a disabled user signed in")
	}

	// Revoking the shared device ends its session.
	if err := f.s.Apply(ctx, &SignInShared{By: admin, Device: "dev_s1", Login: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Apply(ctx, RevokeDevice{By: admin, ID: "dev_s1"}); err != nil {
		t.Fatal(err)
	}
	if devs, _ := f.s.UserDevices("bob"); slices.Contains(devs, "dev_s1") {
		t.Fatal("a revoked shared device is still bob's")
	}
	if list, _ := f.s.SharedSessions(ctx); len(list) != 0 {
		t.Fatalf("sessions after revoke: %+v", list)
	}
	// A personal device cannot be signed in on.
	if err := f.s.Apply(ctx, &SignInShared{By: admin, Device: "dev_b1", Login: "alice"}); err == nil {
		t.Fatal("sign-in on a personal device")
	}
}
