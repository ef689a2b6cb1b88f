package certs

import (
	"context"
	"log/slog"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogCore is a zapcore.Core that forwards certmagic's zap logs to slog:
// levels are mapped, the zap logger name becomes the "logger" attribute
// and fields become attributes.
type slogCore struct {
	h     slog.Handler
	attrs []slog.Attr // from With, already converted
}

var _ zapcore.Core = (*slogCore)(nil)

// newZapLogger returns a zap logger writing to l.
func newZapLogger(l *slog.Logger) *zap.Logger {
	return zap.New(&slogCore{h: l.Handler()})
}

func zapToSlogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default: // error, dpanic, panic, fatal
		return slog.LevelError
	}
}

// Enabled reports whether the slog handler wants records at level.
func (c *slogCore) Enabled(level zapcore.Level) bool {
	return c.h.Enabled(context.Background(), zapToSlogLevel(level))
}

// With returns a core that adds fields to every record.
func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	attrs := make([]slog.Attr, 0, len(c.attrs)+len(fields))
	attrs = append(attrs, c.attrs...)
	attrs = append(attrs, fieldsToAttrs(fields)...)
	return &slogCore{h: c.h, attrs: attrs}
}

// Check adds this core to ce when the entry's level is enabled.
func (c *slogCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

// Write converts the entry to a slog record and hands it to the handler.
func (c *slogCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(ent.Time, zapToSlogLevel(ent.Level), ent.Message, 0)
	if ent.LoggerName != "" {
		r.AddAttrs(slog.String("logger", ent.LoggerName))
	}
	r.AddAttrs(c.attrs...)
	r.AddAttrs(fieldsToAttrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

// Sync does nothing: slog handlers have no flush.
func (c *slogCore) Sync() error { return nil }

// fieldsToAttrs encodes zap fields with a map encoder and returns them as
// attributes sorted by key.
func fieldsToAttrs(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, enc.Fields[k]))
	}
	return attrs
}
