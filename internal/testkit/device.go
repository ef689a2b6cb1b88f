package testkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/log"
)

// Enroll adds a user (if login is not yet one) and enrols a personal
// device for it with `wardline device enroll --json`.
func (a *Appliance) Enroll(t testing.TB, login string) (id, secret string) {
	t.Helper()
	a.CLI("user", "add", login, "--name", "Test "+login)
	out, errOut, code := a.CLI("device", "enroll", "--user", login, "--json")
	if code != 0 {
		t.Fatalf("device enroll --user %s: %s", login, errOut)
	}
	var d struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.ID == "" || d.Secret == "" {
		t.Fatalf("device enroll --json printed %q", out)
	}
	return d.ID, d.Secret
}

// TLSConfig trusts the appliance's CA (from `wardline tls ca`).
func (a *Appliance) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	pem, errOut, code := a.CLI("tls", "ca")
	if code != 0 {
		t.Fatalf("tls ca: %s", errOut)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(pem))
	return &tls.Config{RootCAs: pool}
}

// Received is one publish a device got.
type Received struct {
	Topic   string
	Payload []byte
	Fields  map[string]any
	At      time.Time
}

// Device is an MQTT 5 device (Eclipse Paho) connected to an appliance.
type Device struct {
	t      testing.TB
	ID     string
	Secret string
	c      *paho.Client
	In     chan Received
	Gone   chan *paho.Disconnect
}

// DialDevice connects a device over TLS (tlsCfg non-nil, to the mqtts
// listener) or plain TCP (to the mqtt listener), subscribes to its in/#,
// and returns it. The CONNACK's refusal comes back as an error.
func (a *Appliance) DialDevice(t testing.TB, id, secret string, tlsCfg *tls.Config) (*Device, error) {
	t.Helper()
	var conn net.Conn
	var err error
	if tlsCfg != nil {
		conn, err = tls.Dial("tcp", a.Listeners["mqtts"], tlsCfg)
	} else {
		conn, err = net.Dial("tcp", a.Listeners["mqtt"])
	}
	if err != nil {
		return nil, err
	}
	d := &Device{t: t, ID: id, Secret: secret, In: make(chan Received, 4096), Gone: make(chan *paho.Disconnect, 1)}
	d.c = paho.NewClient(paho.ClientConfig{
		Conn:        conn,
		PingHandler: noPinger{},
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			r := Received{Topic: pr.Packet.Topic, Payload: pr.Packet.Payload, At: time.Now()}
			_ = json.Unmarshal(pr.Packet.Payload, &r.Fields)
			d.In <- r
			return true, nil
		}},
		OnServerDisconnect: func(dc *paho.Disconnect) {
			select {
			case d.Gone <- dc:
			default:
			}
		},
		OnClientError: func(error) {
			select {
			case d.Gone <- nil:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.c.Connect(ctx, &paho.Connect{ClientID: id, Username: id, UsernameFlag: true,
		Password: []byte(secret), PasswordFlag: true, KeepAlive: 30, CleanStart: true}); err != nil {
		conn.Close()
		return nil, err
	}
	sa, err := d.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "wl/v1/" + id + "/in/#", QoS: 1}}})
	if err != nil || sa.Reasons[0] != 1 {
		d.Close()
		return nil, err
	}
	t.Cleanup(d.Close)
	return d, nil
}

// Close disconnects the device.
func (d *Device) Close() { _ = d.c.Disconnect(&paho.Disconnect{}) }

// Publish sends v as JSON (or as is, when it is a []byte) to the device's
// out/kind at QoS 1 and returns the PUBACK's reason code.
func (d *Device) Publish(kind string, v any) (byte, error) {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := d.c.Publish(ctx, &paho.Publish{Topic: "wl/v1/" + d.ID + "/out/" + kind, QoS: 1, Payload: b})
	if err != nil {
		if resp != nil {
			return resp.ReasonCode, err
		}
		return 0xff, err
	}
	return resp.ReasonCode, nil
}

// Expect waits for the next publish on in/<name> (others are skipped) and
// returns it; it fails the test that dialled the device when none comes.
func (d *Device) Expect(name string, timeout time.Duration) Received {
	d.t.Helper()
	r, ok := d.Next(name, timeout)
	if !ok {
		d.t.Fatalf("device %s: nothing on in/%s within %s", d.ID, name, timeout)
	}
	return r
}

// Next waits for the next publish on in/<name> (others are skipped).
func (d *Device) Next(name string, timeout time.Duration) (Received, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case r := <-d.In:
			if strings.HasSuffix(r.Topic, "/in/"+name) {
				return r, true
			}
		case <-deadline:
			return Received{}, false
		}
	}
}

// noPinger replaces paho.golang's pinger, which writes its PINGREQ from its
// own goroutine: over TLS, where paho writes one packet in several Write
// calls, those bytes can land inside another packet, and the appliance's
// malformed-packet guard rightly closes the connection (seen in about 2% of
// broker test runs). Test devices live for seconds and need no keep-alive.
type noPinger struct{}

func (noPinger) Run(ctx context.Context, _ net.Conn, _ uint16) error { <-ctx.Done(); return nil }
func (noPinger) PacketSent()                                         {}
func (noPinger) PacketReceived()                                     {}
func (noPinger) PingResp()                                           {}
func (noPinger) SetDebug(log.Logger)                                 {}
