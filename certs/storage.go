package certs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// Storage is the encrypted key-value store that certificates and keys are
// kept in. The appliance wires its Badger store into it. Keys are
// slash-separated paths such as "certificates/<issuer>/<name>/<name>.key".
type Storage interface {
	// Put stores value at key, replacing any previous value.
	Put(ctx context.Context, key string, value []byte) error
	// Get returns the value at key and when it was last written. It returns
	// an error for which errors.Is(err, fs.ErrNotExist) holds when key is
	// missing.
	Get(ctx context.Context, key string) (value []byte, modified time.Time, err error)
	// Delete deletes key and every key under key+"/". A missing key is not
	// an error.
	Delete(ctx context.Context, key string) error
	// List returns all keys that start with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// magicStorage adapts Storage to certmagic.Storage. Locks are in-process
// (one appliance, one process): a map of named locks guarded by a mutex.
type magicStorage struct {
	s Storage

	mu    sync.Mutex
	locks map[string]chan struct{} // closed when the lock is released
}

var _ certmagic.Storage = (*magicStorage)(nil)

func newMagicStorage(s Storage) *magicStorage {
	return &magicStorage{s: s, locks: make(map[string]chan struct{})}
}

// Lock acquires the named lock, waiting until it is free or ctx is done.
func (m *magicStorage) Lock(ctx context.Context, name string) error {
	for {
		m.mu.Lock()
		held, ok := m.locks[name]
		if !ok {
			m.locks[name] = make(chan struct{})
			m.mu.Unlock()
			return nil
		}
		m.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return fmt.Errorf("lock %q: %w", name, ctx.Err())
		}
	}
}

// Unlock releases the named lock.
func (m *magicStorage) Unlock(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	held, ok := m.locks[name]
	if !ok {
		return fmt.Errorf("unlock %q: not locked", name)
	}
	delete(m.locks, name)
	close(held)
	return nil
}

// Store writes value at key.
func (m *magicStorage) Store(ctx context.Context, key string, value []byte) error {
	if err := m.s.Put(ctx, key, value); err != nil {
		return fmt.Errorf("store %q: %w", key, err)
	}
	return nil
}

// Load reads the value at key; a missing key gives fs.ErrNotExist.
func (m *magicStorage) Load(ctx context.Context, key string) ([]byte, error) {
	v, _, err := m.s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load %q: %w", key, err)
	}
	return v, nil
}

// Delete deletes key and everything under it.
func (m *magicStorage) Delete(ctx context.Context, key string) error {
	if err := m.s.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// Exists reports whether key is a stored value or a prefix ("directory")
// of stored values.
func (m *magicStorage) Exists(ctx context.Context, key string) bool {
	_, err := m.Stat(ctx, key)
	return err == nil
}

// List returns the keys under dir: all of them when recursive, otherwise
// only the direct children (deduplicated, so a "directory" is listed once).
func (m *magicStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	prefix := dirPrefix(dir)
	keys, err := m.s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", dir, err)
	}
	if recursive {
		return keys, nil
	}
	seen := make(map[string]bool)
	var out []string
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		child := prefix + rest
		if rest == "" || seen[child] {
			continue
		}
		seen[child] = true
		out = append(out, child)
	}
	sort.Strings(out)
	return out, nil
}

// Stat describes key: a terminal value with its size and modification time,
// or a non-terminal prefix of other keys. A missing key gives fs.ErrNotExist.
func (m *magicStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	v, modified, err := m.s.Get(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: modified, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %q: %w", key, err)
	}
	children, err := m.s.List(ctx, dirPrefix(key))
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %q: %w", key, err)
	}
	if len(children) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("stat %q: %w", key, fs.ErrNotExist)
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// dirPrefix turns a "directory" key into the prefix of the keys under it.
func dirPrefix(dir string) string {
	dir = strings.Trim(dir, "/")
	if dir == "" {
		return ""
	}
	return dir + "/"
}
