package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
)

// oncallRoutes adds the on-call, policy and alert routes to the admin API.
func (a *adminAPI) oncallRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/oncall/shifts", a.addShifts)
	mux.HandleFunc("POST /v1/oncall/import", a.importSchedule)
	mux.HandleFunc("POST /v1/oncall/rotations", a.addRotation)
	mux.HandleFunc("POST /v1/oncall/swap", a.swapShifts)
	mux.HandleFunc("DELETE /v1/oncall/shifts/{role}/{id}", a.removeShift)
	mux.HandleFunc("GET /v1/oncall/who", a.who)
	mux.HandleFunc("GET /v1/oncall/schedule", a.roleSchedule)
	mux.HandleFunc("GET /v1/oncall/gaps", a.gaps)
	mux.HandleFunc("GET /v1/schedule/export", a.exportSchedule)
	mux.HandleFunc("POST /v1/schedule/feed", a.newFeed)
	mux.HandleFunc("POST /v1/policies", a.putPolicy)
	mux.HandleFunc("GET /v1/policies", a.listPolicies)
	mux.HandleFunc("POST /v1/policies/attach", a.attachPolicy)
	mux.HandleFunc("POST /v1/alerts", a.raiseAlert)
	mux.HandleFunc("GET /v1/alerts", a.listAlerts)
}

// schedules returns the running appliance's on-call service, or one
// loaded from the store for this request when the appliance is not running.
func (a *adminAPI) schedules(ctx context.Context) (*oncallService, error) {
	if a.oncall != nil {
		return a.oncall, nil
	}
	o := newOncallService(a.store, a.log)
	return o, o.load(ctx)
}

// changed reloads what a command changed into the running service.
func (a *adminAPI) changed(roles ...string) { a.oncall.changed(roles...) }

// changed reloads what a command changed (the roles' schedules, the
// statuses and policy attachments); nothing when o is nil.
func (o *oncallService) changed(roles ...string) {
	if o != nil {
		o.reloadRoles(roles...)
		_ = o.reloadSettings(context.Background())
	}
}

// shiftIn is one shift as the admin API takes it.
type shiftIn struct {
	Role  string    `json:"role"`
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Kind  string    `json:"kind,omitempty"` // shift (default) or override
	Note  string    `json:"note,omitempty"`
}

// shift checks and normalizes s into a new shift (field names it in the
// error), for the admin API and the admin console alike.
func (s shiftIn) shift(field string, now time.Time) (oncall.Shift, error) {
	layer, ok := oncall.ParseLayer(s.Kind)
	role, rok := messaging.NormalizeName(s.Role)
	login, lerr := directory.NormalizeLogin(s.User)
	if !ok || !rok || lerr != nil {
		return oncall.Shift{}, &directory.FieldError{Field: field, Reason: "needs a valid role, user and kind (shift or override)"}
	}
	return oncall.Shift{ID: newID("shf_", now), Role: role, User: login, Start: s.Start.UTC(), End: s.End.UTC(), Layer: layer, Note: s.Note}, nil
}

type shiftsRequest struct {
	Shifts []shiftIn `json:"shifts"`
	Source string    `json:"source,omitempty"`
}

func (a *adminAPI) addShifts(w http.ResponseWriter, r *http.Request) {
	var in shiftsRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	now := time.Now()
	var shifts []oncall.Imported
	for i, s := range in.Shifts {
		sh, err := s.shift(fmt.Sprintf("shifts[%d]", i), now)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		shifts = append(shifts, oncall.Imported{Line: i + 1, Shift: sh})
	}
	source := in.Source
	if source == "" {
		source = "set"
	}
	a.applyShifts(w, r, shifts, source)
}

