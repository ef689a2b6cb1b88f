package appliance

import (
	"context"
	"strings"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/certs"
	"github.com/wardline/wardline/store"
)

// certStorage keeps certmagic's certificates and keys in the encrypted
// store, under blob paths that start with "certs/"; every change goes
// through the one write path and is audited as the system's.
type certStorage struct{ s *store.Store }

var _ certs.Storage = certStorage{}

const certPrefix = "certs/"

// Put implements certs.Storage.
func (c certStorage) Put(ctx context.Context, key string, value []byte) error {
	return c.s.Apply(ctx, store.PutBlob{By: audit.System, Path: certPrefix + key, Data: value})
}

// Get implements certs.Storage.
func (c certStorage) Get(_ context.Context, key string) ([]byte, time.Time, error) {
	return c.s.Blob(certPrefix + key)
}

// Delete implements certs.Storage.
func (c certStorage) Delete(ctx context.Context, key string) error {
	return c.s.Apply(ctx, store.DeleteBlobs{By: audit.System, Path: certPrefix + key})
}

// List implements certs.Storage.
func (c certStorage) List(ctx context.Context, prefix string) ([]string, error) {
	paths, err := c.s.BlobPaths(ctx, certPrefix+prefix)
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(p, certPrefix)
	}
	return paths, err
}
