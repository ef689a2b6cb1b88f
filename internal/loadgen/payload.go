package loadgen

import (
	"encoding/json"
)

// The bench reads two payloads for every message: the in/msg it verifies
// (its id, to ack it, and its body, which says which send it is) and the
// in/reply to the send. encoding/json decodes them through reflection and
// allocates for every string, nested object and array of the payload, a
// few microseconds a message that the appliance on the same cores then
// lacks. plainFields reads the few top-level strings the bench needs
// straight from the (validated) payload; whenever its answer could differ
// from json.Unmarshal's in any way, it declines and the caller decodes with
// json.Unmarshal, so every payload is judged exactly as before.

// plainFields finds the top-level members of the JSON object p whose keys
// match names as encoding/json matches a struct field's name (ASCII case
// folded; the last such member wins) and sets vals[i] to the contents of
// the string value of names[i] (nil when there is none). It reports false,
// and json.Unmarshal must decide, when p is not valid JSON, is not an
// object, has a key with an escape or a non-ASCII byte, or when a matching
// member's value is not a string of ASCII without escapes.
// len(vals) must be len(names).
func plainFields(p []byte, names []string, vals [][]byte) bool {
	if !json.Valid(p) {
		return false
	}
	clear(vals)
	i := skipSpace(p, 0)
	if p[i] != '{' {
		return false
	}
	i = skipSpace(p, i+1)
	if p[i] == '}' {
		return true
	}
	for {
		// p is valid JSON: a member is a string, ':' and a value.
		end, plain := stringEnd(p, i)
		if !plain {
			return false
		}
		key := p[i+1 : end]
		i = skipSpace(p, end+1) // the ':'
		v := skipSpace(p, i+1)  // the value
		i = skipSpace(p, valueEnd(p, v))
		for n, name := range names {
			if !asciiEqualFold(key, name) {
				continue
			}
			if p[v] != '"' {
				return false
			}
			end, plain := stringEnd(p, v)
			if !plain {
				return false
			}
			vals[n] = p[v+1 : end]
		}
		if p[i] == '}' {
			return true
		}
		i = skipSpace(p, i+1) // past the ','
	}
}

// skipSpace returns the index of the first byte from i on that is not JSON
// white space.
func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the JSON string that
// starts at p[i], and whether it is plain: no escapes, only ASCII.
func stringEnd(p []byte, i int) (end int, plain bool) {
	plain = true
	for j := i + 1; ; j++ {
		switch c := p[j]; {
		case c == '"':
			return j, plain
		case c == '\\':
			plain = false
			j++ // the escaped byte, which may be a quote
		case c >= 0x80:
			plain = false
		}
	}
}

// valueEnd returns the index just past the JSON value that starts at p[i].
func valueEnd(p []byte, i int) int {
	switch p[i] {
	case '"':
		end, _ := stringEnd(p, i)
		return end + 1
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch p[j] {
			case '"':
				j, _ = stringEnd(p, j)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	default: // a number, true, false or null
		j := i
		for j < len(p) && p[j] != ',' && p[j] != '}' && p[j] != ']' && p[j] != ' ' && p[j] != '\t' && p[j] != '\n' && p[j] != '\r' {
			j++
		}
		return j
	}
}

// asciiEqualFold reports whether key equals name (lower-case ASCII) with
// ASCII letters case folded. Keys with other bytes never reach it.
func asciiEqualFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range key {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// msgNames are the in/msg fields the bench reads.
var msgNames = []string{"id", "body"}

// decodeMsg returns the id and body of an in/msg payload, as
// json.Unmarshal into struct{ ID, Body string } would; ok is false when
// that fails.
func decodeMsg(p []byte) (id string, body []byte, ok bool) {
	var v [2][]byte
	if plainFields(p, msgNames, v[:]) {
		return string(v[0]), v[1], true
	}
	return jsonMsg(p)
}

// jsonMsg is decodeMsg through json.Unmarshal: its fallback, and what the
// tests hold its fast path to.
func jsonMsg(p []byte) (id string, body []byte, ok bool) {
	var m struct {
		ID   string `json:"id"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal(p, &m); err != nil {
		return "", nil, false
	}
	return m.ID, []byte(m.Body), true
}

// replyNames are the in/reply fields json.Unmarshal would decode for
// decodeReply; "error" is never plain, so a reply with one always takes
// json.Unmarshal.
var replyNames = []string{"re", "id", "error"}

// decodeReply reads an in/reply payload as json.Unmarshal into
// struct{ Re, ID string; Error *struct{ Code string } } would: ok is false
// when that fails, failed is true when Error is set, with its code.
func decodeReply(p []byte) (code string, failed, ok bool) {
	var v [3][]byte
	if plainFields(p, replyNames, v[:]) && v[2] == nil {
		return "", false, true
	}
	return jsonReply(p)
}

// jsonReply is decodeReply through json.Unmarshal: its fallback, and what
// the tests hold its fast path to.
func jsonReply(p []byte) (code string, failed, ok bool) {
	var m struct {
		Re    string `json:"re"`
		ID    string `json:"id"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(p, &m) != nil {
		return "", false, false
	}
	if m.Error == nil {
		return "", false, true
	}
	return m.Error.Code, true, true
}
