package messaging

import (
	"errors"
	"testing"
)

var errorCases = []struct {
	name   string
	code   Code
	format string
	arg    string
	want   string
}{
	{"invalid", CodeInvalid, "%s is required", "body", "invalid: body is required"},
	{"unknown recipient", CodeUnknownRecipient, "no user, role or group named %s", "x", "unknown_recipient: no user, role or group named x"},
	{"not found", CodeNotFound, "no message %s", "msg_1", "not_found: no message msg_1"},
}

func TestErrorf(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			var err error = Errorf(c.code, c.format, c.arg)
			if got := err.Error(); got != c.want {
				t.Fatalf("Error() = %q, want %q", got, c.want)
			}
			if !errors.Is(err, &Error{Code: c.code}) {
				t.Fatalf("errors.Is(%v, code %s) = false", err, c.code)
			}
			if errors.Is(err, &Error{Code: CodeRateLimited}) {
				t.Fatalf("errors.Is(%v, rate_limited) = true", err)
			}
			if !c.code.Known() {
				t.Fatalf("%q is not Known", c.code)
			}
		})
	}
	if Code("nope").Known() {
		t.Fatal(`Code("nope").Known() = true`)
	}
}

func FuzzErrorf(f *testing.F) {
	for _, c := range errorCases {
		f.Add(string(c.code), c.arg)
	}
	f.Fuzz(func(t *testing.T, code, arg string) {
		e := Errorf(Code(code), "x %s", arg)
		if e.Code != Code(code) || e.Message != "x "+arg {
			t.Fatalf("Errorf = %+v", e)
		}
		if !errors.Is(e, &Error{Code: Code(code)}) {
			t.Fatal("an error is not its own code")
		}
	})
}
