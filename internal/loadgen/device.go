package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// device is one connected device of a run.
type device struct {
	r      *run
	idx    int
	id     string
	prefix string // "wl/v1/{id}/in/"
	cli    *paho.Client
	pc     *packetConn
	lost   atomic.Bool // the connection went away during the run
	closed atomic.Bool // we closed it

	mu  sync.Mutex
	lat []int64 // send-to-receipt latencies of first receipts, ns

	ackMu    sync.Mutex
	acks     [][]byte // out/ack payloads waiting to be published
	ackKick  chan struct{}
	acking   atomic.Bool // ackLoop is publishing
	ackTimer *time.Timer // bounds the handler's wait for its out/ack (ack)
}

// sessionExpiry is the Session Expiry Interval the devices ask for.
const sessionExpiry uint32 = 3600

// dial opens a connection to addr, TLS when cfg is set.
func dial(ctx context.Context, addr string, cfg *tls.Config) (net.Conn, error) {
	nd := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if cfg == nil {
		return nd.DialContext(ctx, "tcp", addr)
	}
	return (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(ctx, "tcp", addr)
}

// Connect opens an MQTT 5 session as dev (client id = username = id,
// password = secret, clean start off, session expiry one hour), with
// onPublish receiving every incoming PUBLISH. It does not subscribe.
func Connect(ctx context.Context, addr string, cfg *tls.Config, dev Device, onPublish func(paho.PublishReceived) (bool, error), onLost func(error)) (*paho.Client, error) {
	cli, _, err := connect(ctx, addr, cfg, dev, connectOptions{}, onPublish, onLost)
	return cli, err
}

// applianceReceiveMaximum is the Receive Maximum bench devices announce to
// the appliance. The appliance keeps at most min(Receive Maximum, 128)
// publishes unacknowledged per device (broker/window.go), so announcing 128
// changes nothing it does; but paho gives every connection a channel of
// Receive Maximum pointers, which at the default 65,535 is 512 KiB a
// device, 512 MB for 1,000 devices, that the garbage collector scanned on
// every cycle: a quarter of the bench client's CPU. (A bare mochi broker
// would hold back publishes beyond the quota, so baseline runs keep the
// default.)
const applianceReceiveMaximum uint16 = 128

// connectOptions are what a bench device's connection does differently
// from Connect's.
type connectOptions struct {
	recvMax       uint16 // the Receive Maximum to announce; 0: none, which means 65,535
	lean          bool   // keep no copy of outgoing publishes (newDeviceSession)
	holdPublishes bool   // see packetConn
}

// connect is Connect with opts.
func connect(ctx context.Context, addr string, cfg *tls.Config, dev Device, opts connectOptions, onPublish func(paho.PublishReceived) (bool, error), onLost func(error)) (*paho.Client, *packetConn, error) {
	conn, err := dial(ctx, addr, cfg)
	if err != nil {
		return nil, nil, err
	}
	pc := newPacketConn(conn)
	pc.holdPublishes = opts.holdPublishes
	var sess *deviceSession // nil: paho makes (and closes) its own
	if opts.lean {
		sess = newDeviceSession(pc)
	}
	var once sync.Once
	lost := func(err error) {
		once.Do(func() {
			if sess != nil { // paho calls us once the client has shut down
				_ = sess.Close()
			}
			if onLost != nil {
				onLost(err)
			}
		})
	}
	ccfg := paho.ClientConfig{
		ClientID:          dev.ID,
		Conn:              pc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){onPublish},
		OnClientError:     lost,
		OnServerDisconnect: func(d *paho.Disconnect) {
			lost(fmt.Errorf("the server disconnected: reason 0x%02x %s", d.ReasonCode, reasonString(d.Properties)))
		},
		PacketTimeout: time.Minute,
	}
	if sess != nil {
		ccfg.Session = sess
	}
	cli := paho.NewClient(ccfg)
	expiry := sessionExpiry
	cp := &paho.Connect{ClientID: dev.ID, KeepAlive: 60, CleanStart: false,
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	if opts.recvMax > 0 {
		cp.Properties.ReceiveMaximum = &opts.recvMax
	}
	if dev.Secret != "" {
		cp.Username, cp.UsernameFlag = dev.ID, true
		cp.Password, cp.PasswordFlag = []byte(dev.Secret), true
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ca, err := cli.Connect(cctx, cp)
	if err != nil {
		conn.Close()
		if sess != nil {
			_ = sess.Close()
		}
		if ca != nil {
			return nil, nil, &connectError{code: ca.ReasonCode, msg: reasonString(ca.Properties)}
		}
		return nil, nil, err
	}
	return cli, pc, nil
}

// connectError is a CONNACK refusal.
type connectError struct {
	code byte
	msg  string
}

func (e *connectError) Error() string {
	s := fmt.Sprintf("connection refused: reason 0x%02x", e.code)
	switch e.code {
	case 0x86:
		s += " (bad user name or password)"
	case 0x87:
		s += " (not authorized)"
	case 0x97:
		s += " (quota exceeded)"
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	return s
}

// reasonString returns the Reason String of a CONNACK or DISCONNECT.
func reasonString(props any) string {
	switch p := props.(type) {
	case *paho.ConnackProperties:
		if p != nil {
			return p.ReasonString
		}
	case *paho.DisconnectProperties:
		if p != nil {
			return p.ReasonString
		}
	}
	return ""
}

// Subscribe subscribes cli to topic at QoS 1 and checks the SUBACK.
func Subscribe(ctx context.Context, cli *paho.Client, topic string, noLocal bool) error {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	sa, err := cli.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1, NoLocal: noLocal}}})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", topic, err)
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80 {
		return fmt.Errorf("subscribe %s: refused (%v)", topic, sa.Reasons)
	}
	return nil
}

