package loadgen

import (
	"fmt"
	"io"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// BaselineBroker is a bare mochi-mqtt broker in this process: plain TCP on
// a loopback port, no persistence, every client and topic allowed. It is
// what the appliance is compared with.
type BaselineBroker struct {
	srv  *mqtt.Server
	addr string
}

// StartBaseline starts a baseline broker on 127.0.0.1 and a free port.
func StartBaseline() (*BaselineBroker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline broker: %w", err)
	}
	srv := mqtt.New(&mqtt.Options{
		InlineClient: false,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("baseline broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("baseline", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("baseline broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("baseline broker: %w", err)
	}
	return &BaselineBroker{srv: srv, addr: ln.Addr().String()}, nil
}

// Addr is the broker's address, host:port.
func (b *BaselineBroker) Addr() string { return b.addr }

// Close stops the broker and closes its clients.
func (b *BaselineBroker) Close() error { return b.srv.Close() }

// BaselineDevices returns n devices for a baseline run: ids bench-d00001...,
// no secrets (the broker allows everyone).
func BaselineDevices(n int) []Device {
	out := make([]Device, n)
	for i := range out {
		out[i] = Device{ID: fmt.Sprintf("bench-d%05d", i+1), User: UserLogin(i)}
	}
	return out
}

// allowAll lets every client connect and use every topic. (mochi's own
// auth.AllowHook would pull in a YAML parser.)
type allowAll struct{ mqtt.HookBase }

// ID implements mqtt.Hook.
func (*allowAll) ID() string { return "allow-all" }

// Provides implements mqtt.Hook.
func (*allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// OnConnectAuthenticate implements mqtt.Hook.
func (*allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// OnACLCheck implements mqtt.Hook.
func (*allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
