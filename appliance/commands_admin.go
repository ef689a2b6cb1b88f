package appliance

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/sso"
	"github.com/wardline/wardline/store"
)

func init() {
	commands = append(commands,
		command{path: "admin add", args: "LOGIN [--password-stdin] [--replace]", nargs: 1, summary: "add a break-glass administrator: password and TOTP; prints the otpauth:// URI and a QR code", define: defineAdminAdd},
	)
}

// newAdmin is the body of POST /v1/admins. The password is hashed by the
// CLI; the appliance never sees it.
type newAdmin struct {
	Login        string `json:"login"`
	PasswordHash string `json:"password_hash"`
	TOTPSecret   string `json:"totp_secret"`
	Replace      bool   `json:"replace"`
}

func defineAdminAdd(fs *flag.FlagSet) func(*cli, []string) error {
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	replace := fs.Bool("replace", false, "reset an existing break-glass administrator's password and TOTP key")
	return func(c *cli, args []string) error {
		login, err := directory.NormalizeLogin(args[0])
		if err != nil {
			return err
		}
		pw, err := c.readPassword(*fromStdin)
		if err != nil {
			return err
		}
		hash, err := sso.HashPassword(pw)
		if err != nil {
			return err
		}
		key, err := sso.NewTOTP("Wardline", login)
		if err != nil {
			return err
		}
		in := newAdmin{Login: login, PasswordHash: hash, TOTPSecret: key.Secret(), Replace: *replace}
		if err := c.call(true, "POST", "/v1/admins", in, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Break-glass administrator %s added.\n\nAdd this key to an authenticator app (scan the code or enter the URI):\n\n%s\n\n", login, key.URL())
		if qr, err := qrTerminal(key.URL()); err == nil {
			fmt.Fprint(c.stdout, qr)
		}
		fmt.Fprintf(c.stdout, "\nSeal the password and this key as your emergency-access procedure says; sign in at /login under \"Emergency access\".\n")
		return nil
	}
}

// readPassword reads the password: the first line of stdin, or twice from
// the terminal without echo.
func (c *cli) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", errors.New("no terminal to ask for the password on: use --password-stdin")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(c.stderr, prompt)
		restore, err := noEcho(f)
		if err != nil {
			return "", err
		}
		line, err := bufio.NewReader(f).ReadString('\n')
		restore()
		fmt.Fprintln(c.stderr)
		return strings.TrimRight(line, "\r\n"), err
	}
	pw, err := ask("Password (at least 12 characters): ")
	if err != nil {
		return "", err
	}
	again, err := ask("Same password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}

// noEcho turns the terminal's echo off and returns what turns it on again.
func noEcho(f *os.File) (func(), error) {
	var old syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&old))); e != 0 {
		return nil, e
	}
	t := old
	t.Lflag &^= syscall.ECHO
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	return func() { syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(&old))) }, nil
}

// addAdmin is POST /v1/admins on the admin socket.
func (a *adminAPI) addAdmin(w http.ResponseWriter, r *http.Request) {
	var in newAdmin
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	login, err := directory.NormalizeLogin(in.Login)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !strings.HasPrefix(in.PasswordHash, "$argon2id$") || in.TOTPSecret == "" {
		a.writeError(w, r, fmt.Errorf("%w: an argon2id password hash and a TOTP secret are needed", directory.ErrInvalid))
		return
	}
	cmd := store.AddLocalAdmin{By: actorFrom(r.Context()), Admin: directory.LocalAdmin{Login: login, PasswordHash: in.PasswordHash, TOTPSecret: in.TOTPSecret}, Replace: in.Replace}
	if err := a.store.Apply(r.Context(), cmd); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"login": login})
}
