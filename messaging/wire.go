package messaging

import (
	"bytes"
	"encoding/json"
	"time"
)

// Commands of in/cmd. CmdRecall is a Wardline addition: the device deletes
// the message it names.
const (
	CmdWipe    = "wipe"
	CmdSignout = "signout"
	CmdRecall  = "recall"
)

// TimeFormat is how the device API writes times: RFC 3339 in UTC, to the
// millisecond.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// wireTime formats t for the device API.
func wireTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// marshal encodes v as compact JSON without HTML escaping. The encoders
// pass only types that always encode; should one fail, it returns nil.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// wireFrom is the sender of in/msg.
type wireFrom struct {
	User string `json:"user"`
	Name string `json:"name"`
}

// wireAddress is an address of in/msg: {"user"}, {"role","user"} or
// {"group"}, in the order of the spec.
type wireAddress struct {
	Role  string `json:"role,omitempty"`
	Group string `json:"group,omitempty"`
	User  string `json:"user,omitempty"`
	// ForwardedTo is, for a user address, the colleague it reached
	// instead: the user's status forwarded it.
	ForwardedTo string `json:"forwarded_to,omitempty"`
}

// wireMsg is the in/msg payload.
type wireMsg struct {
	ID           string        `json:"id"`
	Conversation string        `json:"conversation"`
	From         wireFrom      `json:"from"`
	To           []wireAddress `json:"to"`
	Body         string        `json:"body"`
	Priority     Priority      `json:"priority"`
	SentAt       string        `json:"sent_at"`
	Patient      *Patient      `json:"patient,omitempty"`
}

// EncodeMsg returns the in/msg payload of m. Its "to" lists the addresses
// as the sender gave them, a role with the user it was routed to, a user
// whose status forwarded it with the colleague it reached; a message
// sent to a conversation without addresses lists its recipients as users.
// "patient" is left out when m has none.
func EncodeMsg(m Message) []byte {
	w := wireMsg{
		ID:           m.ID,
		Conversation: m.Conversation,
		From:         wireFrom{User: m.From, Name: m.FromName},
		To:           make([]wireAddress, 0, max(len(m.To), len(m.Recipients))),
		Body:         m.Body,
		Priority:     m.Priority,
		SentAt:       wireTime(m.SentAt),
		Patient:      m.Patient,
	}
	for _, a := range m.To {
		switch a.Kind() {
		case "user":
			w.To = append(w.To, wireAddress{User: a.User, ForwardedTo: a.RoutedTo})
		case "role":
			w.To = append(w.To, wireAddress{Role: a.Role, User: a.RoutedTo})
		case "group":
			w.To = append(w.To, wireAddress{Group: a.Group})
		}
	}
	if len(m.To) == 0 {
		for _, r := range m.Recipients {
			w.To = append(w.To, wireAddress{User: r})
		}
	}
	return marshal(w)
}

// EncodeNotify returns the in/notify payload: the message id, its priority
// and the user's unread count, and nothing else. A notification is shown on
// a locked screen, so it never carries a body, a sender's text or patient
// data.
func EncodeNotify(id string, p Priority, unread int) []byte {
	return marshal(struct {
		ID       string   `json:"id"`
		Priority Priority `json:"priority"`
		Unread   int      `json:"unread"`
	}{id, p, unread})
}

// EncodeReceipt returns the in/receipt payload telling a sender that
// message id reached state s for user at the given time.
func EncodeReceipt(id, user string, s State, at time.Time) []byte {
	return marshal(struct {
		ID    string `json:"id"`
		User  string `json:"user"`
		State State  `json:"state"`
		At    string `json:"at"`
	}{id, user, s, wireTime(at)})
}

// EncodeSendReply returns the in/reply payload accepting a send: ref is the
// send's client_ref, id the message id and recipients the resolved logins.
func EncodeSendReply(ref, id, conversation string, recipients []string) []byte {
	if recipients == nil {
		recipients = []string{}
	}
	return marshal(struct {
		Re           string   `json:"re"`
		ID           string   `json:"id"`
		Conversation string   `json:"conversation"`
		Recipients   []string `json:"recipients"`
	}{ref, id, conversation, recipients})
}

// EncodeReply returns the in/reply payload answering request ref with
// result. Should result not encode as JSON, it returns an internal error
// reply instead.
func EncodeReply(ref string, result any) []byte {
	b, err := json.Marshal(result)
	if err != nil {
		return EncodeErrorReply(ref, Errorf(CodeInternal, "the result could not be encoded"))
	}
	return marshal(struct {
		Re     string          `json:"re"`
		Result json.RawMessage `json:"result"`
	}{ref, b})
}

// EncodeErrorReply returns the in/reply payload refusing send or request
// ref. A nil e is reported as an internal error.
func EncodeErrorReply(ref string, e *Error) []byte {
	if e == nil {
		e = Errorf(CodeInternal, "internal error")
	}
	return marshal(struct {
		Re    string `json:"re"`
		Error *Error `json:"error"`
	}{ref, e})
}

// EncodeCmd returns the in/cmd payload of a command without arguments
// (CmdWipe, CmdSignout).
func EncodeCmd(cmd string) []byte {
	return marshal(struct {
		Cmd string `json:"cmd"`
	}{cmd})
}

// EncodeRecallCmd returns the in/cmd payload telling a device to delete
// the recalled message id.
func EncodeRecallCmd(id string) []byte {
	return marshal(struct {
		Cmd string `json:"cmd"`
		ID  string `json:"id"`
	}{CmdRecall, id})
}
