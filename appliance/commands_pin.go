package appliance

import (
	"flag"
	"fmt"
	"net/http"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

func init() {
	commands = append(commands,
		command{path: "user pin", args: "LOGIN [--remove]", nargs: 1, summary: "set a user's shared-device PIN from the first line of stdin (6 to 12 digits), or remove it", define: defineUserPIN},
	)
}

// userPIN is the body of POST /v1/users/{login}/pin: the argon2id hash
// the CLI computed (the appliance never sees the PIN), or none to remove.
type userPIN struct {
	Hash *store.PINHash `json:"hash,omitempty"`
}

func defineUserPIN(fs *flag.FlagSet) func(*cli, []string) error {
	remove := fs.Bool("remove", false, "remove the user's PIN")
	return func(c *cli, args []string) error {
		login, err := directory.NormalizeLogin(args[0])
		if err != nil {
			return err
		}
		var in userPIN
		if !*remove {
			pin, err := c.readPassword(true) // the first line of stdin
			if err != nil {
				return err
			}
			if !messaging.ValidPIN(pin) {
				return fmt.Errorf("%w: the PIN (first line of stdin) must be %d to %d digits", directory.ErrInvalid, messaging.MinPINDigits, messaging.MaxPINDigits)
			}
			if in.Hash, err = hashPIN(c.ctx, pin); err != nil {
				return err
			}
		}
		if err := c.call(true, "POST", "/v1/users/"+login+"/pin", in, nil); err != nil {
			return err
		}
		if *remove {
			fmt.Fprintf(c.stdout, "PIN of %s removed.\n", login)
		} else {
			fmt.Fprintf(c.stdout, "PIN of %s set.\n", login)
		}
		return nil
	}
}

// setUserPIN is POST /v1/users/{login}/pin on the admin socket.
func (a *adminAPI) setUserPIN(w http.ResponseWriter, r *http.Request) {
	login, err := directory.NormalizeLogin(r.PathValue("login"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in userPIN
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Hash != nil && !currentPINHash(*in.Hash) {
		a.writeError(w, r, fmt.Errorf("%w: an argon2id PIN hash with this appliance's parameters is needed", directory.ErrInvalid))
		return
	}
	if err := a.store.Apply(r.Context(), store.SetUserPIN{By: actorFrom(r.Context()), Login: login, Hash: in.Hash}); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": login, "pin": in.Hash != nil})
}

// currentPINHash reports whether h has the form hashPIN gives.
func currentPINHash(h store.PINHash) bool {
	return h.Alg == "argon2id" && h.Time == pinTime && h.Memory == pinMemory && h.Threads == pinThreads &&
		len(h.Salt) == pinSaltLen && len(h.Hash) == pinKeyLen
}
