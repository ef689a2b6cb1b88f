package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

var admin = audit.Actor{User: "local:root", Source: "unix"}

// openTemp opens a new store in a temporary directory.
func openTemp(t testing.TB) (*Store, Options) {
	t.Helper()
	opts := Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, opts
}

// addUser adds a local user and fails the test on error.
func addUser(t testing.TB, s *Store, login, name string) {
	t.Helper()
	if err := s.Apply(context.Background(), AddUser{By: admin, User: directory.User{Login: login, Name: name}}); err != nil {
		t.Fatalf("add %s: %v", login, err)
	}
}

func TestOpenCreatesPrivateDirAndKey(t *testing.T) {
	_, opts := openTemp(t)
	for path, want := range map[string]os.FileMode{opts.Dir: 0o700, DefaultKeyFile(opts.Dir): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
	if strings.HasPrefix(DefaultKeyFile(opts.Dir), opts.Dir+string(os.PathSeparator)) {
		t.Errorf("key file %s is inside the data directory", DefaultKeyFile(opts.Dir))
	}
}

func TestUsersSurviveReopen(t *testing.T) {
	s, opts := openTemp(t)
	addUser(t, s, "jsmith", "Smith, J")
	if err := s.Apply(context.Background(), &SetUserEnabled{By: admin, Login: "jsmith"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	u, err := s2.User("jsmith")
	if err != nil || u.Name != "Smith, J" || u.Enabled || u.Source != directory.SourceLocal {
		t.Fatalf("after reopen: %+v, %v", u, err)
	}
	if n, err := s2.VerifyAudit(context.Background()); err != nil || n != 2 {
		t.Fatalf("VerifyAudit = %d, %v; want 2 events", n, err)
	}
}

func TestFailedCommandIsAuditedAndWritesNothing(t *testing.T) {
	s, _ := openTemp(t)
	addUser(t, s, "a", "First")
	err := s.Apply(context.Background(), AddUser{By: admin, User: directory.User{Login: "a", Name: "Second"}})
	if !errors.Is(err, directory.ErrExists) {
		t.Fatalf("second add: %v, want ErrExists", err)
	}
	if u, _ := s.User("a"); u.Name != "First" {
		t.Fatalf("user overwritten: %+v", u)
	}
	var events []audit.Event
	if err := s.ExportAudit(context.Background(), admin, noTime, noTime, func(e audit.Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || events[1].Outcome != audit.OutcomeFailed || events[2].Action != "audit.export" {
		t.Fatalf("events = %+v", events)
	}
}

// snapshot returns every file under dir with its content, to show that a
// refused open touched nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func TestOpenRefusesBadKeys(t *testing.T) {
	s, opts := openTemp(t)
	addUser(t, s, "jsmith", "Smith")
	s.Close()
	keyFile := DefaultKeyFile(opts.Dir)
	good, _ := os.ReadFile(keyFile)
	other, _ := openTemp(t)
	other.Close()
	otherKey, _ := os.ReadFile(DefaultKeyFile(other.opts.Dir))
	sameInstance, _ := NewKey(s.Instance())

	cases := []struct {
		name   string
		setup  func()
		wantIs error
		want   string
	}{
		{"missing", func() { os.Remove(keyFile) }, ErrNoKey, "holds instance"},
		{"corrupt", func() { os.WriteFile(keyFile, []byte("{not json"), 0o600) }, nil, "corrupt"},
		{"short key", func() { os.WriteFile(keyFile, bytes.Replace(good, []byte(`"key": "`), []byte(`"key": "AA`), 1), 0o600) }, nil, "corrupt"},
		{"loose mode", func() { os.WriteFile(keyFile, good, 0o600); os.Chmod(keyFile, 0o644) }, nil, "chmod 600"},
		{"other instance", func() { os.WriteFile(keyFile, otherKey, 0o600) }, ErrOtherInstance, "instance"},
		{"wrong key", func() { os.Remove(keyFile); WriteKey(keyFile, sameInstance, false) }, ErrWrongKey, "does not decrypt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(keyFile)
			c.setup()
			before := snapshot(t, opts.Dir)
			_, err := Open(opts)
			if err == nil || (c.wantIs != nil && !errors.Is(err, c.wantIs)) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open = %v, want an error with %q", err, c.want)
			}
			if after := snapshot(t, opts.Dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a refused open changed the data directory")
			}
		})
	}
	os.Remove(keyFile)
	os.WriteFile(keyFile, good, 0o600)
	s3, err := Open(opts)
	if err != nil {
		t.Fatalf("with the right key again: %v", err)
	}
	s3.Close()
}

func TestOpenRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	os.Chmod(dir, 0o700)
	if _, err := Open(Options{Dir: dir, CreateKey: true}); err == nil || !strings.Contains(err.Error(), "not a Wardline data directory") {
		t.Fatalf("Open = %v", err)
	}
	loose := t.TempDir()
	os.Chmod(loose, 0o755)
	if _, err := Open(Options{Dir: loose, CreateKey: true}); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("Open of a 0755 directory = %v", err)
	}
}

