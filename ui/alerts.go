package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
)

// AlertItem is an open alert that reached the viewer, as the web client
// shows it (and as the "alert" live event carries it).
type AlertItem struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Priority   string    `json:"priority"`
	Text       string    `json:"text,omitempty"`    // only while it is open
	Patient    string    `json:"patient,omitempty"` // name, MRN and location, only while it is open
	State      string    `json:"state"`             // open, exhausted, accepted, expired, cancelled
	AcceptedBy string    `json:"accepted_by,omitempty"`
	Declined   bool      `json:"declined,omitempty"` // the viewer declined it (and may still accept)
	Open       bool      `json:"open"`               // it can still be accepted
	At         time.Time `json:"at"`                 // when it reached the viewer
}

// StatusItem is the viewer's own availability.
type StatusItem struct {
	Status    string // available, busy, dnd, off_shift
	ForwardTo string // the colleague who takes their messages
}

// Statuses are the statuses a user may set, with their labels.
var Statuses = []struct{ Value, Label string }{
	{"available", "Available"}, {"busy", "Busy"}, {"dnd", "Do not disturb"}, {"off_shift", "Off shift"},
}

// Alerting is what the web client needs for alerts and the viewer's status.
type Alerting interface {
	// Alerts returns the open alerts that reached the viewer, newest first.
	Alerts(ctx context.Context, v Viewer) ([]AlertItem, error)
	// RespondAlert accepts or declines an alert, as out/respond does.
	RespondAlert(ctx context.Context, v Viewer, id, response string) error
	MyStatus(ctx context.Context, v Viewer) (StatusItem, error)
	// SetStatus sets the viewer's status, as status.set does.
	SetStatus(ctx context.Context, v Viewer, st StatusItem) error
}

// alertRoutes adds the alert and status forms of the web client.
func (u *UI) alertRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /app/alerts/{id}", u.appRespond)
	mux.HandleFunc("POST /app/status", u.appStatus)
}

// back is where a form returns to: the page it was on, when that is a
// web client page, else the conversation list.
func back(r *http.Request, done string) string {
	to := r.PostFormValue("back")
	if !strings.HasPrefix(to, "/app/") || strings.ContainsAny(to, "\\?#") || strings.HasPrefix(to, "//") {
		to = "/app/"
	}
	return to + "?done=" + url.QueryEscape(done)
}

// appRespond takes an alert's Accept or Decline (CSRF checked by the
// appliance).
func (u *UI) appRespond(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	resp := r.PostFormValue("response")
	if resp != "accept" && resp != "decline" {
		u.Fail(w, r, http.StatusBadRequest, "Choose Accept or Decline.")
		return
	}
	if err := u.be.RespondAlert(r.Context(), v, r.PathValue("id"), resp); err != nil {
		u.Fail(w, r, http.StatusConflict, userMessage(err))
		return
	}
	http.Redirect(w, r, back(r, "alert-"+resp), http.StatusSeeOther)
}

// appStatus takes the status form.
func (u *UI) appStatus(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	st := StatusItem{Status: r.PostFormValue("status"), ForwardTo: strings.ToLower(strings.TrimSpace(r.PostFormValue("forward_to")))}
	if err := u.be.SetStatus(r.Context(), v, st); err != nil {
		u.Fail(w, r, http.StatusUnprocessableEntity, userMessage(err))
		return
	}
	http.Redirect(w, r, back(r, "status"), http.StatusSeeOther)
}

// clinicianBar fills what every web client page shows above the
// conversations: the viewer's open alerts and their status. A failure to
// read them is shown on the page rather than hiding the messages.
func (u *UI) clinicianBar(ctx context.Context, v Viewer, p *appPage, path string) {
	var err error
	if p.Alerts, err = u.be.Alerts(ctx, v); err != nil {
		p.Error = userMessage(err)
	}
	if p.Status, err = u.be.MyStatus(ctx, v); err != nil {
		p.Error = userMessage(err)
	}
	p.Path = path
}
