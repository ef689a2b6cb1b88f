package appliance

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// API tokens let an integration call /api/v1/ with
// "Authorization: Bearer wlt_…" instead of a browser session (docs/web.md).

func init() {
	commands = append(commands,
		command{path: "token add", args: "NAME --right auditor|administrator [--expires D]", nargs: 1, json: true, summary: "create an API token for an integration; prints it (shown once)", define: defineTokenAdd},
		command{path: "token list", nargs: 0, json: true, summary: "list API tokens (never the tokens themselves)", define: defineTokenList},
		command{path: "token revoke", args: "NAME", nargs: 1, summary: "revoke an API token at once", define: defineTokenRevoke},
	)
}

const (
	apiTokenPrefix = "wlt_"
	apiTokenBytes  = 32 // 256 random bits
	// apiTokenTouch is how often a token's last use is written (and audited
	// as token.use); every request is audited by what it does.
	apiTokenTouch = time.Minute
)

// apiTokenForm is the whole shape of a token: the prefix and 43 URL-safe
// base64 characters.
var apiTokenForm = regexp.MustCompile(`^wlt_[A-Za-z0-9_-]{43}$`)

// tokenNameForm is a token's name: short, for lists and the audit trail.
var tokenNameForm = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// newAPIToken returns a fresh token.
func newAPIToken() (string, error) {
	b := make([]byte, apiTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return apiTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// hashAPIToken is the stored form of a token: SHA-256 with a domain
// prefix. A token has 256 random bits, so no slow hash is needed.
func hashAPIToken(tok string) string {
	h := sha256.New()
	h.Write([]byte("wardline-api-token-v1\x00"))
	h.Write([]byte(tok))
	return hex.EncodeToString(h.Sum(nil))
}

// parseBearer returns the token of an Authorization header value. present
// reports whether the header is a Bearer one at all; ok whether the token
// has the form of a Wardline token.
func parseBearer(h string) (tok string, present, ok bool) {
	if h == "" {
		return "", false, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, false
	}
	tok = strings.TrimLeft(rest, " ")
	if !apiTokenForm.MatchString(tok) {
		return "", true, false
	}
	return tok, true, true
}

// parseExpiry reads --expires: a Go duration ("720h") or days ("90d").
func parseExpiry(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > 10*366*24*time.Hour {
		return 0, fmt.Errorf("%w: --expires must be a positive duration like 90d or 720h (at most 10 years)", directory.ErrInvalid)
	}
	return d, nil
}

// tokenInfo is a token as the admin socket lists it: never the token or
// its hash.
type tokenInfo struct {
	Name     string    `json:"name"`
	Right    string    `json:"right"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires,omitzero"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Token    string    `json:"token,omitempty"` // only in the answer to token add
}

// tokenAdd is the body of POST /v1/tokens.
type tokenAdd struct {
	Name    string `json:"name"`
	Right   string `json:"right"`
	Expires string `json:"expires,omitempty"` // a duration, as --expires
}

func defineTokenAdd(fs *flag.FlagSet) func(*cli, []string) error {
	right := fs.String("right", "", "auditor or administrator")
	expires := fs.String("expires", "", "the token expires after this long (90d, 720h); default never")
	return func(c *cli, args []string) error {
		var out tokenInfo
		if err := c.call(true, "POST", "/v1/tokens", tokenAdd{Name: args[0], Right: *right, Expires: *expires}, &out); err != nil {
			return err
		}
		if c.jsonOut {
			return c.printJSON(out)
		}
		exp := "never"
		if !out.Expires.IsZero() {
			exp = out.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(c.stdout, "Token created.\n  name:    %s\n  right:   %s\n  expires: %s\n  token:   %s\nThe token is shown only now. Send it as \"Authorization: Bearer <token>\" to /api/v1/.\n", out.Name, out.Right, exp, out.Token)
		return nil
	}
}

func defineTokenList(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		var list []tokenInfo
		if err := c.call(true, "GET", "/v1/tokens", nil, &list); err != nil {
			return err
		}
		if c.jsonOut {
			if list == nil {
				list = []tokenInfo{}
			}
			return c.printJSON(list)
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tRIGHT\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Right, stamp(t.Created, "-"), stamp(t.Expires, "never"), stamp(t.LastUsed, "never"))
		}
		return w.Flush()
	}
}

// stamp formats t, or none when it is zero.
func stamp(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func defineTokenRevoke(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		if err := c.call(true, "POST", "/v1/tokens/"+url.PathEscape(args[0])+"/revoke", nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Token %s revoked.\n", args[0])
		return nil
	}
}

// tokenRoutes registers the admin socket's token endpoints.
func (a *adminAPI) tokenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/tokens", a.addToken)
	mux.HandleFunc("GET /v1/tokens", a.listTokens)
	mux.HandleFunc("POST /v1/tokens/{name}/revoke", a.revokeToken)
}

func (a *adminAPI) addToken(w http.ResponseWriter, r *http.Request) {
	var in tokenAdd
	if err := readJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if !tokenNameForm.MatchString(in.Name) {
		a.writeError(w, r, fmt.Errorf("%w: a token name is 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit)", directory.ErrInvalid))
		return
	}
	right := directory.Right(in.Right)
	if right != directory.RightAuditor && right != directory.RightAdmin {
		a.writeError(w, r, fmt.Errorf("%w: --right must be auditor or administrator", directory.ErrInvalid))
		return
	}
	t := store.APIToken{Name: in.Name, Right: right}
	if in.Expires != "" {
		d, err := parseExpiry(in.Expires)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		t.Expires = time.Now().UTC().Add(d).Truncate(time.Second)
	}
	tok, err := newAPIToken()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	t.Hash = hashAPIToken(tok)
	if err := a.store.Apply(r.Context(), store.AddAPIToken{By: actorFrom(r.Context()), Token: t}); err != nil {
		a.writeError(w, r, err)
		return
	}
	if stored, err := a.store.APITokenByHash(t.Hash); err == nil {
		t = stored // with the time the store recorded
	}
	out := toTokenInfo(t)
	out.Token = tok
	writeJSON(w, http.StatusCreated, out)
}

func toTokenInfo(t store.APIToken) tokenInfo {
	return tokenInfo{Name: t.Name, Right: string(t.Right), Created: t.Created, Expires: t.Expires, LastUsed: t.LastUsed}
}

func (a *adminAPI) listTokens(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.APITokens()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]tokenInfo, 0, len(list))
	for _, t := range list {
		out = append(out, toTokenInfo(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *adminAPI) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.store.Apply(r.Context(), store.RevokeAPIToken{By: actorFrom(r.Context()), Name: name}); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "revoked": true})
}

// methodToken is the WebSession method of a request made with an API token.
const methodToken = "token"

// errBadToken is why a token request is refused; the reason is audited,
// the answer is always the same 401.
var errBadToken = errors.New("unknown, expired or revoked API token")

// tokenViewer authenticates a request that carries an Authorization
// header. The session cookie, if any, is ignored: the request is the
// token's alone. Failed tries count per source address like sign-ins.
func (w *web) tokenViewer(rw http.ResponseWriter, r *http.Request) (ui.Viewer, bool) {
	src := clientIP(r)
	key := "apitoken-ip:" + src
	if wait := w.limiter.Check(key); wait > 0 {
		rw.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		ui.APIError(rw, http.StatusTooManyRequests, "rate_limited", "too many failed token attempts; try again later")
		return ui.Viewer{}, false
	}
	t, reason := w.lookupToken(r.Header.Get("Authorization"))
	if reason != "" {
		w.limiter.Fail(key)
		by := audit.Actor{User: "unknown", Source: src}
		if t.Name != "" {
			by.User = "token:" + t.Name
		}
		w.auditSignin(by, "token.use", reason)
		ui.APIError(rw, http.StatusUnauthorized, "unauthenticated", errBadToken.Error())
		return ui.Viewer{}, false
	}
	v := ui.Viewer{Session: directory.WebSession{Login: "token:" + t.Name, Name: t.Name,
		Rights: []directory.Right{t.Right}, Method: methodToken, Created: t.Created, Expires: t.Expires}, Source: src}
	if time.Since(t.LastUsed) >= apiTokenTouch {
		w.a.store.Submit(store.TouchAPIToken{By: v.Actor(), Name: t.Name}, func(error) {})
	}
	return v, true
}

// lookupToken finds the token of an Authorization header, or says why not.
func (w *web) lookupToken(header string) (store.APIToken, string) {
	tok, _, ok := parseBearer(header)
	if !ok {
		return store.APIToken{}, "malformed Authorization header"
	}
	hash := hashAPIToken(tok)
	t, err := w.a.store.APITokenByHash(hash)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return store.APIToken{}, "unknown or revoked token"
	case err != nil:
		return store.APIToken{}, "token lookup failed"
	case !hmac.Equal([]byte(t.Hash), []byte(hash)):
		return store.APIToken{}, "unknown token"
	case t.Expired(time.Now()):
		return t, "expired token"
	}
	return t, ""
}

// apiRoutes adds the appliance's own /api/v1/ endpoints to the pages'.
func (w *web) apiRoutes(pages http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/whoami", w.apiWhoami)
	mux.Handle("/api/", pages)
	return mux
}

// apiWhoami answers who the request is signed in as (any right): what an
// integration calls to check its token. Audited as api.whoami.
func (w *web) apiWhoami(rw http.ResponseWriter, r *http.Request) {
	v, ok := ui.ViewerFrom(r.Context())
	if !ok {
		ui.APIError(rw, http.StatusUnauthorized, "unauthenticated", "sign in first")
		return
	}
	if err := w.a.store.Record(r.Context(), v.Actor().Event("api.whoami")); err != nil {
		ui.APIError(rw, http.StatusServiceUnavailable, "unavailable", "the audit trail cannot be written")
		return
	}
	rights := make([]string, 0, len(v.Session.Rights))
	for _, x := range v.Session.Rights {
		rights = append(rights, string(x))
	}
	writeJSON(rw, http.StatusOK, map[string]any{"login": v.Session.Login, "name": v.Session.Name,
		"method": v.Session.Method, "rights": rights})
}
