package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wardline/wardline/directory"
)

// TestBatchTooBigForOneTransaction submits many large commands at once
// with a small memtable, so that a batch does not fit in one Badger
// transaction: every command must still be applied whole, once.
func TestBatchTooBigForOneTransaction(t *testing.T) {
	opts := Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20, MemTableSize: 1 << 20}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.Apply(context.Background(), PutBlob{By: admin, Path: fmt.Sprintf("big/%02d", i), Data: bytes.Repeat([]byte{byte(i)}, 60<<10)})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if st := s.Stats(); st.Commits < 2 {
		t.Fatalf("all in %d commits: the batch was never split", st.Commits)
	}
	s.Close()
	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range errs {
		b, _, err := s.Blob(fmt.Sprintf("big/%02d", i))
		if err != nil || len(b) != 60<<10 || b[0] != byte(i) {
			t.Fatalf("blob %d after reopen: %d bytes, %v", i, len(b), err)
		}
	}
	if n, err := s.VerifyAudit(context.Background()); err != nil || n != 40 {
		t.Fatalf("audit: %d events, %v", n, err)
	}
}

// TestReadCacheFollowsWrites reads records through commands while they
// change, in the same batch and across batches, and after a failed command.
func TestReadCacheFollowsWrites(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addUser(t, s, "ann", "Ann One")
	readName := func() string {
		var name string
		s.Apply(ctx, funcCommand(func(tx *Txn) error {
			u, err := getUser(tx, "ann")
			name = u.Name
			return err
		}))
		return name
	}
	if readName() != "Ann One" {
		t.Fatal("first read")
	}
	// A failed command's write must not reach the cache.
	s.Apply(ctx, funcCommand(func(tx *Txn) error {
		putUser(tx, directory.User{Login: "ann", Name: "Wrong"})
		return fmt.Errorf("refused")
	}))
	if got := readName(); got != "Ann One" {
		t.Fatalf("after a failed write: %q", got)
	}
	// Writes and reads racing in shared batches always see the last write.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s.Apply(ctx, funcCommand(func(tx *Txn) error {
				u, err := getUser(tx, "ann")
				if err != nil {
					return err
				}
				u.Title += "x"
				return putUser(tx, u)
			}))
		}(i)
	}
	wg.Wait()
	u, _ := s.User("ann")
	if len(u.Title) != 50 {
		t.Fatalf("50 read-modify-write commands left %d marks: a stale read", len(u.Title))
	}
}
