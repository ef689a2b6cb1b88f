package broker

import (
	"sync"
	"time"
)

// Defaults for the failure throttle (see Options).
const (
	DefaultAuthFailureWindow    = 5 * time.Minute
	DefaultMaxAuthFailures      = 10
	DefaultMaxAuthFailuresPerIP = 30
	maxThrottleEntries          = 100_000
)

// throttle counts failed CONNECTs per device id and per remote IP in a fixed
// window. Once a key reaches its limit, further attempts are refused without
// asking the Authenticator until the window that began with the first
// failure has passed. A success clears the device id's count (not the IP's).
type throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	window   time.Duration
	maxID    int
	maxIP    int
	failures map[string]*failCount // "id:"+deviceID or "ip:"+address
}

type failCount struct {
	n     int
	first time.Time
}

func newThrottle(window time.Duration, maxID, maxIP int, now func() time.Time) *throttle {
	return &throttle{now: now, window: window, maxID: maxID, maxIP: maxIP, failures: map[string]*failCount{}}
}

// allow reports whether an attempt for deviceID from ip may be checked.
func (t *throttle) allow(deviceID, ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	return t.below("id:"+deviceID, t.maxID, now) && t.below("ip:"+ip, t.maxIP, now)
}

func (t *throttle) below(key string, limit int, now time.Time) bool {
	f, ok := t.failures[key]
	if !ok {
		return true
	}
	if now.Sub(f.first) >= t.window {
		delete(t.failures, key)
		return true
	}
	return f.n < limit
}

// fail records a failed attempt for deviceID (if not empty) and ip.
func (t *throttle) fail(deviceID, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if deviceID != "" {
		t.add("id:"+deviceID, now)
	}
	t.add("ip:"+ip, now)
}

func (t *throttle) add(key string, now time.Time) {
	f, ok := t.failures[key]
	if ok && now.Sub(f.first) < t.window {
		f.n++
		return
	}
	if !ok && len(t.failures) >= maxThrottleEntries {
		t.sweep(now)
		if len(t.failures) >= maxThrottleEntries {
			return // full of live entries: keep the ones we have, track no new key
		}
	}
	t.failures[key] = &failCount{n: 1, first: now}
}

func (t *throttle) sweep(now time.Time) {
	for k, f := range t.failures {
		if now.Sub(f.first) >= t.window {
			delete(t.failures, k)
		}
	}
}

// succeed clears the failures recorded for deviceID.
func (t *throttle) succeed(deviceID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "id:"+deviceID)
}
