package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// adminAPI serves the admin commands over the admin socket (or in-process,
// when the appliance is not running). Every request acts as the local OS
// user that made it, and every change and read of personal data is audited
// by the store.
type adminAPI struct {
	store   *store.Store
	log     *slog.Logger
	status  func(context.Context) Status
	devices *deliveries  // nil when the appliance is not running
	access  *accessCache // cleared on every change of a device or user; nil when not running

	oncall *oncallService // on-call routing; nil when not running (built from the store per request)
	esc    *escalations   // escalations and alerts; nil when not running
	// The directory: the running appliance's search index and AD sync (nil
	// offline or without AD), and the hooks for a disabled user.
	index        *directory.Index
	dir          *directorySync
	userDisabled func(ctx context.Context, logins ...string)
}

// handler routes the admin API.
func (a *adminAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.getStatus)
	mux.HandleFunc("GET /v1/users", a.listUsers)
	mux.HandleFunc("POST /v1/users", a.addUser)
	mux.HandleFunc("POST /v1/users/{login}/disable", a.setEnabled(false))
	mux.HandleFunc("POST /v1/users/{login}/enable", a.setEnabled(true))
	mux.HandleFunc("POST /v1/audit/verify", a.verifyAudit)
	mux.HandleFunc("GET /v1/audit/export", a.exportAudit)
	mux.HandleFunc("GET /v1/backup", a.backup)
	mux.HandleFunc("POST /v1/key/rotate", a.rotateKey)
	mux.HandleFunc("POST /v1/devices", a.enrollDevice)
	mux.HandleFunc("POST /v1/devices/batch", a.enrollDevices)
	mux.HandleFunc("POST /v1/users/batch", a.addUsers)
	mux.HandleFunc("GET /v1/devices", a.listDevices)
	mux.HandleFunc("POST /v1/devices/{id}/revoke", a.revokeDevice)
	mux.HandleFunc("POST /v1/devices/{id}/wipe", a.wipeDevice)
	mux.HandleFunc("POST /v1/groups", a.addGroup(false))
	mux.HandleFunc("GET /v1/groups", a.listGroups(false))
	mux.HandleFunc("POST /v1/groups/{name}/members", a.changeMembers(false))
	mux.HandleFunc("POST /v1/roles", a.addGroup(true))
	mux.HandleFunc("GET /v1/roles", a.listGroups(true))
	mux.HandleFunc("POST /v1/roles/{name}/members", a.changeMembers(true))
	a.oncallRoutes(mux)
	mux.HandleFunc("POST /v1/directory/sync", a.directorySync)
	mux.HandleFunc("GET /v1/directory/status", a.directoryStatus)
	mux.HandleFunc("GET /v1/directory/search", a.directorySearch)
	mux.HandleFunc("POST /v1/admins", a.addAdmin)
	mux.HandleFunc("POST /v1/users/{login}/pin", a.setUserPIN)
	a.tokenRoutes(mux)
	// Profiles for support engineers, on the owner-only admin socket alone.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return reindexing(a.store, a.index, mux)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// writeError maps an error to an HTTP status and a stable code.
func (a *adminAPI) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(err, directory.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, directory.ErrExists):
		status, code = http.StatusConflict, "exists"
	case errors.Is(err, directory.ErrReadOnly):
		status, code = http.StatusConflict, "read_only"
	case errors.Is(err, directory.ErrInvalid):
		status, code = http.StatusBadRequest, "invalid"
	case errors.Is(err, store.ErrDeviceRevoked):
		status, code = http.StatusConflict, "revoked"
	case errors.Is(err, store.ErrDiskFull):
		status, code = http.StatusInsufficientStorage, "disk_full"
	case errors.Is(err, store.ErrClosed):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	if status >= 500 {
		a.log.Error("admin request failed", "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, apiError{Error: err.Error(), Code: code})
}

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a request body of at most 1 MiB, refusing unknown fields.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %v", directory.ErrInvalid, err)
	}
	return nil
}

func (a *adminAPI) getStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.status(r.Context()))
}

