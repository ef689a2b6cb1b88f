package appliance

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/wardline/wardline/store"
)

func init() {
	commands = append(commands,
		command{path: "device enroll", args: "--user LOGIN [--name NAME] | --shared [--name NAME] | --batch FILE", nargs: 0, json: true, summary: "enrol a device; prints its id and secret (shown once)", define: defineDeviceEnroll},
		command{path: "device list", nargs: 0, json: true, summary: "list devices", define: defineDeviceList},
		command{path: "device revoke", args: "ID", nargs: 1, summary: "revoke a device: wipe and disconnect it, refuse it from now on", define: defineDeviceAction("revoke")},
		command{path: "device wipe", args: "ID", nargs: 1, summary: "tell a connected device to erase its messages and credentials, and disconnect it", define: defineDeviceAction("wipe")},
		command{path: "group add", args: "NAME [--members a,b,...]", nargs: 1, summary: "add a local group", define: defineGroupAdd(false)},
		command{path: "group members", args: "NAME [--add a,b] [--remove a,b]", nargs: 1, summary: "change a local group's members", define: defineMembers(false)},
		command{path: "group list", nargs: 0, json: true, summary: "list local groups", define: defineGroupList(false)},
		command{path: "role add", args: "NAME [--members a,b,...]", nargs: 1, summary: "add a role (its fixed members, if any, are the fallback when nobody is on call)", define: defineGroupAdd(true)},
		command{path: "role members", args: "NAME [--add a,b] [--remove a,b]", nargs: 1, summary: "change a role's members", define: defineMembers(true)},
		command{path: "role list", nargs: 0, json: true, summary: "list roles", define: defineGroupList(true)},
	)
}

func defineDeviceEnroll(fs *flag.FlagSet) func(*cli, []string) error {
	var in enrollRequest
	fs.StringVar(&in.User, "user", "", "the login of the device's user (a personal device)")
	fs.BoolVar(&in.Shared, "shared", false, "a shared device, on which users sign in")
	fs.StringVar(&in.Name, "name", "", "a name to recognise the device by")
	batch := fs.String("batch", "", `JSON lines of devices ({"user": LOGIN} or {"shared": true}, "name"); - for stdin`)
	return func(c *cli, _ []string) error {
		if *batch != "" {
			return enrollDeviceBatch(c, *batch)
		}
		if in.Shared == (in.User != "") {
			return usagef("device enroll: give --user LOGIN or --shared")
		}
		var out enrolled
		if err := c.call(true, "POST", "/v1/devices", in, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(map[string]string{"id": out.ID, "secret": out.Secret})
		}
		fmt.Fprintf(c.stdout, "Device enrolled.\n  id:     %s\n  secret: %s\nThe secret is shown only now. The device connects with client id and username = id, password = secret.\n", out.ID, out.Secret)
		return nil
	}
}

func defineDeviceList(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var devs []deviceInfo
		if err := c.call(true, "GET", "/v1/devices", nil, &devs); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(devs)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tUSER\tNAME\tCREATED\tREVOKED\tCONNECTED")
		for _, d := range devs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%t\n", d.ID, orShared(d.User), d.Name, d.Created, d.Revoked, d.Connected)
		}
		return w.Flush()
	}
}

func orShared(user string) string {
	if user == "" {
		return "(shared)"
	}
	return user
}

func defineDeviceAction(verb string) func(*flag.FlagSet) func(*cli, []string) error {
	return func(*flag.FlagSet) func(*cli, []string) error {
		return func(c *cli, args []string) error {
			var out map[string]any
			if err := c.call(verb == "revoke", "POST", "/v1/devices/"+url.PathEscape(args[0])+"/"+verb, nil, &out); err != nil {
				return err
			}
			wiped, _ := out["wiped"].(bool)
			switch {
			case verb == "revoke" && wiped:
				fmt.Fprintf(c.stdout, "Device %s revoked: it was told to wipe itself and disconnected.\n", args[0])
			case verb == "revoke":
				fmt.Fprintf(c.stdout, "Device %s revoked: it was not connected; it will be refused from now on.\n", args[0])
			default:
				fmt.Fprintf(c.stdout, "Device %s was told to wipe itself and disconnected.\n", args[0])
			}
			return nil
		}
	}
}

// splitList splits "a,b, c" into logins.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func groupPath(role bool) string {
	if role {
		return "/v1/roles"
	}
	return "/v1/groups"
}

func defineGroupAdd(role bool) func(*flag.FlagSet) func(*cli, []string) error {
	return func(fs *flag.FlagSet) func(*cli, []string) error {
		members := fs.String("members", "", "comma-separated logins")
		return func(c *cli, args []string) error {
			if err := c.call(true, "POST", groupPath(role), groupRequest{Name: args[0], Members: splitList(*members)}, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Added %s %s.\n", strings.TrimSuffix(groupPath(role)[4:], "s"), args[0])
			return nil
		}
	}
}

func defineMembers(role bool) func(*flag.FlagSet) func(*cli, []string) error {
	return func(fs *flag.FlagSet) func(*cli, []string) error {
		add := fs.String("add", "", "comma-separated logins to add")
		remove := fs.String("remove", "", "comma-separated logins to remove")
		return func(c *cli, args []string) error {
			body := membersRequest{Add: splitList(*add), Remove: splitList(*remove)}
			if err := c.call(true, "POST", groupPath(role)+"/"+url.PathEscape(args[0])+"/members", body, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Changed the members of %s.\n", args[0])
			return nil
		}
	}
}

func defineGroupList(role bool) func(*flag.FlagSet) func(*cli, []string) error {
	return func(*flag.FlagSet) func(*cli, []string) error {
		return func(c *cli, _ []string) error {
			var groups []store.Group
			if err := c.call(true, "GET", groupPath(role), nil, &groups); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(groups)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tMEMBERS\tSOURCE")
			for _, g := range groups {
				fmt.Fprintf(w, "%s\t%s\t%s\n", g.Name, strings.Join(g.Members, ","), g.Source)
			}
			return w.Flush()
		}
	}
}
