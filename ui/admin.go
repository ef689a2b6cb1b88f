package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// adminRoutes adds the admin console. Reads need the auditor right (which
// administrators hold); changes need the administrator right.
func (u *UI) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/{$}", u.adminDashboard)
	mux.HandleFunc("GET /admin/users", u.adminUsers)
	mux.HandleFunc("POST /admin/users/{login}/{verb}", u.adminUserEnable)
	mux.HandleFunc("GET /admin/devices", u.adminDevices)
	mux.HandleFunc("POST /admin/devices", u.adminEnroll)
	mux.HandleFunc("POST /admin/devices/{id}/{verb}", u.adminRevoke)
	mux.HandleFunc("GET /admin/roles", u.adminRoles)
	u.roleRoutes(mux)
	mux.HandleFunc("GET /admin/audit", u.adminAudit)
	mux.HandleFunc("POST /admin/audit/verify", u.adminVerify)
	mux.HandleFunc("GET /admin/audit/export", u.adminExport)
	mux.HandleFunc("GET /admin/settings", u.adminSettings)
	mux.HandleFunc("POST /admin/settings", u.adminSaveSettings)
	mux.HandleFunc("GET /admin/backup", u.adminBackup)
	mux.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) {
		u.Fail(w, r, http.StatusNotFound, "There is no such page.")
	})
}

func (u *UI) adminDashboard(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAuditor)
	if !ok {
		return
	}
	d, err := u.be.Dashboard(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	u.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Section: "admin", Nav: "dashboard", Data: d})
}

func (u *UI) adminUsers(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	users, err := u.be.Users(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if q != "" {
		var keep []directory.User
		for _, x := range users {
			if strings.Contains(x.Login, q) || strings.Contains(strings.ToLower(x.Name), q) || strings.Contains(strings.ToLower(x.Department), q) {
				keep = append(keep, x)
			}
		}
		users = keep
	}
	u.render(w, r, http.StatusOK, "users", page{Title: "Users", Section: "admin", Nav: "users", Data: struct {
		Users []directory.User
		Q     string
	}{users, q}})
}

func (u *UI) adminUserEnable(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	verb := r.PathValue("verb")
	if verb != "disable" && verb != "enable" {
		u.Fail(w, r, http.StatusNotFound, "There is no such action.")
		return
	}
	if err := u.be.SetUserEnabled(r.Context(), v, r.PathValue("login"), verb == "enable"); err != nil {
		u.Fail(w, r, http.StatusConflict, userMessage(err))
		return
	}
	http.Redirect(w, r, "/admin/users?done="+verb+"d", http.StatusSeeOther)
}

// devicesPage is the data of the devices page.
type devicesPage struct {
	Devices  []DeviceItem
	Enrolled *Enrolled
	Error    string
}

func (u *UI) adminDevices(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	u.devicesPage(w, r, v, http.StatusOK, devicesPage{})
}

func (u *UI) devicesPage(w http.ResponseWriter, r *http.Request, v Viewer, status int, d devicesPage) {
	devs, err := u.be.Devices(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	d.Devices = devs
	u.render(w, r, status, "devices", page{Title: "Devices", Section: "admin", Nav: "devices", Data: d})
}

func (u *UI) adminEnroll(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	e, err := u.be.EnrollDevice(r.Context(), v, strings.TrimSpace(r.PostFormValue("user")), strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		u.devicesPage(w, r, v, http.StatusUnprocessableEntity, devicesPage{Error: userMessage(err)})
		return
	}
	u.devicesPage(w, r, v, http.StatusOK, devicesPage{Enrolled: &e})
}

func (u *UI) adminRevoke(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	verb := r.PathValue("verb")
	if verb != "revoke" && verb != "wipe" {
		u.Fail(w, r, http.StatusNotFound, "There is no such action.")
		return
	}
	if err := u.be.RevokeDevice(r.Context(), v, r.PathValue("id"), verb == "wipe"); err != nil {
		u.Fail(w, r, http.StatusConflict, userMessage(err))
		return
	}
	done := "revoked"
	if verb == "wipe" {
		done = "wiped"
	}
	http.Redirect(w, r, "/admin/devices?done="+done, http.StatusSeeOther)
}

func (u *UI) adminRoles(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAuditor)
	if !ok {
		return
	}
	u.rolesPage(w, r, v, http.StatusOK, "")
}

// auditFilter reads the audit page's filters from the query.
func auditFilter(q url.Values) (AuditFilter, error) {
	f := AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Object: strings.TrimSpace(q.Get("object")), Outcome: q.Get("outcome"), Limit: 200}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		s := strings.TrimSpace(q.Get(name))
		if s == "" {
			continue
		}
		var t time.Time
		var err error
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			return f, fmt.Errorf("%s is not a date and time (2026-11-23 or 2026-11-23T20:00)", name)
		}
		*dst = t
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 5000 {
		f.Limit = n
	}
	switch f.Outcome {
	case "", audit.OutcomeOK, audit.OutcomeFailed, audit.OutcomeDenied:
	default:
		f.Outcome = ""
	}
	return f, nil
}