// connect connects and subscribes the device, retrying transport errors.
func (d *device) connect(ctx context.Context) error {
	dev := d.r.cfg.Devices[d.idx]
	opts := connectOptions{lean: true}
	if d.r.cfg.Target.deviceAPI() {
		opts.recvMax = applianceReceiveMaximum
		opts.holdPublishes = d.idx >= d.r.cfg.Senders // it publishes only out/acks
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		d.cli, d.pc, err = connect(ctx, d.r.cfg.Addr, d.r.cfg.TLS, dev, opts, d.onPublish, d.onLost)
		var ce *connectError
		if errors.As(err, &ce) && ce.code != 0x97 && ce.code != 0x89 && ce.code != 0x9F {
			return err // refused for good: credentials or authorization
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := Subscribe(ctx, d.cli, d.prefix+"#", false); err != nil {
		return err
	}
	if d.r.cfg.Target == Baseline && d.r.cfg.GroupSize > 0 && d.idx < d.r.cfg.GroupSize {
		return Subscribe(ctx, d.cli, d.r.groupTopic, true)
	}
	return nil
}

func (d *device) onLost(error) {
	if !d.closed.Load() && d.lost.CompareAndSwap(false, true) {
		d.r.disconnects.Add(1)
	}
}

// onPublish handles one incoming PUBLISH; paho calls it from one goroutine
// per connection and acknowledges the PUBLISH when it returns.
func (d *device) onPublish(p paho.PublishReceived) (bool, error) {
	now := time.Now().UnixNano()
	pkt := p.Packet
	kind := ""
	if len(pkt.Topic) > len(d.prefix) && pkt.Topic[:len(d.prefix)] == d.prefix {
		kind = pkt.Topic[len(d.prefix):]
	} else if pkt.Topic == d.r.groupTopic {
		kind = "msg"
	}
	r := d.r
	switch kind {
	case "msg":
		if r.cfg.Target == Baseline {
			d.received(pkt.Payload, now)
			break
		}
		id, body, ok := decodeMsg(pkt.Payload)
		if !ok || id == "" {
			r.stale.Add(1)
			break
		}
		d.received(body, now)
		d.ack(id)
	case "reply":
		r.reply(pkt.Payload)
	case "receipt":
		r.receipts.Add(1)
	case "notify":
		r.notifies.Add(1)
	}
	return true, nil
}

// received records the first receipt, a duplicate, or a stranger.
func (d *device) received(body []byte, now int64) {
	r := d.r
	sender, seq, sentAt, ok := parseBody(body)
	if start := r.startNs.Load(); !ok || start == 0 || sentAt < start || sender >= r.cfg.Senders {
		r.stale.Add(1)
		return
	}
	rec := r.table.get(sender, seq, false)
	if rec == nil || rec.sentAt.Load() != sentAt {
		r.stale.Add(1)
		return
	}
	bit := 0
	if r.cfg.GroupSize > 0 {
		bit = d.idx
		if d.idx >= r.cfg.GroupSize || d.idx == sender {
			r.misrouted.Add(1)
			return
		}
	} else if int(rec.to.Load()) != d.idx {
		r.misrouted.Add(1)
		return
	}
	if !rec.mark(bit, now) {
		r.duplicates.Add(1)
		return
	}
	r.delivered.Add(1)
	d.mu.Lock()
	d.lat = append(d.lat, now-sentAt)
	d.mu.Unlock()
}

// ackWriteWait bounds how long the handler of an in/msg waits for its
// out/ack to be released (packetConn), which takes a few microseconds: two
// goroutine hand-offs, no network round trip.
const ackWriteWait = time.Millisecond

// ack acks an in/msg as delivered. On a device that only receives, it waits
// (ackWriteWait at most) until the out/ack has been released, held back
// for the PUBACK of the in/msg, which paho writes when the handler returns.
func (d *device) ack(id string) {
	wait := d.pc != nil && d.pc.holdPublishes && d.acking.Load()
	if wait {
		select {
		case <-d.pc.published: // an old signal
		default:
		}
	}
	d.queueAck(id)
	if !wait {
		return
	}
	if d.ackTimer == nil {
		d.ackTimer = time.NewTimer(ackWriteWait)
	} else {
		d.ackTimer.Reset(ackWriteWait)
	}
	select {
	case <-d.pc.published:
	case <-d.ackTimer.C:
	}
	d.ackTimer.Stop()
}

// queueAck hands an out/ack to the device's ack goroutine, so that paho's
// receive path never waits for a PUBACK.
func (d *device) queueAck(id string) {
	b := make([]byte, 0, len(id)+32)
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"state":"delivered"}`...)
	d.ackMu.Lock()
	d.acks = append(d.acks, b)
	d.ackMu.Unlock()
	select {
	case d.ackKick <- struct{}{}:
	default:
	}
}

// ackLoop publishes the queued acks until stop is closed, and then those
// still queued, and waits (at most ackFlush after stop) until the target
// acknowledged them all: a connection closed with acks still unread would
// leave their messages undelivered, to come again on the next run.
func (d *device) ackLoop(stop <-chan struct{}) {
	topic := "wl/v1/" + d.id + "/out/ack"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var batch [][]byte
	d.acking.Store(true)
	for stopped := false; !stopped; {
		select {
		case <-stop:
			stopped = true
			d.acking.Store(false)
			time.AfterFunc(ackFlush, cancel)
		case <-d.ackKick:
		}
		d.ackMu.Lock()
		batch, d.acks = d.acks, batch[:0]
		d.ackMu.Unlock()
		for _, b := range batch {
			if d.lost.Load() {
				break
			}
			// paho keeps at most the target's Receive Maximum in flight;
			// the rest wait in their goroutines.
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := d.cli.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: b}); err != nil {
					d.r.ackErrors.Add(1)
				} else {
					d.r.acksSent.Add(1)
				}
			}()
		}
		clear(batch)
	}
	wg.Wait()
}

// ackFlush is how long a run waits at its end for its acks' PUBACKs.
const ackFlush = 10 * time.Second

// parseBody reads "bench SENDER SEQ UNIXNANOS" at the start of a body.
func parseBody(b []byte) (sender int, seq uint64, sentAt int64, ok bool) {
	rest, found := bytes.CutPrefix(b, []byte("bench "))
	if !found {
		return 0, 0, 0, false
	}
	var f [3][]byte
	for i := range f {
		var tok []byte
		tok, rest, _ = bytes.Cut(rest, []byte{' '})
		f[i] = tok
	}
	s, err1 := strconv.Atoi(string(f[0]))
	q, err2 := strconv.ParseUint(string(f[1]), 10, 64)
	t, err3 := strconv.ParseInt(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || s < 0 {
		return 0, 0, 0, false
	}
	return s, q, t, true
}

// appendBody appends "bench SENDER SEQ UNIXNANOS" padded with ' ' and 'x'
// to n bytes (never cut shorter than the header).
func appendBody(b []byte, sender int, seq uint64, sentAt int64, n int) []byte {
	start := len(b)
	b = append(b, "bench "...)
	b = strconv.AppendInt(b, int64(sender), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, sentAt, 10)
	if pad := n - (len(b) - start); pad > 0 {
		b = append(b, ' ')
		for range pad - 1 {
			b = append(b, 'x')
		}
	}
	return b
}
