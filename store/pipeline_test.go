package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wardline/wardline/directory"
)

// TestFailedCommitRedoesNextBatch fails one commit while the committer
// builds the next batch on top of it: the failed batch's commands get the
// error and leave nothing behind (no record, no audit event, nothing in
// the read cache), and the next batch, which had read its writes and
// continued its audit chain, is applied again and kept whole.
func TestFailedCommitRedoesNextBatch(t *testing.T) {
	opts := Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20, MaxBatch: 16}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var commits atomic.Int64
	errWrite := errors.New("injected write failure")
	s.failCommit = func() error {
		if commits.Add(1) == 4 {
			return errWrite
		}
		return nil
	}
	// Submitted all at once, so that batches queue behind the failing one.
	const writers, each = 16, 25
	errs := make([][]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		errs[w] = make([]error, each)
	}
	for i := range each {
		for w := range writers {
			wg.Add(1)
			u := directory.User{Login: fmt.Sprintf("u%02d-%02d", w, i), Name: "N"}
			s.Submit(AddUser{By: admin, User: u}, func(err error) { errs[w][i] = err; wg.Done() })
		}
	}
	wg.Wait()
	var ok, failed []string
	for w := range writers {
		for i, err := range errs[w] {
			login := fmt.Sprintf("u%02d-%02d", w, i)
			switch {
			case err == nil:
				ok = append(ok, login)
			case errors.Is(err, errWrite) && strings.HasPrefix(err.Error(), "store: commit:"):
				failed = append(failed, login)
			default:
				t.Fatalf("%s: unexpected error %v", login, err)
			}
		}
	}
	if st := s.Stats(); st.FailedCommits != 1 {
		t.Fatalf("%d failed commits, want 1", st.FailedCommits)
	}
	if len(failed) == 0 {
		t.Fatal("no command saw the failed commit")
	}
	check := func(s *Store, when string) {
		t.Helper()
		users, err := s.Users(context.Background())
		if err != nil || len(users) != len(ok) {
			t.Fatalf("%s: %d users (%v), want the %d acknowledged", when, len(users), err, len(ok))
		}
		if n, err := s.VerifyAudit(context.Background()); err != nil || n != uint64(len(ok)) {
			t.Fatalf("%s: audit %d events, %v; want %d", when, n, err, len(ok))
		}
	}
	check(s, "after the failure")
	// The failed users were never written: adding them now works (a user
	// left in the read cache would be refused as existing).
	for _, login := range failed {
		addUser(t, s, login, "N")
	}
	ok = append(ok, failed...)
	check(s, "after adding the failed ones")
	s.Close()
	s2, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2, "after reopening")
}