// TestNothingReadableAtRest writes a marker in a user's name, more than a
// memtable of data so that SSTables are written too, and finds it in no
// file of the data directory or of a backup.
func TestNothingReadableAtRest(t *testing.T) {
	opts := Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20, MemTableSize: 1 << 20}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "CANARY-7d1f0c2e-at-rest"
	addUser(t, s, "canary", "Patient "+marker)
	for i := 0; i < 3000; i++ { // about 3 MiB: several memtable flushes
		err := s.Apply(context.Background(), PutBlob{By: admin, Path: fmt.Sprintf("fill/%d", i), Data: bytes.Repeat([]byte(marker), 30)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var backup bytes.Buffer
	if _, err := s.Backup(context.Background(), &backup, admin, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := snapshot(t, opts.Dir)
	if len(files) < 4 {
		t.Fatalf("only %d files in the data directory", len(files))
	}
	files["backup"] = backup.String()
	for name, content := range files {
		if strings.Contains(content, marker) || strings.Contains(content, "canary") {
			t.Errorf("%s holds the marker in plain text", name)
		}
	}
	s2, err := Open(opts)
	if err != nil {
		t.Fatalf("reopen after flushes: %v", err)
	}
	defer s2.Close()
	if u, err := s2.User("canary"); err != nil || !strings.Contains(u.Name, marker) {
		t.Fatalf("user after reopen: %+v %v", u, err)
	}
}

func TestGroupCommitSharesSyncs(t *testing.T) {
	s, _ := openTemp(t)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				addUser(t, s, fmt.Sprintf("u%d-%d", w, i), "N")
			}
		}(w)
	}
	wg.Wait()
	st := s.Stats()
	if st.Commands < 640 || st.Commits >= st.Commands {
		t.Fatalf("stats %+v: commits were not shared", st)
	}
	users, _ := s.Users(context.Background())
	if len(users) != 640 {
		t.Fatalf("%d users, want 640", len(users))
	}
	if n, err := s.VerifyAudit(context.Background()); err != nil || n != 640 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
}

func TestRemovesEmptyFilesLeftByPowerCut(t *testing.T) {
	s, opts := openTemp(t)
	addUser(t, s, "a", "A")
	s.Close()
	for _, name := range []string{"00009.mem", "000009.vlog"} {
		os.WriteFile(filepath.Join(opts.Dir, "db", name), nil, 0o600)
	}
	s2, err := Open(opts)
	if err != nil {
		t.Fatalf("Open with empty files: %v", err)
	}
	defer s2.Close()
	if _, err := s2.User("a"); err != nil {
		t.Fatal(err)
	}
}

// rawSet writes a key behind the store's back, as an attacker with the key
// could.
func rawSet(t *testing.T, s *Store, key, val []byte) {
	t.Helper()
	if err := s.db.Update(func(txn *badger.Txn) error {
		if val == nil {
			return txn.Delete(key)
		}
		return txn.Set(key, val)
	}); err != nil {
		t.Fatal(err)
	}
}

func rawGet(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	var v []byte
	s.View(func(r *Reader) error { v, _ = r.Get(key); return nil })
	return v
}

