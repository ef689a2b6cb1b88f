package messaging

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of a send.
const (
	MaxBody         = 4096 // characters (runes) of a body, after trimming
	MaxRecipients   = 100  // addresses in one send
	MaxClientRef    = 128  // characters of a client_ref or a request's ref
	MaxPatientField = 128  // characters of each patient field
)

// Send is a checked out/send payload, in canonical form.
type Send struct {
	ClientRef    string    // makes the send idempotent for the device; may be empty
	To           []Address // normalized, without duplicates, RoutedTo empty; empty when only Conversation is given
	Conversation string    // an existing conversation, or empty
	Body         string    // trimmed, 1 to maxBody characters
	Priority     Priority  // Normal when the payload gave none
	Patient      *Patient  // nil when the payload gave none or only empty fields
}

// DecodeSend parses and checks an out/send payload. maxBody is the
// configured body limit in characters; a value outside 1..MaxBody means
// MaxBody. Unknown members are ignored. Errors name fields, never values.
func DecodeSend(payload []byte, maxBody int) (Send, *Error) {
	o, e := parseObject(payload)
	if e != nil {
		return Send{}, e
	}
	var s Send
	if s.ClientRef, _, e = o.str("client_ref", "client_ref"); e != nil {
		return Send{}, e
	}
	if s.To, e = decodeTo(o); e != nil {
		return Send{}, e
	}
	if s.Conversation, _, e = o.str("conversation", "conversation"); e != nil {
		return Send{}, e
	}
	body, ok, e := o.str("body", "body")
	if e != nil {
		return Send{}, e
	}
	if !ok {
		return Send{}, Errorf(CodeInvalid, "body is required")
	}
	s.Body = strings.TrimSpace(body)
	p, ok, e := o.str("priority", "priority")
	switch {
	case e != nil:
		return Send{}, e
	case !ok:
		s.Priority = Normal
	default:
		s.Priority = Priority(p)
	}
	if s.Patient, e = decodePatient(o); e != nil {
		return Send{}, e
	}
	if e := s.Validate(maxBody); e != nil {
		return Send{}, e
	}
	return s, nil
}

// decodeTo parses the to member: an array of addresses, each normalized,
// duplicates removed in order.
func decodeTo(o object) ([]Address, *Error) {
	raw, present := o["to"]
	if !present {
		return nil, nil
	}
	var elems []json.RawMessage
	if kind(raw) != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, Errorf(CodeInvalid, "to must be an array")
	}
	if len(elems) > MaxRecipients {
		return nil, Errorf(CodeTooLarge, "to holds more than %d addresses", MaxRecipients)
	}
	to := make([]Address, 0, len(elems))
	seen := make(map[Address]bool, len(elems))
	for i, el := range elems {
		var eo object
		if kind(el) != '{' || json.Unmarshal(el, &eo) != nil {
			return nil, Errorf(CodeInvalid, "to[%d] must be an object", i)
		}
		var a Address
		for _, f := range []struct {
			key string
			v   *string
		}{{"user", &a.User}, {"role", &a.Role}, {"group", &a.Group}} {
			var ok bool
			var e *Error
			if *f.v, ok, e = eo.str(fmt.Sprintf("to[%d].%s", i, f.key), f.key); e != nil {
				return nil, e
			}
			if ok && *f.v == "" {
				return nil, Errorf(CodeInvalid, "to[%d].%s is empty", i, f.key)
			}
		}
		k := a.Kind()
		if k == "" {
			return nil, Errorf(CodeInvalid, "to[%d] must name exactly one of user, role or group", i)
		}
		n, ok := a.Normalize()
		if !ok {
			return nil, Errorf(CodeInvalid, "to[%d].%s is not a valid %s name", i, k, k)
		}
		if !seen[n] {
			seen[n] = true
			to = append(to, n)
		}
	}
	if len(to) == 0 {
		return nil, nil
	}
	return to, nil
}

// decodePatient parses the optional patient member.
func decodePatient(o object) (*Patient, *Error) {
	po, ok, e := o.sub("patient", "patient")
	if e != nil || !ok {
		return nil, e
	}
	var p Patient
	for _, f := range []struct {
		key string
		v   *string
	}{{"mrn", &p.MRN}, {"name", &p.Name}, {"location", &p.Location}} {
		v, _, e := po.str("patient."+f.key, f.key)
		if e != nil {
			return nil, e
		}
		*f.v = strings.TrimSpace(v)
	}
	if p == (Patient{}) {
		return nil, nil
	}
	return &p, nil
}

// Validate checks a Send in canonical form, as DecodeSend returns it; the
// web client, which builds a Send without JSON, checks its own the same way.
// maxBody is as for DecodeSend.
func (s Send) Validate(maxBody int) *Error {
	if maxBody < 1 || maxBody > MaxBody {
		maxBody = MaxBody
	}
	if e := checkRef("client_ref", s.ClientRef); e != nil {
		return e
	}
	if len(s.To) > MaxRecipients {
		return Errorf(CodeTooLarge, "to holds more than %d addresses", MaxRecipients)
	}
	seen := make(map[Address]bool, len(s.To))
	for i, a := range s.To {
		n, ok := a.Normalize()
		if !ok || n != a {
			return Errorf(CodeInvalid, "to[%d] must name exactly one valid user, role or group", i)
		}
		if seen[a] {
			return Errorf(CodeInvalid, "to[%d] repeats an address", i)
		}
		seen[a] = true
	}
	if s.Conversation != "" && !ValidConversationID(s.Conversation) {
		return Errorf(CodeInvalid, "conversation is not a conversation id")
	}
	if len(s.To) == 0 && s.Conversation == "" {
		return Errorf(CodeInvalid, "to or conversation is required")
	}
	switch {
	case s.Body == "":
		return Errorf(CodeInvalid, "body is empty")
	case strings.TrimSpace(s.Body) != s.Body:
		return Errorf(CodeInvalid, "body has surrounding spaces")
	case !utf8.ValidString(s.Body):
		return Errorf(CodeInvalid, "body is not valid UTF-8")
	case strings.IndexByte(s.Body, 0) >= 0:
		return Errorf(CodeInvalid, "body holds a NUL character")
	case utf8.RuneCountInString(s.Body) > maxBody:
		return Errorf(CodeTooLarge, "body is longer than %d characters", maxBody)
	}
	switch s.Priority {
	case Normal, Urgent, Critical:
	default:
		return Errorf(CodeInvalid, "priority must be normal, urgent or critical")
	}
	if s.Patient != nil {
		if e := s.Patient.Validate(); e != nil {
			return e
		}
	}
	return nil
}

// Validate checks the patient fields: each trimmed, valid UTF-8, at most
// MaxPatientField characters and free of control characters.
func (p Patient) Validate() *Error {
	for _, f := range []struct{ name, v string }{
		{"patient.mrn", p.MRN}, {"patient.name", p.Name}, {"patient.location", p.Location},
	} {
		switch {
		case strings.TrimSpace(f.v) != f.v:
			return Errorf(CodeInvalid, "%s has surrounding spaces", f.name)
		case !utf8.ValidString(f.v):
			return Errorf(CodeInvalid, "%s is not valid UTF-8", f.name)
		case utf8.RuneCountInString(f.v) > MaxPatientField:
			return Errorf(CodeInvalid, "%s is longer than %d characters", f.name, MaxPatientField)
		case hasControl(f.v):
			return Errorf(CodeInvalid, "%s holds a control character", f.name)
		}
	}
	return nil
}
