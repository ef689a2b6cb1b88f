package messaging

import "fmt"

// Code is a stable error code of the device API. Devices match on it; the
// adapters map it to MQTT reason codes and HTTP statuses.
type Code string

// Error codes of the device API. CodeNotFound is a Wardline addition (an
// unknown conversation or message id in history or recall).
const (
	CodeInvalid          Code = "invalid"
	CodeUnknownRecipient Code = "unknown_recipient"
	CodeForbidden        Code = "forbidden"
	CodeTooLarge         Code = "too_large"
	CodeRateLimited      Code = "rate_limited"
	CodeInternal         Code = "internal"
	CodeNotFound         Code = "not_found"
)

// Known reports whether c is one of the codes above.
func (c Code) Known() bool {
	switch c {
	case CodeInvalid, CodeUnknownRecipient, CodeForbidden, CodeTooLarge,
		CodeRateLimited, CodeInternal, CodeNotFound:
		return true
	}
	return false
}

// Error is a refusal as the device API reports it: a stable code and a
// message for people. The message may name fields, logins, roles and
// groups; it never repeats a message body, a patient field or a secret.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &messaging.Error{Code: messaging.CodeInvalid}) matches any
// invalid-input error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf returns an Error with the code and a message formatted as by
// fmt.Sprintf. Callers must not format message bodies or patient fields
// into it.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}
