package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/wardline/wardline/audit"
)

// Errors of the store. Adapters map them to exit codes and reason codes.
var (
	ErrClosed        = errors.New("store closed")
	ErrDiskFull      = errors.New("disk full")
	ErrWrongKey      = errors.New("wrong key for this data directory")
	ErrOtherInstance = errors.New("key file belongs to another instance")
	ErrNoKey         = errors.New("key file missing")
	ErrNotEmpty      = errors.New("data directory is not empty")
	ErrLocked        = errors.New("data directory in use by another process")
)

// Options configure a store.
type Options struct {
	// Dir is the data directory; the database lives in Dir/db. It is created
	// with mode 0700 when missing and refused when others may read it.
	Dir string
	// KeyFile is the master key. When it is missing and Dir holds no data,
	// Open generates it if CreateKey is set.
	KeyFile   string
	CreateKey bool
	// MinFree is the free space, in bytes, below which writes are refused with
	// ErrDiskFull so that what is written is never damaged by a full disk.
	// Zero means 256 MiB.
	MinFree uint64
	// MaxBatch caps the commands that share one transaction and one fsync.
	// Zero means 1024.
	MaxBatch int
	// MemTableSize is Badger's memtable size; zero means 32 MiB.
	MemTableSize int64
	Logger       *slog.Logger
	Now          func() time.Time
}

// DefaultKeyFile is where the key lives when the operator names none:
// beside the data directory, never inside it (wardline-data.key for
// wardline-data).
func DefaultKeyFile(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = filepath.Clean(dataDir)
	}
	return filepath.Join(filepath.Dir(abs), filepath.Base(abs)+".key")
}

// Store is the open, encrypted system of record.
type Store struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	key  Key

	// mu guards db: the committer and readers hold it shared, key rotation
	// holds it exclusively while it closes and reopens the database.
	mu sync.RWMutex
	db *badger.DB

	reqs    chan *request
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	pausing atomic.Bool // a key rotation waits for the committer to be idle
	// failCommit, when set (tests only), is asked before each commit; an
	// error fails that commit as a failed write would.
	failCommit func() error

	head  audit.Head // end of the audit chain, owned by the committer
	cache *readCache // hot records, owned by the committer
	stats stats
}

// instanceFile names the file in the data directory that says which
// instance the data belongs to.
const instanceFile = "instance"

// Open opens the store in opts.Dir, creating it (and its key) on first use.
// It refuses, without touching any data, a missing, corrupt or wrong key, a
// key of another instance, and a data directory that others may read.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeyFile == "" {
		opts.KeyFile = DefaultKeyFile(opts.Dir)
	}
	if opts.MinFree == 0 {
		opts.MinFree = 256 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 32 << 20
	}
	if err := prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	key, err := resolveKey(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, log: opts.Logger, now: opts.Now, key: key, cache: newReadCache()}
	if err := s.openDB(); err != nil {
		return nil, err
	}
	if err := s.startup(); err != nil {
		s.db.Close()
		return nil, err
	}
	s.reqs = make(chan *request, 4*opts.MaxBatch)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.commitLoop()
	return s, nil
}

