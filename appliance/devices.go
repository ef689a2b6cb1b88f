package appliance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// deviceAuth checks device credentials for the broker: the device exists,
// its secret's keyed hash matches (in constant time), it is not revoked and
// its user is enabled.
type deviceAuth struct {
	store *store.Store

	once sync.Once
	key  []byte
	err  error
}

var _ broker.Authenticator = (*deviceAuth)(nil)

// secretKey loads the key device secrets are hashed with.
func (a *deviceAuth) secretKey(ctx context.Context) ([]byte, error) {
	a.once.Do(func() { a.key, a.err = a.store.DeviceSecretKey(ctx) })
	return a.key, a.err
}

// Authenticate implements broker.Authenticator.
func (a *deviceAuth) Authenticate(ctx context.Context, id string, secret []byte, _ string) error {
	key, err := a.secretKey(ctx)
	if err != nil {
		return err
	}
	// Hash before looking the device up, so that an unknown id costs the
	// same as a wrong secret and timing does not tell which ids exist.
	got := store.HashSecret(key, secret)
	d, u, err := a.store.DeviceAccess(id)
	if errors.Is(err, directory.ErrNotFound) {
		return broker.ErrBadCredentials
	}
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(got), []byte(d.SecretHash)) {
		return broker.ErrBadCredentials
	}
	if !d.Active() || (d.User != "" && !u.Enabled) {
		return broker.ErrNotAuthorized
	}
	return nil
}

// newDeviceID returns "dev_" and 22 URL-safe characters (128 random bits).
func newDeviceID() string { return "dev_" + randomToken(16) }

// newDeviceSecret returns a secret of 256 random bits, shown once.
func newDeviceSecret() string { return "wls_" + randomToken(32) }

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the kernel's generator does not fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// enrollRequest is the body of POST /v1/devices.
type enrollRequest struct {
	User   string `json:"user"`
	Name   string `json:"name"`
	Shared bool   `json:"shared"`
}

// enrolled is the answer: the only time the secret is shown.
type enrolled struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	User   string `json:"user,omitempty"`
	Name   string `json:"name,omitempty"`
}

func (a *adminAPI) enrollDevice(w http.ResponseWriter, r *http.Request) {
	var in enrollRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Shared == (in.User != "") {
		a.writeError(w, r, fmt.Errorf("%w: give either a user (personal device) or shared", directory.ErrInvalid))
		return
	}
	d := store.Device{ID: newDeviceID(), Name: strings.TrimSpace(in.Name)}
	if in.User != "" {
		login, err := directory.NormalizeLogin(in.User)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		d.User = login
	}
	if len(d.Name) > 128 {
		a.writeError(w, r, &directory.FieldError{Field: "name", Reason: "is longer than 128 characters"})
		return
	}
	secret, err := enrollDevice(r.Context(), a.store, a.access, actorFrom(r.Context()), &d)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, enrolled{ID: d.ID, Secret: secret, User: d.User, Name: d.Name})
}

// enrollDevice gives d a fresh secret, stores it hashed, and returns the
// secret (shown once).
func enrollDevice(ctx context.Context, st *store.Store, access *accessCache, by audit.Actor, d *store.Device) (string, error) {
	key, err := st.DeviceSecretKey(ctx)
	if err != nil {
		return "", err
	}
	secret := newDeviceSecret()
	d.SecretHash = store.HashSecret(key, []byte(secret))
	err = st.Apply(ctx, store.EnrollDevice{By: by, Device: *d})
	access.invalidate()
	return secret, err
}

// deviceInfo is a device as `device list` shows it (never the secret hash).
type deviceInfo struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	Name      string `json:"name"`
	Created   string `json:"created"`
	Revoked   bool   `json:"revoked"`
	Connected bool   `json:"connected"`
}

func (a *adminAPI) listDevices(w http.ResponseWriter, r *http.Request) {
	devs, err := a.store.Devices(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]deviceInfo, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceInfo{ID: d.ID, User: d.User, Name: d.Name, Created: d.Created.Format("2006-01-02T15:04:05Z"),
			Revoked: !d.Active(), Connected: a.devices != nil && a.devices.connected(d.ID)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *adminAPI) revokeDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !broker.ValidDeviceID(id) {
		a.writeError(w, r, &directory.FieldError{Field: "id", Reason: "is not a device id"})
		return
	}
	err := a.store.Apply(r.Context(), store.RevokeDevice{By: actorFrom(r.Context()), ID: id})
	a.access.invalidate()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	wiped := a.devices != nil && a.devices.wipe(r.Context(), id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true, "wiped": wiped})
}

func (a *adminAPI) wipeDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if a.devices == nil || !a.devices.connected(id) {
		a.writeError(w, r, fmt.Errorf("device %s is not connected: %w (revoke it to refuse it from now on)", id, directory.ErrNotFound))
		return
	}
	ev := actorFrom(r.Context()).Event("device.wipe", "device:"+id)
	if err := a.store.Record(r.Context(), ev); err != nil {
		a.writeError(w, r, err)
		return
	}
	wiped := a.devices.wipe(r.Context(), id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "wiped": wiped})
}

// authAuditor writes refused CONNECTs into the audit chain without holding
// up the broker: they pass through a buffer to one writer.
type authAuditor struct {
	store *store.Store
	ch    chan audit.Event
}

func newAuthAuditor(s *store.Store) *authAuditor {
	return &authAuditor{store: s, ch: make(chan audit.Event, 4096)}
}

// record queues one failure; when the buffer is full (a flood, which the
// broker's throttle also slows) it waits.
func (a *authAuditor) record(deviceID, remote, reason string) {
	e := audit.Actor{User: "device:" + deviceID, Device: deviceID, Source: remote}.Event("device.auth", "device:"+deviceID)
	e.Outcome, e.Reason = audit.OutcomeDenied, reason
	a.ch <- e
}

// run writes queued events until ctx is done.
func (a *authAuditor) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-a.ch:
			a.store.Submit(store.AuditOnly(e), func(error) {})
		}
	}
}
