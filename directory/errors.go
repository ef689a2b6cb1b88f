package directory

import "errors"

// Sentinel errors of the directory. Adapters match them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInvalid  = errors.New("invalid")
	ErrReadOnly = errors.New("read-only: managed by Active Directory")
)

// FieldError says which field of an input is invalid and why. It never
// repeats the value itself, which may be personal data.
type FieldError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }
