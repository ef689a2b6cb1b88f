package appliance

import (
	"context"
	"net"
	"os/user"
	"strconv"
	"syscall"

	"github.com/wardline/wardline/audit"
)

// actorKey holds the audit.Actor of an admin request in its context.
type actorKey struct{}

// withActor returns ctx carrying the actor.
func withActor(ctx context.Context, a audit.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom returns the actor of an admin request.
func actorFrom(ctx context.Context) audit.Actor {
	if a, ok := ctx.Value(actorKey{}).(audit.Actor); ok {
		return a
	}
	return audit.Actor{User: "local:unknown", Source: "unix"}
}

// localActor names an OS user as an audit actor: "local:<name>".
func localActor(uid int) audit.Actor {
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return audit.Actor{User: "local:" + name, Source: "unix"}
}

// peerUID returns the user id of the process at the other end of a Unix
// socket connection (SO_PEERCRED).
func peerUID(c net.Conn) (int, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}
