package store

import (
	"bytes"
	"strings"
)

// readCache keeps the records that commands read again and again (users,
// their device lists, conversations, groups, unread counters) in memory,
// so that the committer does not look them up in Badger's tables each time
// (measured: a sixth of the appliance's CPU at 3,000 messages/s). Only the
// committer goroutine uses it, so it needs no lock. It holds durable values
// only: a command reads the writes not yet durable (its batch's and the
// batch in flight's) before it asks the cache, and a batch's values go into
// the cache once the batch is durable (and are dropped if it fails).
type readCache struct {
	m map[string][]byte
}

// cachedPrefixes are the kinds of records worth keeping.
var cachedPrefixes = []string{prefixUser, prefixUserDevice, prefixConv, prefixDirectConv, prefixGroupConv,
	prefixGroup, prefixRole, prefixDevice, prefixUnread, keyDeviceHMAC}

// maxCached bounds the cache; past it the cache starts again empty.
const maxCached = 200_000

func newReadCache() *readCache {
	return &readCache{m: map[string][]byte{}}
}

func cacheable(key string) bool {
	for _, p := range cachedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// get returns a cached value.
func (c *readCache) get(key string) ([]byte, bool) {
	v, ok := c.m[key]
	return v, ok
}

// fill remembers a durable value read from Badger.
func (c *readCache) fill(key string, v []byte) {
	if !cacheable(key) {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[key] = bytes.Clone(v)
}

// committed takes the values of a batch that is durable now.
func (c *readCache) committed(writes map[string]*write) {
	for k, w := range writes {
		if !cacheable(k) {
			continue
		}
		if w.del {
			delete(c.m, k)
		} else if _, ok := c.m[k]; ok || len(c.m) < maxCached {
			c.m[k] = w.val
		}
	}
}

// forget drops the keys of a batch that failed: their stored values are
// unknown now.
func (c *readCache) forget(writes map[string]*write) {
	for k := range writes {
		delete(c.m, k)
	}
}
