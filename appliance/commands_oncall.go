package appliance

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/oncall"
)

func init() {
	commands = append(commands,
		command{path: "oncall set", args: "ROLE --user LOGIN --from T --to T [--override] [--note N]", nargs: 1, json: true, summary: "put someone on call for a role (times RFC 3339)", define: defineOncallSet},
		command{path: "oncall who", args: "ROLE [--at T]", nargs: 1, json: true, summary: "who covers a role now (or at T), and who comes next", define: defineOncallWho},
		command{path: "oncall show", args: "ROLE [--from T] [--to T]", nargs: 1, json: true, summary: "a role's coverage, stretch by stretch (default: the next 7 days)", define: defineOncallShow},
		command{path: "oncall rotate", args: "ROLE --kind daily|weekly|day-night --start T --users a,b,... [--zone Z] [--night-start HH:MM] [--until T]", nargs: 1, json: true, summary: "add a recurring rotation to a role", define: defineOncallRotate},
		command{path: "oncall swap", args: "ROLE --at T --with T", nargs: 1, summary: "swap the stretches covering two times between their two people", define: defineOncallSwap},
		command{path: "oncall remove", args: "ROLE ID", nargs: 2, summary: "remove a shift or override by id", define: defineOncallRemove},
		command{path: "oncall gaps", args: "[--from T] [--to T]", nargs: 0, json: true, summary: "stretches where a scheduled role has nobody on call", define: defineOncallGaps},
		command{path: "schedule import", args: "FILE [--format csv|ical] [--role ROLE]", nargs: 1, json: true, summary: "import shifts from CSV or iCalendar (- for stdin); all or nothing", define: defineScheduleImport},
		command{path: "schedule export", args: "--user LOGIN [--from T] [--to T]", nargs: 0, summary: "write a person's on-call shifts as an iCalendar feed", define: defineScheduleExport},
		command{path: "schedule feed", args: "--user LOGIN [--revoke]", nargs: 0, summary: "give a person a secret HTTPS iCalendar feed URL of their shifts (replacing the old one), or revoke it", define: defineScheduleFeed},
		command{path: "policy add", args: "NAME --step kind:name:wait [--step ...]", nargs: 1, json: true, summary: "add or replace an escalation policy", define: definePolicyAdd},
		command{path: "policy list", nargs: 0, json: true, summary: "list escalation policies and what they are attached to", define: definePolicyList},
		command{path: "policy attach", args: "NAME --role ROLE | --priority urgent|critical", nargs: 1, summary: "escalate a role's (or a priority's) urgent and critical messages by a policy", define: definePolicyAttach(true)},
		command{path: "policy detach", args: "--role ROLE | --priority urgent|critical", nargs: 0, summary: "stop escalating a role's or a priority's messages", define: definePolicyAttach(false)},
		command{path: "alert raise", args: "--policy P --kind K --text T [--priority urgent|critical] [--mrn M] [--patient-name N] [--location L] [--expires D]", nargs: 0, json: true, summary: "raise a clinical alert through an escalation policy", define: defineAlertRaise},
		command{path: "alert list", nargs: 0, json: true, summary: "list open alerts and escalations (without their text)", define: defineAlertList},
	)
}

// timeFlag is an RFC 3339 time flag.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2026-03-28T20:00:00+01:00", s)
	}
	f.t = t
	return nil
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func timeQuery(q url.Values, name string, f *timeFlag) {
	if !f.t.IsZero() {
		q.Set(name, f.t.Format(time.RFC3339))
	}
}

func defineOncallSet(fs *flag.FlagSet) func(*cli, []string) error {
	var from, to timeFlag
	user := fs.String("user", "", "the login of the person on call (required)")
	fs.Var(&from, "from", "start, RFC 3339 (required)")
	fs.Var(&to, "to", "end, RFC 3339 (required)")
	override := fs.Bool("override", false, "an override: wins over shifts and rotations")
	note := fs.String("note", "", "a note (no patient data)")
	return func(c *cli, args []string) error {
		if *user == "" || from.t.IsZero() || to.t.IsZero() {
			return usagef("oncall set: --user, --from and --to are required")
		}
		kind := "shift"
		if *override {
			kind = "override"
		}
		var out struct {
			IDs []string `json:"ids"`
		}
		in := shiftsRequest{Shifts: []shiftIn{{Role: args[0], User: *user, Start: from.t, End: to.t, Kind: kind, Note: *note}}, Source: kind}
		if err := c.call(true, "POST", "/v1/oncall/shifts", in, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(out)
		}
		fmt.Fprintf(c.stdout, "%s is on call for %s from %s to %s (%s %s).\n", *user, args[0], from.t.Format(time.RFC3339), to.t.Format(time.RFC3339), kind, strings.Join(out.IDs, ""))
		return nil
	}
}

