package appliance

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// batchUser is one line of `user add --batch`.
type batchUser struct {
	Line int `json:"line"`
	newUser
}

// batchDevice is one line of `device enroll --batch`.
type batchDevice struct {
	Line int `json:"line"`
	enrollRequest
}

// batchEnrolled is one line of the output of `device enroll --batch`.
type batchEnrolled struct {
	Line int `json:"line"`
	enrolled
}

// maxBatch bounds one batch request (the admin API reads at most 1 MiB).
const maxBatch = 5000

func (a *adminAPI) addUsers(w http.ResponseWriter, r *http.Request) {
	var in []batchUser
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(in) == 0 || len(in) > maxBatch {
		a.writeError(w, r, fmt.Errorf("%w: a batch holds 1 to %d users", directory.ErrInvalid, maxBatch))
		return
	}
	cmd := store.AddUsers{By: actorFrom(r.Context())}
	seen := map[string]int{}
	for _, b := range in {
		u, err := directory.User{Login: b.Login, Name: b.Name, Email: b.Email, Department: b.Department, Title: b.Title}.Normalize()
		if err != nil {
			a.writeError(w, r, fmt.Errorf("line %d: %w", b.Line, err))
			return
		}
		if first, dup := seen[u.Login]; dup {
			a.writeError(w, r, fmt.Errorf("line %d: %w: user %s is on line %d too", b.Line, directory.ErrInvalid, u.Login, first))
			return
		}
		seen[u.Login] = b.Line
		cmd.Users, cmd.Lines = append(cmd.Users, u), append(cmd.Lines, b.Line)
	}
	if err := a.store.Apply(r.Context(), cmd); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int{"added": len(cmd.Users)})
}

func (a *adminAPI) enrollDevices(w http.ResponseWriter, r *http.Request) {
	var in []batchDevice
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(in) == 0 || len(in) > maxBatch {
		a.writeError(w, r, fmt.Errorf("%w: a batch holds 1 to %d devices", directory.ErrInvalid, maxBatch))
		return
	}
	key, err := a.store.DeviceSecretKey(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cmd := store.EnrollDevices{By: actorFrom(r.Context())}
	out := make([]batchEnrolled, 0, len(in))
	for _, b := range in {
		if b.Shared == (b.User != "") {
			a.writeError(w, r, fmt.Errorf("line %d: %w: give either a user or shared: true", b.Line, directory.ErrInvalid))
			return
		}
		d := store.Device{ID: newDeviceID(), Name: strings.TrimSpace(b.Name)}
		if b.User != "" {
			if d.User, err = directory.NormalizeLogin(b.User); err != nil {
				a.writeError(w, r, fmt.Errorf("line %d: %w", b.Line, err))
				return
			}
		}
		if len(d.Name) > 128 {
			a.writeError(w, r, fmt.Errorf("line %d: %w", b.Line, &directory.FieldError{Field: "name", Reason: "is longer than 128 characters"}))
			return
		}
		secret := newDeviceSecret()
		d.SecretHash = store.HashSecret(key, []byte(secret))
		cmd.Devices, cmd.Lines = append(cmd.Devices, d), append(cmd.Lines, b.Line)
		out = append(out, batchEnrolled{Line: b.Line, enrolled: enrolled{ID: d.ID, Secret: secret, User: d.User, Name: d.Name}})
	}
	err = a.store.Apply(r.Context(), cmd)
	a.access.invalidate()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}