func (a *adminAPI) applyShifts(w http.ResponseWriter, r *http.Request, shifts []oncall.Imported, source string) {
	if len(shifts) == 0 {
		a.writeError(w, r, &directory.FieldError{Field: "shifts", Reason: "none given"})
		return
	}
	cmd := &store.AddShifts{By: actorFrom(r.Context()), Shifts: shifts, Source: source}
	if err := a.store.Apply(r.Context(), cmd); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.changed(cmd.Roles...)
	ids := make([]string, 0, len(shifts))
	for _, s := range shifts {
		ids = append(ids, s.ID)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"added": len(shifts), "roles": cmd.Roles, "ids": ids})
}

// importRequest is the body of POST /v1/oncall/import.
type importRequest struct {
	Format string `json:"format"` // csv or ical
	Data   string `json:"data"`
	Role   string `json:"role,omitempty"` // ical: the role of events without X-WARDLINE-ROLE
}

// maxImport is the largest schedule file the admin API takes.
const maxImport = 64 << 20

func (a *adminAPI) importSchedule(w http.ResponseWriter, r *http.Request) {
	var in importRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxImport)).Decode(&in); err != nil {
		a.writeError(w, r, fmt.Errorf("%w: request body: %v", directory.ErrInvalid, err))
		return
	}
	var shifts []oncall.Imported
	var err error
	switch in.Format {
	case "csv":
		shifts, err = oncall.ParseCSV([]byte(in.Data))
	case "ical":
		byEmail := map[string]string{}
		users, uerr := a.store.Users(r.Context())
		if uerr != nil {
			a.writeError(w, r, uerr)
			return
		}
		for _, u := range users {
			if u.Email != "" {
				byEmail[strings.ToLower(u.Email)] = u.Login
			}
		}
		shifts, err = oncall.ParseICal([]byte(in.Data), oncall.ICalOptions{Role: in.Role, Horizon: time.Now().Add(oncall.WindowAfter),
			UserByEmail: func(e string) (string, bool) { l, ok := byEmail[e]; return l, ok }})
	default:
		err = &directory.FieldError{Field: "format", Reason: "must be csv or ical"}
	}
	var ie *oncall.ImportError
	if errors.As(err, &ie) {
		// Report every bad line at once: the parsed lines' store checks too.
		more, cerr := a.store.CheckShifts(shifts)
		if cerr != nil {
			a.writeError(w, r, cerr)
			return
		}
		ie.Lines = mergeLines(ie.Lines, more)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	now := time.Now()
	for i := range shifts {
		shifts[i].ID = newID("shf_", now)
	}
	a.applyShifts(w, r, shifts, in.Format)
}

func (a *adminAPI) addRotation(w http.ResponseWriter, r *http.Request) {
	var in oncall.Rotation
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	role, ok := messaging.NormalizeName(in.Role)
	if !ok {
		a.writeError(w, r, &directory.FieldError{Field: "role", Reason: "is not a valid role name"})
		return
	}
	in.Role, in.ID = role, newID("rot_", time.Now())
	for i, u := range in.Users {
		login, err := directory.NormalizeLogin(u)
		if err != nil {
			a.writeError(w, r, &directory.FieldError{Field: "users", Reason: "holds an invalid login"})
			return
		}
		in.Users[i] = login
	}
	if err := in.Validate(); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.Apply(r.Context(), store.AddRotation{By: actorFrom(r.Context()), Rotation: in}); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.changed(role)
	writeJSON(w, http.StatusCreated, in)
}

type swapRequest struct {
	Role string    `json:"role"`
	A    time.Time `json:"a"`
	B    time.Time `json:"b"`
}

