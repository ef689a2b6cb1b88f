package messaging

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// Id prefixes and lengths.
const (
	MessageIDPrefix      = "msg_"
	ConversationIDPrefix = "cnv_"
	messageIDChars       = 26 // 128 bits in Crockford base32
	conversationIDChars  = 20 // 100 random bits
)

// crockford is Crockford's base32 alphabet. Its characters are in ASCII
// order, so encoded ids sort like the numbers they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// conversationAlphabet is the lower-case form of crockford.
const conversationAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// maxIDMillis is the largest time a message id can hold (48 bits of ms).
const maxIDMillis = 1<<48 - 1

// NewMessageID returns a new message id for a message sent at now: "msg_"
// and 26 characters of Crockford base32 (upper case) encoding 48 bits of
// Unix milliseconds followed by 80 random bits, so that ids sort by time
// when compared as strings. Times before 1970 or after the year 10889 are
// clamped to the range the 48 bits hold.
func NewMessageID(now time.Time) string {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	} else if ms > maxIDMillis {
		ms = maxIDMillis
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand since Go 1.24)
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [len(MessageIDPrefix) + messageIDChars]byte
	copy(out[:], MessageIDPrefix)
	// 130 bits of output for 128 of input: the first character holds the top
	// 3 bits (so it is at most '7'), each next one 5 bits.
	for i := messageIDChars - 1; i >= 0; i-- {
		out[len(MessageIDPrefix)+i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// MessageIDTime returns the time, to the millisecond, encoded in a valid
// message id.
func MessageIDTime(id string) (time.Time, bool) {
	if !ValidMessageID(id) {
		return time.Time{}, false
	}
	// The first 10 characters hold 50 bits: two zero bits and the 48 of time.
	var ms int64
	for _, c := range id[len(MessageIDPrefix) : len(MessageIDPrefix)+10] {
		ms = ms<<5 | int64(strings.IndexRune(crockford, c))
	}
	return time.UnixMilli(ms).UTC(), true
}

// ValidMessageID reports whether s has the form NewMessageID gives.
func ValidMessageID(s string) bool {
	rest, ok := strings.CutPrefix(s, MessageIDPrefix)
	if !ok || len(rest) != messageIDChars || rest[0] > '7' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// NewConversationID returns a new conversation id: "cnv_" and 20 random
// characters of lower-case Crockford base32 (100 random bits).
func NewConversationID() string {
	var b [conversationIDChars]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	for i := range b {
		b[i] = conversationAlphabet[b[i]&31]
	}
	return ConversationIDPrefix + string(b[:])
}

// ValidConversationID reports whether s has the form NewConversationID
// gives.
func ValidConversationID(s string) bool {
	rest, ok := strings.CutPrefix(s, ConversationIDPrefix)
	if !ok || len(rest) != conversationIDChars {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(conversationAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}
