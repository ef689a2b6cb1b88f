package oncall

import (
	"errors"
	"fmt"

	"github.com/wardline/wardline/directory"
)

// Sentinel errors of the on-call core. Each also matches
// directory.ErrInvalid, so adapters report them as bad input.
var (
	ErrOverlap     error = invalid("overlap")
	ErrRange       error = invalid("bad time range")
	ErrZone        error = invalid("unknown time zone")
	ErrSyntax      error = invalid("syntax error")
	ErrUnsupported error = invalid("not supported")
	ErrNoCover           = errors.New("nobody covers the role")
)

// invalid is a sentinel error that also matches directory.ErrInvalid.
type invalid string

func (e invalid) Error() string { return string(e) }

// Is lets errors.Is(err, directory.ErrInvalid) match.
func (e invalid) Is(target error) bool { return target == directory.ErrInvalid }

// LineError is a bad line of an imported file, by its 1-based number.
type LineError struct {
	Line int
	Err  error
}

// Error implements error.
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// ImportError lists every bad line of an import; nothing of the file is
// imported when there is one.
type ImportError struct{ Lines []*LineError }

// Error implements error: every bad line, one a line.
func (e *ImportError) Error() string {
	s := fmt.Sprintf("%d bad lines, nothing imported:", len(e.Lines))
	if len(e.Lines) == 1 {
		s = "1 bad line, nothing imported:"
	}
	for _, l := range e.Lines {
		s += "\n  " + l.Error()
	}
	return s
}

// Unwrap lets errors.Is(err, directory.ErrInvalid) match.
func (e *ImportError) Unwrap() error { return directory.ErrInvalid }
