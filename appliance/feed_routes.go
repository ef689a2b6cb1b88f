package appliance

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
)

// feedTokenPrefix starts every iCalendar feed token.
const feedTokenPrefix = "wlf_"

// feedPath is where a person's on-call feed is served on the HTTPS
// listener: GET /api/v1/schedule/feed/{token}.ics. The token is the only
// credential (calendar clients cannot sign in), 256 random bits, kept as
// its SHA-256; a new token replaces the old one.
const feedPath = "/api/v1/schedule/feed/"

// hashFeedToken is the stored form of a feed token.
func hashFeedToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// feedRoutes adds the iCalendar feed to the HTTPS mux.
func (a *Appliance) feedRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+feedPath+"{file}", a.serveFeed)
}

func (a *Appliance) serveFeed(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSuffix(r.PathValue("file"), ".ics")
	login, ok := "", strings.HasPrefix(token, feedTokenPrefix) && len(token) < 100
	if ok {
		login, ok = a.store.FeedUser(hashFeedToken(token))
	}
	if !ok || a.api == nil || a.api.oncall == nil {
		http.NotFound(w, r)
		return
	}
	by := audit.Actor{User: login, Source: r.RemoteAddr}
	if err := a.store.Record(r.Context(), by.Event("schedule.feed.read", "user:"+login)); err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	now := time.Now().UTC()
	host, _ := os.Hostname()
	entries := a.api.oncall.index.UserEntries(login, now.Add(-30*24*time.Hour), now.Add(365*24*time.Hour))
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_, _ = w.Write(oncall.WriteICal(login, host, entries, now))
}

// feedRequest is the body of POST /v1/schedule/feed.
type feedRequest struct {
	User   string `json:"user"`
	Revoke bool   `json:"revoke,omitempty"`
}

// newFeed makes (or revokes) a user's feed token; the answer holds the
// path with the token, shown once.
func (a *adminAPI) newFeed(w http.ResponseWriter, r *http.Request) {
	var in feedRequest
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	login, err := directory.NormalizeLogin(in.User)
	if err != nil {
		a.writeError(w, r, &directory.FieldError{Field: "user", Reason: "is not a valid login"})
		return
	}
	cmd := store.SetFeedToken{By: actorFrom(r.Context()), User: login}
	token := ""
	if !in.Revoke {
		var b [32]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
		token = feedTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
		cmd.Hash = hashFeedToken(token)
	}
	if err := a.store.Apply(r.Context(), cmd); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Revoke {
		writeJSON(w, http.StatusOK, map[string]string{"user": login})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"user": login, "path": feedPath + token + ".ics"})
}
