package messaging

import "github.com/wardline/wardline/directory"

// Operations of out/req for a user's availability (Wardline additions).
const (
	OpStatusSet = "status.set" // {"status": "dnd", "forward_to": "dr.kim"}
	OpStatusGet = "status.get" // {"user": "dr.lee"}, or no user for oneself
)

// Statuses a user may set.
const (
	StatusAvailable = "available"
	StatusBusy      = "busy"
	StatusDND       = "dnd"
	StatusOffShift  = "off_shift"
)

func (r *Req) decodeStatus(o object) *Error {
	if r.Op == OpStatusGet {
		u, _, e := o.str("user", "user")
		if e != nil {
			return e
		}
		if u != "" {
			n, err := directory.NormalizeLogin(u)
			if err != nil {
				return Errorf(CodeInvalid, "user is not a valid login")
			}
			r.User = n
		}
		return nil
	}
	st, ok, e := o.str("status", "status")
	switch {
	case e != nil:
		return e
	case !ok:
		return Errorf(CodeInvalid, "status is required")
	}
	switch st {
	case StatusAvailable, StatusBusy, StatusDND, StatusOffShift:
	default:
		return Errorf(CodeInvalid, "status must be available, busy, dnd or off_shift")
	}
	r.Status = st
	fw, _, e := o.str("forward_to", "forward_to")
	if e != nil {
		return e
	}
	if fw != "" {
		n, err := directory.NormalizeLogin(fw)
		if err != nil {
			return Errorf(CodeInvalid, "forward_to is not a valid login")
		}
		r.ForwardTo = n
	}
	return nil
}
