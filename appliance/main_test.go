package appliance_test

import (
	"os"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestMain stops the Samba DC the directory tests started, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	testkit.StopSamba()
	os.Exit(code)
}