func TestVerifyAuditNamesFirstBadEvent(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(t *testing.T, s *Store)
		wantSeq uint64
		want    string
	}{
		{"intact", func(*testing.T, *Store) {}, 0, ""},
		{"altered", func(t *testing.T, s *Store) {
			v := rawGet(t, s, auditKey(4))
			rawSet(t, s, auditKey(4), bytes.Replace(v, []byte("user:u3"), []byte("user:zz"), 1))
		}, 4, "altered"},
		{"garbled", func(t *testing.T, s *Store) { rawSet(t, s, auditKey(2), []byte("{")) }, 2, "unreadable"},
		{"removed", func(t *testing.T, s *Store) { rawSet(t, s, auditKey(5), nil) }, 5, "missing"},
		{"removed last", func(t *testing.T, s *Store) { rawSet(t, s, auditKey(8), nil) }, 8, "removed from the end"},
		{"swapped", func(t *testing.T, s *Store) {
			a, b := rawGet(t, s, auditKey(3)), rawGet(t, s, auditKey(6))
			rawSet(t, s, auditKey(3), b)
			rawSet(t, s, auditKey(6), a)
		}, 3, "reordered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openTemp(t)
			for i := 0; i < 8; i++ {
				addUser(t, s, fmt.Sprintf("u%d", i), "N")
			}
			c.tamper(t, s)
			n, err := s.VerifyAudit(context.Background())
			if c.wantSeq == 0 {
				if err != nil || n != 8 {
					t.Fatalf("VerifyAudit = %d, %v", n, err)
				}
				return
			}
			var b *audit.BreakError
			if !errors.As(err, &b) || b.Seq != c.wantSeq || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("VerifyAudit error = %v, want event %d (%s)", err, c.wantSeq, c.want)
			}
		})
	}
}

func TestTxnScanSeesOwnWrites(t *testing.T) {
	s, _ := openTemp(t)
	for _, k := range []string{"a", "c", "e"} {
		if err := s.Apply(context.Background(), PutBlob{By: admin, Path: "t/" + k, Data: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cmd := funcCommand(func(tx *Txn) error {
		tx.Set(blobKey("t/b"), []byte("xxxxxxxxB"))
		tx.Set(blobKey("t/c"), []byte("xxxxxxxxC"))
		tx.Delete(blobKey("t/e"))
		tx.Set(blobKey("t/f"), []byte("xxxxxxxxF"))
		return tx.Scan(blobKey("t/"), func(k, v []byte) error {
			got = append(got, string(k[len(prefixBlob):])+"="+string(v[8:]))
			return nil
		})
	})
	if err := s.Apply(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	want := "[t/a=a t/b=B t/c=C t/f=F]"
	if fmt.Sprint(got) != want {
		t.Fatalf("Scan = %v, want %s", got, want)
	}
}

// funcCommand is a command made of a function, for tests.
type funcCommand func(tx *Txn) error

func (f funcCommand) Event() audit.Event  { return admin.Event("test") }
func (f funcCommand) Apply(tx *Txn) error { return f(tx) }

// TestUncompressedTablesStayReadable: a store whose tables were written
// without compression (every store before Snappy) opens and reads with
// compression on, and takes new writes next to the old tables.
func TestUncompressedTablesStayReadable(t *testing.T) {
	saved := tableCompression
	t.Cleanup(func() { tableCompression = saved })
	tableCompression = options.None
	s, opts := openTemp(t)
	addUser(t, s, "old.table", "Old")
	s.Close() // the memtable goes into an uncompressed table
	tableCompression = options.Snappy
	for i, login := range []string{"new.table", ""} {
		s, err := Open(opts)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if login != "" {
			addUser(t, s, login, "New")
		}
		for _, want := range []string{"old.table", "new.table"} {
			var u directory.User
			err := s.View(func(r *Reader) error {
				b, err := r.Get(userKey(want))
				if err != nil {
					return err
				}
				return json.Unmarshal(b, &u)
			})
			if err != nil || u.Login != want {
				t.Errorf("open %d: read %s: %+v %v", i, want, u, err)
			}
		}
		s.Close()
	}
}
