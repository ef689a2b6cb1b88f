package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// KeySize is the size of the master key: 32 bytes, AES-256.
const KeySize = 32

// Key is the store's master key and the instance it belongs to.
type Key struct {
	Instance string
	Secret   []byte
}

// ID is a short fingerprint of the key that names it without revealing it.
func (k Key) ID() string {
	sum := sha256.Sum256(append([]byte("wardline-key-id\x00"), k.Secret...))
	return hex.EncodeToString(sum[:8])
}

// keyFile is the on-disk form of a Key.
type keyFile struct {
	Comment  string    `json:"comment"`
	Version  int       `json:"version"`
	Instance string    `json:"instance"`
	Created  time.Time `json:"created"`
	Key      string    `json:"key"`
}

// NewKey returns a fresh random key for instance.
func NewKey(instance string) (Key, error) {
	k := Key{Instance: instance, Secret: make([]byte, KeySize)}
	if _, err := rand.Read(k.Secret); err != nil {
		return Key{}, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}

// NewInstanceID returns a random instance id ("wl_" and 20 hex digits).
func NewInstanceID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "wl_" + hex.EncodeToString(b)
}

// LoadKey reads a key file. It refuses a file that others than its owner
// may read, and names the file and the problem in every error.
func LoadKey(path string) (Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("key file %s has mode %04o; it must be readable by its owner only (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return Key{}, fmt.Errorf("key file %s is corrupt (not a Wardline key file): %w", path, err)
	}
	secret, err := base64.StdEncoding.DecodeString(kf.Key)
	switch {
	case kf.Version != 1:
		return Key{}, fmt.Errorf("key file %s is corrupt: unknown version %d", path, kf.Version)
	case err != nil || len(secret) != KeySize:
		return Key{}, fmt.Errorf("key file %s is corrupt: the key is not %d bytes of base64", path, KeySize)
	case kf.Instance == "":
		return Key{}, fmt.Errorf("key file %s is corrupt: no instance id", path)
	}
	return Key{Instance: kf.Instance, Secret: secret}, nil
}

// WriteKey writes k to path atomically (a temporary file, fsync, rename,
// fsync of the directory) with mode 0600. It never overwrites an existing
// file unless replace is true.
func WriteKey(path string, k Key, replace bool) error {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write key %s: %w", path, os.ErrExist)
		}
	}
	b, err := json.MarshalIndent(keyFile{
		Comment:  "Wardline store master key. Keep it apart from the data directory and from backups; without it the data cannot be read.",
		Version:  1,
		Instance: k.Instance,
		Created:  time.Now().UTC().Truncate(time.Second),
		Key:      base64.StdEncoding.EncodeToString(k.Secret),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content, never a mix.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
