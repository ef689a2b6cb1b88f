package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
)

// UserError is an error whose text may be shown to the person who caused
// it (a refused recipient, a body too long).
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// userMessage is the text of err to show, or a generic one.
func userMessage(err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return "That did not work. Try again; if it keeps failing, tell the IT service desk."
}

// appPage is the data of the web client's pages.
type appPage struct {
	Conversations []ConversationItem
	Open          *ConversationPage
	ComposeTo     string
	ComposeKind   string
	Error         string
	Alerts        []AlertItem // open alerts that reached the viewer
	Status        StatusItem  // the viewer's own status
	Path          string      // this page, for the forms to come back to
}

// Handler returns the browser routes: /app/, /admin/ and /static/. The
// appliance serves /login, /logout and /saml/ and authenticates first.
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", Static())
	mux.HandleFunc("GET /app/{$}", u.appHome)
	mux.HandleFunc("GET /app/c/{id}", u.appConversation)
	mux.HandleFunc("GET /app/new", u.appNew)
	mux.HandleFunc("POST /app/send", u.appSend)
	u.alertRoutes(mux)
	mux.HandleFunc("GET /app/", func(w http.ResponseWriter, r *http.Request) {
		u.Fail(w, r, http.StatusNotFound, "There is no such page.")
	})
	u.adminRoutes(mux)
	return mux
}

func (u *UI) appHome(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	convs, err := u.be.Conversations(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	data := appPage{Conversations: convs}
	u.clinicianBar(r.Context(), v, &data, "/app/")
	u.render(w, r, http.StatusOK, "app", page{Title: "Messages", Section: "app", Data: data})
}

func (u *UI) appConversation(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	conv, err := u.be.Conversation(r.Context(), v, r.PathValue("id"))
	if err != nil {
		u.Fail(w, r, http.StatusNotFound, "This conversation does not exist or you are not in it.")
		return
	}
	convs, err := u.be.Conversations(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	data := appPage{Conversations: convs, Open: &conv}
	u.clinicianBar(r.Context(), v, &data, "/app/c/"+conv.ID)
	u.render(w, r, http.StatusOK, "app", page{Title: conv.Title, Section: "app", Data: data})
}

func (u *UI) appNew(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	convs, err := u.be.Conversations(r.Context(), v)
	if err != nil {
		u.Fail(w, r, http.StatusInternalServerError, userMessage(err))
		return
	}
	kind := r.URL.Query().Get("kind")
	if kind != "role" && kind != "group" {
		kind = "user"
	}
	u.render(w, r, http.StatusOK, "compose", page{Title: "New message", Section: "app",
		Data: appPage{Conversations: convs, ComposeTo: r.URL.Query().Get("to"), ComposeKind: kind}})
}

// appSend takes the compose form (CSRF checked by the appliance).
func (u *UI) appSend(w http.ResponseWriter, r *http.Request) {
	v, ok := u.require(w, r, directory.RightClinician)
	if !ok {
		return
	}
	c := Compose{Conversation: r.PostFormValue("conversation"), ToKind: r.PostFormValue("to_kind"), To: strings.TrimSpace(r.PostFormValue("to")),
		Body: r.PostFormValue("body"), Priority: r.PostFormValue("priority")}
	conv, err := u.be.Send(r.Context(), v, c)
	if err != nil {
		convs, _ := u.be.Conversations(r.Context(), v)
		data := appPage{Conversations: convs, ComposeTo: c.To, ComposeKind: c.ToKind, Error: userMessage(err)}
		if c.Conversation != "" {
			if open, err2 := u.be.Conversation(r.Context(), v, c.Conversation); err2 == nil {
				data.Open = &open
				u.render(w, r, http.StatusUnprocessableEntity, "app", page{Title: open.Title, Section: "app", Data: data})
				return
			}
		}
		u.render(w, r, http.StatusUnprocessableEntity, "compose", page{Title: "New message", Section: "app", Data: data})
		return
	}
	http.Redirect(w, r, "/app/c/"+url.PathEscape(conv), http.StatusSeeOther)
}

// APIHandler returns the JSON API under /api/v1/ (a mux of its own).
func (u *UI) APIHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/events", u.apiEvents)
	mux.HandleFunc("GET /api/v1/conversations", u.apiConversations)
	mux.HandleFunc("POST /api/v1/messages", u.apiSend)
	mux.HandleFunc("POST /api/v1/messages/{id}/ack", u.apiAck)
	mux.HandleFunc("GET /api/v1/directory", u.apiSearch)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		APIError(w, http.StatusNotFound, "not_found", "no such API path")
	})
	return mux
}

