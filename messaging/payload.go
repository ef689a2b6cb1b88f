package messaging

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// MaxPayload is the largest device API payload, in bytes, that the
// decoders accept.
const MaxPayload = 64 << 10

// object is a decoded JSON object: each member's raw value by its exact
// (case-sensitive) key. Unknown members are ignored by the callers; a key
// given twice keeps its last value.
type object map[string]json.RawMessage

// parseObject checks a payload's size, encoding and shape and returns its
// members.
func parseObject(payload []byte) (object, *Error) {
	if len(payload) > MaxPayload {
		return nil, Errorf(CodeTooLarge, "payload is larger than %d bytes", MaxPayload)
	}
	if !utf8.Valid(payload) {
		return nil, Errorf(CodeInvalid, "payload is not valid UTF-8")
	}
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) == 0 || p[0] != '{' {
		return nil, Errorf(CodeInvalid, "payload is not a JSON object")
	}
	var o object
	if err := json.Unmarshal(p, &o); err != nil {
		return nil, Errorf(CodeInvalid, "payload is not a JSON object")
	}
	return o, nil
}

// kind returns the JSON type a raw value starts with: '"', '{', '[', 'n'
// (null), 't' or 'f' (booleans), or '0' for a number.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 'n'
	}
	switch c := raw[0]; c {
	case '"', '{', '[', 'n', 't', 'f':
		return c
	}
	return '0'
}

// str returns the string member key of o. A missing member gives ok false;
// null or another type is an error.
func (o object) str(field, key string) (s string, ok bool, e *Error) {
	raw, present := o[key]
	if !present {
		return "", false, nil
	}
	if kind(raw) != '"' {
		return "", false, Errorf(CodeInvalid, "%s must be a string", field)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, Errorf(CodeInvalid, "%s must be a string", field)
	}
	return s, true, nil
}

// sub returns the object member key of o. A missing member gives ok false;
// null or another type is an error.
func (o object) sub(field, key string) (sub object, ok bool, e *Error) {
	raw, present := o[key]
	if !present {
		return nil, false, nil
	}
	if kind(raw) != '{' {
		return nil, false, Errorf(CodeInvalid, "%s must be an object", field)
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		return nil, false, Errorf(CodeInvalid, "%s must be an object", field)
	}
	return sub, true, nil
}

// printable reports whether every character of s is printable (letters,
// marks, numbers, punctuation, symbols and the ASCII space).
func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// checkRef checks a client_ref or ref: at most MaxClientRef printable
// characters.
func checkRef(field, ref string) *Error {
	if utf8.RuneCountInString(ref) > MaxClientRef {
		return Errorf(CodeInvalid, "%s is longer than %d characters", field, MaxClientRef)
	}
	if !printable(ref) {
		return Errorf(CodeInvalid, "%s holds a character that is not printable", field)
	}
	return nil
}
