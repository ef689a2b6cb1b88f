package broker

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// dial5 connects an MQTT 5 device with paho.golang; cfg and conn adjust
// the client and CONNECT settings.
func dial5(t *testing.T, b *Broker, id string, cfg func(*paho.ClientConfig), conn func(*paho.Connect)) (*device5, error) {
	t.Helper()
	d := &device5{msgs: make(chan *paho.Publish, 1024), disconnected: make(chan *paho.Disconnect, 1)}
	cc := paho.ClientConfig{
		Conn: dialPlain(t, b),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			d.msgs <- pr.Packet
			return true, nil
		}},
		OnServerDisconnect: func(dc *paho.Disconnect) {
			select {
			case d.disconnected <- dc:
			default:
			}
		},
		OnClientError: func(error) {},
		PingHandler:   noPinger{},
	}
	if cfg != nil {
		cfg(&cc)
	}
	d.Client = paho.NewClient(cc)
	cp := &paho.Connect{ClientID: id, Username: id, UsernameFlag: true, Password: []byte(secretOf(id)), PasswordFlag: true,
		KeepAlive: 30, CleanStart: true}
	if conn != nil {
		conn(cp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.Connect(ctx, cp); err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = d.Disconnect(&paho.Disconnect{}) })
	return d, nil
}

// subscribe5 subscribes d to the device's in/# at QoS 1.
func subscribe5(t *testing.T, d *device5, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if sa, err := d.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: InTopic(id, "#"), QoS: 1}}}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("subscribe: %v %+v", err, sa)
	}
}

// secretOf is the fakeAuth secret of the test devices dev_a, dev_b, dev_c
// and of the generated dev_sN.
func secretOf(id string) string { return "secret-" + id[len("dev_"):] }

// dial3 connects an MQTT 3.1.1 device with paho.mqtt.golang.
func dial3(t *testing.T, b *Broker, id string, adjust func(*paho3.ClientOptions)) paho3.Client {
	t.Helper()
	opts := paho3.NewClientOptions().AddBroker("tcp://" + b.Addrs()[ListenerPlain]).
		SetClientID(id).SetUsername(id).SetPassword(secretOf(id)).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false)
	if adjust != nil {
		adjust(opts)
	}
	c := paho3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// --- raw packets for byte-level checks ---

// connectPacketProps is connectPacket with MQTT 5 CONNECT properties.
func connectPacketProps(id, pass string, props []byte) []byte {
	body := append(mqttString("MQTT"), 5, 0xc2, 0, 60)
	body = append(body, varint(len(props))...)
	body = append(body, props...)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(pass)...)
	return packet(0x10, body)
}

// publishPacket is a QoS 1 PUBLISH (version 4 or 5, no properties).
func publishPacket(version byte, topic string, id uint16, payload string) []byte {
	body := append(mqttString(topic), byte(id>>8), byte(id))
	if version == 5 {
		body = append(body, 0)
	}
	return packet(0x32, append(body, payload...))
}

// subscribePacket subscribes to one filter at QoS 1.
func subscribePacket(version byte, id uint16, filter string) []byte {
	body := []byte{byte(id >> 8), byte(id)}
	if version == 5 {
		body = append(body, 0)
	}
	body = append(body, mqttString(filter)...)
	return packet(0x82, append(body, 1))
}

// pubackPacket acknowledges packet id (no reason code).
func pubackPacket(id uint16) []byte { return []byte{0x40, 2, byte(id >> 8), byte(id)} }

// rawDevice connects a raw client and subscribes it to its in/#.
func rawDevice(t *testing.T, b *Broker, version byte, id string, connect []byte) *rawConn {
	t.Helper()
	c := dialRaw(t, b.Addrs()[ListenerPlain])
	if connect == nil {
		connect = connectPacket(version, id, id, secretOf(id))
	}
	c.send(connect)
	if h, body, err := c.readPacket(); err != nil || h != 0x20 || body[1] != 0 {
		t.Fatalf("CONNACK %#x %x %v", h, body, err)
	}
	c.send(subscribePacket(version, 1, InTopic(id, "#")))
	if h, body, err := c.readPacket(); err != nil || h != 0x90 || body[len(body)-1] != 1 {
		t.Fatalf("SUBACK %#x %x %v", h, body, err)
	}
	return c
}

// readPublish reads one PUBLISH and returns its packet id and topic.
func (c *rawConn) readPublish(version byte) (hdr byte, id uint16, topic string) {
	c.t.Helper()
	h, body, err := c.readPacket()
	if err != nil || h>>4 != 3 {
		c.t.Fatalf("want PUBLISH, got %#x %x %v", h, body, err)
	}
	n := int(binary.BigEndian.Uint16(body))
	topic = string(body[2 : 2+n])
	if h&0x06 != 0 {
		id = binary.BigEndian.Uint16(body[2+n:])
	}
	return h, id, topic
}

// quiet fails if a packet arrives within d.
func (c *rawConn) quiet(d time.Duration) {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	h, body, err := c.readPacket()
	if err == nil {
		c.t.Fatalf("unexpected packet %#x %x", h, body)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.t.Fatalf("read: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
}
