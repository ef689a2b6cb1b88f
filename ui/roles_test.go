package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/directory"
)

// rolesBackend answers the roles page only; any change reaching it fails
// the test.
type rolesBackend struct {
	Backend
	t *testing.T
}

func (b rolesBackend) Roles(context.Context, Viewer) (RolesPage, error) {
	now := time.Now()
	return RolesPage{Schedules: true, From: now, To: now.Add(7 * 24 * time.Hour), Roles: []RoleItem{{Name: "cardio", OnCall: "dr.lee", Source: "schedule",
		Shifts: []ShiftItem{{ID: "shf_1", User: "dr.lee", Kind: "shift", Start: now, End: now.Add(time.Hour)}}, Gaps: []GapItem{{Start: now, End: now}}}}}, nil
}

func (b rolesBackend) AddShift(context.Context, Viewer, NewShift) error {
	b.t.Error("an auditor's change reached the backend")
	return nil
}

// TestRolesPageReadOnlyForAuditors: an auditor sees the roles page without
// a form and cannot post one; an administrator gets the forms.
func TestRolesPageReadOnlyForAuditors(t *testing.T) {
	u, err := New(Options{Backend: rolesBackend{t: t}})
	if err != nil {
		t.Fatal(err)
	}
	h := u.Handler()
	as := func(right directory.Right, req *http.Request) *httptest.ResponseRecorder {
		v := Viewer{Session: directory.WebSession{Login: "x", Name: "X", Rights: []directory.Right{right}, CSRF: "tok"}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req.WithContext(WithViewer(req.Context(), v)))
		return w
	}
	w := as(directory.RightAuditor, httptest.NewRequest("GET", "/admin/roles", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "dr.lee") || strings.Contains(w.Body.String(), `action="/admin/`) {
		t.Fatalf("auditor's roles page: %d\n%s", w.Code, w.Body)
	}
	form := url.Values{"role": {"cardio"}, "user": {"dr.kim"}, "from": {"2026-12-01T08:00"}, "to": {"2026-12-01T16:00"}}
	post := httptest.NewRequest("POST", "/admin/roles/shifts", strings.NewReader(form.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if w := as(directory.RightAuditor, post); w.Code != http.StatusForbidden {
		t.Fatalf("auditor adding a shift: %d", w.Code)
	}
	w = as(directory.RightAdmin, httptest.NewRequest("GET", "/admin/roles", nil))
	for _, want := range []string{`action="/admin/roles/shifts"`, `action="/admin/roles/shifts/cardio/shf_1/remove"`, `action="/admin/roles/policy"`, `action="/admin/policies"`, "Gap"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("administrator's roles page lacks %s", want)
		}
	}
}

// shiftFormCases seed FuzzShiftForm.
var shiftFormCases = []struct {
	form string
	ok   bool
}{
	{"role=cardio&user=dr.kim&from=2026-12-01T08:00&to=2026-12-01T16:00", true},
	{"role=cardio&user=dr.kim&from=2026-12-01T08:00&to=2026-12-01T16:00&kind=override", true},
	{"role=cardio&user=dr.kim&from=2026-12-01T16:00&to=2026-12-01T08:00", false},
	{"role=cardio&user=dr.kim&from=tomorrow&to=2026-12-01T08:00", false},
	{"role=&user=dr.kim&from=2026-12-01T08:00&to=2026-12-01T16:00", false},
}

func TestShiftForm(t *testing.T) {
	for _, c := range shiftFormCases {
		q, _ := url.ParseQuery(c.form)
		s, err := parseShiftForm(q)
		if (err == nil) != c.ok || (err == nil && (s.Override != strings.Contains(c.form, "override") || !s.End.After(s.Start))) {
			t.Errorf("%s: %+v %v", c.form, s, err)
		}
	}
}

func FuzzShiftForm(f *testing.F) {
	for _, c := range shiftFormCases {
		f.Add(c.form)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		if sh, err := parseShiftForm(q); err == nil && (!sh.End.After(sh.Start) || sh.Role == "" || sh.User == "") {
			t.Fatalf("took %+v", sh)
		}
	})
}
