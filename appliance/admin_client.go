package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wardline/wardline/store"
)

// adminClient calls the admin API: of the running appliance over its
// socket, or, when it is not running, of an in-process instance that opens
// the store itself.
type adminClient struct {
	http    *http.Client
	offline bool
	close   func() error
}

// errNotRunning says that no appliance answers on the admin socket.
var errNotRunning = errors.New("the appliance is not running")

// admin connects to the instance named by the command's settings. With
// allowOffline it opens the store itself when the appliance is not running.
func (c *cli) admin(allowOffline bool) (*adminClient, error) {
	cfg, err := c.settings()
	if err != nil {
		return nil, err
	}
	sock := socketPath(cfg.DataDir)
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err == nil {
		conn.Close()
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}
		return &adminClient{http: &http.Client{Transport: tr}, close: func() error { tr.CloseIdleConnections(); return nil }}, nil
	}
	if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("admin socket %s: %w", sock, err)
	}
	if !allowOffline {
		return nil, fmt.Errorf("%w (no answer on %s); start it with 'wardline serve'", errNotRunning, sock)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("no Wardline data directory at %s (--data DIR names another; 'wardline serve' creates one): %w", cfg.DataDir, err)
	}
	st, err := store.Open(store.Options{Dir: cfg.DataDir, KeyFile: cfg.Store.KeyFile, MinFree: uint64(cfg.Store.MinFreeMB) << 20})
	if err != nil {
		return nil, err
	}
	api := &adminAPI{store: st, log: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		status: func(context.Context) Status { return offlineStatus(cfg, st) }}
	ln := newPipeListener()
	me := localActor(os.Getuid())
	srv := &http.Server{Handler: api.handler(), ConnContext: func(ctx context.Context, _ net.Conn) context.Context { return withActor(ctx, me) }}
	go srv.Serve(ln)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.dial() }}
	return &adminClient{http: &http.Client{Transport: tr}, offline: true, close: func() error {
		tr.CloseIdleConnections()
		srv.Close()
		return st.Close()
	}}, nil
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out. An error answer becomes an error with the server's message.
func (a *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := a.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin API: bad answer: %w", err)
	}
	return nil
}

// send sends a request and returns a successful response, whose body the
// caller closes, or the API's error.
func (a *adminClient) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://wardline"+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e apiError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == "" {
			return nil, fmt.Errorf("admin API: %s", resp.Status)
		}
		return nil, errors.New(e.Error)
	}
	return resp, nil
}

// pipeListener is an in-memory net.Listener: the offline admin client
// serves the admin API to itself through it.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept implements net.Listener.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection.
func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-process" }

// call connects to the instance (see admin), sends one request and decodes
// the answer into out.
func (c *cli) call(allowOffline bool, method, path string, in, out any) error {
	a, err := c.admin(allowOffline)
	if err != nil {
		return err
	}
	defer a.close()
	return a.do(c.ctx, method, path, in, out)
}