func (a *adminAPI) swapShifts(w http.ResponseWriter, r *http.Request) {
	var in swapRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.schedules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	now := time.Now()
	pair, err := oncall.Swap(o.index, in.Role, in.A, in.B, [2]string{newID("shf_", now), newID("shf_", now)})
	if errors.Is(err, oncall.ErrNoCover) {
		err = fmt.Errorf("%v: %w", err, directory.ErrInvalid)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.applyShifts(w, r, []oncall.Imported{{Line: 1, Shift: pair[0]}, {Line: 2, Shift: pair[1]}}, "swap")
}

func (a *adminAPI) removeShift(w http.ResponseWriter, r *http.Request) {
	role, id := r.PathValue("role"), r.PathValue("id")
	if err := a.store.Apply(r.Context(), store.RemoveShift{By: actorFrom(r.Context()), Role: role, ID: id}); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.changed(role)
	writeJSON(w, http.StatusOK, map[string]string{"removed": id})
}

// whoAnswer is the answer of GET /v1/oncall/who (and oncall who --json).
type whoAnswer struct {
	Role      string        `json:"role"`
	At        time.Time     `json:"at"`
	User      string        `json:"user,omitempty"`      // who a message sent at At reaches; "" for nobody
	Source    string        `json:"source"`              // schedule, fallback (fixed members) or none
	Scheduled string        `json:"scheduled,omitempty"` // the person on the schedule, when a status forwards
	Status    string        `json:"status,omitempty"`
	Shift     *oncall.Entry `json:"shift,omitempty"`
	Next      *oncall.Entry `json:"next,omitempty"`
}

// parseAt reads an optional RFC 3339 time query parameter.
func parseAt(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &directory.FieldError{Field: name, Reason: "must be an RFC 3339 time such as 2026-03-29T02:30:00+02:00"}
	}
	return t.UTC(), nil
}

func (a *adminAPI) who(w http.ResponseWriter, r *http.Request) {
	role, ok := messaging.NormalizeName(r.URL.Query().Get("role"))
	if !ok {
		a.writeError(w, r, &directory.FieldError{Field: "role", Reason: "is not a valid role name"})
		return
	}
	at, err := parseAt(r, "at", time.Now().UTC())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	members, exists := a.store.RoleMembers(role)
	if !exists {
		a.writeError(w, r, fmt.Errorf("role %s: %w", role, directory.ErrNotFound))
		return
	}
	o, err := a.schedules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ans := o.who(role, members, at)
	writeJSON(w, http.StatusOK, ans)
}

// who answers who a message to role sent at at reaches: the person on
// call (after their status), else the first enabled fixed member; with
// the shift after it.
func (o *oncallService) who(role string, members []string, at time.Time) whoAnswer {
	ans := whoAnswer{Role: role, At: at, Source: "none"}
	if e, ok := o.index.Who(role, at); ok {
		ans.Shift, ans.Source = &e, "schedule"
		ans.User = o.forward(e.User, false)
		if ans.User != e.User {
			ans.Scheduled = e.User
		}
	} else {
		for _, m := range members {
			if u, err := o.store.User(m); err == nil && u.Enabled {
				ans.User, ans.Source = m, "fallback"
				break
			}
		}
	}
	if n, ok := o.index.Next(role, at); ok {
		ans.Next = &n
	}
	if ans.User != "" {
		ans.Status = o.status(ans.User).Status
	}
	return ans
}

func (a *adminAPI) roleSchedule(w http.ResponseWriter, r *http.Request) {
	role, ok := messaging.NormalizeName(r.URL.Query().Get("role"))
	if !ok {
		a.writeError(w, r, &directory.FieldError{Field: "role", Reason: "is not a valid role name"})
		return
	}
	from, to, err := window(r, 7*24*time.Hour)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.schedules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	entries := o.index.Entries(role, from, to)
	if entries == nil {
		entries = []oncall.Entry{}
	}
	writeJSON(w, http.StatusOK, entries)
}

// window reads from and to (default now and now + span); at most 400 days.
func window(r *http.Request, span time.Duration) (time.Time, time.Time, error) {
	now := time.Now().UTC()
	from, err := parseAt(r, "from", now)
	if err != nil {
		return from, from, err
	}
	to, err := parseAt(r, "to", from.Add(span))
	if err != nil {
		return from, to, err
	}
	if !to.After(from) || to.Sub(from) > oncall.WindowAfter {
		return from, to, &directory.FieldError{Field: "to", Reason: "must be after from, at most 400 days later"}
	}
	return from, to, nil
}

