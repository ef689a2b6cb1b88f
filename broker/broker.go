package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// Listener ids, the keys of Addrs.
const (
	ListenerTLS       = "mqtts"
	ListenerPlain     = "mqtt"
	ListenerWebSocket = "ws"
)

// DefaultMaxConnections is used when Options.MaxConnections is 0.
const DefaultMaxConnections = 20_000

// Options configure a Broker. The zero value serves nothing and refuses
// every connection.
type Options struct {
	TLSAddr        string        // MQTT over TLS, e.g. 127.0.0.1:8883; "" = off
	PlainAddr      string        // plain TCP, "" = off
	TLSConfig      *tls.Config   // required with TLSAddr; TLS 1.2 is the minimum whatever it says
	Auth           Authenticator // nil: every connection refused
	Handler        Handler       // nil: every device publish refused as not stored (see Ack.Retry)
	Logger         *slog.Logger  // nil: slog.Default()
	MaxConnections int           // authenticated clients at once; 0 = DefaultMaxConnections

	// AuthFailureWindow, MaxAuthFailures and MaxAuthFailuresPerIP set the
	// failure throttle: after MaxAuthFailures failed CONNECTs for one device
	// id (or MaxAuthFailuresPerIP from one address) within the window that
	// began with the first of them, further CONNECTs for it are refused
	// (CONNACK 0x9F, v3.1.1 code 3) without asking the Authenticator.
	// Zero values take the Default* constants.
	AuthFailureWindow    time.Duration
	MaxAuthFailures      int
	MaxAuthFailuresPerIP int

	// WriteTimeout bounds every write to a device connection; a write
	// that takes longer (a device that stopped reading) closes the
	// connection. 0 = DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// DefaultWriteTimeout is used when Options.WriteTimeout is 0.
const DefaultWriteTimeout = 5 * time.Second

// Broker is the embedded MQTT broker for devices. Create it with New and
// start it with Run, once.
type Broker struct {
	opts    Options
	log     *slog.Logger
	auth    Authenticator
	handler Handler
	conns   *registry
	thr     *throttle
	ws      *wsListener
	ready   chan struct{}
	runCtx  context.Context

	started atomic.Bool
	srv     *mqtt.Server // set by Run before ready is closed
	mu      sync.Mutex
	addrs   map[string]string

	open           atomic.Int64 // open connections, guarded or not yet authenticated
	malformed      atomic.Int64
	panics         atomic.Int64
	authFailures   atomic.Int64
	throttled      atomic.Int64
	publishRefused atomic.Int64
}

// New checks opts and returns a broker that does nothing until Run.
func New(opts Options) (*Broker, error) {
	if opts.TLSAddr != "" && opts.TLSConfig == nil {
		return nil, errors.New("broker: TLSAddr set without TLSConfig")
	}
	if opts.MaxConnections < 0 {
		return nil, errors.New("broker: negative MaxConnections")
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.AuthFailureWindow <= 0 {
		opts.AuthFailureWindow = DefaultAuthFailureWindow
	}
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if opts.WriteTimeout < 0 {
		return nil, errors.New("broker: negative WriteTimeout")
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.MaxAuthFailuresPerIP <= 0 {
		opts.MaxAuthFailuresPerIP = DefaultMaxAuthFailuresPerIP
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = redactingLogger(log).With("component", "broker")
	return &Broker{
		opts:    opts,
		log:     log,
		auth:    opts.Auth,
		handler: opts.Handler,
		conns:   newRegistry(),
		thr:     newThrottle(opts.AuthFailureWindow, opts.MaxAuthFailures, opts.MaxAuthFailuresPerIP, time.Now),
		ws:      newWSListener(4 * maxPacketSize),
		ready:   make(chan struct{}),
		runCtx:  context.Background(),
		addrs:   map[string]string{},
	}, nil
}

// Ready is closed once Run has bound the listeners and serves.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// Addrs maps listener ids (ListenerTLS, ListenerPlain) to the addresses
// they are bound to; empty before Ready.
func (b *Broker) Addrs() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := make(map[string]string, len(b.addrs))
	for k, v := range b.addrs {
		m[k] = v
	}
	return m
}

// WebSocketHandler returns the handler for MQTT over WebSocket
// (subprotocol "mqtt"), to mount at /mqtt on the appliance's HTTPS mux.
// It answers 503 unless Run is serving. A browser request whose Origin
// names another host is refused.
func (b *Broker) WebSocketHandler() http.Handler { return b.ws }

// Run binds the listeners (an error if an address is taken), serves until
// ctx is done, then disconnects every client, closes the listeners and
// returns. A Broker runs once.
func (b *Broker) Run(ctx context.Context) error {
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("broker: Run called twice")
	}
	bound, err := b.bind()
	if err != nil {
		return err
	}
	b.runCtx = ctx
	srv := mqtt.New(b.mochiOptions())
	b.srv = srv
	if err := srv.AddHook(&deviceHook{b: b}, nil); err != nil {
		closeAll(bound)
		return fmt.Errorf("broker: add hook: %w", err)
	}
	g := &guard{maxPacket: maxPacketSize, writeTimeout: b.opts.WriteTimeout, log: b.log, malformed: &b.malformed}
	maxOpen := int64(b.opts.MaxConnections) + int64(b.opts.MaxConnections)/4 + 64
	bound[ListenerWebSocket] = b.ws
	for id, ln := range bound {
		cl := &connListener{id: id, ln: ln, guard: g, open: &b.open, maxOpen: maxOpen,
			panics: &b.panics, conns: map[*guardConn]struct{}{}}
		if err := srv.AddListener(cl); err != nil {
			closeAll(bound)
			return fmt.Errorf("broker: add listener %s: %w", id, err)
		}
	}
	b.ws.active.Store(true)
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("broker: serve: %w", err)
	}
	b.mu.Lock()
	for id, ln := range bound {
		if id != ListenerWebSocket {
			b.addrs[id] = ln.Addr().String()
		}
	}
	b.mu.Unlock()
	b.log.Info("broker serving", "listeners", b.Addrs())
	close(b.ready)

	<-ctx.Done()
	b.ws.active.Store(false)
	b.disconnectAll()
	_ = srv.Close()
	b.log.Info("broker stopped")
	return nil
}

// bind opens the TCP listeners; TLS gets at least TLS 1.2.
func (b *Broker) bind() (map[string]net.Listener, error) {
	bound := map[string]net.Listener{}
	if b.opts.TLSAddr != "" {
		ln, err := net.Listen("tcp", b.opts.TLSAddr)
		if err != nil {
			return nil, fmt.Errorf("broker: listen %s: %w", ListenerTLS, err)
		}
		cfg := b.opts.TLSConfig.Clone()
		cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
		bound[ListenerTLS] = tls.NewListener(ln, cfg)
	}
	if b.opts.PlainAddr != "" {
		ln, err := net.Listen("tcp", b.opts.PlainAddr)
		if err != nil {
			closeAll(bound)
			return nil, fmt.Errorf("broker: listen %s: %w", ListenerPlain, err)
		}
		bound[ListenerPlain] = ln
	}
	return bound, nil
}

func closeAll(lns map[string]net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}
