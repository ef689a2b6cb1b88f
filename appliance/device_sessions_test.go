package appliance

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// offlineNet is a transport with no device connected.
type offlineNet struct{}

func (offlineNet) Deliver(context.Context, string, broker.Outgoing) error { return nil }
func (offlineNet) DeliverBatch(_ context.Context, _ string, ms []broker.Outgoing) (int, error) {
	return len(ms), nil
}
func (offlineNet) Disconnect(string) bool { return false }
func (offlineNet) Connected(string) bool  { return false }

// TestSharedSessionLifetimes: the appliance signs a shared device out after
// the idle or the absolute lifetime (time injected), keeps a session a
// restart reloads, and forgets one the store ended on its own (revoke).
func TestSharedSessionLifetimes(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Apply(ctx, store.AddUser{By: audit.System, User: directory.User{Login: "bob", Name: "Bob"}}); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"dev_s1", "dev_s2", "dev_s3"} {
		if err := st.Apply(ctx, store.EnrollDevice{By: audit.System, Device: store.Device{ID: dev, SecretHash: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	now := t0
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newAPI := func() *deviceAPI {
		a := &deviceAPI{store: st, out: newDeliveries(st, offlineNet{}, log, time.Minute), log: log, now: func() time.Time { return now }}
		if err := a.loadSessions(ctx); err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, dev := range []string{"dev_s1", "dev_s2", "dev_s3"} {
		if err := st.Apply(ctx, &store.SignInShared{By: audit.System, Device: dev, Login: "bob", Expires: t0.Add(sharedSessionMax)}); err != nil {
			t.Fatal(err)
		}
	}
	a := newAPI() // as after a restart: the sessions come from the store
	for _, dev := range []string{"dev_s1", "dev_s2", "dev_s3"} {
		if a.sessions.user(dev, now) != "bob" {
			t.Fatalf("%s: session not loaded", dev)
		}
	}
	signedIn := func(dev string) bool {
		t.Helper()
		_, ok, err := st.SharedSessionOf(dev)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// dev_s1 stays busy; dev_s2 goes idle; dev_s3 is revoked.
	if err := st.Apply(ctx, store.RevokeDevice{By: audit.System, ID: "dev_s3"}); err != nil {
		t.Fatal(err)
	}
	for now = t0; now.Before(t0.Add(sharedSessionIdle + time.Minute)); now = now.Add(30 * time.Minute) {
		a.sessions.user("dev_s1", now)
		a.expireSessions(ctx)
	}
	a.expireSessions(ctx)
	switch {
	case !signedIn("dev_s1") || a.sessions.user("dev_s1", now) != "bob":
		t.Fatal("a busy session ended")
	case signedIn("dev_s2") || a.sessions.user("dev_s2", now) != "":
		t.Fatal("an idle session survived its idle lifetime")
	case a.sessions.user("dev_s3", now) != "":
		t.Fatal("the mirror kept the session of a revoked device")
	}
	for ; now.Before(t0.Add(sharedSessionMax)); now = now.Add(30 * time.Minute) {
		a.sessions.user("dev_s1", now)
		a.expireSessions(ctx)
	}
	a.expireSessions(ctx)
	if signedIn("dev_s1") || a.sessions.user("dev_s1", now) != "" {
		t.Fatal("a session survived its absolute lifetime")
	}
	if devs, _ := st.UserDevices("bob"); len(devs) != 0 {
		t.Fatalf("bob's devices after expiry: %v", devs)
	}
}
