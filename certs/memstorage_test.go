package certs

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"
)

// memStorage is an in-memory Storage for tests.
type memStorage struct {
	mu   sync.Mutex
	data map[string]memValue
}

type memValue struct {
	value    []byte
	modified time.Time
}

var _ Storage = (*memStorage)(nil)

func newMemStorage() *memStorage { return &memStorage{data: make(map[string]memValue)} }

func (s *memStorage) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[key] = memValue{value: append([]byte(nil), value...), modified: time.Now()}
	return nil
}

func (s *memStorage) Get(_ context.Context, key string) ([]byte, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	if !ok {
		return nil, time.Time{}, fmt.Errorf("get %q: %w", key, fs.ErrNotExist)
	}
	return append([]byte(nil), v.value...), v.modified, nil
}

func (s *memStorage) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.data {
		if k == key || strings.HasPrefix(k, key+"/") {
			delete(s.data, k)
		}
	}
	return nil
}

func (s *memStorage) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// keys returns all stored keys, sorted.
func (s *memStorage) keys() []string {
	keys, _ := s.List(context.Background(), "")
	return keys
}
