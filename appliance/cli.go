package appliance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes of the command line.
const (
	exitOK      = 0
	exitFailed  = 1 // the command failed; the reason is on stderr
	exitUsage   = 2 // unknown command or flag, wrong arguments
	exitStopped = 3 // a guard stopped the command (directory sync)
)

// usageError is an error in how a command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usage error.
func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// cli is what a running command sees: its streams, the process environment
// and the common flags.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	dataDir    string // --data
	configFile string // --config
	jsonOut    bool   // --json, for the commands that have it
}

// command is one `wardline <noun> <verb>`.
type command struct {
	path    string // "user add"
	args    string // positional arguments, for the usage line: "LOGIN"
	nargs   int    // how many positional arguments it takes
	summary string
	json    bool // takes --json
	// define registers the command's own flags and returns its body.
	define func(fs *flag.FlagSet) func(c *cli, args []string) error
}

// Main runs the wardline command line with args (without the program name)
// and returns the exit code. cmd/wardline calls it; so do end-to-end tests.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	err := c.run(args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "wardline: %s\nRun 'wardline help' for usage.\n", ue.msg)
		return exitUsage
	}
	var se *stoppedError
	if errors.As(err, &se) {
		fmt.Fprintf(stderr, "wardline: %v\n", err)
		return exitStopped
	}
	fmt.Fprintf(stderr, "wardline: %v\n", err)
	return exitFailed
}

// stoppedError is a command that a safety guard stopped (exit 3).
type stoppedError struct{ msg string }

func (e *stoppedError) Error() string { return e.msg }

// run finds the command named by the first words of args and runs it.
func (c *cli) run(args []string) error {
	if len(args) == 0 {
		c.usage(c.stderr)
		return usagef("no command given")
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		c.usage(c.stdout)
		return nil
	case "version", "--version":
		fmt.Fprintln(c.stdout, "wardline", Version)
		return nil
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		return usagef("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
	}
	fs := flag.NewFlagSet("wardline "+cmd.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.dataDir, "data", "", "data directory (default ./wardline-data, or $WARDLINE_DATA)")
	fs.StringVar(&c.configFile, "config", "", "config file (TOML; or $WARDLINE_CONFIG)")
	if cmd.json {
		fs.BoolVar(&c.jsonOut, "json", false, "print exactly one JSON value")
	}
	body := cmd.define(fs)
	pos, err := parseInterleaved(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(c.stdout, cmd, fs)
		return err
	}
	if err != nil {
		return usagef("%s: %v", cmd.path, err)
	}
	if cmd.nargs >= 0 && len(pos) != cmd.nargs {
		return usagef("usage: wardline %s %s", cmd.path, cmd.args)
	}
	return body(c, pos)
}

// findCommand matches the longest command path at the start of args.
func findCommand(args []string) (*command, []string) {
	for n := min(2, len(args)); n >= 1; n-- {
		path := strings.Join(args[:n], " ")
		for i := range commands {
			if commands[i].path == path {
				return &commands[i], args[n:]
			}
		}
	}
	return nil, nil
}

// parseInterleaved parses flags that stand before, between or after
// positional arguments, as most command lines allow: `user add jsmith
// --name X` and `user add --name X jsmith` are the same. After "--" every
// argument is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return pos, nil
}

// usage prints the list of commands.
func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "Wardline %s: secure clinical messaging appliance.\n\nUsage: wardline <command> [arguments] [flags]\n\nCommands:\n", Version)
	cmds := append([]command(nil), commands...)
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].path < cmds[j].path })
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-42s %s\n", strings.TrimSpace(cmd.path+" "+cmd.args), cmd.summary)
	}
	fmt.Fprintf(w, "\nEvery command takes --data DIR and --config FILE. Run 'wardline <command> -h' for its flags.\nSee docs/cli.md.\n")
}

// commandUsage prints one command's usage and flags.
func (c *cli) commandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: wardline %s %s\n\n%s\n\nFlags:\n", cmd.path, cmd.args, cmd.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
