package appliance

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardline/wardline/directory"
)

func init() {
	commands = append(commands,
		command{path: "directory sync", args: "[--full] [--confirm]", nargs: 0, json: true, summary: "sync from Active Directory now; exit 3 when the safety guard stops it", define: defineDirectorySync},
		command{path: "directory status", nargs: 0, json: true, summary: "the last AD sync: when, how long, counts, errors, guard", define: defineDirectoryStatus},
		command{path: "directory search", args: "Q", nargs: 1, json: true, summary: "find users (by a prefix of name, login, department, title) and groups", define: defineDirectorySearch},
	)
}

func defineDirectorySync(fs *flag.FlagSet) func(*cli, []string) error {
	full := fs.Bool("full", false, "read everything from AD, not only the changes")
	confirm := fs.Bool("confirm", false, "apply a sync that the safety guard stopped")
	return func(c *cli, _ []string) error {
		a, err := c.admin(false)
		if err != nil {
			return err
		}
		defer a.close()
		var res syncResult
		err = a.do(c.ctx, "POST", "/v1/directory/sync", directoryRequest{Full: *full, Confirm: *confirm}, &res)
		if err != nil {
			if strings.Contains(err.Error(), errGuardStopped.Error()) {
				return &stoppedError{msg: err.Error()}
			}
			return err
		}
		if c.jsonOut {
			return c.printJSON(res.Status)
		}
		st := res.Status
		fmt.Fprintf(c.stdout, "Directory synced in %d ms: %d users (%d disabled in AD), %d groups; %d changes written.\n",
			st.DurationMS, st.Users, st.Disabled, st.Groups, st.Changes)
		return nil
	}
}

func defineDirectoryStatus(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var st DirectoryStatus
		if err := c.call(false, "GET", "/v1/directory/status", nil, &st); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(st)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "Last run\t%s (%d ms, full %t)\n", orNever(st.LastRun), st.DurationMS, st.Full)
		fmt.Fprintf(w, "Last success\t%s\n", orNever(st.LastSuccess))
		fmt.Fprintf(w, "Users\t%d (%d disabled in AD)\n", st.Users, st.Disabled)
		fmt.Fprintf(w, "Groups\t%d\n", st.Groups)
		if st.Error != "" {
			fmt.Fprintf(w, "Error\t%s\n", st.Error)
		}
		if st.Stopped {
			fmt.Fprintf(w, "STOPPED\t%s; check AD, then run 'wardline directory sync --confirm'\n", st.StopReason)
		}
		if len(st.Conflicts) > 0 {
			fmt.Fprintf(w, "Conflicts\t%s\n", strings.Join(st.Conflicts, ", "))
		}
		return w.Flush()
	}
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func defineDirectorySearch(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		q := strings.TrimSpace(args[0])
		if q == "" {
			return usagef("directory search: Q is empty")
		}
		var hits []directory.Hit
		if err := c.call(true, "GET", "/v1/directory/search?q="+url.QueryEscape(q), nil, &hits); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(hits)
		}
		if len(hits) == 0 {
			return errors.New("no user or group matches")
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LOGIN/GROUP\tNAME\tDEPARTMENT\tTITLE")
		for _, h := range hits {
			if h.Group != "" {
				fmt.Fprintf(w, "group %s\t\t\t\n", h.Group)
				continue
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.User, h.Name, h.Department, h.Title)
		}
		return w.Flush()
	}
}