// prepareDir creates the data directory with mode 0700, or checks that an
// existing one is the owner's alone.
func prepareDir(dir string) error {
	if dir == "" {
		return errors.New("open store: no data directory")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		return os.Chmod(dir, 0o700)
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("data directory %s has mode %04o; it must be the owner's alone (chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// resolveKey loads the key and checks it against the data directory's
// instance, or creates both for a new data directory.
func resolveKey(opts Options) (Key, error) {
	instPath := filepath.Join(opts.Dir, instanceFile)
	inst, err := os.ReadFile(instPath)
	hasInstance := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Key{}, fmt.Errorf("read %s: %w", instPath, err)
	}
	instance := strings.TrimSpace(string(inst))
	if !hasInstance {
		entries, err := os.ReadDir(opts.Dir)
		if err != nil {
			return Key{}, fmt.Errorf("read data directory: %w", err)
		}
		for _, e := range entries {
			if e.Name() == "db" || e.Name() == "ca" {
				return Key{}, fmt.Errorf("data directory %s holds data but no %s file: it is not a Wardline data directory or it is damaged", opts.Dir, instanceFile)
			}
		}
	}
	key, err := LoadKey(opts.KeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist) && hasInstance:
		return Key{}, fmt.Errorf("%w: %s; the data directory %s holds instance %s and cannot be opened without its key", ErrNoKey, opts.KeyFile, opts.Dir, instance)
	case errors.Is(err, fs.ErrNotExist) && !opts.CreateKey:
		return Key{}, fmt.Errorf("%w: %s", ErrNoKey, opts.KeyFile)
	case errors.Is(err, fs.ErrNotExist):
		key, err = NewKey(NewInstanceID())
		if err != nil {
			return Key{}, err
		}
		if err := WriteKey(opts.KeyFile, key, false); err != nil {
			return Key{}, fmt.Errorf("create key file: %w", err)
		}
	case err != nil:
		return Key{}, err
	case hasInstance && key.Instance != instance:
		return Key{}, fmt.Errorf("%w: %s is the key of instance %s, but the data directory %s holds instance %s", ErrOtherInstance, opts.KeyFile, key.Instance, opts.Dir, instance)
	}
	if !hasInstance {
		if err := writeFileAtomic(instPath, []byte(key.Instance+"\n"), 0o600); err != nil {
			return Key{}, err
		}
	}
	return key, nil
}

// dbDir is where Badger keeps its files.
func (s *Store) dbDir() string { return filepath.Join(s.opts.Dir, "db") }

// tableCompression compresses Badger's tables (not its write-ahead log):
// a third fewer bytes written under load, for no more CPU per message
// (measured: docs/bench.md). Each table records how it was written, so a
// store written before (uncompressed) stays readable; a variable for that
// test.
var tableCompression = options.Snappy

// badgerOptions are Badger's settings, tuned for a small appliance: synced
// writes, encryption always on, modest caches.
func badgerOptions(dir string, key []byte, memTable int64, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithEncryptionKey(key).
		WithEncryptionKeyRotationDuration(10 * 24 * time.Hour).
		WithIndexCacheSize(16 << 20). // required with encryption (badger#1832)
		WithBlockCacheSize(64 << 20).
		WithCompression(tableCompression).
		WithSyncWrites(true).
		WithDetectConflicts(false). // one committer writes: there is nothing to conflict with
		WithMemTableSize(memTable).
		WithValueThreshold(min(256<<10, memTable/8)). // keep records in the LSM tree: a failed vlog fsync is only logged
		WithNumMemtables(2).
		WithValueLogFileSize(64 << 20).
		WithBaseTableSize(8 << 20).
		WithNumCompactors(2).
		WithNumLevelZeroTables(8).
		WithNumLevelZeroTablesStall(16).
		WithCompactL0OnClose(false).
		WithLogger(badgerLogger{log})
}

// openDB removes the zero-length files a power cut can leave (badger#2207),
// then opens Badger with the key, and with a pending rotated key if the
// current one no longer matches.
func (s *Store) openDB() error {
	if err := os.MkdirAll(s.dbDir(), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.dbDir(), err)
	}
	if err := removeEmptyFiles(s.dbDir(), s.log); err != nil {
		return err
	}
	db, err := badger.Open(badgerOptions(s.dbDir(), s.key.Secret, s.opts.MemTableSize, s.log))
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		db, err = s.openWithPendingKey()
	}
	switch {
	case errors.Is(err, badger.ErrEncryptionKeyMismatch):
		return fmt.Errorf("open store: %w (%s does not decrypt %s)", ErrWrongKey, s.opts.KeyFile, s.dbDir())
	case err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock"):
		return fmt.Errorf("open store: %w: %s (is the appliance running? stop it or use the running appliance)", ErrLocked, s.dbDir())
	case err != nil:
		return fmt.Errorf("open store %s: %w", s.dbDir(), err)
	}
	s.db = db
	return nil
}

// removeEmptyFiles deletes zero-length memtable and value-log files, which
// hold nothing but stop Badger from opening after a power cut.
func removeEmptyFiles(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.Size() != 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove empty %s: %w", p, err)
		}
		log.Warn("removed an empty database file left by an interrupted write", "file", p)
	}
	return nil
}

// startup makes a synced write at once (so that files Badger created at Open
// are on disk) and loads the end of the audit chain.
func (s *Store) startup() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyInstance), []byte(s.key.Instance))
	})
	if err != nil {
		return fmt.Errorf("open store: first write: %w", err)
	}
	head, err := s.loadHead()
	if err != nil {
		return err
	}
	s.head = head
	s.stats.auditSeq.Store(head.Seq)
	return nil
}

// Instance returns the id of the instance whose data this is.
func (s *Store) Instance() string { return s.key.Instance }

// KeyID returns the fingerprint of the master key in use.
func (s *Store) KeyID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.key.ID()
}

// Close stops accepting commands, waits for those in flight, syncs and
// closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.stopped
		// A command that slipped in after the committer's last look is refused.
		for {
			select {
			case r := <-s.reqs:
				r.answer(ErrClosed)
				continue
			default:
			}
			break
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if serr := s.db.Sync(); serr != nil {
			err = fmt.Errorf("close store: sync: %w", serr)
		}
		if cerr := s.db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	})
	return err
}

// Ping reports whether the store is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	return s.View(func(r *Reader) error {
		_, err := r.Get([]byte(keyInstance))
		return err
	})
}
