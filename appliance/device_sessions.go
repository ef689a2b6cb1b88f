package appliance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// passwordChecker checks a user's password against the directory (AD).
type passwordChecker interface {
	authenticate(ctx context.Context, u directory.User, password string) error
}

// Limits of shared-device sign-in.
const (
	signinMaxFailures = 5                // failed tries per login and device ...
	signinWindow      = 15 * time.Minute // ... in this window, then rate_limited
	signinTimeout     = 10 * time.Second // for the bind as the user
)

// Lifetimes of a session on a shared device (a shift): the appliance signs
// the device out after sharedSessionMax from the sign-in, or after
// sharedSessionIdle without a publish from the device.
const (
	sharedSessionMax   = 12 * time.Hour
	sharedSessionIdle  = 4 * time.Hour
	sharedSessionSweep = time.Minute // how often expiries are checked
)

// sharedSessions mirrors the store's sessions on shared devices (the store
// holds them durably, see store.SignInShared), so that each publish need
// not read the store, remembers each device's last activity for the idle
// lifetime, and throttles failed sign-ins.
type sharedSessions struct {
	mu       sync.Mutex
	byDevice map[string]*sharedSession
	failures map[string][]time.Time // login + "\x00" + device (passwords) or "pin\x00" + login -> recent failures
}

// sharedSession is one signed-in shared device.
type sharedSession struct {
	login    string
	expires  time.Time
	lastSeen time.Time // in memory only: a restart restarts the idle clock
}

// user returns who is signed in on a shared device, and counts the call
// as the device's activity. A session past its absolute end acts for no
// one, even before the sweep signs it out.
func (s *sharedSessions) user(dev string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byDevice[dev]
	if ss == nil || !now.Before(ss.expires) {
		return ""
	}
	ss.lastSeen = now
	return ss.login
}

// throttled reports whether key has had too many recent failures.
func (s *sharedSessions) throttled(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recent []time.Time
	for _, t := range s.failures[key] {
		if now.Sub(t) < signinWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) == 0 {
		delete(s.failures, key)
	} else {
		s.failures[key] = recent
	}
	return len(recent) >= signinMaxFailures
}

func (s *sharedSessions) failed(key string, now time.Time) {
	s.mu.Lock()
	if s.failures == nil {
		s.failures = map[string][]time.Time{}
	}
	s.failures[key] = append(s.failures[key], now)
	s.mu.Unlock()
}

// set records a session (login "" forgets it).
func (s *sharedSessions) set(dev, login string, expires, now time.Time) {
	s.mu.Lock()
	if s.byDevice == nil {
		s.byDevice = map[string]*sharedSession{}
	}
	if login == "" {
		delete(s.byDevice, dev)
	} else {
		s.byDevice[dev] = &sharedSession{login: login, expires: expires, lastSeen: now}
	}
	s.mu.Unlock()
}

// take forgets the sessions of the logins and returns their devices.
func (s *sharedSessions) take(logins ...string) []string {
	end := map[string]bool{}
	for _, l := range logins {
		end[l] = true
	}
	var devs []string
	s.mu.Lock()
	for dev, ss := range s.byDevice {
		if end[ss.login] {
			delete(s.byDevice, dev)
			devs = append(devs, dev)
		}
	}
	s.mu.Unlock()
	return devs
}

// endSessions tells the shared devices the logins were signed in on that
// they are signed out (in/cmd signout). The store has already ended the
// sessions, in the command that disabled the users.
func (a *deviceAPI) endSessions(logins ...string) {
	for _, dev := range a.sessions.take(logins...) {
		a.signedOut(dev)
	}
}

// signedOut tells a device its session ended, and refills its mailbox from
// the store so that nothing still in memory for the old user reaches it.
func (a *deviceAPI) signedOut(dev string) {
	a.reopen(dev) // first: pushes go to the new mailbox
	a.out.push(dev, outItem{topic: "cmd", payload: messaging.EncodeCmd(messaging.CmdSignout)})
}

// reopen reloads a connected device's mailbox from its queue in the store.
func (a *deviceAPI) reopen(dev string) {
	if a.out.connected(dev) {
		a.out.online(dev, "")
	}
}

// loadSessions fills the mirror from the store at start: sessions survive
// a restart.
func (a *deviceAPI) loadSessions(ctx context.Context) error {
	list, err := a.store.SharedSessions(ctx)
	if err != nil {
		return fmt.Errorf("shared-device sessions: %w", err)
	}
	now := a.now()
	for _, ss := range list {
		a.sessions.set(ss.Device, ss.User, ss.Expires, now)
	}
	return nil
}

// runSessionExpiry signs shared devices out when their session is past its
// absolute or idle lifetime, checking every sharedSessionSweep.
func (a *deviceAPI) runSessionExpiry(ctx context.Context) error {
	return every(ctx, sharedSessionSweep, func() { a.expireSessions(ctx) })
}

