package broker

import (
	"context"
	"errors"
	"net"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Authenticator checks device credentials; the appliance implements it.
type Authenticator interface {
	// Authenticate returns nil when deviceID/secret are valid and the device may connect.
	// It returns ErrBadCredentials or ErrNotAuthorized (revoked device, disabled user).
	Authenticate(ctx context.Context, deviceID string, secret []byte, remote string) error
}

var (
	// ErrBadCredentials means an unknown device id or a wrong secret.
	// The device gets CONNACK 0x86 (MQTT 5) or return code 4 (MQTT 3.1.1).
	ErrBadCredentials = errors.New("broker: bad device credentials")
	// ErrNotAuthorized means valid credentials of a device that may not
	// connect (revoked device, disabled user). The device gets CONNACK
	// 0x87 (MQTT 5) or return code 5 (MQTT 3.1.1).
	ErrNotAuthorized = errors.New("broker: device not authorized")
)

// authTimeout bounds one call of the Authenticator.
const authTimeout = 5 * time.Second

// refusal is how a CONNECT is refused: the CONNACK reason for MQTT 5 and
// the return code for MQTT 3.1.1.
type refusal struct {
	v5   packets.Code
	v3   byte
	what string // for the log
}

var (
	refuseClientID    = refusal{packets.ErrClientIdentifierNotValid, 0x02, "client id is not a device id"}
	refuseBadCreds    = refusal{packets.ErrBadUsernameOrPassword, 0x04, "bad credentials"}
	refuseNotAuth     = refusal{packets.ErrNotAuthorized, 0x05, "not authorized"}
	refuseWill        = refusal{packets.ErrNotAuthorized, 0x05, "will topic not allowed"}
	refuseThrottled   = refusal{packets.ErrConnectionRateExceeded, 0x03, "too many failures"}
	refuseUnavailable = refusal{packets.ErrServerUnavailable, 0x03, "authenticator failed"}
)

// onConnect authenticates a CONNECT before mochi answers it. mochi's
// OnConnectAuthenticate can only refuse with 0x86, so the check runs here,
// where a refusal sends its own CONNACK and returns an error (mochi then
// closes the connection without a CONNACK of its own); onConnectAuthenticate
// then only admits clients this function accepted.
func (h *deviceHook) onConnect(cl *mqtt.Client, pk packets.Packet) error {
	id := pk.Connect.ClientIdentifier
	remote := cl.Net.Remote
	ip := remote
	if host, _, err := net.SplitHostPort(remote); err == nil {
		ip = host
	}
	defer clear(pk.Connect.Password) // the secret lives no longer than needed

	if !ValidDeviceID(id) {
		h.b.thr.fail("", ip)
		return h.refuse(cl, refuseClientID, id, remote)
	}
	if !h.b.thr.allow(id, ip) {
		h.b.throttled.Add(1)
		return h.refuse(cl, refuseThrottled, id, remote)
	}
	if !pk.Connect.UsernameFlag || string(pk.Connect.Username) != id || !pk.Connect.PasswordFlag || len(pk.Connect.Password) == 0 {
		h.b.thr.fail(id, ip)
		return h.refuse(cl, refuseBadCreds, id, remote)
	}
	if pk.Connect.WillFlag && (pk.Connect.WillRetain || !mayPublish(id, pk.Connect.WillTopic)) {
		return h.refuse(cl, refuseWill, id, remote)
	}
	if h.b.auth == nil {
		return h.refuse(cl, refuseNotAuth, id, remote)
	}
	ctx, cancel := context.WithTimeout(h.b.runCtx, authTimeout)
	err := h.b.auth.Authenticate(ctx, id, pk.Connect.Password, remote)
	cancel()
	switch {
	case err == nil:
		h.b.thr.succeed(id)
		h.authed.Store(cl, struct{}{})
		return nil
	case errors.Is(err, ErrNotAuthorized):
		h.b.thr.fail(id, ip)
		return h.refuse(cl, refuseNotAuth, id, remote)
	case errors.Is(err, ErrBadCredentials):
		h.b.thr.fail(id, ip)
		return h.refuse(cl, refuseBadCreds, id, remote)
	default:
		h.b.log.Error("authenticator failed", "device", id, "remote", remote, "error", err)
		return h.refuse(cl, refuseUnavailable, id, remote)
	}
}

// refuse sends the CONNACK for r and returns the error for mochi.
func (h *deviceHook) refuse(cl *mqtt.Client, r refusal, id, remote string) error {
	h.b.authFailures.Add(1)
	h.b.log.Info("device connect refused", "device", id, "remote", remote, "reason", r.what)
	if h.b.handler != nil {
		if len(id) > maxDeviceIDLen {
			id = id[:maxDeviceIDLen]
		}
		h.b.handler.AuthFailed(id, remote, r.what)
	}
	if cl.Properties.ProtocolVersion == 5 {
		_ = h.b.srv.SendConnack(cl, r.v5, false, nil)
	} else {
		_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ReasonCode: r.v3})
	}
	return r.v5
}

// onConnectAuthenticate admits exactly the clients onConnect accepted:
// deny by default.
func (h *deviceHook) onConnectAuthenticate(cl *mqtt.Client) bool {
	_, ok := h.authed.LoadAndDelete(cl)
	return ok
}
