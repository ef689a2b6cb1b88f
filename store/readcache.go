package store

import (
	"bytes"
	"strings"
)

// readCache keeps the records that commands read again and again (users,
// their device lists, conversations, groups, unread counters) in memory,
// so that the committer does not look them up in Badger's tables each time
// (measured: a sixth of the appliance's CPU at 3,000 messages/s). Only the
// committer goroutine uses it, so it needs no lock. A key written by the
// batch being built is read from the batch, never from the cache; once the
// batch is durable its final values go into the cache, and if it fails they
// are dropped from it.
type readCache struct {
	m     map[string][]byte
	batch map[string][]byte // keys written by the current batch: new value, nil when deleted
}

// cachedPrefixes are the kinds of records worth keeping.
var cachedPrefixes = []string{prefixUser, prefixUserDevice, prefixConv, prefixDirectConv, prefixGroupConv,
	prefixGroup, prefixRole, prefixDevice, prefixUnread, keyDeviceHMAC}

// maxCached bounds the cache; past it the cache starts again empty.
const maxCached = 200_000

func newReadCache() *readCache {
	return &readCache{m: map[string][]byte{}, batch: map[string][]byte{}}
}

func cacheable(key string) bool {
	for _, p := range cachedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// get returns a cached value, unless the current batch wrote the key.
func (c *readCache) get(key string) ([]byte, bool) {
	if _, dirty := c.batch[key]; dirty {
		return nil, false
	}
	v, ok := c.m[key]
	return v, ok
}

// fill remembers a value read from Badger, unless the batch wrote it.
func (c *readCache) fill(key string, v []byte) {
	if _, dirty := c.batch[key]; dirty || !cacheable(key) {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = bytes.Clone(v)
}

// wrote notes a key the batch writes (val nil: deleted).
func (c *readCache) wrote(key string, val []byte, del bool) {
	if !cacheable(key) {
		return
	}
	if del {
		val = nil
	} else if val == nil {
		val = []byte{}
	}
	c.batch[key] = val
}

// committed moves the batch's values into the cache.
func (c *readCache) committed() {
	for k, v := range c.batch {
		if v == nil {
			delete(c.m, k)
		} else {
			c.m[k] = v
		}
	}
	clear(c.batch)
}

// discarded forgets the batch's keys: their stored values are unknown now.
func (c *readCache) discarded() {
	for k := range c.batch {
		delete(c.m, k)
	}
	clear(c.batch)
}
