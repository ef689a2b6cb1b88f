package sso

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"
)

// argon2id parameters for break-glass passwords: 64 MiB, 2 passes, 2
// lanes (about 50-100 ms on the appliance's 2 cores).
const (
	argonMemory = 64 * 1024
	argonTime   = 2
	argonLanes  = 2
	argonKeyLen = 32
)

// MinPasswordLen is the shortest break-glass password accepted.
const MinPasswordLen = 12

// HashPassword returns the argon2id hash of pw in the PHC string format.
func HashPassword(pw string) (string, error) {
	if len([]rune(pw)) < MinPasswordLen {
		return "", fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonLanes, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonLanes,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches an argon2id hash, in constant
// time. A malformed hash matches nothing.
func CheckPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 256*1024 || t > 10 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when the login is unknown, so that an unknown login
// and a wrong password take the same time. It is made on first use, not at
// start: every CLI command links this package.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not-a-password-of-anyone")
	return h
})

// CheckUnknown spends the time a password check takes.
func CheckUnknown(pw string) { CheckPassword(dummyHash(), pw) }

// totpPeriod is the TOTP time step.
const totpPeriod = 30

// NewTOTP returns a fresh TOTP key (SHA-1, 6 digits, 30 s: what every
// authenticator app reads) for a break-glass administrator.
func NewTOTP(issuer, login string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: login, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// ErrBadCode is a TOTP code that does not match.
var ErrBadCode = errors.New("wrong code")

// CheckTOTP checks a 6-digit code against secret at now, one step either
// side, and returns the time step it matched (the caller refuses a step
// used before).
func CheckTOTP(secret, code string, now time.Time) (int64, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, ErrBadCode
	}
	step := now.Unix() / totpPeriod
	ok, match := 0, int64(0)
	for _, s := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, ErrBadCode
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			ok, match = 1, s
		}
	}
	if ok == 0 {
		return 0, ErrBadCode
	}
	return match, nil
}
