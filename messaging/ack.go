package messaging

// AckReq is a checked out/ack payload: a device reports that a message
// reached it (Delivered) or that its user opened it (Read).
type AckReq struct {
	ID    string
	State State
}

// DecodeAck parses and checks an out/ack payload: id must be a message id
// and state delivered or read. Unknown members are ignored.
func DecodeAck(payload []byte) (AckReq, *Error) {
	o, e := parseObject(payload)
	if e != nil {
		return AckReq{}, e
	}
	id, ok, e := o.str("id", "id")
	switch {
	case e != nil:
		return AckReq{}, e
	case !ok:
		return AckReq{}, Errorf(CodeInvalid, "id is required")
	case !ValidMessageID(id):
		return AckReq{}, Errorf(CodeInvalid, "id is not a message id")
	}
	st, ok, e := o.str("state", "state")
	switch {
	case e != nil:
		return AckReq{}, e
	case !ok:
		return AckReq{}, Errorf(CodeInvalid, "state is required")
	}
	switch s := State(st); s {
	case Delivered, Read:
		return AckReq{ID: id, State: s}, nil
	}
	return AckReq{}, Errorf(CodeInvalid, "state must be delivered or read")
}

// Rank orders the states: 1 for queued, 2 for delivered, 3 for read, and 0
// for anything else (no state yet).
func (s State) Rank() int {
	switch s {
	case Queued:
		return 1
	case Delivered:
		return 2
	case Read:
		return 3
	}
	return 0
}

// Advance returns the state after next is reported in state cur. States
// only move forward: a repeated, backward or unknown next leaves cur and
// returns false.
func Advance(cur, next State) (State, bool) {
	if next.Rank() > cur.Rank() {
		return next, true
	}
	return cur, false
}
