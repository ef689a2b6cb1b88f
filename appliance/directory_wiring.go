package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// UserDisabledHook is called once a user's disabling is durable, by an
// AD sync or by `wardline user disable`: the user's devices are already
// revoked, wiped and disconnected. Web sign-in registers one to end the
// user's web sessions. It must not block for long.
type UserDisabledHook func(ctx context.Context, login string)

// userHooks holds the registered UserDisabledHooks.
type userHooks struct {
	mu       sync.Mutex
	disabled []UserDisabledHook
}

// OnUserDisabled registers h; call it before Run.
func (a *Appliance) OnUserDisabled(h UserDisabledHook) {
	a.hooks.mu.Lock()
	a.hooks.disabled = append(a.hooks.disabled, h)
	a.hooks.mu.Unlock()
}

// userDisabled runs the hooks for each login.
func (h *userHooks) userDisabled(ctx context.Context, logins ...string) {
	h.mu.Lock()
	hooks := append([]UserDisabledHook(nil), h.disabled...)
	h.mu.Unlock()
	for _, login := range logins {
		for _, f := range hooks {
			f(ctx, login)
		}
	}
}

// loadIndex fills the search index from the store: all users, the group
// names.
func loadIndex(ctx context.Context, st *store.Store, idx *directory.Index) error {
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	groups, err := st.Groups(ctx, false)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	idx.Load(users, names)
	return nil
}

// startDirectory builds the search index and, with [directory.ad], the AD
// sync, wired to revoke, wipe and disconnect the devices of users AD
// disables and to end their shared-device sessions.
func (a *Appliance) startDirectory(ctx context.Context) error {
	a.index = directory.NewIndex()
	if err := loadIndex(ctx, a.store, a.index); err != nil {
		return err
	}
	a.api.index = a.index
	if a.cfg.Directory.AD == nil {
		return nil
	}
	d, err := newDirectorySync(a.cfg.Directory.AD, a.store, a.index, a.log.With("component", "directory"))
	if err != nil {
		return err
	}
	d.disabled = func(ctx context.Context, logins, devices []string) {
		a.api.access.invalidate()
		a.wipeAll(ctx, devices)
		a.api.endSessions(logins...)
		for _, login := range logins {
			// Every web request checks that its user is enabled, so a
			// failure here only leaves a session that can do nothing.
			if err := endUserWebSessions(ctx, a.store, audit.System, login, "disabled in AD"); err != nil {
				a.log.Warn("ending the web sessions of a user AD disabled", "user", login, "err", err)
			}
		}
		a.hooks.userDisabled(ctx, logins...)
	}
	d.changed = func() {
		a.api.access.invalidate()
		groups, err := a.store.Groups(context.Background(), false)
		if err != nil {
			a.log.Warn("reloading group names for search", "err", err)
			return
		}
		names := make([]string, 0, len(groups))
		for _, g := range groups {
			names = append(names, g.Name)
		}
		a.index.SetGroups(names) // the users were put into the index as they were written
	}
	a.dir = d
	a.api.passwords = d
	return nil
}

// wipeAll sends wipe to the connected devices and disconnects them, 16 at
// a time (each waits briefly for its wipe to be written).
func (a *Appliance) wipeAll(ctx context.Context, devices []string) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, id := range devices {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a.api.out.wipe(ctx, id)
		}()
	}
	wg.Wait()
}

// reindexing keeps the search index current after successful changes
// through the admin API (AD syncs update it themselves): one user after
// `user add`, `user enable` or `user disable`; everything after a batch or
// a change of groups.
func reindexing(st *store.Store, idx *directory.Index, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if idx == nil || r.Method != http.MethodPost || !(strings.HasPrefix(p, "/v1/users") || strings.HasPrefix(p, "/v1/groups")) {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.status >= 300 {
			return
		}
		login := ""
		if rest, ok := strings.CutPrefix(p, "/v1/users/"); ok && rest != "batch" {
			login, _, _ = strings.Cut(rest, "/")
		} else if p == "/v1/users" {
			var u directory.User
			if json.Unmarshal(rec.body.Bytes(), &u) == nil {
				login = u.Login
			}
		}
		if l, err := directory.NormalizeLogin(login); err == nil {
			if u, err := st.User(l); err == nil {
				idx.Put(u)
				return
			}
		}
		_ = loadIndex(r.Context(), st, idx)
	})
}

