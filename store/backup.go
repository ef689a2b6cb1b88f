package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/audit"
)

// Backup writes a consistent, encrypted copy of the whole store to w while
// writes go on: Badger streams one snapshot. The backup is audited first
// (fail closed), so the copy holds its own "backup.create" event.
func (s *Store) Backup(ctx context.Context, w io.Writer, by audit.Actor, name string) (BackupInfo, error) {
	if err := s.Record(ctx, by.Event("backup.create", "backup:"+name)); err != nil {
		return BackupInfo{}, err
	}
	head, err := s.loadHead()
	if err != nil {
		return BackupInfo{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	info := BackupInfo{Version: 1, Instance: s.key.Instance, Created: s.now().UTC(), KeyID: s.key.ID(), Salt: make([]byte, 32), AuditHead: head}
	if _, err := rand.Read(info.Salt); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	sw, err := newSealWriter(w, s.key.Secret, info)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	if _, err := s.db.Backup(sw, 0); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	if err := sw.Close(); err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	return info, nil
}

// CheckBackup reads a whole backup file and authenticates every chunk with
// key, writing nothing. It returns the file's header.
func CheckBackup(path string, key Key) (BackupInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("check backup: %w", err)
	}
	defer f.Close()
	info, r, err := newOpenReader(f, key)
	if err != nil {
		return info, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return info, err
	}
	return info, nil
}

// RestoreOptions say what to restore where.
type RestoreOptions struct {
	Backup  string // the backup file
	Dir     string // the data directory to restore into: missing or empty
	KeyFile string // the key the backup was made with; default DefaultKeyFile(Dir)
	By      audit.Actor
	Logger  *slog.Logger
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Info        BackupInfo
	KeyFile     string // where the restored instance's key is
	AuditEvents uint64 // events in the verified audit chain
}

// Restore restores a backup into an empty data directory. It authenticates
// the whole file before it writes anything, then loads it, verifies the
// audit chain and appends a "backup.restore" event. On failure it removes
// what it created. The instance's key is written beside the data directory
// (DefaultKeyFile) when it came from elsewhere and none is there.
func Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.KeyFile == "" {
		o.KeyFile = DefaultKeyFile(o.Dir)
	}
	if err := emptyDir(o.Dir); err != nil {
		return RestoreResult{}, err
	}
	key, err := LoadKey(o.KeyFile)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore needs the key file of the instance the backup came from (--key FILE): %w", err)
	}
	info, err := CheckBackup(o.Backup, key)
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Info: info, KeyFile: o.KeyFile}
	// From here on, undo everything on failure.
	created, err := createFresh(o.Dir)
	if err != nil {
		return res, err
	}
	keyCopy := ""
	undo := func() {
		if created {
			os.RemoveAll(o.Dir)
		} else {
			clearDir(o.Dir)
		}
		if keyCopy != "" {
			os.Remove(keyCopy)
		}
	}
	if def := DefaultKeyFile(o.Dir); def != absPath(o.KeyFile) {
		if _, err := os.Stat(def); errors.Is(err, fs.ErrNotExist) {
			if err := WriteKey(def, key, false); err != nil {
				undo()
				return res, err
			}
			keyCopy, res.KeyFile = def, def
		}
	}
	if err := loadBackup(o, key); err != nil {
		undo()
		return res, err
	}
	s, err := Open(Options{Dir: o.Dir, KeyFile: res.KeyFile, Logger: o.Logger})
	if err != nil {
		undo()
		return res, err
	}
	n, verr := s.VerifyAudit(ctx)
	ev := o.By.Event("backup.restore", "backup:"+filepath.Base(o.Backup), "instance:"+info.Instance)
	if verr != nil {
		ev.Outcome, ev.Reason = audit.OutcomeFailed, reason(verr)
	}
	aerr := s.Record(ctx, ev)
	cerr := s.Close()
	if err := errors.Join(verr, aerr, cerr); err != nil {
		undo()
		return res, fmt.Errorf("restore: %w", err)
	}
	res.AuditEvents = n
	return res, nil
}

// loadBackup writes the decrypted content of the backup into a new Badger
// database in o.Dir.
func loadBackup(o RestoreOptions, key Key) error {
	f, err := os.Open(o.Backup)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	_, r, err := newOpenReader(f, key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.Dir, instanceFile), []byte(key.Instance+"\n"), 0o600); err != nil {
		return err
	}
	dbDir := filepath.Join(o.Dir, "db")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db, err := badger.Open(badgerOptions(dbDir, key.Secret, 16<<20, o.Logger))
	if err != nil {
		return fmt.Errorf("restore: open: %w", err)
	}
	if err := db.Load(r, 256); err != nil {
		db.Close()
		return fmt.Errorf("restore: load: %w", err)
	}
	return db.Close()
}

// emptyDir checks that dir is missing or empty.
func emptyDir(dir string) error {
	if dir == "" {
		return errors.New("restore: no data directory")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("restore: %w: %s (restore only into a new, empty directory)", ErrNotEmpty, dir)
	}
	return nil
}

// createFresh creates dir with mode 0700 and says whether it did.
func createFresh(dir string) (bool, error) {
	if _, err := os.Stat(dir); err == nil {
		return false, os.Chmod(dir, 0o700)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	return true, nil
}

// clearDir removes what is inside dir.
func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// absPath is filepath.Abs, or the cleaned path when that fails.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}