// gapInfo is one gap in a role's coverage.
type gapInfo struct {
	oncall.Gap
	Fallback bool `json:"fallback"` // the role's fixed members take it
}

func (a *adminAPI) gaps(w http.ResponseWriter, r *http.Request) {
	from, to, err := window(r, 7*24*time.Hour)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.schedules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := []gapInfo{}
	for _, g := range o.index.Gaps(from, to) {
		out = append(out, gapInfo{Gap: g, Fallback: o.hasFallback(g.Role)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *adminAPI) exportSchedule(w http.ResponseWriter, r *http.Request) {
	login, err := directory.NormalizeLogin(r.URL.Query().Get("user"))
	if err != nil {
		a.writeError(w, r, &directory.FieldError{Field: "user", Reason: "is not a valid login"})
		return
	}
	if _, err := a.store.User(login); err != nil {
		a.writeError(w, r, err)
		return
	}
	now := time.Now().UTC()
	from, to, err := window(r, 365*24*time.Hour)
	if r.URL.Query().Get("from") == "" {
		from = now.Add(-30 * 24 * time.Hour)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.schedules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.Record(r.Context(), actorFrom(r.Context()).Event("schedule.export", "user:"+login)); err != nil {
		a.writeError(w, r, err)
		return
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "wardline"
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(oncall.WriteICal(login, host, o.index.UserEntries(login, from, to), now))
}

// policyRequest is the body of POST /v1/policies.
type policyRequest struct {
	Name  string   `json:"name"`
	Steps []string `json:"steps"` // kind:name:wait
}

// policy parses and checks the steps (kind:name:wait) into a policy.
func (in policyRequest) policy() (alerting.Policy, error) {
	p := alerting.Policy{Name: in.Name}
	for _, s := range in.Steps {
		st, err := alerting.ParseStep(s)
		if err != nil {
			return p, err
		}
		p.Steps = append(p.Steps, st)
	}
	return p, p.Validate()
}

// policyInfo is a policy with what it is attached to.
type policyInfo struct {
	alerting.Policy
	Attached []string `json:"attached"` // "role/NAME", "priority/NAME"
}

func (a *adminAPI) putPolicy(w http.ResponseWriter, r *http.Request) {
	var in policyRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := in.policy()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.Apply(r.Context(), store.PutPolicy{By: actorFrom(r.Context()), Policy: p}); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (a *adminAPI) listPolicies(w http.ResponseWriter, r *http.Request) {
	ps, err := a.store.Policies(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	uses, err := a.store.PolicyUses(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := []policyInfo{}
	for _, p := range ps {
		pi := policyInfo{Policy: p, Attached: []string{}}
		for k, v := range uses {
			if v == p.Name {
				pi.Attached = append(pi.Attached, k)
			}
		}
		slices.Sort(pi.Attached)
		out = append(out, pi)
	}
	writeJSON(w, http.StatusOK, out)
}

// attachRequest is the body of POST /v1/policies/attach.
type attachRequest struct {
	Policy   string `json:"policy"` // "" detaches
	Role     string `json:"role,omitempty"`
	Priority string `json:"priority,omitempty"`
}

// command is the store command that attaches (or detaches) the policy.
func (in attachRequest) command(by audit.Actor) (store.AttachPolicy, error) {
	cmd := store.AttachPolicy{By: by, Policy: strings.ToLower(strings.TrimSpace(in.Policy))}
	switch {
	case (in.Role == "") == (in.Priority == ""):
		return cmd, &directory.FieldError{Field: "role", Reason: "give a role or a priority"}
	case in.Role != "":
		cmd.Kind, cmd.Name = "role", strings.ToLower(strings.TrimSpace(in.Role))
	default:
		cmd.Kind, cmd.Name = "priority", in.Priority
	}
	return cmd, nil
}

func (a *adminAPI) attachPolicy(w http.ResponseWriter, r *http.Request) {
	var in attachRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	cmd, err := in.command(actorFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.store.Apply(r.Context(), cmd); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.changed()
	writeJSON(w, http.StatusOK, map[string]string{"policy": cmd.Policy, cmd.Kind: cmd.Name})
}

// alertRequest is the body of POST /v1/alerts.
type alertRequest struct {
	Policy   string             `json:"policy"`
	Kind     string             `json:"kind"`
	Text     string             `json:"text"`
	Priority messaging.Priority `json:"priority,omitempty"`
	Patient  *messaging.Patient `json:"patient,omitempty"`    // PHI: sent only in in/alert, never logged, purged by retention
	Expires  string             `json:"expires_in,omitempty"` // a duration such as 2h; default alerting.DefaultExpiry
}

// alertInfo is an alert without its text (which may hold PHI).
type alertInfo struct {
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	State      alerting.State   `json:"state"`
	Policy     string           `json:"policy"`
	Step       int              `json:"step"`
	Due        time.Time        `json:"due,omitzero"`
	Reached    []alerting.Reach `json:"reached"`
	AcceptedBy string           `json:"accepted_by,omitempty"`
	Expires    time.Time        `json:"expires"`
	Patient    bool             `json:"patient"` // it carries patient data (never shown here)
}

func infoOf(e *alerting.Escalation) alertInfo {
	kind := string(e.Kind)
	if e.Alert != nil {
		kind = e.Alert.Kind
	}
	return alertInfo{ID: e.ID, Kind: kind, State: e.State, Policy: e.Policy.Name, Step: e.Step + 1, Due: e.Due,
		Reached: e.Reached, AcceptedBy: e.AcceptedBy, Expires: e.ExpiresAt(), Patient: e.Alert != nil && e.Alert.Patient != nil}
}

func (a *adminAPI) raiseAlert(w http.ResponseWriter, r *http.Request) {
	if a.esc == nil {
		a.writeError(w, r, fmt.Errorf("raising an alert needs the running appliance: %w", store.ErrClosed))
		return
	}
	var in alertRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Priority == "" {
		in.Priority = messaging.Urgent
	}
	kind, ok := messaging.NormalizeName(in.Kind)
	text := strings.TrimSpace(in.Text)
	switch {
	case !ok:
		a.writeError(w, r, &directory.FieldError{Field: "kind", Reason: "must be 1 to 64 letters, digits, '.', '-' or '_'"})
		return
	case text == "" || len([]rune(text)) > messaging.MaxBody:
		a.writeError(w, r, &directory.FieldError{Field: "text", Reason: "must be 1 to 4096 characters"})
		return
	case in.Priority != messaging.Normal && in.Priority != messaging.Urgent && in.Priority != messaging.Critical:
		a.writeError(w, r, &directory.FieldError{Field: "priority", Reason: "must be normal, urgent or critical"})
		return
	}
	patient, expiresIn, err := alertExtras(in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	e, err := a.esc.raise(r.Context(), actorFrom(r.Context()), strings.ToLower(in.Policy),
		alerting.Alert{Kind: kind, Text: text, Priority: in.Priority, Patient: patient}, expiresIn)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, infoOf(e))
}

func (a *adminAPI) listAlerts(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.ActiveEscalations(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := []alertInfo{}
	for _, e := range list {
		out = append(out, infoOf(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// messagingPriority converts a flag value.
func messagingPriority(s string) messaging.Priority { return messaging.Priority(strings.ToLower(s)) }

// mergeLines merges two lists of bad lines by line number, without
// repeating an overlap that both found.
func mergeLines(a, b []*oncall.LineError) []*oncall.LineError {
	seen := map[string]bool{}
	var out []*oncall.LineError
	for _, l := range append(a, b...) {
		if k := l.Error(); !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	slices.SortStableFunc(out, func(x, y *oncall.LineError) int { return x.Line - y.Line })
	return out
}
