package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
)

// RolesPage is the roles page: each role's coverage, the policies, and
// the groups.
type RolesPage struct {
	Roles     []RoleItem
	Groups    []RoleItem
	Policies  []PolicyItem
	Schedules bool      // on-call routing runs (coverage is shown)
	From, To  time.Time // the window of the shifts and gaps shown (now to 7 days on)
}

// RoleItem is one role or group.
type RoleItem struct {
	Name    string
	Members []string // fixed members: a role's fallback when nobody is on call
	OnCall  string   // who a message to the role reaches now ("" for nobody)
	Source  string   // schedule, fallback or none
	Status  string   // the status of OnCall, when not available
	Next    *ShiftItem
	Policy  string      // the escalation policy attached to the role
	Shifts  []ShiftItem // coverage in the window, in order
	Gaps    []GapItem   // stretches of the window nobody is scheduled
}

// ShiftItem is one stretch of a role's coverage.
type ShiftItem struct {
	ID    string // the shift to remove ("" for one that cannot be removed singly)
	User  string
	Kind  string // shift or override
	Start time.Time
	End   time.Time
}

// GapItem is a stretch of a role's schedule nobody covers.
type GapItem struct {
	Start, End time.Time
	Fallback   bool // the role's fixed members take it
}

// PolicyItem is an escalation policy.
type PolicyItem struct {
	Name     string
	Steps    []string // kind:name:wait
	Attached []string // "role/NAME", "priority/NAME"
}

// NewShift is a shift or override added on the roles page.
type NewShift struct {
	Role, User string
	Start, End time.Time
	Override   bool
}

// OnCallAdmin is what the roles page changes, through the same store
// commands as the CLI (each audited).
type OnCallAdmin interface {
	AddShift(ctx context.Context, v Viewer, s NewShift) error
	RemoveShift(ctx context.Context, v Viewer, role, id string) error
	// AttachPolicy attaches policy to role ("" detaches).
	AttachPolicy(ctx context.Context, v Viewer, role, policy string) error
	// AddPolicy adds or replaces a policy; steps are kind:name:wait.
	AddPolicy(ctx context.Context, v Viewer, name string, steps []string) error
}

// shiftTimeLayout is how the form's datetime-local inputs send a time
// (UTC, as the console shows times).
const shiftTimeLayout = "2006-01-02T15:04"

// roleRoutes adds the roles page's changes (administrators only).
func (u *UI) roleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/roles/shifts", u.adminAddShift)
	mux.HandleFunc("POST /admin/roles/shifts/{role}/{id}/remove", u.adminRemoveShift)
	mux.HandleFunc("POST /admin/roles/policy", u.adminAttachPolicy)
	mux.HandleFunc("POST /admin/policies", u.adminAddPolicy)
}

// parseShiftForm reads the add-shift form.
func parseShiftForm(form url.Values) (NewShift, error) {
	s := NewShift{Role: strings.TrimSpace(form.Get("role")), User: strings.TrimSpace(form.Get("user")), Override: form.Get("kind") == "override"}
	var err1, err2 error
	s.Start, err1 = time.Parse(shiftTimeLayout, form.Get("from"))
	s.End, err2 = time.Parse(shiftTimeLayout, form.Get("to"))
	switch {
	case s.Role == "" || s.User == "":
		return s, &UserError{Msg: "Give the role and the user."}
	case err1 != nil || err2 != nil:
		return s, &UserError{Msg: "Give the start and end as date and time (UTC)."}
	case !s.End.After(s.Start):
		return s, &UserError{Msg: "The end must be after the start."}
	}
	return s, nil
}

// parseSteps reads the policy form's steps: one kind:name:wait a line
// (or separated by commas).
func parseSteps(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// rolesChanged renders the outcome of a change on the roles page: back to
// it with a notice, or the page again with the refusal.
func (u *UI) rolesChanged(w http.ResponseWriter, r *http.Request, v Viewer, err error, done string) {
	if err == nil {
		http.Redirect(w, r, "/admin/roles?done="+done, http.StatusSeeOther)
		return
	}
	u.rolesPage(w, r, v, http.StatusUnprocessableEntity, userMessage(err))
}

func (u *UI) adminAddShift(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	_ = r.ParseForm()
	s, err := parseShiftForm(r.PostForm)
	if err == nil {
		err = u.be.AddShift(r.Context(), v, s)
	}
	u.rolesChanged(w, r, v, err, "shift-added")
}

func (u *UI) adminRemoveShift(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	u.rolesChanged(w, r, v, u.be.RemoveShift(r.Context(), v, r.PathValue("role"), r.PathValue("id")), "shift-removed")
}

func (u *UI) adminAttachPolicy(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	done := "policy-attached"
	if r.PostFormValue("policy") == "" {
		done = "policy-detached"
	}
	u.rolesChanged(w, r, v, u.be.AttachPolicy(r.Context(), v, r.PostFormValue("role"), r.PostFormValue("policy")), done)
}

func (u *UI) adminAddPolicy(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	name, steps := strings.TrimSpace(r.PostFormValue("name")), parseSteps(r.PostFormValue("steps"))
	var err error
	if name == "" || len(steps) == 0 {
		err = &UserError{Msg: "Give the policy a name and at least one step."}
	} else {
		err = u.be.AddPolicy(r.Context(), v, name, steps)
	}
	u.rolesChanged(w, r, v, err, "policy-saved")
}

// rolesPageData is the roles page with what the viewer may do.
type rolesPageData struct {
	RolesPage
	CanEdit bool
	Error   string
}

// rolesPage renders the roles page (read-only for auditors).
func (u *UI) rolesPage(w http.ResponseWriter, r *http.Request, v Viewer, status int, errMsg string) {
	rp, err := u.be.Roles(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	u.render(w, r, status, "roles", page{Title: "Roles and groups", Section: "admin", Nav: "roles",
		Data: rolesPageData{RolesPage: rp, CanEdit: v.Session.Has(directory.RightAdmin), Error: errMsg}})
}
