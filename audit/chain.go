package audit

import (
	"errors"
	"fmt"
	"time"
)

// Head is the end of a chain: the sequence number and hash of its last event.
// The zero Head is an empty chain.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// Seal links e to the chain that ends at head: it sets e.Seq, e.Prev and
// e.Hash, and returns the sealed event and the new head. An event without a
// time gets now; times are kept in UTC.
func Seal(head Head, e Event, now time.Time) (Event, Head) {
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	if head.Seq == 0 {
		e.Prev = GenesisHash
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = e.Time.UTC()
	e.Hash = e.ComputeHash()
	return e, Head{Seq: e.Seq, Hash: e.Hash}
}

// ErrBroken is wrapped by every error that reports a broken chain.
var ErrBroken = errors.New("audit chain broken")

// BreakError names the first bad event of a chain and why it is bad.
type BreakError struct {
	Seq    uint64 // the sequence number where the chain breaks
	Reason string // what is wrong there
}

// Error implements error.
func (b *BreakError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", b.Seq, b.Reason)
}

// Unwrap lets errors.Is(err, ErrBroken) match.
func (b *BreakError) Unwrap() error { return ErrBroken }

// Verifier checks a chain one event at a time, in the order the events are
// stored. The zero Verifier expects a chain that starts at event 1.
type Verifier struct {
	head  Head
	count uint64
}

// Check verifies the next stored event. The first error it returns is a
// *BreakError naming the first bad event; the verifier should not be used
// after that.
func (v *Verifier) Check(e Event) error {
	want := v.head.Seq + 1
	prev := v.head.Hash
	if v.head.Seq == 0 {
		prev = GenesisHash
	}
	switch {
	case e.Seq < want:
		return &BreakError{Seq: want, Reason: fmt.Sprintf("found event %d again or out of order (events reordered or duplicated)", e.Seq)}
	case e.Seq > want:
		return &BreakError{Seq: want, Reason: fmt.Sprintf("event missing: the next stored event is %d (events removed or reordered)", e.Seq)}
	case e.Hash != e.ComputeHash():
		return &BreakError{Seq: e.Seq, Reason: "content does not match its hash (event altered)"}
	case e.Prev != prev:
		return &BreakError{Seq: e.Seq, Reason: "does not link to the event before it (event replaced or chain spliced)"}
	}
	v.head = Head{Seq: e.Seq, Hash: e.Hash}
	v.count++
	return nil
}

// Finish checks that the chain ended where its recorded head says it does,
// which catches events removed from the end. An empty want (Seq 0) skips the
// check.
func (v *Verifier) Finish(want Head) error {
	if want.Seq == 0 {
		return nil
	}
	if v.head.Seq < want.Seq {
		return &BreakError{Seq: v.head.Seq + 1, Reason: fmt.Sprintf("event missing: the chain ends at %d but its head is %d (events removed from the end)", v.head.Seq, want.Seq)}
	}
	if v.head.Seq == want.Seq && v.head.Hash != want.Hash {
		return &BreakError{Seq: want.Seq, Reason: "last event does not match the recorded head (event replaced)"}
	}
	return nil
}

// Head returns the last event verified so far.
func (v *Verifier) Head() Head { return v.head }

// Count returns how many events were verified.
func (v *Verifier) Count() uint64 { return v.count }