func defineOncallWho(fs *flag.FlagSet) func(*cli, []string) error {
	var at timeFlag
	fs.Var(&at, "at", "the time to ask about, RFC 3339 (default now)")
	return func(c *cli, args []string) error {
		q := url.Values{"role": {args[0]}}
		timeQuery(q, "at", &at)
		var ans whoAnswer
		if err := c.call(true, "GET", "/v1/oncall/who?"+q.Encode(), nil, &ans); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(ans)
		}
		switch {
		case ans.User == "":
			fmt.Fprintf(c.stdout, "Nobody covers %s at %s: a message to it is refused.\n", ans.Role, ans.At.Format(time.RFC3339))
		case ans.Source == "fallback":
			fmt.Fprintf(c.stdout, "%s: nobody on the schedule at %s; the fixed member %s takes it.\n", ans.Role, ans.At.Format(time.RFC3339), ans.User)
		default:
			fmt.Fprintf(c.stdout, "%s: %s (%s %s to %s)", ans.Role, ans.User, ans.Shift.Kind, ans.Shift.Start.Format(time.RFC3339), ans.Shift.End.Format(time.RFC3339))
			if ans.Scheduled != "" {
				fmt.Fprintf(c.stdout, ", forwarded from %s", ans.Scheduled)
			}
			fmt.Fprintln(c.stdout, ".")
		}
		if ans.Next != nil {
			fmt.Fprintf(c.stdout, "Next: %s from %s to %s.\n", ans.Next.User, ans.Next.Start.Format(time.RFC3339), ans.Next.End.Format(time.RFC3339))
		}
		return nil
	}
}

func defineOncallShow(fs *flag.FlagSet) func(*cli, []string) error {
	var from, to timeFlag
	fs.Var(&from, "from", "start, RFC 3339 (default now)")
	fs.Var(&to, "to", "end, RFC 3339 (default 7 days after --from)")
	return func(c *cli, args []string) error {
		q := url.Values{"role": {args[0]}}
		timeQuery(q, "from", &from)
		timeQuery(q, "to", &to)
		var entries []oncall.Entry
		if err := c.call(true, "GET", "/v1/oncall/schedule?"+q.Encode(), nil, &entries); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(entries)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "START\tEND\tHOURS\tUSER\tKIND\tID")
		for _, e := range entries {
			fmt.Fprintf(w, "%s\t%s\t%g\t%s\t%s\t%s\n", e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339), e.End.Sub(e.Start).Hours(), e.User, e.Kind, e.ID)
		}
		return w.Flush()
	}
}

func defineOncallRotate(fs *flag.FlagSet) func(*cli, []string) error {
	var start, until timeFlag
	kind := fs.String("kind", "", "daily, weekly or day-night (required)")
	fs.Var(&start, "start", "the first handover, RFC 3339; its wall-clock time in --zone repeats (required)")
	fs.Var(&until, "until", "no shift starts after this, RFC 3339 (default: open-ended)")
	zone := fs.String("zone", "", "IANA time zone of the handovers, e.g. Europe/Berlin (default UTC)")
	night := fs.String("night-start", "", "day-night: when the night shift starts, HH:MM in --zone")
	users := fs.String("users", "", "comma-separated logins, in rotation order (required)")
	return func(c *cli, args []string) error {
		if *kind == "" || start.t.IsZero() || *users == "" {
			return usagef("oncall rotate: --kind, --start and --users are required")
		}
		in := oncall.Rotation{Role: args[0], Kind: oncall.RotationKind(*kind), Zone: *zone, Start: start.t, Until: until.t, NightStart: *night, Users: splitList(*users)}
		var out oncall.Rotation
		if err := c.call(true, "POST", "/v1/oncall/rotations", in, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(out)
		}
		fmt.Fprintf(c.stdout, "Added %s rotation %s to %s.\n", out.Kind, out.ID, out.Role)
		return nil
	}
}

