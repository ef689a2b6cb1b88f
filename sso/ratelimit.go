package sso

import (
	"sync"
	"time"
)

// Limiter counts failed sign-ins per key (a login, a source address) in a
// sliding window and refuses further tries once a key has Max of them.
type Limiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewLimiter returns a limiter of max failures per window.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// Check returns 0 when every key may try again, else how long until the
// first of them may.
func (l *Limiter) Check(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		f := l.prune(k, now)
		if len(f) >= l.max {
			wait = max(wait, f[len(f)-l.max].Add(l.window).Sub(now))
		}
	}
	return wait
}

// Fail records a failed try for every key.
func (l *Limiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) > 100000 { // bound memory under a spray of addresses
		for k := range l.fails {
			l.prune(k, now)
		}
	}
	for _, k := range keys {
		l.fails[k] = append(l.prune(k, now), now)
	}
}

// prune drops the failures of k older than the window.
func (l *Limiter) prune(k string, now time.Time) []time.Time {
	f := l.fails[k]
	i := 0
	for i < len(f) && !f[i].Add(l.window).After(now) {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, k)
		return nil
	}
	l.fails[k] = f
	return f
}