func (a *adminAPI) listUsers(w http.ResponseWriter, r *http.Request) {
	by := actorFrom(r.Context())
	if err := a.store.Record(r.Context(), by.Event("user.list", "users:*")); err != nil {
		a.writeError(w, r, err)
		return
	}
	users, err := a.store.Users(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if users == nil {
		users = []directory.User{}
	}
	writeJSON(w, http.StatusOK, users)
}

// newUser is the body of POST /v1/users.
type newUser struct {
	Login      string `json:"login"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	Department string `json:"department"`
	Title      string `json:"title"`
}

func (a *adminAPI) addUser(w http.ResponseWriter, r *http.Request) {
	var in newUser
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := directory.User{Login: in.Login, Name: in.Name, Email: in.Email, Department: in.Department, Title: in.Title}.Normalize()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.Apply(r.Context(), store.AddUser{By: actorFrom(r.Context()), User: u}); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err = a.store.User(u.Login)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (a *adminAPI) setEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		login, err := directory.NormalizeLogin(r.PathValue("login"))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		cmd := &store.SetUserEnabled{By: actorFrom(r.Context()), Login: login, Enabled: enabled}
		err = a.store.Apply(r.Context(), cmd)
		a.access.invalidate()
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if a.devices != nil {
			for _, id := range cmd.Revoked {
				a.devices.wipe(r.Context(), id)
			}
		}
		if !enabled {
			if err := endUserWebSessions(r.Context(), a.store, actorFrom(r.Context()), login, "user disabled"); err != nil {
				a.writeError(w, r, err)
				return
			}
			if a.userDisabled != nil {
				a.userDisabled(r.Context(), login)
			}
		}
		u, err := a.store.User(login)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	}
}

// verifyResult is the answer of POST /v1/audit/verify.
type verifyResult struct {
	OK       bool   `json:"ok"`
	Events   uint64 `json:"events"`
	FirstBad uint64 `json:"first_bad,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (a *adminAPI) verifyAudit(w http.ResponseWriter, r *http.Request) {
	n, err := a.store.VerifyAudit(r.Context())
	res := verifyResult{OK: err == nil, Events: n}
	var b *audit.BreakError
	switch {
	case errors.As(err, &b):
		res.FirstBad, res.Error = b.Seq, b.Error()
	case err != nil:
		a.writeError(w, r, err)
		return
	}
	ev := actorFrom(r.Context()).Event("audit.verify", "audit:*")
	if err != nil {
		ev.Outcome, ev.Reason = audit.OutcomeFailed, res.Error
	}
	if rerr := a.store.Record(r.Context(), ev); rerr != nil {
		a.writeError(w, r, rerr)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *adminAPI) exportAudit(w http.ResponseWriter, r *http.Request) {
	var since, until time.Time
	for name, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				a.writeError(w, r, fmt.Errorf("%w: --%s: not an RFC 3339 time (2026-11-23T20:00:00Z)", directory.ErrInvalid, name))
				return
			}
			*dst = t
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Trailer", trailerStatus)
	enc := json.NewEncoder(w)
	started := false
	err := a.store.ExportAudit(r.Context(), actorFrom(r.Context()), since, until, func(e audit.Event) error {
		started = true
		return enc.Encode(e)
	})
	if err != nil && !started {
		w.Header().Del("Trailer")
		a.writeError(w, r, err)
		return
	}
	w.Header().Set(trailerStatus, trailerValue(err))
}

// trailerStatus is the trailer that says whether a streamed answer (backup,
// export) is complete: "ok" or the error.
const trailerStatus = "Wardline-Status"

func trailerValue(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func (a *adminAPI) backup(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", trailerStatus)
	info, err := a.store.Backup(r.Context(), w, actorFrom(r.Context()), name)
	if err == nil {
		a.log.Info("backup taken", "instance", info.Instance, "audit_seq", info.AuditHead.Seq)
	}
	w.Header().Set(trailerStatus, trailerValue(err))
}

// rotateResult is the answer of POST /v1/key/rotate.
type rotateResult struct {
	KeyID   string `json:"key_id"`
	Retired string `json:"retired"`
}

func (a *adminAPI) rotateKey(w http.ResponseWriter, r *http.Request) {
	retired, err := a.store.RotateKey(r.Context(), actorFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.Info("store key rotated", "key_id", a.store.KeyID())
	writeJSON(w, http.StatusOK, rotateResult{KeyID: a.store.KeyID(), Retired: retired})
}
