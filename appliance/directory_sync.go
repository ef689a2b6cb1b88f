package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/ldapsync"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// syncChunk is how many user changes one store command of a sync holds:
// a first full sync of 10,000 users is too big for one Badger transaction.
const syncChunk = 1000

// DirectoryStatus is `wardline directory status --json` (docs/cli.md).
type DirectoryStatus struct {
	LastRun     time.Time `json:"last_run,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	DurationMS  int64     `json:"duration_ms"`
	Users       int       `json:"users"`
	Groups      int       `json:"groups"`
	Departments int       `json:"departments"` // distinct departments of enabled AD users
	Disabled    int       `json:"disabled"`
	Error       string    `json:"error"`
	Stopped     bool      `json:"stopped"`
	StopReason  string    `json:"stop_reason,omitempty"`
	Full        bool      `json:"full"`                // the last run read everything
	Changes     int       `json:"changes"`             // users and groups the last applied run wrote
	Conflicts   []string  `json:"conflicts,omitempty"` // AD names held by local users or groups
}

// syncResult is the answer of POST /v1/directory/sync.
type syncResult struct {
	Status  DirectoryStatus `json:"status"`
	Applied bool            `json:"applied"`
}

// errGuardStopped says the safety guard stopped a sync.
var errGuardStopped = errors.New("the directory sync was stopped by the safety guard")

// directorySync keeps the users and groups in the store in step with
// Active Directory: a full read at start, then the changes every
// sync_interval. AD that cannot be reached leaves the last good directory
// in place.
type directorySync struct {
	reader   *ldapsync.Reader
	store    *store.Store
	index    *directory.Index
	log      *slog.Logger
	interval time.Duration
	maxShare float64
	now      func() time.Time
	// disabled is called with the logins a sync disabled and the devices it
	// revoked, after the change is durable.
	disabled func(ctx context.Context, logins, devices []string)
	// changed is called after a sync changed groups or disabled users.
	changed func()

	mu       sync.Mutex // one sync at a time
	needFull bool       // the next run reads everything (start, a failed write)

	smu    sync.Mutex
	status DirectoryStatus

	runs, failures, stops atomic.Uint64
}

// newDirectorySync builds the sync from the [directory.ad] section. It
// reads the bind password file; it does not connect.
func newDirectorySync(ad *ADConfig, st *store.Store, idx *directory.Index, log *slog.Logger) (*directorySync, error) {
	pw, err := os.ReadFile(ad.BindPasswordFile)
	if err != nil {
		return nil, fmt.Errorf("directory.ad.bind_password_file: %w", err)
	}
	r, err := ldapsync.New(ldapsync.Config{URL: ad.URL, StartTLS: ad.StartTLS, CAFile: ad.CAFile, InsecureSkipVerify: ad.InsecureSkipVerify,
		BindDN: ad.BindDN, BindPassword: strings.TrimRight(string(pw), "\r\n"), BaseDN: ad.BaseDN,
		UserFilter: ad.UserFilter, GroupFilter: ad.GroupFilter, Timeout: ad.Timeout.Duration})
	if err != nil {
		return nil, err
	}
	if ad.InsecureSkipVerify {
		log.Warn("directory.ad.insecure_skip_verify is set: the domain controller's certificate is not checked; use it in a lab only")
	}
	return &directorySync{reader: r, store: st, index: idx, log: log, interval: ad.SyncInterval.Duration,
		maxShare: ad.MaxDisableShare, now: time.Now, needFull: true}, nil
}

// Run syncs at start and then every interval until ctx is done. Failures
// are logged and kept in the status; they never stop the appliance.
func (s *directorySync) Run(ctx context.Context) error {
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		if _, err := s.Sync(ctx, false, false); err != nil && ctx.Err() == nil && !errors.Is(err, errGuardStopped) {
			s.log.Warn("directory sync failed; the last good directory stays in use", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Status returns the status of the last run.
func (s *directorySync) Status() DirectoryStatus {
	s.smu.Lock()
	defer s.smu.Unlock()
	st := s.status
	st.Conflicts = slices.Clone(st.Conflicts)
	return st
}

// Sync runs one sync and waits for it. full reads everything; confirm
// applies a sync that the safety guard would stop.
func (s *directorySync) Sync(ctx context.Context, full, confirm bool) (DirectoryStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.now()
	s.runs.Add(1)
	full = full || confirm || s.needFull
	if _, ok := s.store.SyncInProgress(); ok {
		full = true
	}
	err := s.syncLocked(ctx, full, confirm, start)
	s.smu.Lock()
	s.status.LastRun, s.status.DurationMS, s.status.Full = start, s.now().Sub(start).Milliseconds(), full
	switch {
	case err == nil:
		s.status.LastSuccess, s.status.Error, s.status.Stopped, s.status.StopReason = start, "", false, ""
	case errors.Is(err, errGuardStopped):
		s.status.Error = ""
	default:
		s.failures.Add(1)
		s.status.Error = err.Error()
	}
	st := s.status
	s.smu.Unlock()
	return st, err
}

// stop records a guarded stop: status, metric and log.
func (s *directorySync) stop(reason string) error {
	s.stops.Add(1)
	s.smu.Lock()
	s.status.Stopped, s.status.StopReason = true, reason
	s.smu.Unlock()
	s.log.Error("directory sync stopped by the safety guard; nothing was changed. Check AD, then run 'wardline directory sync --confirm' to apply it", "reason", reason)
	return fmt.Errorf("%w: %s; nothing was changed (run 'wardline directory sync --confirm' to apply it)", errGuardStopped, reason)
}

func (s *directorySync) syncLocked(ctx context.Context, full, confirm bool, now time.Time) error {
	d, rs, err := s.reader.Read(ctx, full, now)
	if err != nil {
		return err
	}
	readDone := s.now()
	current, err := s.store.Users(ctx)
	if err != nil {
		return err
	}
	ad := make([]directory.User, 0, len(d.Users))
	managers := map[string]string{}
	disabled := 0
	for _, u := range d.Users {
		ad = append(ad, u.User)
		if u.ManagerGUID != "" {
			managers[u.GUID] = u.ManagerGUID
		}
		if !u.Enabled {
			disabled++
		}
	}
	plan := directory.PlanSync(current, ad, managers)
	if !confirm {
		if len(ad) == 0 {
			return s.stop("AD returned no users under directory.ad.base_dn")
		}
		if share := plan.DisableShare(); share > s.maxShare {
			return s.stop(fmt.Sprintf("the sync would disable %d of %d enabled users (%.1f%%, more than max_disable_share %.1f%%)",
				plan.Disabling, plan.Enabled, 100*share, 100*s.maxShare))
		}
	}
	groups, gone, err := s.groupChanges(ctx, d, plan)
	if err != nil {
		return err
	}
	planned := s.now()
	if err := s.apply(ctx, plan.Changes, groups, gone); err != nil {
		s.needFull = true // the mirror moved on; read everything again
		return err
	}
	s.log.Debug("directory sync timings", "full", rs.Full, "entries_read", rs.Users+rs.Groups,
		"read_ms", readDone.Sub(now).Milliseconds(), "plan_ms", planned.Sub(readDone).Milliseconds(), "write_ms", s.now().Sub(planned).Milliseconds())
	s.needFull = false
	s.smu.Lock()
	s.status.Users, s.status.Groups, s.status.Disabled = len(ad), len(d.Groups), disabled
	s.status.Departments = len(directory.Departments(ad))
	s.status.Changes = len(plan.Changes) + len(groups) + len(gone)
	s.status.Conflicts = plan.Conflicts
	s.smu.Unlock()
	return nil
}

// groupChanges returns the AD groups to write (new or changed) and the AD
// groups gone from AD.
func (s *directorySync) groupChanges(ctx context.Context, d *ldapsync.Directory, plan directory.SyncPlan) ([]store.Group, []string, error) {
	have, err := s.store.Groups(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	byName := make(map[string]store.Group, len(have))
	for _, g := range have {
		byName[g.Name] = g
	}
	var write []store.Group
	seen := map[string]bool{}
	for _, g := range d.Groups {
		name, ok := messaging.NormalizeName(g.Name)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		members := make([]string, 0, len(g.Members))
		for _, guid := range g.Members {
			if l, ok := plan.LoginOf[guid]; ok {
				members = append(members, l)
			}
		}
		slices.Sort(members)
		members = slices.Compact(members)
		if old, ok := byName[name]; ok && old.Source == directory.SourceAD && slices.Equal(old.Members, members) {
			continue
		}
		write = append(write, store.Group{Name: name, Members: members})
	}
	var gone []string
	for _, g := range have {
		if g.Source == directory.SourceAD && !seen[g.Name] {
			gone = append(gone, g.Name)
		}
	}
	return write, gone, nil
}

// apply writes the changes: one command when they fit, else chunks of
// syncChunk users with the groups in the last (see docs/architecture.md,
// "Directory sync").
func (s *directorySync) apply(ctx context.Context, changes []directory.UserChange, groups []store.Group, gone []string) error {
	if len(changes) == 0 && len(groups) == 0 && len(gone) == 0 {
		return nil
	}
	by := audit.System
	gen := strconv.FormatInt(s.now().UnixNano(), 36)
	var logins, devices, conflicts []string
	for i := 0; ; i += syncChunk {
		end := min(i+syncChunk, len(changes))
		cmd := &store.SyncDirectory{By: by, Gen: gen, Users: changes[i:end], Final: end == len(changes)}
		if cmd.Final {
			cmd.Groups, cmd.DeleteGroups = groups, gone
		}
		err := s.store.Apply(ctx, cmd)
		if err == nil {
			skipped := map[string]bool{}
			for _, c := range cmd.Conflicts {
				skipped[c] = true
			}
			users := make([]directory.User, 0, len(cmd.Users))
			for _, c := range cmd.Users {
				if !skipped["user:"+c.User.Login] {
					users = append(users, c.User)
				}
			}
			s.index.Put(users...)
			logins, devices = append(logins, cmd.Disabled...), append(devices, cmd.Revoked...)
			conflicts = append(conflicts, cmd.Conflicts...)
		}
		if err != nil || cmd.Final {
			if len(logins) > 0 && s.disabled != nil {
				s.disabled(ctx, logins, devices)
			}
			if s.changed != nil && (len(groups) > 0 || len(gone) > 0 || len(logins) > 0) {
				s.changed()
			}
			if len(conflicts) > 0 {
				s.log.Warn("AD names held by local users or groups were left alone", "names", conflicts)
			}
			if err != nil {
				return fmt.Errorf("writing the directory: %w", err)
			}
			s.log.Info("directory sync applied", "users", len(changes), "groups", len(groups), "groups_removed", len(gone), "disabled", len(logins))
			return nil
		}
	}
}

// authenticate checks a password against AD for session.signin.
func (s *directorySync) authenticate(ctx context.Context, u directory.User, password string) error {
	return s.reader.Authenticate(ctx, u.DN, u.UPN, password)
}
