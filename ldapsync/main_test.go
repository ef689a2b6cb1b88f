package ldapsync

import (
	"os"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestMain stops the Samba DC the tests started (testkit.SambaDC).
func TestMain(m *testing.M) {
	code := m.Run()
	testkit.StopSamba()
	os.Exit(code)
}
