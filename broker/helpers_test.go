package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	mqtt "github.com/mochi-mqtt/server/v2"
)

// validFilter is mochi's own check of a topic filter.
func validFilter(f string) bool { return mqtt.IsValidFilter(f, false) }

// dialWS opens an MQTT-over-WebSocket connection as a net.Conn.
func dialWS(url string) (net.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(url, nil)
	if err != nil {
		return nil, resp, err
	}
	return &wsConn{Conn: ws.NetConn(), ws: ws}, resp, nil
}

// fakeAuth is a test Authenticator: secrets by device id, and revoked ids.
type fakeAuth struct {
	mu      sync.Mutex
	secrets map[string]string
	revoked map[string]bool
	calls   atomic.Int64
}

func newFakeAuth() *fakeAuth {
	f := &fakeAuth{
		secrets: map[string]string{"dev_a": "secret-a", "dev_b": "secret-b", "dev_c": "secret-c", "dev_revoked": "secret-r"},
		revoked: map[string]bool{"dev_revoked": true},
	}
	for i := range 64 {
		id := fmt.Sprintf("dev_s%d", i)
		f.secrets[id] = secretOf(id)
	}
	return f
}

func (f *fakeAuth) Authenticate(_ context.Context, id string, secret []byte, _ string) error {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[id]
	if !ok || s != string(secret) {
		return ErrBadCredentials
	}
	if f.revoked[id] {
		return ErrNotAuthorized
	}
	return nil
}

// recHandler is a test Handler: it passes each publish to onPublish (or
// accepts it at once when that is nil) and records the other events.
type recHandler struct {
	onPublish func(Inbound, func(Ack))
	events    chan string // "online dev_a", "offline dev_a", "authfailed dev_a <reason>"
	published atomic.Int64
}

func newRecHandler(onPublish func(Inbound, func(Ack))) *recHandler {
	return &recHandler{onPublish: onPublish, events: make(chan string, 10000)}
}

func (h *recHandler) Publish(in Inbound, done func(Ack)) {
	h.published.Add(1)
	if h.onPublish != nil {
		h.onPublish(in, done)
		return
	}
	done(Ack{})
}

func (h *recHandler) event(s string) {
	select {
	case h.events <- s:
	default:
	}
}

func (h *recHandler) Online(id string)  { h.event("online " + id) }
func (h *recHandler) Offline(id string) { h.event("offline " + id) }
func (h *recHandler) AuthFailed(id, _, reason string) {
	h.event("authfailed " + id + " " + reason)
}

// testTLS returns a server config with a throwaway certificate for
// 127.0.0.1 and a client config that trusts it.
func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wardline test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	return server, client
}

// testLogger discards below Warn unless -v, and never fails a test.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tlog struct{ t testing.TB }

func (l *tlog) Write(p []byte) (int, error) { l.t.Log(string(bytes.TrimSpace(p))); return len(p), nil }

// startBroker runs a broker on 127.0.0.1:0 (TLS and plain) until the test ends.
func startBroker(t testing.TB, opts Options) *Broker {
	t.Helper()
	if opts.Auth == nil {
		opts.Auth = newFakeAuth()
	}
	if opts.Handler == nil {
		opts.Handler = newRecHandler(nil)
	}
	if opts.TLSConfig == nil {
		opts.TLSConfig, _ = testTLS(t)
	}
	if opts.TLSAddr == "" {
		opts.TLSAddr = "127.0.0.1:0"
	}
	if opts.PlainAddr == "" {
		opts.PlainAddr = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	select {
	case <-b.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("broker not ready")
	}
	return b
}

// --- raw MQTT packets, built by hand so tests control every byte ---

func mqttString(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func varint(n int) []byte {
	var b []byte
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

func packet(hdr byte, body []byte) []byte {
	return append(append([]byte{hdr}, varint(len(body))...), body...)
}

// connectPacket builds a CONNECT (version 4 or 5) with clean start,
// keep-alive 60 and optional user name and password.
func connectPacket(version byte, id, user, pass string) []byte {
	flags := byte(0x02)
	if user != "" {
		flags |= 0x80
	}
	if pass != "" {
		flags |= 0x40
	}
	body := append(mqttString("MQTT"), version, flags, 0, 60)
	if version == 5 {
		body = append(body, 0) // no properties
	}
	body = append(body, mqttString(id)...)
	if user != "" {
		body = append(body, mqttString(user)...)
	}
	if pass != "" {
		body = append(body, mqttString(pass)...)
	}
	return packet(0x10, body)
}

// rawConn is a raw MQTT connection for byte-level tests.
type rawConn struct {
	t testing.TB
	net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t, c}
}

func (c *rawConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readPacket reads one packet: first byte and body.
func (c *rawConn) readPacket() (byte, []byte, error) {
	var h [1]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return 0, nil, err
	}
	n, shift := 0, 0
	for {
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return 0, nil, err
		}
		n |= int(b[0]&0x7f) << shift
		shift += 7
		if b[0]&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c, body)
	return h[0], body, err
}

// connack connects and returns the CONNACK reason (v5) or return code (v3).
func (c *rawConn) connack(version byte, id, user, pass string) byte {
	c.t.Helper()
	c.send(connectPacket(version, id, user, pass))
	h, body, err := c.readPacket()
	if err != nil || h != 0x20 || len(body) < 2 {
		c.t.Fatalf("want CONNACK, got %#x %x %v", h, body, err)
	}
	return body[1]
}

// expectClosed reads until EOF and fails if no EOF comes within the deadline.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.t.Fatal("connection still open")
		}
	}
}
