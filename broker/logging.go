package broker

import (
	"context"
	"log/slog"
)

// redactedKeys are attribute keys under which mochi logs whole packets
// (payloads, passwords) or raw bytes; their values never reach our logs.
var redactedKeys = map[string]bool{
	"pk": true, "packet": true, "payload": true, "password": true, "data": true, "will": true,
}

// redactHandler drops the values of attributes that could carry payloads
// or secrets. mochi logs whole packets (e.g. "error processing packet"
// with "pk"), so its logger is wrapped in this handler.
type redactHandler struct{ next slog.Handler }

func redactingLogger(l *slog.Logger) *slog.Logger {
	return slog.New(redactHandler{l.Handler()})
}

// Enabled implements slog.Handler.
func (h redactHandler) Enabled(ctx context.Context, lvl slog.Level) bool {
	return h.next.Enabled(ctx, lvl)
}

// Handle implements slog.Handler.
func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redact(a)
	}
	return redactHandler{h.next.WithAttrs(red)}
}

// WithGroup implements slog.Handler.
func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.next.WithGroup(name)}
}

func redact(a slog.Attr) slog.Attr {
	if redactedKeys[a.Key] {
		return slog.String(a.Key, "[redacted]")
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Value.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redact(x)
		}
		return slog.Group(a.Key, red...)
	}
	return a
}
