package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/wardline once per test process and returns its path.
func Binary() (string, error) {
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "wardline-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "wardline")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/wardline")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/wardline: %v\n%s", err, out)
		}
	})
	return buildPath, buildErr
}

// ModuleRoot returns the directory of the wardline module.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
