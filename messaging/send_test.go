package messaging

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const testCnv = "cnv_0123456789abcdefghjk"

// manyTo returns a to array of n distinct users.
func manyTo(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"user":"u%d"}`, i)
	}
	return "[" + b.String() + "]"
}

// sendJSON returns an out/send payload with the given to and body members.
func sendJSON(to, body string) string {
	b, _ := json.Marshal(body)
	return `{"to":` + to + `,"body":` + string(b) + `}`
}

var (
	body4096  = strings.Repeat("\u00e9", 4000) + strings.Repeat("\U0001F600", 96)
	body4097  = body4096 + "x"
	toJSmith  = `[{"user":"jsmith"}]`
	sendBasic = Send{To: []Address{{User: "jsmith"}}, Body: "hi", Priority: Normal}
)

var sendCases = []struct {
	name    string
	payload string
	maxBody int
	code    Code // "" for success
	want    Send
}{
	{"minimal", sendJSON(toJSmith, "hi"), 0, "", sendBasic},
	{"spec example", `{"client_ref": "c-7f3a", "to": [{"user": "JSmith"}, {"role": "cardiology-oncall"}, {"group": "icu-4-nurses"}],
		"conversation": "` + testCnv + `", "body": "  Pt in 12B K+ 6.1, please call\n", "priority": "urgent",
		"patient": {"mrn": " 123 ", "name": "Doe, J", "location": ""}, "extra": [1, {"x": null}]}`, 0, "", Send{
		ClientRef: "c-7f3a", Conversation: testCnv, Body: "Pt in 12B K+ 6.1, please call", Priority: Urgent,
		To:      []Address{{User: "jsmith"}, {Role: "cardiology-oncall"}, {Group: "icu-4-nurses"}},
		Patient: &Patient{MRN: "123", Name: "Doe, J"},
	}},
	{"conversation only", `{"conversation":"` + testCnv + `","body":"x","priority":"critical"}`, 0, "", Send{Conversation: testCnv, Body: "x", Priority: Critical}},
	{"conversation and empty to", `{"to":[],"conversation":"` + testCnv + `","body":"x"}`, 0, "", Send{Conversation: testCnv, Body: "x", Priority: Normal}},
	{"duplicates removed", sendJSON(`[{"user":"a"},{"user":"A "},{"group":"g"},{"group":"G"},{"role":"g"}]`, "x"), 0, "",
		Send{To: []Address{{User: "a"}, {Group: "g"}, {Role: "g"}}, Body: "x", Priority: Normal}},
	{"routed_to ignored", sendJSON(`[{"role":"r","routed_to":"me"}]`, "x"), 0, "", Send{To: []Address{{Role: "r"}}, Body: "x", Priority: Normal}},
	{"empty patient dropped", `{"to":[{"user":"jsmith"}],"body":"hi","patient":{"mrn":"  "}}`, 0, "", sendBasic},
	{"wrong case keys ignored", `{"to":[{"user":"jsmith"}],"body":"hi","Body":5,"PRIORITY":"x"}`, 0, "", sendBasic},
	{"body 4096 multibyte", sendJSON(toJSmith, body4096), 0, "", Send{To: sendBasic.To, Body: body4096, Priority: Normal}},
	{"body 4097 multibyte", sendJSON(toJSmith, body4097), 0, CodeTooLarge, Send{}},
	{"body over configured", sendJSON(toJSmith, "abcdef"), 5, CodeTooLarge, Send{}},
	{"body at configured", sendJSON(toJSmith, " abcde "), 5, "", Send{To: sendBasic.To, Body: "abcde", Priority: Normal}},
	{"configured over max means max", sendJSON(toJSmith, body4097), 10000, CodeTooLarge, Send{}},
	{"100 recipients", sendJSON(manyTo(100), "x"), 0, "", Send{}},
	{"101 recipients", sendJSON(manyTo(101), "x"), 0, CodeTooLarge, Send{}},
	{"oversized payload", sendJSON(toJSmith, strings.Repeat("a", MaxPayload)), 0, CodeTooLarge, Send{}},
	{"whitespace body", sendJSON(toJSmith, " \t\n\u00a0\u3000 "), 0, CodeInvalid, Send{}},
	{"empty body", sendJSON(toJSmith, ""), 0, CodeInvalid, Send{}},
	{"no body", `{"to":[{"user":"a"}]}`, 0, CodeInvalid, Send{}},
	{"null body", `{"to":[{"user":"a"}],"body":null}`, 0, CodeInvalid, Send{}},
	{"number body", `{"to":[{"user":"a"}],"body":5}`, 0, CodeInvalid, Send{}},
	{"NUL in body", sendJSON(toJSmith, "a\x00b"), 0, CodeInvalid, Send{}},
	{"escaped NUL in body", `{"to":[{"user":"a"}],"body":"a\u0000b"}`, 0, CodeInvalid, Send{}},
	{"malformed JSON", `{"to":[{"user":"a"}],"body":"x"`, 0, CodeInvalid, Send{}},
	{"trailing garbage", `{"to":[{"user":"a"}],"body":"x"} x`, 0, CodeInvalid, Send{}},
	{"array payload", `[{"to":[{"user":"a"}],"body":"x"}]`, 0, CodeInvalid, Send{}},
	{"null payload", `null`, 0, CodeInvalid, Send{}},
	{"empty payload", ``, 0, CodeInvalid, Send{}},
	{"invalid UTF-8", "{\"to\":[{\"user\":\"a\"}],\"body\":\"\xff\"}", 0, CodeInvalid, Send{}},
	{"no to", `{"body":"x"}`, 0, CodeInvalid, Send{}},
	{"empty to", `{"to":[],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"null to", `{"to":null,"body":"x","conversation":"` + testCnv + `"}`, 0, CodeInvalid, Send{}},
	{"object to", `{"to":{"user":"a"},"body":"x"}`, 0, CodeInvalid, Send{}},
	{"string in to", `{"to":["a"],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"null in to", `{"to":[null],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"two kinds", `{"to":[{"user":"a","group":"b"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"no kind", `{"to":[{"name":"a"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"empty user", `{"to":[{"user":""}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"number user", `{"to":[{"user":7}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"null role", `{"to":[{"role":null,"user":"a"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"bad login", `{"to":[{"user":"a b"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"bad group", `{"to":[{"group":"icu*"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"long role", `{"to":[{"role":"` + strings.Repeat("r", 65) + `"}],"body":"x"}`, 0, CodeInvalid, Send{}},
	{"unknown priority", `{"to":[{"user":"a"}],"body":"x","priority":"high"}`, 0, CodeInvalid, Send{}},
	{"upper case priority", `{"to":[{"user":"a"}],"body":"x","priority":"URGENT"}`, 0, CodeInvalid, Send{}},
	{"empty priority", `{"to":[{"user":"a"}],"body":"x","priority":""}`, 0, CodeInvalid, Send{}},
	{"null priority", `{"to":[{"user":"a"}],"body":"x","priority":null}`, 0, CodeInvalid, Send{}},
	{"bad conversation", `{"conversation":"cnv_x","body":"x"}`, 0, CodeInvalid, Send{}},
	{"number conversation", `{"conversation":1,"body":"x"}`, 0, CodeInvalid, Send{}},
	{"client_ref 128", `{"to":[{"user":"jsmith"}],"body":"hi","client_ref":"` + strings.Repeat("\u00e9", 128) + `"}`, 0, "",
		Send{ClientRef: strings.Repeat("\u00e9", 128), To: sendBasic.To, Body: "hi", Priority: Normal}},
	{"client_ref 129", `{"to":[{"user":"a"}],"body":"x","client_ref":"` + strings.Repeat("r", 129) + `"}`, 0, CodeInvalid, Send{}},
	{"client_ref control", `{"to":[{"user":"a"}],"body":"x","client_ref":"a\nb"}`, 0, CodeInvalid, Send{}},
	{"client_ref number", `{"to":[{"user":"a"}],"body":"x","client_ref":12}`, 0, CodeInvalid, Send{}},
	{"patient null", `{"to":[{"user":"a"}],"body":"x","patient":null}`, 0, CodeInvalid, Send{}},
	{"patient string", `{"to":[{"user":"a"}],"body":"x","patient":"Doe"}`, 0, CodeInvalid, Send{}},
	{"patient mrn number", `{"to":[{"user":"a"}],"body":"x","patient":{"mrn":123}}`, 0, CodeInvalid, Send{}},
	{"patient control", `{"to":[{"user":"a"}],"body":"x","patient":{"name":"Doe\tJ"}}`, 0, CodeInvalid, Send{}},
	{"patient 128", `{"to":[{"user":"jsmith"}],"body":"hi","patient":{"location":"` + strings.Repeat("\u00e9", 128) + `"}}`, 0, "",
		Send{To: sendBasic.To, Body: "hi", Priority: Normal, Patient: &Patient{Location: strings.Repeat("\u00e9", 128)}}},
	{"patient 129", `{"to":[{"user":"a"}],"body":"x","patient":{"location":"` + strings.Repeat("\u00e9", 129) + `"}}`, 0, CodeInvalid, Send{}},
}

func TestDecodeSend(t *testing.T) {
	for _, c := range sendCases {
		t.Run(c.name, func(t *testing.T) {
			got, e := DecodeSend([]byte(c.payload), c.maxBody)
			if c.code != "" {
				if e == nil || e.Code != c.code {
					t.Fatalf("DecodeSend error = %v, want code %s", e, c.code)
				}
				if c.code == CodeInvalid && strings.Contains(c.payload, "Doe") && strings.Contains(e.Message, "Doe") {
					t.Fatalf("error %q repeats a patient field", e.Message)
				}
				return
			}
			if e != nil {
				t.Fatalf("DecodeSend = %v", e)
			}
			if c.want.Body != "" && !reflect.DeepEqual(got, c.want) {
				t.Fatalf("DecodeSend = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// encodeSend is the payload a device would publish for s.
func encodeSend(s Send) []byte {
	m := map[string]any{"body": s.Body, "priority": s.Priority}
	if s.ClientRef != "" {
		m["client_ref"] = s.ClientRef
	}
	if s.Conversation != "" {
		m["conversation"] = s.Conversation
	}
	if s.To != nil {
		m["to"] = s.To
	}
	if s.Patient != nil {
		m["patient"] = s.Patient
	}
	b, _ := json.Marshal(m)
	return b
}

func FuzzDecodeSend(f *testing.F) {
	for _, c := range sendCases {
		if len(c.payload) > maxSeed {
			continue // oversized: the table covers it; the fuzzer would stall minimizing it
		}
		f.Add([]byte(c.payload), c.maxBody)
	}
	f.Fuzz(func(t *testing.T, payload []byte, maxBody int) {
		s, e := DecodeSend(payload, maxBody)
		if e != nil {
			if !e.Code.Known() || e.Message == "" {
				t.Fatalf("error with unknown code or no message: %+v", e)
			}
			return
		}
		if e := s.Validate(maxBody); e != nil {
			t.Fatalf("decoded send does not validate: %v", e)
		}
		limit := maxBody
		if limit < 1 || limit > MaxBody {
			limit = MaxBody
		}
		if n := utf8.RuneCountInString(s.Body); n < 1 || n > limit {
			t.Fatalf("body of %d characters passed a limit of %d", n, limit)
		}
		if len(s.To) == 0 && s.Conversation == "" {
			t.Fatal("a send with no recipients passed")
		}
		again, e := DecodeSend(encodeSend(s), maxBody)
		if e != nil {
			t.Fatalf("re-encoded send does not decode: %v", e)
		}
		if len(again.To) == 0 && len(s.To) == 0 {
			again.To = s.To
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("decode is not stable:\n%+v\n%+v", s, again)
		}
	})
}
