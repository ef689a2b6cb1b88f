package testkit

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Appliance is a wardline serve process started by a test.
type Appliance struct {
	t      testing.TB
	Bin    string // the serving binary
	CLIBin string // the binary admin commands run with
	Data   string // data directory
	Args   []string

	cmd    *exec.Cmd
	done   chan struct{}
	stdout lockedBuffer
	stderr lockedBuffer
	// Listeners are the addresses from `wardline status --json`.
	Listeners map[string]string
}

// lockedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NewDataDir returns a fresh data directory path (not yet created) in a
// temporary directory of the test.
func NewDataDir(t testing.TB) string {
	return filepath.Join(t.TempDir(), "wardline-data")
}

// Start runs `wardline serve` on data with loopback port-0 listeners and
// extra arguments, and waits until it answers `status` as ready.
func Start(t testing.TB, data string, extra ...string) *Appliance {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := CLIBinary()
	if err != nil {
		t.Fatal(err)
	}
	a := &Appliance{t: t, Bin: bin, CLIBin: cli, Data: data,
		Args: append([]string{"serve", "--data", data, "--mqtt-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0"}, extra...)}
	a.start()
	t.Cleanup(func() { a.Kill() })
	return a
}

// start starts the process and waits for readiness.
func (a *Appliance) start() {
	a.t.Helper()
	a.cmd = exec.Command(a.Bin, a.Args...)
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func() { a.cmd.Wait(); close(a.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-a.done:
			a.t.Fatalf("wardline serve exited at start: %v\nstdout:\n%s\nstderr:\n%s", a.cmd.ProcessState, a.stdout.String(), a.stderr.String())
		default:
		}
		out, _, code := a.CLI("status", "--json")
		if code == 0 {
			var st struct {
				Ready     bool              `json:"ready"`
				Listeners map[string]string `json:"listeners"`
			}
			if json.Unmarshal([]byte(out), &st) == nil && st.Ready {
				a.Listeners = st.Listeners
				return
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("wardline serve not ready after 60 s\nstderr:\n%s", a.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart starts the process again with the same arguments after Stop or
// Kill.
func (a *Appliance) Restart() { a.t.Helper(); a.start() }

// Stdout and Stderr return what the process printed so far.
func (a *Appliance) Stdout() string { return a.stdout.String() }

// Stderr returns the process's log output so far.
func (a *Appliance) Stderr() string { return a.stderr.String() }

// CLI runs `wardline args... --data <data>` and returns its stdout, stderr
// and exit code.
func (a *Appliance) CLI(args ...string) (string, string, int) {
	return RunCLI(a.CLIBin, append(args, "--data", a.Data)...)
}

// RunCLI runs the wardline binary with args.
func RunCLI(bin string, args ...string) (string, string, int) {
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// Stop sends SIGTERM and returns the exit code.
func (a *Appliance) Stop() int {
	a.t.Helper()
	if a.cmd == nil || a.cmd.Process == nil {
		return -1
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		a.t.Fatalf("wardline did not stop within 30 s of SIGTERM\nstderr:\n%s", a.stderr.String())
	}
	return a.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL and waits for the process to go.
func (a *Appliance) Kill() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	a.cmd.Process.Kill()
	<-a.done
}

// HTTPSClient returns a client that trusts the appliance's CA (from
// `wardline tls ca`) and nothing else.
func (a *Appliance) HTTPSClient() *http.Client {
	a.t.Helper()
	pem, errOut, code := a.CLI("tls", "ca")
	if code != 0 {
		a.t.Fatalf("tls ca: %s", errOut)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pem)) {
		a.t.Fatal("tls ca printed no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// URL returns the HTTPS URL of path on the appliance.
func (a *Appliance) URL(path string) string {
	return fmt.Sprintf("https://%s%s", a.Listeners["https"], path)
}

// KeyFile is the default key file of the appliance's data directory.
func (a *Appliance) KeyFile() string { return a.Data + ".key" }
