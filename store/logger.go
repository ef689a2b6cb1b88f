package store

import (
	"fmt"
	"log/slog"
	"strings"
)

// badgerLogger sends Badger's log lines to slog. Badger's info lines are
// chatty and go to debug.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) { l.log.Error(line(f, a), "component", "badger") }
func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn(line(f, a), "component", "badger")
}
func (l badgerLogger) Infof(f string, a ...any)  { l.log.Debug(line(f, a), "component", "badger") }
func (l badgerLogger) Debugf(f string, a ...any) { l.log.Debug(line(f, a), "component", "badger") }

func line(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
