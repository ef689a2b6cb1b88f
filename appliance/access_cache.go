package appliance

import (
	"sync"

	"github.com/wardline/wardline/store"
)

// accessCache remembers, per device, whether it may act and as whom, so
// that each publish does not read the store. Every change of a device or a
// user (enrol, revoke, disable, enable) clears it: they all pass through
// this process's admin API.
type accessCache struct {
	store *store.Store
	mu    sync.RWMutex
	m     map[string]deviceAccess
}

// deviceAccess is what a publish needs to know about its device.
type deviceAccess struct {
	id     string
	user   string // "" for a shared device
	active bool   // not revoked, and its user enabled
}

func newAccessCache(s *store.Store) *accessCache {
	return &accessCache{store: s, m: map[string]deviceAccess{}}
}

// get returns a device's access, from the cache or the store.
func (c *accessCache) get(id string) (deviceAccess, error) {
	c.mu.RLock()
	a, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return a, nil
	}
	d, u, err := c.store.DeviceAccess(id)
	if err != nil {
		return deviceAccess{}, err
	}
	a = deviceAccess{id: d.ID, user: d.User, active: d.Active() && (d.User == "" || u.Enabled)}
	c.mu.Lock()
	if len(c.m) > 100_000 {
		clear(c.m)
	}
	c.m[id] = a
	c.mu.Unlock()
	return a, nil
}

// invalidate forgets everything: a device or user changed.
func (c *accessCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
