package store

import "encoding/binary"

// The key layout. Every key starts with a short prefix naming its kind.
const (
	keyInstance  = "meta/instance"   // the instance id, written at every open
	keyAuditHead = "meta/audit-head" // JSON audit.Head: the end of the chain
	prefixAudit  = "audit/"          // + 8-byte big-endian sequence number: JSON audit.Event
	prefixUser   = "user/"           // + login: JSON directory.User
	prefixBlob   = "blob/"           // + path: 8-byte modification time (unix ns) + data

	keyDeviceHMAC    = "meta/device-hmac"  // the key device secrets are hashed with
	keyPurgeCursor   = "meta/purge-cursor" // the last message id retention has passed
	prefixDevice     = "dev/"              // + device id: JSON Device
	prefixUserDevice = "udevs/"            // + login: JSON list of the user's active device ids
	prefixGroup      = "grp/"              // + name: JSON Group
	prefixRole       = "role/"             // + name: JSON Group (a role's fixed members)
	prefixConv       = "cnv/"              // + id: JSON messaging.Conversation
	prefixDirectConv = "dcnv/"             // + messaging.DirectKey: conversation id
	prefixGroupConv  = "gcnv/"             // + group name: conversation id
	prefixMessage    = "msg/"              // + message id: JSON messaging.Message
	prefixConvMsg    = "cmsg/"             // + conversation id/message id: index for history
	prefixClientRef  = "cref/"             // + device id/client_ref: message id (idempotent send)
	prefixRecipient  = "rcpt/"             // + message id/login: JSON recipientState
	prefixUnread     = "unr/"              // + login/message id: priority (unread index)
	prefixCritical   = "crit/"             // + login/message id: critical and not yet read (notify repeats)
	prefixQueueMsg   = "qm/"               // + device id/message id: a message to deliver, until acked delivered
	prefixQueueRcpt  = "qr/"               // + device id/message id/login: JSON receipt to deliver
	prefixQueueCmd   = "qc/"               // + device id/id: JSON command (wipe, recall) to deliver
)

// auditKey is the key of audit event seq.
func auditKey(seq uint64) []byte {
	k := make([]byte, len(prefixAudit)+8)
	copy(k, prefixAudit)
	binary.BigEndian.PutUint64(k[len(prefixAudit):], seq)
	return k
}
