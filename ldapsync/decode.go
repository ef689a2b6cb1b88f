package ldapsync

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// userAccountControl flags that matter here.
const (
	uacAccountDisable = 0x2
	uacLockout        = 0x10
)

// DecodeGUID turns the 16 raw bytes of objectGUID into its usual string
// form (the first three fields are little-endian in AD):
// 00112233-4455-6677-8899-aabbccddeeff.
func DecodeGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID: %d bytes, want 16", len(b))
	}
	var o [16]byte
	o[0], o[1], o[2], o[3] = b[3], b[2], b[1], b[0]
	o[4], o[5] = b[5], b[4]
	o[6], o[7] = b[7], b[6]
	copy(o[8:], b[8:])
	h := hex.EncodeToString(o[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// EncodeGUID is the inverse of DecodeGUID: the raw bytes of a GUID string.
func EncodeGUID(s string) ([]byte, error) {
	h := strings.ReplaceAll(s, "-", "")
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 16 || len(s) != 36 {
		return nil, fmt.Errorf("%q is not a GUID", s)
	}
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = raw[3], raw[2], raw[1], raw[0]
	b[4], b[5] = raw[5], raw[4]
	b[6], b[7] = raw[7], raw[6]
	copy(b[8:], raw[8:])
	return b, nil
}

// ParseUAC parses userAccountControl, a decimal 32-bit value (AD sends it
// signed or unsigned).
func ParseUAC(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(v), nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("userAccountControl: %q is not a 32-bit number", s)
	}
	return uint32(v), nil
}

// fileTimeEpoch is 1601-01-01, the epoch of Windows FILETIME.
var fileTimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// ParseAccountExpires parses accountExpires: 100-nanosecond intervals since
// 1601 (FILETIME). 0 and 0x7FFFFFFFFFFFFFFF mean never; the zero time is
// returned for never.
func ParseAccountExpires(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("accountExpires: %q is not a 64-bit number", s)
	case v <= 0 || v == 1<<63-1:
		return time.Time{}, nil
	}
	const perSec = 10_000_000
	const unixOffset = 11644473600 // seconds from 1601 to 1970
	// Through Unix seconds: a time.Duration from 1601 would overflow.
	return time.Unix(v/perSec-unixOffset, (v%perSec)*100).UTC(), nil
}

// cleanText makes an attribute value safe to store and show: invalid UTF-8
// becomes U+FFFD, control and format characters (bidi overrides, zero
// width) are dropped, spaces trimmed, at most max runes.
func cleanText(s string, max int) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s) && n < max; {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			r = utf8.RuneError
		case r == '\t' || r == '\n' || r == '\r':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// groupName turns a group's sAMAccountName into a Wardline group name:
// lower case, runs of characters other than letters, digits, '.', '_' and
// '-' replaced by one '-', at most 64 characters. Accents are folded first
// ("Pédiatrie" → "pediatrie").
func groupName(sam string, fold func(string) string) string {
	s := fold(sam)
	var b strings.Builder
	dash := false
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-._")
}
