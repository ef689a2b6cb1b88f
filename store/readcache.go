package store

import (
	"bytes"
	"strings"
)

// readCache keeps the records that commands read again and again (users,
// their device lists, conversations, groups, unread counters, each member's
// conversation list entry) in memory, so that the committer does not look
// them up in Badger's tables each time (measured: a sixth of the appliance's
// CPU at 3,000 messages/s, and the conversation list entries another eighth
// at 4,700). Only the
// committer goroutine uses it, so it needs no lock. It holds durable values
// only: a command reads the writes not yet durable (its batch's and the
// batch in flight's) before it asks the cache, and a batch's values go into
// the cache once the batch is durable (and are dropped if it fails).
//
// It is bounded by two generations: new entries go into the young one; when
// that is full it becomes the old one and the previous old one is dropped,
// and an entry found in the old one moves back into the young one. So the
// records in use stay, however many others pass through (a bench with
// random 1:1 pairs touches hundreds of thousands of conversations).
type readCache struct {
	young, old map[string][]byte
	memo       decodeMemo
}

// cachedPrefixes are the kinds of records worth keeping.
var cachedPrefixes = []string{prefixUser, prefixUserDevice, prefixConv, prefixDirectConv, prefixGroupConv,
	prefixGroup, prefixRole, prefixDevice, prefixUnread, prefixUserConv, keyDeviceHMAC}

// maxCached bounds each of the cache's two generations.
const maxCached = 100_000

func newReadCache() *readCache {
	return &readCache{young: map[string][]byte{}, old: map[string][]byte{}, memo: decodeMemo{}}
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
	if v, ok := c.young[key]; ok {
		return v, true
	}
	v, ok := c.old[key]
	if ok {
		delete(c.old, key)
		c.put(key, v)
	}
	return v, ok
}

// put stores a durable value in the young generation.
func (c *readCache) put(key string, v []byte) {
	if len(c.young) >= maxCached {
		c.old, c.young = c.young, make(map[string][]byte, maxCached/4)
	}
	c.young[key] = v
}

// fill remembers a durable value read from Badger.
func (c *readCache) fill(key string, v []byte) {
	if cacheable(key) {
		c.put(key, bytes.Clone(v))
	}
}

// committed takes the values of a batch that is durable now.
func (c *readCache) committed(writes map[string]*write) {
	for k, w := range writes {
		if !cacheable(k) {
			continue
		}
		delete(c.old, k)
		if w.del {
			delete(c.young, k)
		} else {
			c.put(k, w.val)
		}
	}
}

// forget drops the keys of a batch that failed: their stored values are
// unknown now.
func (c *readCache) forget(writes map[string]*write) {
	for k := range writes {
		delete(c.young, k)
		delete(c.old, k)
	}
}
