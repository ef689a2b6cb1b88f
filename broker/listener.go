package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connectTimeout bounds the time from accept to a processed CONNECT (TLS
// handshake and authentication included); mochi then applies keep-alive.
const connectTimeout = 15 * time.Second

// connListener is our mochi listener (instead of listeners.Net): it wraps
// every accepted connection in a guardConn, caps the number of open
// connections, gives each a deadline for its CONNECT, recovers a panic in a
// connection's goroutine so that it costs only that connection, and on
// Close closes the connections it accepted and waits for their goroutines.
type connListener struct {
	id      string
	ln      net.Listener
	guard   *guard
	open    *atomic.Int64 // open connections over all listeners
	maxOpen int64
	panics  *atomic.Int64
	log     *slog.Logger

	mu     sync.Mutex
	closed bool
	conns  map[*guardConn]struct{}
	wg     sync.WaitGroup
}

var _ listeners.Listener = (*connListener)(nil)

// ID implements listeners.Listener.
func (l *connListener) ID() string { return l.id }

// Address implements listeners.Listener.
func (l *connListener) Address() string { return l.ln.Addr().String() }

// Protocol implements listeners.Listener.
func (l *connListener) Protocol() string { return l.ln.Addr().Network() }

// Init implements listeners.Listener; the listener is already bound.
func (l *connListener) Init(log *slog.Logger) error {
	l.log = log
	return nil
}

// Serve implements listeners.Listener: it accepts until the listener closes.
func (l *connListener) Serve(establish listeners.EstablishFn) {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed", "listener", l.id, "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		l.handle(c, establish)
	}
}

func (l *connListener) handle(c net.Conn, establish listeners.EstablishFn) {
	if l.open.Add(1) > l.maxOpen {
		l.open.Add(-1)
		l.log.Warn("connection refused: too many open connections", "listener", l.id, "remote", c.RemoteAddr().String())
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Now().Add(connectTimeout))
	var gc *guardConn
	gc = newGuardConn(c, l.guard, func() {
		l.open.Add(-1)
		l.mu.Lock()
		delete(l.conns, gc)
		l.mu.Unlock()
	})
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = gc.Close()
		return
	}
	l.conns[gc] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()

	go func() {
		defer l.wg.Done()
		defer func() { _ = gc.Close() }()
		defer func() {
			if r := recover(); r != nil {
				l.panics.Add(1)
				l.log.Error("recovered panic in client connection", "listener", l.id,
					"remote", gc.RemoteAddr().String(), "client", gc.st.clientID,
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		if err := establish(l.id, gc); err != nil {
			l.log.Debug("client connection ended", "listener", l.id, "remote", gc.RemoteAddr().String(), "error", err)
		}
	}()
}

func (l *connListener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close implements listeners.Listener: it stops accepting, closes the
// connections it accepted and waits for their goroutines. It does not call
// mochi's closeClients: that takes the client list's read lock twice
// (Clients.GetByListener calls Len), which deadlocks against a connection
// ending at the same moment (Clients.Delete); Broker.Run has sent the
// devices their DISCONNECT before (shutdown.go).
func (l *connListener) Close(_ listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	_ = l.ln.Close()
	l.mu.Lock()
	conns := make([]*guardConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	l.wg.Wait()
}