func defineOncallSwap(fs *flag.FlagSet) func(*cli, []string) error {
	var at, with timeFlag
	fs.Var(&at, "at", "a time inside the first stretch (required)")
	fs.Var(&with, "with", "a time inside the second stretch (required)")
	return func(c *cli, args []string) error {
		if at.t.IsZero() || with.t.IsZero() {
			return usagef("oncall swap: --at and --with are required")
		}
		if err := c.call(true, "POST", "/v1/oncall/swap", swapRequest{Role: args[0], A: at.t, B: with.t}, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Swapped the stretches of %s at %s and %s (two overrides).\n", args[0], at.String(), with.String())
		return nil
	}
}

func defineOncallRemove(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		if err := c.call(true, "DELETE", "/v1/oncall/shifts/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Removed %s from %s.\n", args[1], args[0])
		return nil
	}
}

func defineOncallGaps(fs *flag.FlagSet) func(*cli, []string) error {
	var from, to timeFlag
	fs.Var(&from, "from", "start, RFC 3339 (default now)")
	fs.Var(&to, "to", "end, RFC 3339 (default 7 days after --from)")
	return func(c *cli, _ []string) error {
		q := url.Values{}
		timeQuery(q, "from", &from)
		timeQuery(q, "to", &to)
		var gaps []gapInfo
		if err := c.call(true, "GET", "/v1/oncall/gaps?"+q.Encode(), nil, &gaps); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(gaps)
		}
		if len(gaps) == 0 {
			fmt.Fprintln(c.stdout, "No gaps: every scheduled role is covered.")
			return nil
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ROLE\tFROM\tUNTIL\tFALLBACK")
		for _, g := range gaps {
			fmt.Fprintf(w, "%s\t%s\t%s\t%t\n", g.Role, g.Start.Format(time.RFC3339), g.End.Format(time.RFC3339), g.Fallback)
		}
		return w.Flush()
	}
}

func defineScheduleImport(fs *flag.FlagSet) func(*cli, []string) error {
	format := fs.String("format", "", "csv or ical (default: ical for .ics and .ical files, else csv)")
	role := fs.String("role", "", "ical: the role of events without X-WARDLINE-ROLE")
	return func(c *cli, args []string) error {
		var data []byte
		var err error
		if args[0] == "-" {
			data, err = io.ReadAll(io.LimitReader(c.stdin, maxImport+1))
		} else {
			data, err = os.ReadFile(args[0])
		}
		if err != nil {
			return err
		}
		f := *format
		if f == "" {
			f = "csv"
			if strings.HasSuffix(strings.ToLower(args[0]), ".ics") || strings.HasSuffix(strings.ToLower(args[0]), ".ical") {
				f = "ical"
			}
		}
		var out struct {
			Added int      `json:"added"`
			Roles []string `json:"roles"`
		}
		if err := c.call(true, "POST", "/v1/oncall/import", importRequest{Format: f, Data: string(data), Role: *role}, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(out)
		}
		fmt.Fprintf(c.stdout, "Imported %d shifts for %d roles (%s).\n", out.Added, len(out.Roles), strings.Join(out.Roles, ", "))
		return nil
	}
}

func defineScheduleExport(fs *flag.FlagSet) func(*cli, []string) error {
	var from, to timeFlag
	user := fs.String("user", "", "the person whose shifts to export (required)")
	fs.Var(&from, "from", "start, RFC 3339 (default 30 days ago)")
	fs.Var(&to, "to", "end, RFC 3339 (default a year after --from)")
	return func(c *cli, _ []string) error {
		if *user == "" {
			return usagef("schedule export: --user is required")
		}
		q := url.Values{"user": {*user}}
		timeQuery(q, "from", &from)
		timeQuery(q, "to", &to)
		a, err := c.admin(true)
		if err != nil {
			return err
		}
		defer a.close()
		resp, err := a.send(c.ctx, "GET", "/v1/schedule/export?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(c.stdout, resp.Body)
		return err
	}
}

func definePolicyAdd(fs *flag.FlagSet) func(*cli, []string) error {
	var steps listFlag
	fs.Var(&steps, "step", "a step kind:name:wait, e.g. role:cardiology-oncall:5m (repeat, in order)")
	return func(c *cli, args []string) error {
		if len(steps) == 0 {
			return usagef("policy add: give at least one --step kind:name:wait")
		}
		var p alerting.Policy
		if err := c.call(true, "POST", "/v1/policies", policyRequest{Name: args[0], Steps: steps}, &p); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(p)
		}
		fmt.Fprintf(c.stdout, "Policy %s: %d steps.\n", p.Name, len(p.Steps))
		return nil
	}
}

func definePolicyList(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var ps []policyInfo
		if err := c.call(true, "GET", "/v1/policies", nil, &ps); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(ps)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "POLICY\tSTEPS\tATTACHED")
		for _, p := range ps {
			steps := make([]string, 0, len(p.Steps))
			for _, s := range p.Steps {
				steps = append(steps, s.String())
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, strings.Join(steps, " → "), strings.Join(p.Attached, ", "))
		}
		return w.Flush()
	}
}

