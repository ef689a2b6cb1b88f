package broker

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// wsSubprotocol is the WebSocket subprotocol MQTT requires.
const wsSubprotocol = "mqtt"

// wsListener is a net.Listener fed by an http.Handler: each upgraded
// WebSocket connection is handed to Accept, so the broker serves MQTT over
// WebSocket on a path of the appliance's own HTTPS server.
type wsListener struct {
	conns    chan net.Conn
	done     chan struct{}
	once     sync.Once
	upgrader websocket.Upgrader
	maxMsg   int64
	active   atomic.Bool // set while the broker runs
}

func newWSListener(maxMsg int64) *wsListener {
	return &wsListener{
		conns:  make(chan net.Conn),
		done:   make(chan struct{}),
		maxMsg: maxMsg,
		upgrader: websocket.Upgrader{
			Subprotocols: []string{wsSubprotocol},
			// CheckOrigin is left nil: gorilla then refuses a request whose
			// Origin header names another host than the request's Host.
		},
	}
}

// ServeHTTP upgrades an MQTT-over-WebSocket request and hands the
// connection to the broker. It answers 503 while the broker is not running.
func (l *wsListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "MQTT over WebSocket only", http.StatusBadRequest)
		return
	}
	if !requestsSubprotocol(r, wsSubprotocol) {
		http.Error(w, `WebSocket subprotocol "mqtt" required`, http.StatusBadRequest)
		return
	}
	select {
	case <-l.done:
		http.Error(w, "broker not running", http.StatusServiceUnavailable)
		return
	default:
		if !l.active.Load() {
			http.Error(w, "broker not running", http.StatusServiceUnavailable)
			return
		}
	}
	ws, err := l.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(l.maxMsg)
	c := &wsConn{Conn: ws.NetConn(), ws: ws}
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	case <-r.Context().Done():
		_ = c.Close()
	}
}

func requestsSubprotocol(r *http.Request, want string) bool {
	for _, p := range websocket.Subprotocols(r) {
		if p == want {
			return true
		}
	}
	return false
}

// Accept implements net.Listener.
func (l *wsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *wsListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.
func (l *wsListener) Addr() net.Addr { return wsAddr{} }

type wsAddr struct{}

func (wsAddr) Network() string { return "ws" }
func (wsAddr) String() string  { return "websocket" }

// wsConn presents a WebSocket connection as a byte stream: it reads binary
// messages back to back and writes each Write as one binary message.
// Deadlines and addresses are those of the underlying connection.
type wsConn struct {
	net.Conn
	ws  *websocket.Conn
	r   io.Reader
	wmu sync.Mutex
}

var errWSText = errors.New("websocket: MQTT needs binary messages")

// Read implements net.Conn.
func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, errWSText
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Write implements net.Conn.
func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close implements net.Conn.
func (c *wsConn) Close() error { return c.ws.Close() }

// SetWriteDeadline implements net.Conn. gorilla/websocket sets the
// connection's write deadline from its own before every frame, so the
// deadline must be given to it, not to the underlying connection.
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

// SetDeadline implements net.Conn.
func (c *wsConn) SetDeadline(t time.Time) error {
	_ = c.ws.SetWriteDeadline(t)
	return c.ws.SetReadDeadline(t)
}
