package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// backupWhileWriting takes a backup while writers go on and returns the
// file's path and the logins acknowledged before the backup started.
func backupWhileWriting(t *testing.T, s *Store) (string, map[string]bool) {
	t.Helper()
	for i := 0; i < 50; i++ {
		addUser(t, s, fmt.Sprintf("before%d", i), "N")
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				addUser(t, s, fmt.Sprintf("during%d-%d", w, i), "N")
			}
		}(w)
	}
	path := filepath.Join(t.TempDir(), "wardline.backup")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(context.Background(), f, admin, "wardline.backup"); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 0; i < 50; i++ {
		want[fmt.Sprintf("before%d", i)] = true
	}
	return path, want
}

func TestBackupWhileWritingRestores(t *testing.T) {
	s, opts := openTemp(t)
	path, want := backupWhileWriting(t, s)
	target := filepath.Join(t.TempDir(), "restored")
	res, err := Restore(context.Background(), RestoreOptions{Backup: path, Dir: target, KeyFile: DefaultKeyFile(opts.Dir), By: admin})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if res.KeyFile != DefaultKeyFile(target) || res.AuditEvents < 51 {
		t.Fatalf("result %+v", res)
	}
	r, err := Open(Options{Dir: target})
	if err != nil {
		t.Fatalf("open restored: %v", err)
	}
	defer r.Close()
	users, _ := r.Users(context.Background())
	got := map[string]bool{}
	for _, u := range users {
		got[u.Login] = true
	}
	for login := range want {
		if !got[login] {
			t.Errorf("restored store lacks %s", login)
		}
	}
	if n, err := r.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("restored chain: %d events, %v", n, err)
	}
	if err := r.Apply(context.Background(), AddUser{By: admin, User: userNamed("after")}); err != nil {
		t.Fatalf("write to restored store: %v", err)
	}
}

func TestRestoreRefusesBadInput(t *testing.T) {
	s, opts := openTemp(t)
	path, _ := backupWhileWriting(t, s)
	good, _ := os.ReadFile(path)
	otherStore, otherOpts := openTemp(t)
	otherStore.Close()
	keyFile := DefaultKeyFile(opts.Dir)

	cases := []struct {
		name   string
		data   []byte
		key    string
		prep   func(dir string)
		wantIs error
	}{
		{"flipped byte", flip(good, len(good)/2), keyFile, nil, ErrBadBackup},
		{"flipped header", flip(good, 30), keyFile, nil, ErrBadBackup},
		{"truncated", good[:len(good)-100], keyFile, nil, ErrBadBackup},
		{"cut at chunk", good[:len(good)/3], keyFile, nil, ErrBadBackup},
		{"not a backup", []byte("hello"), keyFile, nil, ErrBadBackup},
		{"appended", append(bytes.Clone(good), 1, 2, 3), keyFile, nil, ErrBadBackup},
		{"other key", good, DefaultKeyFile(otherOpts.Dir), nil, ErrWrongKey},
		{"target not empty", good, keyFile, func(dir string) { os.MkdirAll(dir, 0o700); os.WriteFile(filepath.Join(dir, "x"), nil, 0o600) }, ErrNotEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "b")
			os.WriteFile(p, c.data, 0o600)
			target := filepath.Join(t.TempDir(), "restored")
			if c.prep != nil {
				c.prep(target)
			}
			before := snapshot(t, filepath.Dir(target))
			_, err := Restore(context.Background(), RestoreOptions{Backup: p, Dir: target, KeyFile: c.key, By: admin})
			if !errors.Is(err, c.wantIs) {
				t.Fatalf("Restore = %v, want %v", err, c.wantIs)
			}
			if after := snapshot(t, filepath.Dir(target)); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a refused restore wrote files")
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}