func definePolicyAttach(attach bool) func(*flag.FlagSet) func(*cli, []string) error {
	return func(fs *flag.FlagSet) func(*cli, []string) error {
		role := fs.String("role", "", "the role whose urgent and critical messages escalate")
		priority := fs.String("priority", "", "urgent or critical: every message of this priority escalates")
		return func(c *cli, args []string) error {
			in := attachRequest{Role: *role, Priority: *priority}
			if attach {
				in.Policy = args[0]
			}
			if err := c.call(true, "POST", "/v1/policies/attach", in, nil); err != nil {
				return err
			}
			target := "role " + *role
			if *priority != "" {
				target = *priority + " messages"
			}
			if attach {
				fmt.Fprintf(c.stdout, "Policy %s escalates %s.\n", in.Policy, target)
			} else {
				fmt.Fprintf(c.stdout, "No policy escalates %s now.\n", target)
			}
			return nil
		}
	}
}

func defineAlertRaise(fs *flag.FlagSet) func(*cli, []string) error {
	var in alertRequest
	fs.StringVar(&in.Policy, "policy", "", "the escalation policy (required)")
	fs.StringVar(&in.Kind, "kind", "", "the kind of alert, e.g. critical_result (required)")
	fs.StringVar(&in.Text, "text", "", "what the alert says (required)")
	priority := fs.String("priority", "urgent", "urgent or critical")
	var pt messaging.Patient
	fs.StringVar(&pt.MRN, "mrn", "", "the patient's medical record number (PHI: sent only to the people reached)")
	fs.StringVar(&pt.Name, "patient-name", "", "the patient's name (PHI)")
	fs.StringVar(&pt.Location, "location", "", "where the patient is, e.g. ICU-4 bed 12 (PHI)")
	fs.StringVar(&in.Expires, "expires", "", "close the alert as expired after this long if nobody accepts (default 24h, at most 168h)")
	return func(c *cli, _ []string) error {
		if in.Policy == "" || in.Kind == "" || in.Text == "" {
			return usagef("alert raise: --policy, --kind and --text are required")
		}
		in.Priority = messagingPriority(*priority)
		if pt != (messaging.Patient{}) {
			in.Patient = &pt
		}
		var out alertInfo
		if err := c.call(false, "POST", "/v1/alerts", in, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(out)
		}
		fmt.Fprintf(c.stdout, "Raised alert %s (policy %s, step %d).\n", out.ID, out.Policy, out.Step)
		return nil
	}
}

func defineAlertList(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var list []alertInfo
		if err := c.call(true, "GET", "/v1/alerts", nil, &list); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(list)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tKIND\tSTATE\tPOLICY\tSTEP\tDUE\tEXPIRES\tREACHED")
		for _, a := range list {
			var reached []string
			for _, r := range a.Reached {
				reached = append(reached, strings.Join(r.Users, "+"))
			}
			due := ""
			if !a.Due.IsZero() {
				due = a.Due.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.ID, a.Kind, a.State, a.Policy, a.Step, due, a.Expires.Format(time.RFC3339), strings.Join(reached, " → "))
		}
		return w.Flush()
	}
}

func defineScheduleFeed(fs *flag.FlagSet) func(*cli, []string) error {
	var in feedRequest
	fs.StringVar(&in.User, "user", "", "the person (required)")
	fs.BoolVar(&in.Revoke, "revoke", false, "revoke the person's feed URL")
	return func(c *cli, _ []string) error {
		if in.User == "" {
			return usagef("schedule feed: --user is required")
		}
		var out struct{ User, Path string }
		if err := c.call(true, "POST", "/v1/schedule/feed", in, &out); err != nil {
			return err
		}
		if in.Revoke {
			fmt.Fprintf(c.stdout, "The feed URL of %s is revoked.\n", out.User)
			return nil
		}
		base := "https://HOST:PORT"
		if cfg, err := c.settings(); err == nil && cfg.HTTPS.BaseURL != "" {
			base = strings.TrimSuffix(cfg.HTTPS.BaseURL, "/")
		} else if err == nil && cfg.HTTPS.Addr != "" {
			base = "https://" + cfg.HTTPS.Addr
		}
		fmt.Fprintf(c.stdout, "Calendar feed of %s (shown once; anyone with it can read the shifts):\n  %s%s\n", out.User, base, out.Path)
		return nil
	}
}
