package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// builds caches the binaries built by this test process.
var builds struct {
	sync.Mutex
	paths map[bool]string
}

// Binary builds cmd/wardline once per test process and returns its path.
// It is the binary that serves: built with the race detector when the tests
// run with it, so that races in the appliance fail the tests.
func Binary() (string, error) { return build(raceEnabled) }

// CLIBinary is the binary the tests run admin commands with: built without
// the race detector, which would make each short-lived command start
// slowly. The commands' code is race-tested in-process by unit tests.
func CLIBinary() (string, error) { return build(false) }

// build compiles cmd/wardline, with or without -race, once.
func build(race bool) (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.paths[race]; ok {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "wardline-bin")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "wardline")
	args := []string{"build", "-o", path}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/wardline")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if builds.paths == nil {
		builds.paths = map[bool]string{}
	}
	builds.paths[race] = path
	return path, nil
}

// ModuleRoot returns the directory of the wardline module.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
