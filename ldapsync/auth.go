package ldapsync

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Authenticate checks a user's password by binding as the user (by the
// DN read at the last sync, else the UPN). It returns nil when AD accepts
// the bind, an error wrapping ErrBadCredentials or ErrAccountLocked when
// it refuses it, and another error when AD cannot be asked. The password
// is sent to AD over TLS and kept nowhere.
func (r *Reader) Authenticate(ctx context.Context, dn, upn, password string) error {
	who := dn
	if who == "" {
		who = upn
	}
	if who == "" {
		return fmt.Errorf("%w: the user has no DN or UPN", ErrBadCredentials)
	}
	if password == "" || strings.IndexByte(password, 0) >= 0 {
		return fmt.Errorf("%w: empty password", ErrBadCredentials)
	}
	c, err := dial(ctx, r.cfg, who, password)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrAccountLocked) {
			return err
		}
		return fmt.Errorf("checking a password: %w", err)
	}
	c.close()
	return nil
}
