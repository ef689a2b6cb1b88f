package loadgen

import (
	"testing"
)

// payloadTests are in/msg and in/reply payloads with what the bench must
// read from them; they seed FuzzPayload too.
var payloadTests = []struct {
	name     string
	in       string
	id, body string
	ok       bool // json.Unmarshal into the in/msg struct succeeds
	fast     bool // plainFields decides (json.Unmarshal is not needed)
}{
	{"appliance in/msg", `{"id":"msg_01J","conversation":"cnv_1","from":{"user":"bench-u00001","name":"B, 1"},"to":[{"user":"bench-u00002"}],"body":"bench 0 7 1764620000000000000 xxxx","priority":"normal","sent_at":"2026-12-01T21:00:00Z"}`,
		"msg_01J", "bench 0 7 1764620000000000000 xxxx", true, true},
	{"white space", " \t\r\n{ \"id\" : \"a\" ,\n\"body\"\t:\"b\" } \n", "a", "b", true, true},
	{"empty object", `{}`, "", "", true, true},
	{"no id", `{"body":"b"}`, "", "b", true, true},
	{"empty id", `{"id":"","body":"b"}`, "", "b", true, true},
	{"keys folded", `{"ID":"a","Body":"b"}`, "a", "b", true, true},
	{"last wins", `{"id":"a","Id":"c","body":"b"}`, "c", "b", true, true},
	{"nested skipped", `{"x":{"id":"no","y":[1,{"body":"no"},"]}"]},"id":"a","z":[],"w":{},"body":"b"}`, "a", "b", true, true},
	{"scalars skipped", `{"n":-1.5e3,"t":true,"f":false,"z":null,"id":"a","body":"b"}`, "a", "b", true, true},
	{"escape elsewhere", `{"x":"q\"}","id":"a","body":"b"}`, "a", "b", true, true},
	{"unicode elsewhere", `{"x":"é","id":"a","body":"b"}`, "a", "b", true, true},
	{"escape in id", `{"id":"a\"b","body":"c"}`, `a"b`, "c", true, false},
	{"unicode escape in body", `{"id":"a","body":"\u00e9"}`, "a", "é", true, false},
	{"utf-8 in body", `{"id":"a","body":"é"}`, "a", "é", true, false},
	{"invalid utf-8 in body", "{\"id\":\"a\",\"body\":\"\xff\"}", "a", "\uFFFD", true, false},
	{"escaped key", `{"\u0069d":"a","body":"b"}`, "a", "b", true, false},
	{"non-ASCII key", `{"ıd":"a","body":"b"}`, "", "b", true, false},
	{"null id", `{"id":"a","id":null,"body":"b"}`, "a", "b", true, false},
	{"number id", `{"id":5,"body":"b"}`, "", "", false, false},
	{"object body", `{"id":"a","body":{}}`, "", "", false, false},
	{"not an object", `["id","a"]`, "", "", false, false},
	{"null", `null`, "", "", true, false},
	{"truncated", `{"id":"a","body":"b"`, "", "", false, false},
	{"trailing garbage", `{"id":"a"} x`, "", "", false, false},
	{"empty", ``, "", "", false, false},
	{"reply ok", `{"re":"c-1","id":"msg_1"}`, "msg_1", "", true, true},
	{"reply error", `{"re":"c-1","error":{"code":"unknown_recipient","message":"no such user"}}`, "", "", true, true},
	{"reply error null", `{"re":"c-1","error":null}`, "", "", true, true},
	{"reply error string", `{"re":"c-1","error":"x"}`, "", "", true, true},
	{"reply re number", `{"re":1,"id":"m"}`, "m", "", true, true},
}

// refMsg is jsonMsg with the body as a string.
func refMsg(p []byte) (id, body string, ok bool) {
	id, b, ok := jsonMsg(p)
	return id, string(b), ok
}

// refReply is how the tests read a reply: json.Unmarshal only.
var refReply = jsonReply

func TestDecodeMsg(t *testing.T) {
	for _, tt := range payloadTests {
		t.Run(tt.name, func(t *testing.T) {
			id, body, ok := decodeMsg([]byte(tt.in))
			if ok != tt.ok || id != tt.id || string(body) != tt.body {
				t.Errorf("decodeMsg = %q, %q, %v; want %q, %q, %v", id, body, ok, tt.id, tt.body, tt.ok)
			}
			var v [2][]byte
			if fast := plainFields([]byte(tt.in), msgNames, v[:]); fast != tt.fast {
				t.Errorf("plainFields decides = %v, want %v", fast, tt.fast)
			}
			checkPayload(t, []byte(tt.in))
		})
	}
}

func TestDecodeReply(t *testing.T) {
	tests := []struct {
		in     string
		code   string
		failed bool
		ok     bool
	}{
		{`{"re":"c-1","id":"msg_1"}`, "", false, true},
		{`{"re":"c-1","error":{"code":"unknown_recipient"}}`, "unknown_recipient", true, true},
		{`{"re":"c-1","Error":{"Code":"too_long"}}`, "too_long", true, true},
		{`{"re":"c-1","error":null}`, "", false, true},
		{`{"re":"c-1","error":"x"}`, "", false, false},
		{`{"re":1}`, "", false, false},
		{`{"re":"c-\u0031"}`, "", false, true},
		{`{`, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			code, failed, ok := decodeReply([]byte(tt.in))
			if code != tt.code || failed != tt.failed || ok != tt.ok {
				t.Errorf("decodeReply = %q, %v, %v; want %q, %v, %v", code, failed, ok, tt.code, tt.failed, tt.ok)
			}
			checkPayload(t, []byte(tt.in))
		})
	}
}

// checkPayload fails when decodeMsg or decodeReply answers differently
// from json.Unmarshal.
func checkPayload(t *testing.T, p []byte) {
	t.Helper()
	id, body, ok := decodeMsg(p)
	rid, rbody, rok := refMsg(p)
	if id != rid || string(body) != rbody || ok != rok {
		t.Errorf("decodeMsg(%q) = %q, %q, %v; json.Unmarshal: %q, %q, %v", p, id, body, ok, rid, rbody, rok)
	}
	code, failed, ok := decodeReply(p)
	rcode, rfailed, rok := refReply(p)
	if code != rcode || failed != rfailed || ok != rok {
		t.Errorf("decodeReply(%q) = %q, %v, %v; json.Unmarshal: %q, %v, %v", p, code, failed, ok, rcode, rfailed, rok)
	}
}

func FuzzPayload(f *testing.F) {
	for _, tt := range payloadTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		checkPayload(t, p)
	})
}

func BenchmarkDecodeMsg(b *testing.B) {
	p := []byte(payloadTests[0].in)
	b.Run("plainFields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := decodeMsg(p); !ok {
				b.Fatal("not ok")
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, ok := refMsg(p); !ok {
				b.Fatal("not ok")
			}
		}
	})
}
