package appliance

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// argon2id parameters of new PIN hashes (the OWASP minimum: 19 MiB, 2
// passes, 1 lane). A PIN has few digits, so what protects it is this cost
// against a stolen store and the sign-in throttle against guessing online.
const (
	pinTime    = 2
	pinMemory  = 19 * 1024 // KiB
	pinThreads = 1
	pinKeyLen  = 32
	pinSaltLen = 16
)

// pinHashing bounds the argon2id computations running at once, so that a
// burst of PIN sign-ins cannot take the appliance's memory and CPU.
var pinHashing = make(chan struct{}, 2)

// hashPIN returns the stored form of a new PIN.
func hashPIN(ctx context.Context, pin string) (*store.PINHash, error) {
	salt := make([]byte, pinSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	h := &store.PINHash{Alg: "argon2id", Time: pinTime, Memory: pinMemory, Threads: pinThreads, Salt: salt}
	sum, err := argon2Key(ctx, []byte(pin), h)
	if err != nil {
		return nil, err
	}
	h.Hash = sum
	return h, nil
}

// checkPIN reports whether pin matches h.
func checkPIN(ctx context.Context, pin string, h store.PINHash) (bool, error) {
	if h.Alg != "argon2id" || len(h.Hash) == 0 || h.Memory > 1<<20 || h.Time == 0 || h.Time > 16 || h.Threads == 0 {
		return false, fmt.Errorf("pin hash: unsupported parameters %s t=%d m=%d p=%d", h.Alg, h.Time, h.Memory, h.Threads)
	}
	sum, err := argon2Key(ctx, []byte(pin), &h)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(sum, h.Hash) == 1, nil
}

func argon2Key(ctx context.Context, pin []byte, h *store.PINHash) ([]byte, error) {
	select {
	case pinHashing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-pinHashing }()
	n := uint32(pinKeyLen)
	if len(h.Hash) > 0 {
		n = uint32(len(h.Hash))
	}
	return argon2.IDKey(pin, h.Salt, h.Time, h.Memory, h.Threads, n), nil
}

// dummyPINHash is a PIN hash no PIN is checked against for real.
var dummyPINHash = sync.OnceValue(func() store.PINHash {
	return store.PINHash{Alg: "argon2id", Time: pinTime, Memory: pinMemory, Threads: pinThreads,
		Salt: make([]byte, pinSaltLen), Hash: make([]byte, pinKeyLen)}
})

// setPIN answers pin.set: a user sets or removes their shared-device PIN
// from one of their personal devices.
func (a *deviceAPI) setPIN(ctx context.Context, dev string, shared bool, by audit.Actor, req messaging.Req) (any, error) {
	if shared || by.User == "" {
		return nil, messaging.Errorf(messaging.CodeForbidden, "set your PIN from one of your personal devices")
	}
	cmd := store.SetUserPIN{By: by, Login: by.User}
	if req.PIN != "" {
		h, err := hashPIN(ctx, req.PIN)
		if err != nil {
			return nil, err
		}
		cmd.Hash = h
	}
	if err := a.store.Apply(ctx, cmd); err != nil {
		return nil, err
	}
	state := "set"
	if cmd.Hash == nil {
		state = "removed"
	}
	return map[string]string{"user": by.User, "pin": state}, nil
}

// pinUser finds the user who signs in as name with pin: the enabled user
// (local or from AD) whose PIN it is, or ErrWrongPassword.
func (a *deviceAPI) pinUser(ctx context.Context, name, pin string) (directory.User, error) {
	if a.index == nil {
		return directory.User{}, ErrDirectoryUnavailable
	}
	u, ok := a.index.Resolve(name)
	var h store.PINHash
	if ok && u.Enabled {
		var err error
		if h, ok, err = a.store.UserPIN(u.Login); err != nil {
			return directory.User{}, fmt.Errorf("%w: %v", ErrDirectoryUnavailable, err)
		}
	}
	if !ok || !u.Enabled {
		// As slow as a real check, so that the time does not tell who has a PIN.
		_, _ = checkPIN(ctx, pin, dummyPINHash())
		return directory.User{}, ErrWrongPassword
	}
	match, err := checkPIN(ctx, pin, h)
	if err != nil {
		return directory.User{}, fmt.Errorf("%w: %v", ErrDirectoryUnavailable, err)
	}
	if !match {
		return directory.User{}, ErrWrongPassword
	}
	return u, nil
}