// statusRecorder remembers the status a handler wrote, and a small body.
type statusRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

// WriteHeader implements http.ResponseWriter.
func (s *statusRecorder) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Write implements http.ResponseWriter, keeping up to 64 KiB.
func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.body.Len() < 64<<10 {
		s.body.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// directoryRequest is the body of POST /v1/directory/sync.
type directoryRequest struct {
	Full    bool `json:"full"`
	Confirm bool `json:"confirm"`
}

// errNoAD answers directory commands on an appliance without AD.
var errNoAD = errors.New("no [directory.ad] section in the config: this appliance has a local directory only")

func (a *adminAPI) directorySync(w http.ResponseWriter, r *http.Request) {
	var in directoryRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if a.dir == nil {
		writeJSON(w, http.StatusConflict, apiError{Error: errNoAD.Error(), Code: "no_ad"})
		return
	}
	st, err := a.dir.Sync(r.Context(), in.Full, in.Confirm)
	switch {
	case errors.Is(err, errGuardStopped):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error(), Code: "stopped"})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, apiError{Error: err.Error(), Code: "sync_failed"})
	default:
		writeJSON(w, http.StatusOK, syncResult{Status: st, Applied: true})
	}
}

func (a *adminAPI) directoryStatus(w http.ResponseWriter, r *http.Request) {
	if a.dir == nil {
		writeJSON(w, http.StatusConflict, apiError{Error: errNoAD.Error(), Code: "no_ad"})
		return
	}
	writeJSON(w, http.StatusOK, a.dir.Status())
}

func (a *adminAPI) directorySearch(w http.ResponseWriter, r *http.Request) {
	idx := a.index
	if idx == nil { // offline: build one from the store
		idx = directory.NewIndex()
		if err := loadIndex(r.Context(), a.store, idx); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, idx.Search(r.URL.Query().Get("q")))
}

// directoryCollector exports the sync's state to /metrics.
type directoryCollector struct{ d *directorySync }

var (
	descDirStopped  = prometheus.NewDesc("wardline_directory_sync_stopped", "1 while the safety guard holds a directory sync for 'wardline directory sync --confirm'.", nil, nil)
	descDirRuns     = prometheus.NewDesc("wardline_directory_sync_runs_total", "Directory syncs run.", nil, nil)
	descDirFailures = prometheus.NewDesc("wardline_directory_sync_failures_total", "Directory syncs that failed (AD unreachable, refused bind, store error).", nil, nil)
	descDirStops    = prometheus.NewDesc("wardline_directory_sync_stops_total", "Directory syncs the safety guard stopped.", nil, nil)
	descDirSuccess  = prometheus.NewDesc("wardline_directory_sync_last_success_seconds", "Unix time of the last applied directory sync.", nil, nil)
	descDirUsers    = prometheus.NewDesc("wardline_directory_ad_users", "Users read from AD at the last applied sync.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c directoryCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDirStopped, descDirRuns, descDirFailures, descDirStops, descDirSuccess, descDirUsers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c directoryCollector) Collect(ch chan<- prometheus.Metric) {
	if c.d == nil {
		return
	}
	st := c.d.Status()
	stopped := 0.0
	if st.Stopped {
		stopped = 1
	}
	last := 0.0
	if !st.LastSuccess.IsZero() {
		last = float64(st.LastSuccess.Unix())
	}
	ch <- prometheus.MustNewConstMetric(descDirStopped, prometheus.GaugeValue, stopped)
	ch <- prometheus.MustNewConstMetric(descDirRuns, prometheus.CounterValue, float64(c.d.runs.Load()))
	ch <- prometheus.MustNewConstMetric(descDirFailures, prometheus.CounterValue, float64(c.d.failures.Load()))
	ch <- prometheus.MustNewConstMetric(descDirStops, prometheus.CounterValue, float64(c.d.stops.Load()))
	ch <- prometheus.MustNewConstMetric(descDirSuccess, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(descDirUsers, prometheus.GaugeValue, float64(st.Users))
}
