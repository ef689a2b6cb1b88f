package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// TestWebSessionReplayAndDirectory: an assertion id works once; a user not
// in the directory or disabled gets no session; ending all of a user's
// sessions ends them.
func TestWebSessionReplayAndDirectory(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addUser(t, s, "jdoe", "Doe, Jane")
	start := func(hash, login, assertion string) error {
		return s.Apply(ctx, &StartWebSession{By: audit.Actor{User: login}, Hash: hash, AssertionID: assertion, AssertionExpires: time.Now().Add(time.Hour),
			Session: directory.WebSession{ID: "s-" + hash, Login: login, Method: directory.MethodSAML, Expires: time.Now().Add(time.Hour)}})
	}
	if err := start("h1", "jdoe", "a1"); err != nil {
		t.Fatal(err)
	}
	if err := start("h2", "jdoe", "a1"); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed assertion: %v, want ErrReplay", err)
	}
	if err := start("h3", "nobody", "a2"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("user not in the directory: %v", err)
	}
	if _, err := s.WebSession("h2"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("the replay created a session: %v", err)
	}
	if err := s.Apply(ctx, &SetUserEnabled{By: audit.System, Login: "jdoe", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	if err := start("h4", "jdoe", "a3"); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("disabled user: %v", err)
	}
	cmd := &EndUserWebSessions{By: audit.System, Login: "jdoe"}
	if err := s.Apply(ctx, cmd); err != nil || cmd.Ended != 1 {
		t.Fatalf("end all: %d, %v", cmd.Ended, err)
	}
	if _, err := s.WebSession("h1"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session survived: %v", err)
	}
}
