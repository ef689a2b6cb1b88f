package appliance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// adminSocket serves the admin API on a Unix socket in the data directory,
// mode 0600, to the appliance's own OS user and root only: the way the
// command line talks to a running appliance.
type adminSocket struct {
	path string
	api  http.Handler
	log  *slog.Logger
	srv  *http.Server
	ln   net.Listener
}

// listen removes a stale socket and binds a new one, owner-only.
func (s *adminSocket) listen() error {
	if c, err := net.DialTimeout("unix", s.path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("admin socket %s: another appliance answers on it", s.path)
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin socket: %w", err)
	}
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(s.path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	s.ln = ln
	self := os.Getuid()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, ok := peerUID(c)
			if !ok || (uid != self && uid != 0) {
				return withActor(ctx, localActor(-1))
			}
			return withActor(ctx, localActor(uid))
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				if uid, ok := peerUID(c); !ok || (uid != self && uid != 0) {
					s.log.Warn("admin socket: refused a connection from another user", "uid", uid)
					c.Close()
				}
			}
		},
	}
	return nil
}

// serve answers until shutdown.
func (s *adminSocket) serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops accepting, lets requests in flight finish, and removes the
// socket.
func (s *adminSocket) shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	os.Remove(s.path)
	return err
}
