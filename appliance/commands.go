package appliance

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardline/wardline/directory"
)

// commands is the command line, as docs/cli.md describes it.
var commands = []command{
	{path: "serve", nargs: 0, summary: "run the appliance", define: defineServe},
	{path: "status", nargs: 0, json: true, summary: "health, listeners, counts, certificate expiry", define: defineStatus},
	{path: "tls ca", nargs: 0, summary: "print the CA certificate (PEM) that devices must trust", define: defineTLSCA},
	{path: "key rotate", nargs: 0, summary: "rotate the store's encryption key", define: defineKeyRotate},
	{path: "user add", args: "LOGIN --name NAME [--email E] [--department D] [--title T] | --batch FILE", nargs: -1, json: true, summary: "add a local user (or many: JSON lines, - for stdin)", define: defineUserAdd},
	{path: "user list", nargs: 0, json: true, summary: "list users", define: defineUserList},
	{path: "user disable", args: "LOGIN", nargs: 1, summary: "disable a local user", define: defineUserEnable(false)},
	{path: "user enable", args: "LOGIN", nargs: 1, summary: "enable a local user again", define: defineUserEnable(true)},
	{path: "audit verify", nargs: 0, json: true, summary: "check the audit chain; exit 1 naming the first bad event", define: defineAuditVerify},
	{path: "audit export", args: "[--since T] [--until T]", nargs: 0, summary: "write audit events as JSON lines", define: defineAuditExport},
	{path: "backup", args: "FILE", nargs: 1, summary: "take an online, consistent, encrypted backup", define: defineBackup},
	{path: "restore", args: "FILE --data DIR [--key KEYFILE]", nargs: 1, summary: "restore a backup into an empty data directory", define: defineRestore},
}

// printJSON prints exactly one JSON value.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func defineStatus(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var st Status
		if err := c.call(false, "GET", "/v1/status", nil, &st); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(st)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		ready := "ready"
		if !st.Ready {
			ready = "NOT READY"
		}
		fmt.Fprintf(w, "Wardline %s\t%s, instance %s, up since %s\n", st.Version, ready, st.Instance, st.Started.Format(time.RFC3339))
		fmt.Fprintf(w, "Data directory\t%s\n", st.DataDir)
		names := make([]string, 0, len(st.Listeners))
		for n := range st.Listeners {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "Listener %s\t%s\n", n, st.Listeners[n])
		}
		fmt.Fprintf(w, "Users\t%d\n", st.Users)
		fmt.Fprintf(w, "MQTT clients\t%d\n", st.MQTT.Clients)
		if d := st.Directory; d != nil {
			state := "ok"
			switch {
			case d.Stopped:
				state = "STOPPED: " + d.StopReason
			case d.Error != "":
				state = "failing: " + d.Error
			}
			fmt.Fprintf(w, "Directory (AD)\t%d users, %d groups, last success %s, %s\n", d.Users, d.Groups, orNever(d.LastSuccess), state)
		}
		fmt.Fprintf(w, "Audit events\t%d\n", st.Store.AuditEvents)
		fmt.Fprintf(w, "Store\t%d commands in %d commits, %d failed commits, %d refused (disk full), key %s\n",
			st.Store.Commands, st.Store.Commits, st.Store.FailedCommits, st.Store.Refused, st.Store.KeyID)
		if oc := st.OnCall; oc != nil {
			fmt.Fprintf(w, "On call\t%d gaps starting within 12 h, %d escalations pending, %d exhausted since start\n", oc.GapsAhead, oc.PendingEscalations, oc.Exhausted)
		}
		for _, ct := range st.Certificates {
			fmt.Fprintf(w, "Certificate %s\texpires %s (%s), issuer %s\n", ct.Name, ct.NotAfter.Format(time.RFC3339),
				time.Until(ct.NotAfter).Round(time.Hour), ct.Issuer)
		}
		return w.Flush()
	}
}

func defineKeyRotate(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var res rotateResult
		if err := c.call(true, "POST", "/v1/key/rotate", nil, &res); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "The store key was rotated; the new key is %s.\nThe old key is kept in %s: move it offline with the backups taken before now, which need it.\n", res.KeyID, res.Retired)
		return nil
	}
}

func defineUserAdd(fs *flag.FlagSet) func(*cli, []string) error {
	var in newUser
	fs.StringVar(&in.Name, "name", "", "full name, as people see it (required)")
	fs.StringVar(&in.Email, "email", "", "e-mail address")
	fs.StringVar(&in.Department, "department", "", "department")
	fs.StringVar(&in.Title, "title", "", "job title")
	batch := fs.String("batch", "", "JSON lines of users (login, name, email, department, title); - for stdin")
	return func(c *cli, args []string) error {
		if *batch != "" {
			if len(args) != 0 {
				return usagef("user add --batch FILE takes no LOGIN")
			}
			return addUserBatch(c, *batch)
		}
		if len(args) != 1 {
			return usagef("usage: wardline user add LOGIN --name NAME [--email E] [--department D] [--title T]")
		}
		in.Login = args[0]
		if strings.TrimSpace(in.Name) == "" {
			return usagef("user add: --name is required")
		}
		var u directory.User
		if err := c.call(true, "POST", "/v1/users", in, &u); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(u)
		}
		fmt.Fprintf(c.stdout, "Added user %s.\n", u.Login)
		return nil
	}
}

func defineUserList(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var users []directory.User
		if err := c.call(true, "GET", "/v1/users", nil, &users); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(users)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LOGIN\tNAME\tEMAIL\tDEPARTMENT\tTITLE\tENABLED\tSOURCE")
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", u.Login, u.Name, u.Email, u.Department, u.Title, u.Enabled, u.Source)
		}
		return w.Flush()
	}
}

func defineUserEnable(enabled bool) func(*flag.FlagSet) func(*cli, []string) error {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	return func(*flag.FlagSet) func(*cli, []string) error {
		return func(c *cli, args []string) error {
			var u directory.User
			if err := c.call(true, "POST", "/v1/users/"+url.PathEscape(args[0])+"/"+verb, nil, &u); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "User %s is %sd.\n", u.Login, verb)
			return nil
		}
	}
}

func defineAuditVerify(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var res verifyResult
		if err := c.call(true, "POST", "/v1/audit/verify", nil, &res); err != nil {
			return err
		}
		if c.jsonOut {
			if err := c.printJSON(res); err != nil {
				return err
			}
		} else if res.OK {
			fmt.Fprintf(c.stdout, "Audit chain intact: %d events verified.\n", res.Events)
		}
		if !res.OK {
			return fmt.Errorf("%s (%d events before it verified)", res.Error, res.Events)
		}
		return nil
	}
}
