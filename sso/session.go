package sso

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/wardline/wardline/directory"
)

// SessionCookie names the session cookie. The __Host- prefix makes the
// browser insist on Secure, Path=/ and no Domain.
const SessionCookie = "__Host-wardline"

// Proof is what a new session rests on: the SAML assertion (remembered
// until it expires, so that it cannot be used again) or the TOTP time step
// of a break-glass sign-in (usable once).
type Proof struct {
	AssertionID      string
	AssertionExpires time.Time
	TOTPStep         int64
}

// SessionStore keeps sessions on the server. The appliance implements it
// with store commands, each audited.
type SessionStore interface {
	// StartSession records s under hash. It refuses a replayed proof and a
	// SAML user who is not in the directory or is disabled.
	StartSession(ctx context.Context, hash string, s directory.WebSession, p Proof) error
	// Session returns the session under hash, or an error when none is.
	Session(hash string) (directory.WebSession, error)
	// EndSession ends the session under hash; reason is "logout", "idle"
	// or "expired".
	EndSession(ctx context.Context, hash string, s directory.WebSession, reason string) error
}

// Sessions issues and checks session cookies. A session ends after Idle
// without a request (SSE streams do not count) and at the latest Max
// after sign-in.
type Sessions struct {
	store     SessionStore
	idle, max time.Duration
	now       func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // hash -> last request
}

// NewSessions returns a session manager.
func NewSessions(st SessionStore, idle, max time.Duration, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{store: st, idle: idle, max: max, now: now, seen: map[string]time.Time{}}
}

// hashCookie is the key a cookie value is stored under: the store never
// holds a usable cookie.
func hashCookie(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// Create starts a session for s (ending at s.Expires when that is set and
// sooner than the maximum) with a fresh random cookie (so a cookie
// planted before sign-in is never promoted: no session fixation), fills
// in its id, CSRF token and times, and sets the cookie.
func (m *Sessions) Create(ctx context.Context, w http.ResponseWriter, s directory.WebSession, p Proof) (directory.WebSession, error) {
	cookie := randomID(32)
	hash := hashCookie(cookie)
	now := m.now().UTC()
	s.ID, s.CSRF = randomID(8), randomID(32)
	if limit := now.Add(m.max); s.Expires.IsZero() || s.Expires.After(limit) {
		s.Expires = limit // a caller may ask for less (break-glass), never for more
	}
	s.Created = now
	if err := m.store.StartSession(ctx, hash, s, p); err != nil {
		return directory.WebSession{}, err
	}
	m.mu.Lock()
	m.seen[hash] = now
	m.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: cookie, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.Expires.Sub(now) / time.Second)})
	return s, nil
}

// ErrNoSession is a request without a live session.
var ErrNoSession = errors.New("not signed in")

// Lookup returns the request's session. touch counts the request as
// activity; an expired or idle session is ended (audited) and refused.
func (m *Sessions) Lookup(r *http.Request, touch bool) (directory.WebSession, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || len(c.Value) != 64 {
		return directory.WebSession{}, ErrNoSession
	}
	hash := hashCookie(c.Value)
	s, err := m.store.Session(hash)
	if err != nil {
		return directory.WebSession{}, ErrNoSession
	}
	now := m.now()
	m.mu.Lock()
	last, ok := m.seen[hash]
	if !ok {
		last = s.Created // after a restart: idle since sign-in
	}
	reason := ""
	switch {
	case !now.Before(s.Expires):
		reason = "expired"
	case now.Sub(last) >= m.idle:
		reason = "idle"
	case touch:
		m.seen[hash] = now
	}
	if reason != "" {
		delete(m.seen, hash)
	}
	m.mu.Unlock()
	if reason != "" {
		_ = m.store.EndSession(context.WithoutCancel(r.Context()), hash, s, reason)
		return directory.WebSession{}, ErrNoSession
	}
	return s, nil
}

// End ends the request's session and clears the cookie.
func (m *Sessions) End(w http.ResponseWriter, r *http.Request, reason string) (directory.WebSession, bool) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return directory.WebSession{}, false
	}
	hash := hashCookie(c.Value)
	s, err := m.store.Session(hash)
	if err != nil {
		return directory.WebSession{}, false
	}
	m.mu.Lock()
	delete(m.seen, hash)
	m.mu.Unlock()
	_ = m.store.EndSession(context.WithoutCancel(r.Context()), hash, s, reason)
	return s, true
}

// Forget drops the idle clocks of sessions that no longer exist (ended
// elsewhere, e.g. all of a disabled user's).
func (m *Sessions) Forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h := range m.seen {
		if _, err := m.store.Session(h); err != nil {
			delete(m.seen, h)
		}
	}
}

// ValidCSRF reports whether token is the session's CSRF token.
func ValidCSRF(s directory.WebSession, token string) bool {
	return s.CSRF != "" && subtle.ConstantTimeCompare([]byte(s.CSRF), []byte(token)) == 1
}

// SameOrigin reports whether a state-changing request comes from a page
// of origin (scheme://host:port): by its Origin header, or when a browser
// sent none, its Referer. A request with neither is refused.
func SameOrigin(r *http.Request, origin string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == origin
	}
	ref := r.Header.Get("Referer")
	return ref != "" && (ref == origin || len(ref) > len(origin) && ref[:len(origin)] == origin && ref[len(origin)] == '/')
}

// Key returns the server-side key of the request's session cookie, or "".
func Key(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil || len(c.Value) != 64 {
		return ""
	}
	return hashCookie(c.Value)
}

// Alive reports whether the session under key still holds (not ended,
// expired or idle), without counting as activity.
func (m *Sessions) Alive(key string) bool {
	s, err := m.store.Session(key)
	if err != nil {
		return false
	}
	now := m.now()
	m.mu.Lock()
	last, ok := m.seen[key]
	m.mu.Unlock()
	if !ok {
		last = s.Created
	}
	return now.Before(s.Expires) && now.Sub(last) < m.idle
}
