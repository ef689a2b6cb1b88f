package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Outcomes of an audited action.
const (
	OutcomeOK     = "ok"     // the action happened
	OutcomeFailed = "failed" // the action was attempted and did not happen
	OutcomeDenied = "denied" // the actor was not allowed to do it
)

// Event is one entry of the audit trail. It names who did what to which
// objects, from where, and with what outcome. It never holds a message body,
// a patient field or a secret: objects are named by their ids.
type Event struct {
	Seq     uint64    `json:"seq"`               // position in the chain, from 1, without gaps
	Time    time.Time `json:"time"`              // when the action was applied, UTC
	Actor   string    `json:"actor"`             // user login, "local:<os user>" for the admin CLI, or "system"
	Device  string    `json:"device,omitempty"`  // device id, when the action came from a device
	Session string    `json:"session,omitempty"` // web or device session id
	Source  string    `json:"source,omitempty"`  // network address or "unix" for the admin socket
	Action  string    `json:"action"`            // what was done, e.g. "user.add"
	Objects []string  `json:"objects,omitempty"` // ids of the objects acted on, e.g. "user:jsmith"
	Outcome string    `json:"outcome"`           // OutcomeOK, OutcomeFailed or OutcomeDenied
	Reason  string    `json:"reason,omitempty"`  // why it failed or was denied; never PHI
	Prev    string    `json:"prev"`              // hash of the event before (hex); GenesisHash for the first
	Hash    string    `json:"hash"`              // hash of this event (hex), over Prev and every field above
}

// GenesisHash is the Prev of the first event of a chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// hashDomain separates Wardline audit hashes from any other use of SHA-256.
const hashDomain = "wardline-audit-v1"

// ComputeHash returns the hash the event should carry: SHA-256 over a
// length-prefixed encoding of Prev and every other field except Hash itself.
// The encoding is unambiguous, so no two different events hash alike by
// moving bytes from one field to the next.
func (e Event) ComputeHash() string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	writeField := func(s string) {
		n := binary.PutUvarint(buf[:], uint64(len(s)))
		h.Write(buf[:n])
		h.Write([]byte(s))
	}
	writeField(hashDomain)
	writeField(e.Prev)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], e.Seq)
	h.Write(seq[:])
	writeField(e.Time.UTC().Format(time.RFC3339Nano))
	writeField(e.Actor)
	writeField(e.Device)
	writeField(e.Session)
	writeField(e.Source)
	writeField(e.Action)
	n := binary.PutUvarint(buf[:], uint64(len(e.Objects)))
	h.Write(buf[:n])
	for _, o := range e.Objects {
		writeField(o)
	}
	writeField(e.Outcome)
	writeField(e.Reason)
	return hex.EncodeToString(h.Sum(nil))
}

// Actor says who acts and from where: the fields an event takes from the
// request that caused it.
type Actor struct {
	User    string // login, "local:<os user>" for the admin CLI, or "system"
	Device  string
	Session string
	Source  string
}

// System is the actor for what the appliance does on its own.
var System = Actor{User: "system"}

// Event returns an event of this actor doing action to objects. Outcome,
// time and chain fields are filled in when the event is appended.
func (a Actor) Event(action string, objects ...string) Event {
	return Event{Actor: a.User, Device: a.Device, Session: a.Session, Source: a.Source, Action: action, Objects: objects}
}
