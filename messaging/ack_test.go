package messaging

import (
	"strings"
	"testing"
)

const testMsg = "msg_01HZX3V6J8K9M0N1P2Q3R4S5T6"

// maxSeed is the largest table payload that seeds a fuzz target.
const maxSeed = MaxPayload

var ackCases = []struct {
	name    string
	payload string
	code    Code
	want    AckReq
}{
	{"delivered", `{"id":"` + testMsg + `","state":"delivered"}`, "", AckReq{testMsg, Delivered}},
	{"read, extra members", `{"id":"` + testMsg + `","state":"read","at":"x","ID":1}`, "", AckReq{testMsg, Read}},
	{"queued", `{"id":"` + testMsg + `","state":"queued"}`, CodeInvalid, AckReq{}},
	{"unknown state", `{"id":"` + testMsg + `","state":"opened"}`, CodeInvalid, AckReq{}},
	{"upper case state", `{"id":"` + testMsg + `","state":"READ"}`, CodeInvalid, AckReq{}},
	{"no state", `{"id":"` + testMsg + `"}`, CodeInvalid, AckReq{}},
	{"null state", `{"id":"` + testMsg + `","state":null}`, CodeInvalid, AckReq{}},
	{"no id", `{"state":"read"}`, CodeInvalid, AckReq{}},
	{"bad id", `{"id":"msg_1","state":"read"}`, CodeInvalid, AckReq{}},
	{"conversation id", `{"id":"cnv_0123456789abcdefghjk","state":"read"}`, CodeInvalid, AckReq{}},
	{"number id", `{"id":5,"state":"read"}`, CodeInvalid, AckReq{}},
	{"malformed", `{"id":`, CodeInvalid, AckReq{}},
	{"null", `null`, CodeInvalid, AckReq{}},
	{"string", `"read"`, CodeInvalid, AckReq{}},
	{"oversized", `{"id":"` + testMsg + `","state":"read","pad":"` + strings.Repeat("x", MaxPayload) + `"}`, CodeTooLarge, AckReq{}},
}

func TestDecodeAck(t *testing.T) {
	for _, c := range ackCases {
		t.Run(c.name, func(t *testing.T) {
			got, e := DecodeAck([]byte(c.payload))
			if c.code != "" {
				if e == nil || e.Code != c.code {
					t.Fatalf("DecodeAck error = %v, want code %s", e, c.code)
				}
				return
			}
			if e != nil || got != c.want {
				t.Fatalf("DecodeAck = %+v, %v, want %+v", got, e, c.want)
			}
		})
	}
}

func FuzzDecodeAck(f *testing.F) {
	for _, c := range ackCases {
		if len(c.payload) > maxSeed {
			continue // oversized: the table covers it; the fuzzer would stall minimizing it
		}
		f.Add([]byte(c.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, e := DecodeAck(payload)
		if e != nil {
			if !e.Code.Known() {
				t.Fatalf("unknown code %q", e.Code)
			}
			return
		}
		if !ValidMessageID(a.ID) || (a.State != Delivered && a.State != Read) {
			t.Fatalf("DecodeAck accepted %+v", a)
		}
	})
}

var advanceCases = []struct {
	cur, next, want State
	changed         bool
}{
	{"", Queued, Queued, true},
	{Queued, Delivered, Delivered, true},
	{Queued, Read, Read, true},
	{Delivered, Read, Read, true},
	{Delivered, Delivered, Delivered, false},
	{Read, Delivered, Read, false},
	{Read, Queued, Read, false},
	{Read, Read, Read, false},
	{Delivered, "opened", Delivered, false},
	{Queued, "", Queued, false},
}

func TestAdvance(t *testing.T) {
	for _, c := range advanceCases {
		got, changed := Advance(c.cur, c.next)
		if got != c.want || changed != c.changed {
			t.Errorf("Advance(%q, %q) = %q, %v, want %q, %v", c.cur, c.next, got, changed, c.want, c.changed)
		}
	}
}

func FuzzAdvance(f *testing.F) {
	for _, c := range advanceCases {
		f.Add(string(c.cur), string(c.next))
	}
	f.Fuzz(func(t *testing.T, cur, next string) {
		got, changed := Advance(State(cur), State(next))
		if got.Rank() < State(cur).Rank() {
			t.Fatalf("Advance(%q, %q) moved back to %q", cur, next, got)
		}
		if changed != (got != State(cur)) {
			t.Fatalf("Advance(%q, %q) = %q, changed %v", cur, next, got, changed)
		}
		if again, ch := Advance(got, State(next)); ch || again != got {
			t.Fatalf("a repeated ack changed %q to %q", got, again)
		}
	})
}
