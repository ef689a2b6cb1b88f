package appliance

import (
	"context"
	"errors"
	"fmt"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/ldapsync"
)

// Errors of a password check against the directory.
var (
	// ErrWrongPassword: no such user, disabled, or AD refused the password
	// (one answer for all, so that it tells nothing about which).
	ErrWrongPassword = errors.New("wrong login or password")
	// ErrNoDirectoryPassword: a local user, or an appliance without AD.
	ErrNoDirectoryPassword = errors.New("this user has no directory password")
	// ErrDirectoryUnavailable: AD could not be asked; try again.
	ErrDirectoryUnavailable = errors.New("the directory cannot check passwords now")
)

// checkPassword finds the user who signs in as name (login, AD login, UPN
// or e-mail) and checks the password by binding to AD as that user. The
// password is neither stored nor logged.
func checkPassword(ctx context.Context, idx *directory.Index, pc passwordChecker, name, password string) (directory.User, error) {
	if idx == nil {
		return directory.User{}, ErrDirectoryUnavailable
	}
	u, ok := idx.Resolve(name)
	switch {
	case !ok || !u.Enabled:
		return directory.User{}, ErrWrongPassword
	case u.Source != directory.SourceAD || pc == nil:
		return directory.User{}, ErrNoDirectoryPassword
	}
	err := pc.authenticate(ctx, u, password)
	switch {
	case errors.Is(err, ldapsync.ErrBadCredentials), errors.Is(err, ldapsync.ErrAccountLocked):
		return directory.User{}, ErrWrongPassword
	case err != nil:
		return directory.User{}, fmt.Errorf("%w: %v", ErrDirectoryUnavailable, err)
	}
	return u, nil
}

// CheckADPassword checks a user's AD password for web sign-in, as
// session.signin does for shared devices: it returns the user, or an
// error wrapping ErrWrongPassword, ErrNoDirectoryPassword or
// ErrDirectoryUnavailable. The caller throttles and audits the tries.
// It works once Run has started the directory.
func (a *Appliance) CheckADPassword(ctx context.Context, name, password string) (directory.User, error) {
	if a.api == nil {
		return directory.User{}, ErrDirectoryUnavailable
	}
	return checkPassword(ctx, a.index, a.api.passwords, name, password)
}
