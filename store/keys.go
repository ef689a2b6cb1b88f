package store

import "encoding/binary"

// The key layout. Every key starts with a short prefix naming its kind.
const (
	keyInstance  = "meta/instance"   // the instance id, written at every open
	keyAuditHead = "meta/audit-head" // JSON audit.Head: the end of the chain
	prefixAudit  = "audit/"          // + 8-byte big-endian sequence number: JSON audit.Event
	prefixUser   = "user/"           // + login: JSON directory.User
	prefixBlob   = "blob/"           // + path: 8-byte modification time (unix ns) + data
)

// auditKey is the key of audit event seq.
func auditKey(seq uint64) []byte {
	k := make([]byte, len(prefixAudit)+8)
	copy(k, prefixAudit)
	binary.BigEndian.PutUint64(k[len(prefixAudit):], seq)
	return k
}
