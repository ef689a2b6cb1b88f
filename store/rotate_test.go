package store

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/wardline/wardline/directory"
)

func userNamed(login string) directory.User { return directory.User{Login: login, Name: "N " + login} }

func TestRotateKeyOnline(t *testing.T) {
	s, opts := openTemp(t)
	addUser(t, s, "before", "B")
	oldID := s.KeyID()
	oldKey, _ := os.ReadFile(DefaultKeyFile(opts.Dir))
	retired, err := s.RotateKey(context.Background(), admin)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if s.KeyID() == oldID {
		t.Fatal("key id unchanged")
	}
	if b, _ := os.ReadFile(retired); string(b) != string(oldKey) {
		t.Fatalf("retired key %s does not hold the old key", retired)
	}
	addUser(t, s, "after", "A") // writes go on after the rotation
	s.Close()

	// The old key no longer opens the store; the new one does.
	keyFile := DefaultKeyFile(opts.Dir)
	newKey, _ := os.ReadFile(keyFile)
	os.WriteFile(keyFile, oldKey, 0o600)
	if _, err := Open(opts); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with the old key: %v", err)
	}
	os.WriteFile(keyFile, newKey, 0o600)
	s2, err := Open(opts)
	if err != nil {
		t.Fatalf("open with the new key: %v", err)
	}
	defer s2.Close()
	for _, l := range []string{"before", "after"} {
		if _, err := s2.User(l); err != nil {
			t.Errorf("user %s: %v", l, err)
		}
	}
	if _, err := s2.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRotationInterruptedAfterRegistry stands for a crash after the key
// registry was rewritten and before the new key file was installed.
func TestRotationInterruptedAfterRegistry(t *testing.T) {
	s, opts := openTemp(t)
	addUser(t, s, "a", "A")
	old := s.key
	s.Close()
	next, _ := NewKey(old.Instance)
	keyFile := DefaultKeyFile(opts.Dir)
	if err := WriteKey(keyFile+".new", next, false); err != nil {
		t.Fatal(err)
	}
	if err := rewriteRegistry(s.dbDir(), old.Secret, next.Secret); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(opts)
	if err != nil {
		t.Fatalf("Open after an interrupted rotation: %v", err)
	}
	defer s2.Close()
	if s2.KeyID() != next.ID() {
		t.Fatal("pending key not installed")
	}
	if _, err := os.Stat(keyFile + ".new"); !os.IsNotExist(err) {
		t.Fatal("pending key file left behind")
	}
	if _, err := s2.User("a"); err != nil {
		t.Fatal(err)
	}
}
