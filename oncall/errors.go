package oncall

import (
	"errors"
	"fmt"

	"github.com/wardline/wardline/directory"
)

// Sentinel errors of the on-call core. Each also matches
// directory.ErrInvalid, so adapters report them as bad input.
var (
	ErrOverlap     = fmt.Errorf("overlaps an existing entry: %w", directory.ErrInvalid)
	ErrRange       = fmt.Errorf("ends before it starts or lasts too long: %w", directory.ErrInvalid)
	ErrZone        = fmt.Errorf("unknown time zone: %w", directory.ErrInvalid)
	ErrNoCover     = errors.New("nobody covers the role")
	ErrSyntax      = fmt.Errorf("syntax error: %w", directory.ErrInvalid)
	ErrUnsupported = fmt.Errorf("not supported: %w", directory.ErrInvalid)
)

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

// Error implements error.
func (e *ImportError) Error() string {
	s := fmt.Sprintf("%d bad lines, nothing imported", len(e.Lines))
	if len(e.Lines) == 1 {
		s = "1 bad line, nothing imported"
	}
	for i, l := range e.Lines {
		if i == 20 {
			s += fmt.Sprintf("; and %d more", len(e.Lines)-20)
			break
		}
		s += "; " + l.Error()
	}
	return s
}

// Unwrap lets errors.Is(err, directory.ErrInvalid) match.
func (e *ImportError) Unwrap() error { return directory.ErrInvalid }
