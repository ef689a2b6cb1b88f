package ui

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/wardline/wardline/directory"
)

//go:embed templates/*.html templates/parts/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the pages.
type Options struct {
	Backend  Backend
	Log      *slog.Logger
	IdPName  string        // "" when SAML is not configured
	IdleLock time.Duration // the web client locks its screen after this long without input
}

// UI renders the pages.
type UI struct {
	o     Options
	be    Backend
	log   *slog.Logger
	pages map[string]*template.Template
}

// New parses every template. It does no I/O beyond the embedded files.
func New(o Options) (*UI, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &UI{o: o, be: o.Backend, log: o.Log, pages: pages}, nil
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("15:04")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("Mon 02 Jan 15:04")
	},
	"bytes":    humanBytes,
	"statuses": func() any { return Statuses },
	"days": func(t time.Time) int {
		return int(time.Until(t).Hours() / 24)
	},
	"dur":     func(d time.Duration) string { return d.String() },
	"join":    strings.Join,
	"initial": initial,
	"has":     func(v Viewer, r string) bool { return v.Session.Has(directory.Right(r)) },
	"svg":     func(s string) template.HTML { return template.HTML(s) }, // only for QR codes this package generates
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", base, err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// viewerKey is the context key of the signed-in viewer.
type viewerKey struct{}

// WithViewer returns ctx carrying the signed-in viewer.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer of a request, if signed in.
func ViewerFrom(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}

// page is what every page template gets.
type page struct {
	Title    string
	Section  string // "app", "admin", "login"
	Nav      string
	Viewer   Viewer
	SignedIn bool
	CSRF     string
	IdleLock int // seconds
	Flash    string
	Error    string
	Data     any
}

// render executes a page with the layout. Rendering into a buffer first
// means a template error never sends half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := u.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if v, ok := ViewerFrom(r.Context()); ok {
		p.Viewer, p.SignedIn, p.CSRF = v, true, v.Session.CSRF
	}
	p.IdleLock = int(u.o.IdleLock / time.Second)
	if p.Flash == "" {
		p.Flash = flashText(r.URL.Query().Get("done"))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		u.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// flashText is the notice shown after a change, by a fixed code (never
// text from the query string).
func flashText(code string) string {
	return map[string]string{
		"disabled":        "The user is disabled; their devices are revoked and their sessions ended.",
		"enabled":         "The user is enabled again.",
		"revoked":         "The device is revoked.",
		"wiped":           "The device is revoked and told to erase its data.",
		"saved":           "Settings saved; they are in force now.",
		"alert-accept":    "You accepted the alert; everyone it reached sees that you have it.",
		"alert-decline":   "You declined the alert; it goes on to the next person.",
		"status":          "Your status is set.",
		"shift-added":     "The shift is added; messages to the role follow it now.",
		"shift-removed":   "The shift is removed.",
		"policy-attached": "The policy is attached to the role.",
		"policy-detached": "The role has no escalation policy now.",
		"policy-saved":    "The policy is saved.",
	}[code]
}

// Fail renders an error page.
func (u *UI) Fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	u.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// LoginPage renders the sign-in page with an optional error.
func (u *UI) LoginPage(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	u.render(w, r, status, "login", page{Title: "Sign in", Section: "login", Error: errMsg, Data: struct {
		IdPName string
	}{u.o.IdPName}})
}

// require checks the viewer holds right; it answers 403 when not.
func (u *UI) require(w http.ResponseWriter, r *http.Request, right directory.Right) (Viewer, bool) {
	v, ok := ViewerFrom(r.Context())
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return v, false
	}
	if !v.Session.Has(right) {
		u.Fail(w, r, http.StatusForbidden, "Your account does not have the "+string(right)+" right for this page.")
		return v, false
	}
	return v, true
}

// Static serves /static/ from the binary. Only files that exist in the
// embedded tree are served; a path with "..", a backslash or a NUL never
// reaches the file system (there is none: embed.FS).
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/static/")
		if !validStatic(p) {
			http.NotFound(w, r)
			return
		}
		if st, err := fs.Stat(sub, p); err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + p
		files.ServeHTTP(w, r2)
	})
}

// validStatic reports whether p may name a static file: a clean relative
// path without "..", backslashes or NUL.
func validStatic(p string) bool {
	return p != "" && p != "." && !strings.Contains(p, "..") && !strings.ContainsAny(p, "\\\x00%") && !strings.HasPrefix(p, "/") && fs.ValidPath(p)
}

// humanBytes writes a byte count for people.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// initial is the first letter of a name, for an avatar.
func initial(s string) string {
	for _, r := range s {
		return strings.ToUpper(string(r))
	}
	return "?"
}
