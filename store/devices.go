package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// Device is an enrolled badge, phone or workstation. Its secret is kept only
// as a keyed hash (HMAC-SHA-256 with a key held in the encrypted store):
// enrolment secrets are 256 random bits, which no one can guess, so a fast
// keyed hash is as safe as a slow one and lets 10,000 devices reconnect at
// once (see docs/architecture.md).
type Device struct {
	ID         string    `json:"id"`
	User       string    `json:"user"` // the owner's login; "" for a shared device
	Name       string    `json:"name"`
	SecretHash string    `json:"secret_hash"`
	Created    time.Time `json:"created"`
	Revoked    time.Time `json:"revoked,omitzero"`
}

// Active reports whether the device may connect (as far as the device goes;
// its user must be enabled too).
func (d Device) Active() bool { return d.Revoked.IsZero() }

// ErrDeviceRevoked is returned for a revoked device.
var ErrDeviceRevoked = errors.New("device revoked")

func deviceKey(id string) []byte { return []byte(prefixDevice + id) }

// userDevicesKey holds the ids of a user's active devices: one key, read
// with a Get, because a prefix scan inside a busy write transaction makes
// Badger sort all of the batch's pending writes (measured: a third of the
// CPU at 1,500 messages/s).
func userDevicesKey(login string) []byte { return []byte(prefixUserDevice + login) }

// getDevice reads a device inside a command.
func getDevice(r getter, id string) (Device, error) {
	b, err := r.Get(deviceKey(id))
	if errors.Is(err, ErrNotFound) {
		return Device{}, fmt.Errorf("device %s: %w", id, directory.ErrNotFound)
	}
	if err != nil {
		return Device{}, err
	}
	var d Device
	if err := json.Unmarshal(b, &d); err != nil {
		return Device{}, fmt.Errorf("device %s: decode: %w", id, err)
	}
	return d, nil
}

// getter is what reads a key: a Txn or a Reader.
type getter interface {
	Get(key []byte) ([]byte, error)
}

func putDevice(tx *Txn, d Device) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tx.Set(deviceKey(d.ID), b)
	if d.User != "" && d.Active() {
		ids, err := userDevices(tx, d.User)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, d.ID) {
			return setUserDevices(tx, d.User, append(ids, d.ID))
		}
	}
	return nil
}

// userDevices lists the ids of a user's devices that are not revoked, in
// enrolment order.
func userDevices(r getter, login string) ([]string, error) {
	ids, err := getDecoded(r, userDevicesKey(login), slices.Clone[[]string])
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return ids, err
}

func setUserDevices(tx *Txn, login string, ids []string) error {
	if len(ids) == 0 {
		tx.Delete(userDevicesKey(login))
		return nil
	}
	return putJSON(tx, userDevicesKey(login), ids)
}

// DeviceSecretKey returns the key that device secrets are hashed with,
// creating it on first use.
func (s *Store) DeviceSecretKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.View(func(r *Reader) error {
		var err error
		key, err = r.Get([]byte(keyDeviceHMAC))
		return err
	})
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	c := &createHMACKey{}
	if err := s.Apply(ctx, c); err != nil {
		return nil, err
	}
	return c.key, nil
}

// createHMACKey creates the device-secret hashing key unless it exists.
type createHMACKey struct{ key []byte }

func (c *createHMACKey) Event() audit.Event {
	return audit.System.Event("key.create", "key:device-secrets")
}
func (c *createHMACKey) Apply(tx *Txn) error {
	if k, err := tx.Get([]byte(keyDeviceHMAC)); err == nil {
		c.key = k
		return nil
	}
	c.key = make([]byte, 32)
	if _, err := rand.Read(c.key); err != nil {
		return err
	}
	tx.Set([]byte(keyDeviceHMAC), c.key)
	return nil
}

// HashSecret is the stored form of a device secret.
func HashSecret(key []byte, secret []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("wardline-device-secret-v1\x00"))
	m.Write(secret)
	return hex.EncodeToString(m.Sum(nil))
}

// EnrollDevice adds a device. Its id and the hash of its secret are chosen
// before the command is applied. A personal device needs an enabled user.
type EnrollDevice struct {
	By     audit.Actor
	Device Device
}

// Event implements Command.
func (c EnrollDevice) Event() audit.Event {
	objs := []string{"device:" + c.Device.ID}
	if c.Device.User != "" {
		objs = append(objs, "user:"+c.Device.User)
	}
	return c.By.Event("device.enroll", objs...)
}

// Apply implements Command.
func (c EnrollDevice) Apply(tx *Txn) error {
	if _, err := getDevice(tx, c.Device.ID); err == nil {
		return fmt.Errorf("device %s: %w", c.Device.ID, directory.ErrExists)
	}
	if c.Device.User != "" {
		u, err := getUser(tx, c.Device.User)
		if err != nil {
			return err
		}
		if !u.Enabled {
			return fmt.Errorf("%w: user %s is disabled", directory.ErrInvalid, u.Login)
		}
	}
	d := c.Device
	d.Created, d.Revoked = tx.Now(), time.Time{}
	return putDevice(tx, d)
}

// RevokeDevice revokes a device: it may not connect again. The appliance
// then sends it `wipe` and disconnects it. Revoking a revoked device is an
// error wrapping ErrDeviceRevoked.
type RevokeDevice struct {
	By audit.Actor
	ID string
}

// Event implements Command.
func (c RevokeDevice) Event() audit.Event { return c.By.Event("device.revoke", "device:"+c.ID) }

// Apply implements Command.
func (c RevokeDevice) Apply(tx *Txn) error {
	d, err := getDevice(tx, c.ID)
	if err != nil {
		return err
	}
	if !d.Active() {
		return fmt.Errorf("device %s: %w", c.ID, ErrDeviceRevoked)
	}
	return revokeDevice(tx, d)
}

// revokeDevice marks d revoked and drops what was queued for it; a shared
// device's user is signed out of it.
func revokeDevice(tx *Txn, d Device) error {
	d.Revoked = tx.Now()
	if s, ok, err := getSharedSession(tx, d.ID); err != nil {
		return err
	} else if ok {
		if err := endSharedSession(tx, s); err != nil {
			return err
		}
		ev := audit.System.Event("session.signout", "device:"+d.ID, "user:"+s.User)
		ev.Reason = "device revoked"
		tx.Audit(ev)
	}
	if d.User != "" {
		ids, err := userDevices(tx, d.User)
		if err != nil {
			return err
		}
		if err := setUserDevices(tx, d.User, slices.DeleteFunc(ids, func(id string) bool { return id == d.ID })); err != nil {
			return err
		}
	}
	if err := clearQueue(tx, d.ID); err != nil {
		return err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tx.Set(deviceKey(d.ID), b)
	return nil
}

// Devices returns every device, in id order.
func (s *Store) Devices(ctx context.Context) ([]Device, error) {
	return listJSON[Device](s, ctx, prefixDevice)
}

// DeviceAccess says whether a device may connect, and as whom: its record
// and its user (zero for a shared device).
func (s *Store) DeviceAccess(id string) (Device, directory.User, error) {
	var d Device
	var u directory.User
	err := s.View(func(r *Reader) error {
		var err error
		if d, err = getDevice(r, id); err != nil {
			return err
		}
		if d.User == "" {
			return nil
		}
		b, err := r.Get(userKey(d.User))
		if err != nil {
			return fmt.Errorf("device %s: user %s: %w", id, d.User, err)
		}
		return json.Unmarshal(b, &u)
	})
	return d, u, err
}
