package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/wardline/wardline/audit"
)

// Blobs are opaque files kept in the encrypted store under slash-separated
// paths: certificates and their keys, for example. Every change is a command
// and is audited with the path (never the content).

// blobKey is the key of a blob.
func blobKey(path string) []byte { return []byte(prefixBlob + path) }

// PutBlob stores data under path.
type PutBlob struct {
	By   audit.Actor
	Path string
	Data []byte
}

// Event implements Command.
func (c PutBlob) Event() audit.Event { return c.By.Event("blob.put", "blob:"+c.Path) }

// Apply implements Command.
func (c PutBlob) Apply(tx *Txn) error {
	if c.Path == "" {
		return errors.New("put blob: empty path")
	}
	v := make([]byte, 8+len(c.Data))
	binary.BigEndian.PutUint64(v, uint64(tx.Now().UnixNano()))
	copy(v[8:], c.Data)
	tx.Set(blobKey(c.Path), v)
	return nil
}

// DeleteBlobs deletes the blob at path and every blob under path + "/".
type DeleteBlobs struct {
	By   audit.Actor
	Path string
}

// Event implements Command.
func (c DeleteBlobs) Event() audit.Event { return c.By.Event("blob.delete", "blob:"+c.Path) }

// Apply implements Command.
func (c DeleteBlobs) Apply(tx *Txn) error {
	tx.Delete(blobKey(c.Path))
	var keys [][]byte
	err := tx.Scan(blobKey(strings.TrimSuffix(c.Path, "/")+"/"), func(k, _ []byte) error {
		keys = append(keys, k)
		return nil
	})
	for _, k := range keys {
		tx.Delete(k)
	}
	return err
}

// Blob returns the data stored under path and when it was written, or an
// error wrapping fs.ErrNotExist.
func (s *Store) Blob(path string) ([]byte, time.Time, error) {
	var data []byte
	var mod time.Time
	err := s.View(func(r *Reader) error {
		v, err := r.Get(blobKey(path))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("blob %s: %w", path, fs.ErrNotExist)
		}
		if err != nil {
			return err
		}
		if len(v) < 8 {
			return fmt.Errorf("blob %s: corrupt record", path)
		}
		mod = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		data = v[8:]
		return nil
	})
	return data, mod, err
}

// BlobPaths returns the paths of all blobs that start with prefix, sorted.
func (s *Store) BlobPaths(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := s.View(func(r *Reader) error {
		return r.Scan(blobKey(prefix), func(k, _ []byte) error {
			out = append(out, string(k[len(prefixBlob):]))
			return ctx.Err()
		})
	})
	return out, err
}