// expireSessions signs out every session past its lifetime, and forgets
// (and tells) those the store ended some other way.
func (a *deviceAPI) expireSessions(ctx context.Context) {
	now := a.now()
	type due struct{ dev, login, reason string }
	var list []due
	a.sessions.mu.Lock()
	for dev, ss := range a.sessions.byDevice {
		switch {
		case !now.Before(ss.expires):
			list = append(list, due{dev, ss.login, "expired"})
		case now.Sub(ss.lastSeen) >= sharedSessionIdle:
			list = append(list, due{dev, ss.login, "idle"})
		}
	}
	a.sessions.mu.Unlock()
	for _, d := range list {
		err := a.store.Apply(ctx, &store.SignOutShared{By: audit.System, Device: d.dev, User: d.login, Reason: d.reason})
		if err != nil && !errors.Is(err, store.ErrNotSignedIn) {
			a.log.Warn("signing out an expired shared-device session; will try again", "device", d.dev, "err", err)
			continue
		}
		a.forget(d.dev, d.login)
		if err == nil {
			a.log.Info("shared-device session ended", "device", d.dev, "user", d.login, "reason", d.reason)
			a.signedOut(d.dev)
		}
	}
	// Sessions the store ended in a command of its own (a revoked device,
	// a user disabled through a path that did not tell us). Only entries
	// that were in the mirror before the store was read are compared, so a
	// sign-in racing this check is kept.
	before := map[string]*sharedSession{}
	a.sessions.mu.Lock()
	maps.Copy(before, a.sessions.byDevice)
	a.sessions.mu.Unlock()
	stored, err := a.store.SharedSessions(ctx)
	if err != nil {
		return
	}
	have := map[string]string{}
	for _, ss := range stored {
		have[ss.Device] = ss.User
	}
	var gone []string
	a.sessions.mu.Lock()
	for dev, ss := range before {
		if a.sessions.byDevice[dev] == ss && have[dev] != ss.login {
			delete(a.sessions.byDevice, dev)
			gone = append(gone, dev)
		}
	}
	a.sessions.mu.Unlock()
	for _, dev := range gone {
		a.signedOut(dev)
	}
}

// forget drops the mirror's session on dev if it is still login's.
func (a *deviceAPI) forget(dev, login string) {
	a.sessions.mu.Lock()
	if ss := a.sessions.byDevice[dev]; ss != nil && ss.login == login {
		delete(a.sessions.byDevice, dev)
	}
	a.sessions.mu.Unlock()
}

// signin signs a user in on a shared device by password, checked by a
// bind to AD as the user (the password is neither stored nor logged).
func (a *deviceAPI) signin(ctx context.Context, dev string, shared bool, by audit.Actor, req messaging.Req) (any, error) {
	fail := func(code messaging.Code, msg, reason string) (any, error) {
		ev := by.Event("session.signin", "device:"+dev, "user:"+req.Login)
		ev.Outcome, ev.Reason = audit.OutcomeDenied, reason
		a.store.Submit(store.AuditOnly(ev), func(error) {})
		return nil, messaging.Errorf(code, "%s", msg)
	}
	if !shared {
		return fail(messaging.CodeForbidden, "sign-in is for shared devices; this device is personal", "personal device")
	}
	// Wrong passwords count per login and device; wrong PINs per login on
	// all devices together, since a PIN is short.
	key := req.Login + "\x00" + dev
	if req.PIN != "" {
		key = "pin\x00" + req.Login
	}
	now := a.now()
	if a.sessions.throttled(key, now) {
		return fail(messaging.CodeRateLimited, "too many failed sign-ins; wait 15 minutes", "throttled")
	}
	ctx, cancel := context.WithTimeout(ctx, signinTimeout)
	defer cancel()
	var u directory.User
	var err error
	if req.PIN != "" {
		u, err = a.pinUser(ctx, req.Login, req.PIN)
		if errors.Is(err, ErrWrongPassword) {
			a.sessions.failed(key, now)
			return fail(messaging.CodeForbidden, "wrong login or PIN", "bad pin")
		}
	} else {
		u, err = checkPassword(ctx, a.index, a.passwords, req.Login, req.Password)
	}
	switch {
	case errors.Is(err, ErrNoDirectoryPassword):
		a.sessions.failed(key, now)
		return fail(messaging.CodeForbidden, "this user has no directory password; sign in with AD credentials", "no directory password")
	case errors.Is(err, ErrWrongPassword):
		a.sessions.failed(key, now)
		return fail(messaging.CodeForbidden, "wrong login or password", "bad credentials")
	case err != nil:
		a.log.Warn("shared-device sign-in: AD cannot check the password", "device", dev, "err", err)
		return fail(messaging.CodeInternal, "the directory cannot check passwords now; try again", "directory unavailable")
	}
	expires := now.Add(sharedSessionMax)
	cmd := &store.SignInShared{By: audit.Actor{User: u.Login, Device: dev, Source: by.Source}, Device: dev, Login: u.Login, Expires: expires}
	if err := a.store.Apply(ctx, cmd); err != nil {
		return nil, err
	}
	a.sessions.set(dev, u.Login, expires, now)
	if cmd.Replaced != "" {
		a.reopen(dev) // drop what was in memory for the user signed in before
	}
	return signinResult{User: u.Login, Name: u.Name, Expires: expires.UTC(), Unread: a.store.UnreadCount(u.Login)}, nil
}

// signinResult answers session.signin.
type signinResult struct {
	User    string    `json:"user"`
	Name    string    `json:"name"`
	Expires time.Time `json:"expires"`
	Unread  int64     `json:"unread"` // the user's unread messages, fetched with history
}

// signout ends the session on a shared device.
func (a *deviceAPI) signout(ctx context.Context, dev string, by audit.Actor) (any, error) {
	cmd := &store.SignOutShared{By: by, Device: dev}
	err := a.store.Apply(ctx, cmd)
	if errors.Is(err, store.ErrNotSignedIn) {
		a.forget(dev, by.User)
		return nil, messaging.Errorf(messaging.CodeInvalid, "no one is signed in on this device")
	}
	if err != nil {
		return nil, err
	}
	a.forget(dev, cmd.User)
	a.reopen(dev)
	return map[string]string{"user": cmd.User, "state": "signed_out"}, nil
}
