package appliance

import (
	"context"
	"errors"
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

// sharedSessions remembers who is signed in on each shared device, and
// throttles failed sign-ins. Sessions live in memory: a restart signs
// everyone out of shared devices.
type sharedSessions struct {
	mu       sync.Mutex
	byDevice map[string]string      // device id -> login
	failures map[string][]time.Time // login + "\x00" + device -> recent failures
}

// user returns who is signed in on a shared device.
func (s *sharedSessions) user(dev string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byDevice[dev]
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

func (s *sharedSessions) set(dev, login string) {
	s.mu.Lock()
	if s.byDevice == nil {
		s.byDevice = map[string]string{}
	}
	if login == "" {
		delete(s.byDevice, dev)
	} else {
		s.byDevice[dev] = login
	}
	s.mu.Unlock()
}

// endSessions signs the logins out of every shared device, telling each
// device (in/cmd signout).
func (a *deviceAPI) endSessions(logins ...string) {
	end := map[string]bool{}
	for _, l := range logins {
		end[l] = true
	}
	var devs []string
	a.sessions.mu.Lock()
	for dev, l := range a.sessions.byDevice {
		if end[l] {
			delete(a.sessions.byDevice, dev)
			devs = append(devs, dev)
		}
	}
	a.sessions.mu.Unlock()
	for _, dev := range devs {
		a.out.push(dev, outItem{topic: "cmd", payload: messaging.EncodeCmd(messaging.CmdSignout)})
	}
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
	if req.PIN != "" {
		return fail(messaging.CodeForbidden, "PIN sign-in is not enabled on this appliance; use the AD password", "pin")
	}
	key := req.Login + "\x00" + dev
	now := a.now()
	if a.sessions.throttled(key, now) {
		return fail(messaging.CodeRateLimited, "too many failed sign-ins; wait 15 minutes", "throttled")
	}
	ctx, cancel := context.WithTimeout(ctx, signinTimeout)
	defer cancel()
	u, err := checkPassword(ctx, a.index, a.passwords, req.Login, req.Password)
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
	a.sessions.set(dev, u.Login)
	ev := audit.Actor{User: u.Login, Device: dev, Source: by.Source}.Event("session.signin", "device:"+dev, "user:"+u.Login)
	if err := a.store.Record(ctx, ev); err != nil {
		a.sessions.set(dev, "")
		return nil, err
	}
	return map[string]string{"user": u.Login, "name": u.Name}, nil
}

// signout ends the session on a shared device.
func (a *deviceAPI) signout(ctx context.Context, dev string, by audit.Actor) (any, error) {
	login := a.sessions.user(dev)
	if login == "" {
		return nil, messaging.Errorf(messaging.CodeInvalid, "no one is signed in on this device")
	}
	a.sessions.set(dev, "")
	if err := a.store.Record(ctx, by.Event("session.signout", "device:"+dev, "user:"+login)); err != nil {
		return nil, err
	}
	return map[string]string{"user": login, "state": "signed_out"}, nil
}
