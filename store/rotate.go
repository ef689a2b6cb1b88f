package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
)

// pendingKeyFile is where a new key waits while a rotation is under way.
func (s *Store) pendingKeyFile() string { return s.opts.KeyFile + ".new" }

// RotateKey replaces the master key. Badger's data keys stay; its key
// registry is encrypted again with the new key, so no data is rewritten and
// the store is closed only for a moment (writes wait, none fail). The old key
// is kept as KeyFile.retired-<time>, which the operator should move offline:
// backups taken before the rotation need it. It returns that path.
//
// A crash at any point leaves a store that opens: with the old key, or with
// the new one still waiting in KeyFile.new, which Open then finishes
// installing.
func (s *Store) RotateKey(ctx context.Context, by audit.Actor) (string, error) {
	retired, oldID, newID, err := s.rotate()
	ev := by.Event("key.rotate", "key:"+oldID, "key:"+newID)
	if err != nil {
		ev.Outcome, ev.Reason = audit.OutcomeFailed, reason(err)
	}
	if aerr := s.Record(ctx, ev); aerr != nil && err == nil {
		err = fmt.Errorf("key rotated, but its audit event failed: %w", aerr)
	}
	return retired, err
}

// rotate does the work of RotateKey with the database closed.
func (s *Store) rotate() (retired, oldID, newID string, err error) {
	s.pausing.Store(true) // the committer holds the lock shared while it has work
	defer s.pausing.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.key
	oldID = old.ID()
	next, err := NewKey(old.Instance)
	if err != nil {
		return "", oldID, "", err
	}
	newID = next.ID()
	if err := WriteKey(s.pendingKeyFile(), next, true); err != nil {
		return "", oldID, newID, fmt.Errorf("rotate key: cannot write the new key beside %s (a key managed outside the appliance is rotated offline): %w", s.opts.KeyFile, err)
	}
	if err := s.db.Close(); err != nil {
		return "", oldID, newID, fmt.Errorf("rotate key: close: %w", err)
	}
	reopen := func(k Key) error {
		db, err := badger.Open(badgerOptions(s.dbDir(), k.Secret, s.opts.MemTableSize, s.log))
		if err != nil {
			return fmt.Errorf("rotate key: reopen: %w", err)
		}
		s.db, s.key = db, k
		return nil
	}
	if err := rewriteRegistry(s.dbDir(), old.Secret, next.Secret); err != nil {
		os.Remove(s.pendingKeyFile())
		return "", oldID, newID, errors.Join(err, reopen(old))
	}
	retired, err = s.installPendingKey()
	if err != nil {
		return "", oldID, newID, errors.Join(err, reopen(next))
	}
	return retired, oldID, newID, reopen(next)
}

// rewriteRegistry encrypts Badger's key registry with a new master key.
func rewriteRegistry(dir string, oldKey, newKey []byte) error {
	opt := badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: oldKey, EncryptionKeyRotationDuration: 10 * 24 * time.Hour}
	kr, err := badger.OpenKeyRegistry(opt)
	if err != nil {
		return fmt.Errorf("rotate key: open key registry: %w", err)
	}
	defer kr.Close()
	opt.EncryptionKey = newKey
	if err := badger.WriteKeyRegistry(kr, opt); err != nil {
		return fmt.Errorf("rotate key: write key registry: %w", err)
	}
	return nil
}

// installPendingKey retires the current key file and puts the pending one in
// its place.
func (s *Store) installPendingKey() (string, error) {
	retired := fmt.Sprintf("%s.retired-%s", s.opts.KeyFile, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(s.opts.KeyFile, retired); err != nil {
		return "", fmt.Errorf("rotate key: retire old key: %w", err)
	}
	if err := os.Rename(s.pendingKeyFile(), s.opts.KeyFile); err != nil {
		return "", fmt.Errorf("rotate key: install new key: %w", err)
	}
	return retired, syncDir(filepath.Dir(s.opts.KeyFile))
}

// openWithPendingKey finishes a rotation that a crash interrupted: the key
// registry already uses the key in KeyFile.new.
func (s *Store) openWithPendingKey() (*badger.DB, error) {
	k, err := LoadKey(s.pendingKeyFile())
	if err != nil || k.Instance != s.key.Instance {
		return nil, badger.ErrEncryptionKeyMismatch
	}
	db, err := badger.Open(badgerOptions(s.dbDir(), k.Secret, s.opts.MemTableSize, s.log))
	if err != nil {
		return nil, err
	}
	if _, err := s.installPendingKey(); err != nil {
		db.Close()
		return nil, err
	}
	s.key = k
	s.log.Warn("finished a key rotation that was interrupted", "key_file", s.opts.KeyFile)
	return db, nil
}
