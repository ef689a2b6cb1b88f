package certs

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"
)

func TestMagicStorage(t *testing.T) {
	ctx := context.Background()
	ms := newMagicStorage(newMemStorage())
	for _, k := range []string{"a/b/c.crt", "a/b/c.key", "a/d.json", "a/e/f/g", "ab"} {
		if err := ms.Store(ctx, k, []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("List", func(t *testing.T) {
		tests := []struct {
			dir       string
			recursive bool
			want      []string
		}{
			{"a", false, []string{"a/b", "a/d.json", "a/e"}},
			{"a/", false, []string{"a/b", "a/d.json", "a/e"}},
			{"a", true, []string{"a/b/c.crt", "a/b/c.key", "a/d.json", "a/e/f/g"}},
			{"a/b", false, []string{"a/b/c.crt", "a/b/c.key"}},
			{"", false, []string{"a", "ab"}},
			{"missing", false, nil},
		}
		for _, tt := range tests {
			got, err := ms.List(ctx, tt.dir, tt.recursive)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List(%q, %v) = %q, want %q", tt.dir, tt.recursive, got, tt.want)
			}
		}
	})

	t.Run("StatExists", func(t *testing.T) {
		tests := []struct {
			key          string
			wantExists   bool
			wantTerminal bool
			wantSize     int64
		}{
			{"a/b/c.crt", true, true, int64(len("v-a/b/c.crt"))},
			{"a/b", true, false, 0},
			{"a", true, false, 0},
			{"a/b/c", false, false, 0},
			{"missing", false, false, 0},
		}
		for _, tt := range tests {
			if got := ms.Exists(ctx, tt.key); got != tt.wantExists {
				t.Errorf("Exists(%q) = %v, want %v", tt.key, got, tt.wantExists)
			}
			info, err := ms.Stat(ctx, tt.key)
			if !tt.wantExists {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Stat(%q) error = %v, want fs.ErrNotExist", tt.key, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Stat(%q): %v", tt.key, err)
			}
			if info.IsTerminal != tt.wantTerminal || info.Size != tt.wantSize || info.Key != tt.key {
				t.Errorf("Stat(%q) = %+v, want terminal %v size %d", tt.key, info, tt.wantTerminal, tt.wantSize)
			}
			if tt.wantTerminal && info.Modified.IsZero() {
				t.Errorf("Stat(%q).Modified is zero", tt.key)
			}
		}
	})

	t.Run("LoadMissing", func(t *testing.T) {
		if _, err := ms.Load(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := ms.Delete(ctx, "a/b"); err != nil {
			t.Fatal(err)
		}
		if ms.Exists(ctx, "a/b/c.crt") || ms.Exists(ctx, "a/b") {
			t.Error("a/b still exists after Delete")
		}
		if !ms.Exists(ctx, "a/d.json") {
			t.Error("a/d.json deleted with a/b")
		}
		if err := ms.Delete(ctx, "never/was"); err != nil {
			t.Errorf("Delete(missing) = %v, want nil", err)
		}
	})
}

func TestMagicStorageLock(t *testing.T) {
	ctx := context.Background()
	ms := newMagicStorage(newMemStorage())
	if err := ms.Lock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	// Another name is independent.
	if err := ms.Lock(ctx, "y"); err != nil {
		t.Fatal(err)
	}
	// The same name blocks until ctx is done.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := ms.Lock(short, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(held) = %v, want deadline exceeded", err)
	}
	// And is acquired once released.
	got := make(chan error, 1)
	go func() { got <- ms.Lock(ctx, "x") }()
	time.Sleep(20 * time.Millisecond)
	if err := ms.Unlock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after Unlock")
	}
	if err := ms.Unlock(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := ms.Unlock(ctx, "x"); err == nil {
		t.Error("Unlock of an unlocked name succeeded")
	}
}