// auditPage is the data of the audit page.
type auditPage struct {
	Events []audit.Event
	Filter AuditFilter
	Query  url.Values
	Export string
	Verify *VerifyResult
	Error  string
}

func (u *UI) adminAudit(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAuditor)
	if !ok {
		return
	}
	u.auditPage(w, r, v, nil)
}

func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, v Viewer, vr *VerifyResult) {
	q := r.URL.Query()
	f, ferr := auditFilter(q)
	p := auditPage{Filter: f, Query: q, Export: "/admin/audit/export?" + q.Encode(), Verify: vr}
	if ferr != nil {
		p.Error = ferr.Error()
	} else {
		evs, err := u.be.Audit(r.Context(), v, f)
		if err != nil {
			p.Error = userMessage(err)
		}
		p.Events = evs
	}
	u.render(w, r, http.StatusOK, "audit", page{Title: "Audit log", Section: "admin", Nav: "audit", Data: p})
}

func (u *UI) adminVerify(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAuditor)
	if !ok {
		return
	}
	res, err := u.be.VerifyAudit(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	u.auditPage(w, r, v, &res)
}

func (u *UI) adminExport(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAuditor)
	if !ok {
		return
	}
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		u.Fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f.Limit = 0
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="wardline-audit-`+time.Now().UTC().Format("20060102-150405")+`.jsonl"`)
	if err := u.be.ExportAudit(r.Context(), v, f, w); err != nil {
		u.log.Warn("audit export from the web failed", "err", err)
	}
}

func (u *UI) adminSettings(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	s, err := u.be.Settings(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	u.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Section: "admin", Nav: "settings", Data: settingsPage{Settings: s}})
}

// settingsPage is the data of the settings page.
type settingsPage struct {
	Settings
	Error string
}

func (u *UI) adminSaveSettings(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	err := u.be.SaveSettings(r.Context(), v, strings.TrimSpace(r.PostFormValue("retention")), strings.TrimSpace(r.PostFormValue("critical_repeat")))
	if err != nil {
		s, _ := u.be.Settings(r.Context(), v)
		u.render(w, r, http.StatusUnprocessableEntity, "settings", page{Title: "Settings", Section: "admin", Nav: "settings", Data: settingsPage{Settings: s, Error: userMessage(err)}})
		return
	}
	http.Redirect(w, r, "/admin/settings?done=saved", http.StatusSeeOther)
}

func (u *UI) adminBackup(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightAdmin)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="wardline-`+time.Now().UTC().Format("2006-01-02")+`.backup"`)
	if err := u.be.Backup(r.Context(), v, w); err != nil {
		u.log.Warn("backup download failed", "err", err)
	}
}
