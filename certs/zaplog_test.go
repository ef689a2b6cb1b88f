package certs

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestZapToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	zl := newZapLogger(l).Named("maintenance").With(zap.String("cache", "c1"))

	zl.Debug("hidden")
	zl.Info("renewed", zap.Strings("identifiers", []string{"a.test"}), zap.Int("n", 2))
	zl.Warn("soon")
	zl.Error("failed", zap.Error(errors.New("boom")))

	out := buf.String()
	for _, want := range []string{
		`level=INFO msg=renewed logger=maintenance cache=c1 identifiers=[a.test] n=2`,
		`level=WARN msg=soon logger=maintenance cache=c1`,
		`level=ERROR msg=failed logger=maintenance cache=c1 error=boom`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug entry logged at info level:\n%s", out)
	}
}
