package messaging

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/wardline/wardline/directory"
)

// Operations of out/req. OpMessageRecall is a Wardline addition.
const (
	OpDirectorySearch = "directory.search"
	OpHistory         = "history"
	OpSessionSignin   = "session.signin"
	OpSessionSignout  = "session.signout"
	OpMessageRecall   = "message.recall"
)

// Limits of requests.
const (
	MaxQuery        = 128  // characters of a directory search
	MaxHistoryLimit = 100  // messages in one history page
	DefaultHistory  = 50   // messages in a history page when limit is not given
	MaxSecret       = 1024 // bytes of a PIN or password
)

// Req is a checked out/req payload. Only the fields of its Op are set.
// It holds secrets (PIN, Password): its String and GoString methods leave
// them out, and it must never be logged otherwise.
type Req struct {
	Ref          string // echoed as "re" in the reply; may be empty
	Op           string // one of the Op constants
	Q            string // directory.search: the query, trimmed
	Conversation string // history: the conversation id
	Before       string // history: only messages older than this message id; may be empty
	Limit        int    // history: 1..MaxHistoryLimit
	Login        string // session.signin: normalized login
	PIN          string // session.signin: exactly one of PIN and Password; pin.set: the new PIN or ""
	Password     string
	ID           string // message.recall: the message id
	Status       string // status.set: available, busy, dnd or off_shift
	ForwardTo    string // status.set: normalized login of a colleague, or ""
	User         string // status.get: normalized login, or "" for oneself
}

// String describes the request without its secrets.
func (r Req) String() string {
	r.PIN, r.Password = redact(r.PIN), redact(r.Password)
	type plain Req // without methods, so fmt does not recurse
	b, _ := json.Marshal(plain(r))
	return string(b)
}

// GoString is String, so that %#v does not print secrets either.
func (r Req) GoString() string { return r.String() }

// redact hides a secret, keeping only whether it was given.
func redact(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// DecodeReq parses and checks an out/req payload. Unknown members, and the
// members that do not belong to the op, are ignored.
func DecodeReq(payload []byte) (Req, *Error) {
	o, e := parseObject(payload)
	if e != nil {
		return Req{}, e
	}
	var r Req
	if r.Ref, _, e = o.str("ref", "ref"); e != nil {
		return Req{}, e
	}
	if e := checkRef("ref", r.Ref); e != nil {
		return Req{}, e
	}
	op, ok, e := o.str("op", "op")
	switch {
	case e != nil:
		return Req{}, e
	case !ok || op == "":
		return Req{}, Errorf(CodeInvalid, "op is required")
	}
	r.Op = op
	switch op {
	case OpDirectorySearch:
		e = r.decodeSearch(o)
	case OpHistory:
		e = r.decodeHistory(o)
	case OpSessionSignin:
		e = r.decodeSignin(o)
	case OpSessionSignout:
	case OpMessageRecall:
		e = r.decodeRecall(o)
	case OpStatusSet, OpStatusGet:
		e = r.decodeStatus(o)
	case OpPINSet:
		e = r.decodePINSet(o)
	default:
		if opLike(op) {
			return Req{}, Errorf(CodeInvalid, "unknown op %q", op)
		}
		return Req{}, Errorf(CodeInvalid, "unknown op")
	}
	if e != nil {
		return Req{}, e
	}
	return r, nil
}

func (r *Req) decodeSearch(o object) *Error {
	q, _, e := o.str("q", "q")
	if e != nil {
		return e
	}
	r.Q = strings.TrimSpace(q)
	switch {
	case r.Q == "":
		return Errorf(CodeInvalid, "q is required")
	case utf8.RuneCountInString(r.Q) > MaxQuery:
		return Errorf(CodeInvalid, "q is longer than %d characters", MaxQuery)
	case hasControl(r.Q):
		return Errorf(CodeInvalid, "q holds a control character")
	}
	return nil
}

func (r *Req) decodeHistory(o object) *Error {
	c, ok, e := o.str("conversation", "conversation")
	switch {
	case e != nil:
		return e
	case !ok:
		return Errorf(CodeInvalid, "conversation is required")
	case !ValidConversationID(c):
		return Errorf(CodeInvalid, "conversation is not a conversation id")
	}
	r.Conversation = c
	b, _, e := o.str("before", "before")
	switch {
	case e != nil:
		return e
	case b != "" && !ValidMessageID(b):
		return Errorf(CodeInvalid, "before is not a message id")
	}
	r.Before = b
	r.Limit = DefaultHistory
	if raw, ok := o["limit"]; ok {
		var n int
		if kind(raw) != '0' || json.Unmarshal(raw, &n) != nil {
			return Errorf(CodeInvalid, "limit must be a whole number")
		}
		if n < 1 || n > MaxHistoryLimit {
			return Errorf(CodeInvalid, "limit must be 1 to %d", MaxHistoryLimit)
		}
		r.Limit = n
	}
	return nil
}

func (r *Req) decodeSignin(o object) *Error {
	login, ok, e := o.str("login", "login")
	switch {
	case e != nil:
		return e
	case !ok:
		return Errorf(CodeInvalid, "login is required")
	}
	var err error
	if r.Login, err = directory.NormalizeLogin(login); err != nil {
		return Errorf(CodeInvalid, "login is not a valid login")
	}
	if r.PIN, _, e = o.str("pin", "pin"); e != nil {
		return e
	}
	if r.Password, _, e = o.str("password", "password"); e != nil {
		return e
	}
	switch {
	case (r.PIN == "") == (r.Password == ""):
		return Errorf(CodeInvalid, "give exactly one of pin or password")
	case len(r.PIN) > MaxSecret || len(r.Password) > MaxSecret:
		return Errorf(CodeInvalid, "pin or password is longer than %d bytes", MaxSecret)
	case strings.IndexByte(r.PIN, 0) >= 0 || strings.IndexByte(r.Password, 0) >= 0:
		return Errorf(CodeInvalid, "pin or password holds a NUL character")
	}
	return nil
}

func (r *Req) decodeRecall(o object) *Error {
	id, ok, e := o.str("id", "id")
	switch {
	case e != nil:
		return e
	case !ok:
		return Errorf(CodeInvalid, "id is required")
	case !ValidMessageID(id):
		return Errorf(CodeInvalid, "id is not a message id")
	}
	r.ID = id
	return nil
}

// opLike reports whether an unknown op is safe to repeat in an error: 1 to
// 32 ASCII letters, digits, '.', '_' and '-', so no free text.
func opLike(op string) bool {
	if op == "" || len(op) > 32 {
		return false
	}
	for i := 0; i < len(op); i++ {
		switch c := op[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