// APIError writes a JSON error answer.
func APIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiViewer is the viewer of an API request with the right, or answers
// 401/403.
func apiViewer(w http.ResponseWriter, r *http.Request, right directory.Right) (Viewer, bool) {
	v, ok := ViewerFrom(r.Context())
	if !ok {
		APIError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return v, false
	}
	if !v.Session.Has(right) {
		APIError(w, http.StatusForbidden, "forbidden", "this needs the "+string(right)+" right")
		return v, false
	}
	return v, true
}

func (u *UI) apiConversations(w http.ResponseWriter, r *http.Request) {
	v, ok := apiViewer(w, r, directory.RightClinician)
	if !ok {
		return
	}
	convs, err := u.be.Conversations(r.Context(), v)
	if err != nil {
		APIError(w, http.StatusInternalServerError, "internal", userMessage(err))
		return
	}
	type item struct {
		ID     string    `json:"id"`
		Title  string    `json:"title"`
		Unread int64     `json:"unread"`
		At     time.Time `json:"at"`
	}
	out := make([]item, 0, len(convs))
	for _, c := range convs {
		out = append(out, item{c.ID, c.Title, c.Unread, c.At})
	}
	writeJSON(w, http.StatusOK, out)
}

func (u *UI) apiSend(w http.ResponseWriter, r *http.Request) {
	v, ok := apiViewer(w, r, directory.RightClinician)
	if !ok {
		return
	}
	var in struct {
		Conversation string `json:"conversation"`
		ToKind       string `json:"to_kind"`
		To           string `json:"to"`
		Body         string `json:"body"`
		Priority     string `json:"priority"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		APIError(w, http.StatusBadRequest, "invalid", "the body is not the JSON expected")
		return
	}
	conv, err := u.be.Send(r.Context(), v, Compose(in))
	if err != nil {
		APIError(w, http.StatusUnprocessableEntity, "refused", userMessage(err))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"conversation": conv})
}

func (u *UI) apiAck(w http.ResponseWriter, r *http.Request) {
	v, ok := apiViewer(w, r, directory.RightClinician)
	if !ok {
		return
	}
	var in struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || in.State != "delivered" && in.State != "read" {
		APIError(w, http.StatusBadRequest, "invalid", `state must be "delivered" or "read"`)
		return
	}
	if err := u.be.Ack(r.Context(), v, r.PathValue("id"), in.State); err != nil {
		APIError(w, http.StatusNotFound, "not_found", userMessage(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "state": in.State})
}

func (u *UI) apiSearch(w http.ResponseWriter, r *http.Request) {
	v, ok := apiViewer(w, r, directory.RightClinician)
	if !ok {
		return
	}
	hits, err := u.be.Search(r.Context(), v, r.URL.Query().Get("q"))
	if err != nil {
		APIError(w, http.StatusInternalServerError, "internal", userMessage(err))
		return
	}
	if hits == nil {
		hits = []Person{}
	}
	writeJSON(w, http.StatusOK, hits)
}

// apiEvents streams live updates as server-sent events.
func (u *UI) apiEvents(w http.ResponseWriter, r *http.Request) {
	v, ok := apiViewer(w, r, directory.RightClinician)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		APIError(w, http.StatusInternalServerError, "internal", "streaming is not supported")
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	events := u.be.Subscribe(r.Context(), v)
	beat := time.NewTicker(25 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case ev, ok := <-events:
			if !ok {
				fmt.Fprint(w, "event: signedout\ndata: {}\n\n")
				fl.Flush()
				return
			}
			b, err := json.Marshal(ev.Data)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			fl.Flush()
		}
	}
}
