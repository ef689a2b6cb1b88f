package appliance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/sso"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// web is the browser side of the HTTPS listener: sign-in (SAML and
// break-glass), sessions, the admin console and the web client.
type web struct {
	a        *Appliance
	log      *slog.Logger
	base     *url.URL
	origin   string // scheme://host:port of base
	sp       atomic.Pointer[sso.SP]
	sessions *sso.Sessions
	limiter  *sso.Limiter
	ui       *ui.UI
	hub      *webHub
}

// Break-glass sign-in limits of docs/web.md.
const (
	breakGlassTries  = 5
	breakGlassWindow = 15 * time.Minute
	breakGlassMax    = time.Hour // a break-glass session is time-boxed (AC-2)
)

// newWeb sets up the web side. The IdP metadata is read here (a file) or
// fetched (a URL); when the IdP cannot be reached the appliance starts
// anyway, with break-glass sign-in only, and tries again every minute.
func (a *Appliance) newWeb(ctx context.Context, port int) (*web, error) {
	base, err := baseURL(a.cfg, port)
	if err != nil {
		return nil, err
	}
	w := &web{a: a, log: a.log.With("component", "web"), base: base, origin: base.Scheme + "://" + base.Host,
		limiter: newBreakGlassLimiter(), hub: newWebHub()}
	w.sessions = sso.NewSessions(webSessionStore{a.store}, a.cfg.Web.SessionIdle.Duration, a.cfg.Web.SessionMax.Duration, time.Now)
	idp := ""
	if a.cfg.SAML != nil {
		if err := w.loadSP(ctx); err != nil {
			if a.cfg.SAML.IdPMetadataURL == "" {
				return nil, err
			}
			w.log.Error("single sign-on is unavailable until the IdP metadata can be fetched; break-glass sign-in works", "err", err)
			go w.retrySP(ctx)
		}
		idp = "your hospital account"
		if sp := w.sp.Load(); sp != nil {
			idp = sp.IdPName()
		}
	}
	w.ui, err = ui.New(ui.Options{Backend: &webBackend{a: a, w: w}, Log: w.log, IdPName: idp,
		IdleLock: min(a.cfg.Web.SessionIdle.Duration, 5*time.Minute)})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// newBreakGlassLimiter allows 5 failed tries per login and per address in
// 15 minutes.
func newBreakGlassLimiter() *sso.Limiter {
	return sso.NewLimiter(breakGlassTries, breakGlassWindow, time.Now)
}

// baseURL is https.base_url, or https://<first host name>:<port>.
func baseURL(cfg Config, port int) (*url.URL, error) {
	s := cfg.HTTPS.BaseURL
	if s == "" {
		names := certNames(cfg)
		s = fmt.Sprintf("https://%s", net.JoinHostPort(defaultName(cfg, names), fmt.Sprint(port)))
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" {
		return nil, fmt.Errorf("https.base_url: %q is not an https://host[:port] URL", s)
	}
	return u, nil
}

// retrySP fetches the IdP metadata again every minute until it works.
func (w *web) retrySP(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.loadSP(ctx); err == nil {
				w.log.Info("single sign-on is available: the IdP metadata was fetched")
				return
			}
		}
	}
}

// loadSP builds the service provider from the [saml] section.
func (w *web) loadSP(ctx context.Context) error {
	c := w.a.cfg.SAML
	md, err := idpMetadata(ctx, c)
	if err != nil {
		return err
	}
	key, cert, err := spKeyPair(ctx, w.a.store)
	if err != nil {
		return fmt.Errorf("saml: service provider key: %w", err)
	}
	sp, err := sso.NewSP(sso.SPOptions{BaseURL: w.base, EntityID: c.EntityID, Key: key, Certificate: cert, IdPMetadata: md,
		AllowIdPInitiated: c.AllowIdPInitiated, LoginAttribute: c.LoginAttribute, NameAttribute: c.NameAttribute,
		GroupsAttribute: c.GroupsAttribute, AdminGroups: c.AdminGroups, AuditorGroups: c.AuditorGroups,
		RequiredAuthnContext: c.RequiredAuthnContext})
	if err != nil {
		return err
	}
	w.sp.Store(sp)
	return nil
}

// idpMetadata reads the IdP metadata from its file or HTTPS URL.
func idpMetadata(ctx context.Context, c *SAMLConfig) ([]byte, error) {
	if c.IdPMetadataFile != "" {
		b, err := os.ReadFile(c.IdPMetadataFile)
		if err != nil {
			return nil, fmt.Errorf("saml.idp_metadata_file: %w", err)
		}
		return b, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	if c.IdPCAFile != "" {
		pemBytes, err := os.ReadFile(c.IdPCAFile)
		if err != nil {
			return nil, fmt.Errorf("saml.idp_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("saml.idp_ca_file: no PEM certificate in it")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not followed") }}
	req, err := http.NewRequestWithContext(ctx, "GET", c.IdPMetadataURL, nil)
	if err != nil {
		return nil, fmt.Errorf("saml.idp_metadata_url: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("saml: fetching the IdP metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("saml: fetching the IdP metadata: %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 4<<20))
}

// spBlob is where the SAML service provider's key and certificate live
// (in the encrypted store).
const spBlob = "saml/sp.pem"

// spKeyPair loads the SP signing key, creating it (RSA 2048, a self-signed
// certificate for 10 years, as IdPs expect) on first use.
func spKeyPair(ctx context.Context, st *store.Store) (*rsa.PrivateKey, *x509.Certificate, error) {
	b, _, err := st.Blob(spBlob)
	if err != nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Wardline SAML service provider"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, nil, err
		}
		b = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
		if err := st.Apply(ctx, store.PutBlob{By: audit.System, Path: spBlob, Data: b}); err != nil {
			return nil, nil, err
		}
	}
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(blk.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if key == nil || cert == nil {
		return nil, nil, errors.New("the stored key pair is incomplete")
	}
	return key, cert, nil
}

// browser returns the browser routes; api returns /api/v1/. They are
// separate muxes with their own authentication answers (303 or 401).
func (w *web) browser() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.home)
	mux.HandleFunc("GET /login", w.loginPage)
	mux.HandleFunc("POST /login", w.breakGlass)
	mux.HandleFunc("POST /logout", w.logout)
	mux.HandleFunc("GET /saml/metadata", w.samlMetadata)
	mux.HandleFunc("GET /saml/login", w.samlLogin)
	mux.HandleFunc("POST /saml/acs", w.samlACS)
	mux.HandleFunc("GET /saml/slo", w.samlSLO)
	pages := w.ui.Handler()
	mux.Handle("/static/", pages)
	mux.Handle("/app/", w.authenticated(pages))
	mux.Handle("/admin/", w.authenticated(pages))
	return mux
}

func (w *web) api() http.Handler { return w.authenticatedAPI(w.apiRoutes(w.ui.APIHandler())) }

// clientIP is the request's source address without the port.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// viewer returns the request's signed-in viewer. A SAML session whose user
// was disabled or removed ends here, whatever else happened.
func (w *web) viewer(r *http.Request, touch bool) (ui.Viewer, bool) {
	s, err := w.sessions.Lookup(r, touch)
	if err != nil {
		return ui.Viewer{}, false
	}
	if s.Method == directory.MethodSAML {
		u, err := w.a.store.User(s.Login)
		if err != nil || !u.Enabled {
			_ = endUserWebSessions(r.Context(), w.a.store, audit.System, s.Login, "user disabled")
			return ui.Viewer{}, false
		}
	}
	return ui.Viewer{Session: s, Source: clientIP(r), Key: sso.Key(r)}, true
}

// sameOrigin reports whether a state change comes from this appliance's
// own pages (by Origin, else Referer): the base URL, or the host the
// browser used.
func (w *web) sameOrigin(r *http.Request) bool {
	return sso.SameOrigin(r, w.origin) || sso.SameOrigin(r, "https://"+r.Host)
}

// safeMethod reports whether a request changes nothing.
func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// authenticated serves signed-in browsers: an anonymous one is sent to
// /login (303); a state change without the session's CSRF token or from
// another origin is refused (403) and audited.
func (w *web) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		v, ok := w.viewer(r, true)
		if !ok {
			http.Redirect(rw, r, "/login", http.StatusSeeOther)
			return
		}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(rw, r.Body, 256<<10)
			if !w.sameOrigin(r) || !sso.ValidCSRF(v.Session, r.PostFormValue("csrf")) {
				w.refuseCSRF(r, v)
				w.ui.Fail(rw, r, http.StatusForbidden, "This form was not sent from a Wardline page, or it expired. Go back, reload the page and try again.")
				return
			}
		}
		next.ServeHTTP(rw, r.WithContext(ui.WithViewer(r.Context(), v)))
	})
}

// authenticatedAPI is authenticated for /api/v1/: 401 JSON when not
// signed in; a change needs the X-CSRF-Token header and the same origin.
// A request with an Authorization header is an API token's alone
// (tokenViewer): its cookies are dropped and CSRF does not apply.
func (w *web) authenticatedAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			v, ok := w.tokenViewer(rw, r)
			if !ok {
				return
			}
			r.Header.Del("Cookie")
			next.ServeHTTP(rw, r.WithContext(ui.WithViewer(r.Context(), v)))
			return
		}
		v, ok := w.viewer(r, r.URL.Path != "/api/v1/events")
		if !ok {
			ui.APIError(rw, http.StatusUnauthorized, "unauthenticated", "sign in first")
			return
		}
		if !safeMethod(r.Method) && (!w.sameOrigin(r) || !sso.ValidCSRF(v.Session, r.Header.Get("X-CSRF-Token"))) {
			w.refuseCSRF(r, v)
			ui.APIError(rw, http.StatusForbidden, "csrf", "a change needs the X-CSRF-Token header from a Wardline page")
			return
		}
		next.ServeHTTP(rw, r.WithContext(ui.WithViewer(r.Context(), v)))
	})
}

// refuseCSRF audits a refused cross-site request.
func (w *web) refuseCSRF(r *http.Request, v ui.Viewer) {
	ev := v.Actor().Event("web.csrf", "path:"+r.URL.Path)
	ev.Outcome, ev.Reason = audit.OutcomeDenied, "missing or wrong CSRF token or origin"
	w.a.store.Submit(store.AuditOnly(ev), func(error) {})
}

// home sends a browser where it belongs.
func (w *web) home(rw http.ResponseWriter, r *http.Request) {
	v, ok := w.viewer(r, false)
	switch {
	case !ok:
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
	case v.Session.Has(directory.RightClinician):
		http.Redirect(rw, r, "/app/", http.StatusSeeOther)
	default:
		http.Redirect(rw, r, "/admin/", http.StatusSeeOther)
	}
}

func (w *web) loginPage(rw http.ResponseWriter, r *http.Request) {
	if _, ok := w.viewer(r, false); ok {
		w.home(rw, r)
		return
	}
	msg := map[string]string{
		"failed":    "Sign-in failed. Try again; if it keeps failing, call the IT service desk.",
		"unknown":   "You signed in at the identity provider, but your account is not enabled for Wardline.",
		"sso":       "Single sign-on is not available right now. IT staff can use emergency access.",
		"loggedout": "You are signed out.",
	}[r.URL.Query().Get("e")]
	w.ui.LoginPage(rw, r, http.StatusOK, msg)
}

func (w *web) samlMetadata(rw http.ResponseWriter, r *http.Request) {
	sp := w.sp.Load()
	if sp == nil {
		http.NotFound(rw, r)
		return
	}
	b, err := sp.Metadata()
	if err != nil {
		http.Error(rw, "metadata unavailable", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/samlmetadata+xml")
	rw.Header().Set("Cache-Control", "public, max-age=3600")
	rw.Write(b)
}

func (w *web) samlLogin(rw http.ResponseWriter, r *http.Request) {
	sp := w.sp.Load()
	if sp == nil {
		http.Redirect(rw, r, "/login?e=sso", http.StatusSeeOther)
		return
	}
	sp.BeginLogin(rw, r)
}

// samlACS takes the IdP's POST: the assertion is checked by sso, then the
// store refuses a replayed assertion id and a user not in the directory
// or disabled, and records the session, in one transaction.
func (w *web) samlACS(rw http.ResponseWriter, r *http.Request) {
	sp := w.sp.Load()
	if sp == nil {
		http.Redirect(rw, r, "/login?e=sso", http.StatusSeeOther)
		return
	}
	src := clientIP(r)
	id, err := sp.Finish(rw, r)
	if err != nil {
		w.auditSignin(audit.Actor{User: "unknown", Source: src}, "session.start", err.Error())
		w.log.Warn("a SAML response was refused", "source", src, "err", err)
		http.Redirect(rw, r, "/login?e=failed", http.StatusSeeOther)
		return
	}
	name := id.Name
	if u, err := w.a.store.User(id.Login); err == nil && u.Name != "" {
		name = u.Name
	}
	if name == "" {
		name = id.Login
	}
	s := directory.WebSession{Login: id.Login, Name: name, Rights: id.Rights, Method: directory.MethodSAML,
		NameID: id.NameID, NameFormat: id.NameFormat, SAMLIndex: id.SessionIndex, Source: src}
	_, err = w.sessions.Create(r.Context(), rw, s, sso.Proof{AssertionID: id.AssertionID, AssertionExpires: id.Expires})
	switch {
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, directory.ErrInvalid):
		http.Redirect(rw, r, "/login?e=unknown", http.StatusSeeOther)
		return
	case err != nil:
		w.log.Warn("a SAML sign-in was refused", "source", src, "err", err)
		http.Redirect(rw, r, "/login?e=failed", http.StatusSeeOther)
		return
	}
	target := "/app/"
	if !slices.Contains(id.Rights, directory.RightClinician) {
		target = "/admin/"
	}
	http.Redirect(rw, r, target, http.StatusSeeOther)
}

// auditSignin records a refused sign-in.
func (w *web) auditSignin(by audit.Actor, action, reason string) {
	ev := by.Event(action)
	ev.Outcome, ev.Reason = audit.OutcomeDenied, reason
	if len(ev.Reason) > 200 {
		ev.Reason = ev.Reason[:200]
	}
	w.a.store.Submit(store.AuditOnly(ev), func(error) {})
}

// breakGlass signs a local emergency administrator in with password and
// TOTP code: 5 failed tries per login and per address in 15 minutes, then
// 429 with Retry-After; every try is audited.
func (w *web) breakGlass(rw http.ResponseWriter, r *http.Request) {
	src := clientIP(r)
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if !w.sameOrigin(r) {
		w.auditSignin(audit.Actor{User: "unknown", Source: src}, "session.start.breakglass", "cross-site sign-in form")
		w.ui.LoginPage(rw, r, http.StatusForbidden, "This sign-in form was not sent from this appliance's page.")
		return
	}
	login, _ := directory.NormalizeLogin(r.PostFormValue("login"))
	if login == "" {
		login = "invalid"
	}
	actor := audit.Actor{User: "breakglass:" + login, Source: src}
	if wait := w.limiter.Check("login:"+login, "ip:"+src); wait > 0 {
		w.auditSignin(actor, "session.start.breakglass", "too many failed tries")
		rw.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		w.ui.LoginPage(rw, r, http.StatusTooManyRequests, "Too many failed tries. Wait a few minutes and try again.")
		return
	}
	fail := func(reason string) {
		w.limiter.Fail("login:"+login, "ip:"+src)
		w.auditSignin(actor, "session.start.breakglass", reason)
		w.ui.LoginPage(rw, r, http.StatusUnauthorized, "The account, password or code is wrong.")
	}
	pw := r.PostFormValue("password")
	adm, err := w.a.store.LocalAdmin(login)
	if err != nil {
		sso.CheckUnknown(pw)
		fail("unknown account")
		return
	}
	if !sso.CheckPassword(adm.PasswordHash, pw) {
		fail("wrong password")
		return
	}
	step, err := sso.CheckTOTP(adm.TOTPSecret, r.PostFormValue("code"), time.Now())
	if err != nil {
		fail("wrong code")
		return
	}
	s := directory.WebSession{Login: login, Name: login + " (emergency)", Rights: []directory.Right{directory.RightAdmin, directory.RightAuditor},
		Method: directory.MethodBreakGlass, Source: src, Expires: time.Now().Add(breakGlassMax)}
	if _, err := w.sessions.Create(r.Context(), rw, s, sso.Proof{TOTPStep: step}); err != nil {
		if errors.Is(err, store.ErrCodeReused) {
			fail("code used before")
			return
		}
		w.ui.LoginPage(rw, r, http.StatusServiceUnavailable, "Sign-in is not possible right now.")
		return
	}
	w.log.Warn("break-glass sign-in", "account", login, "source", src)
	http.Redirect(rw, r, "/admin/", http.StatusSeeOther)
}

// logout ends the session, then sends the browser to the IdP's single
// logout when it has one.
func (w *web) logout(rw http.ResponseWriter, r *http.Request) {
	v, ok := w.viewer(r, false)
	if !ok {
		http.Redirect(rw, r, "/login", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if !w.sameOrigin(r) || !sso.ValidCSRF(v.Session, r.PostFormValue("csrf")) {
		w.refuseCSRF(r, v)
		w.ui.Fail(rw, r, http.StatusForbidden, "This sign-out was not sent from a Wardline page.")
		return
	}
	s, _ := w.sessions.End(rw, r, "logout")
	if sp := w.sp.Load(); sp != nil && s.Method == directory.MethodSAML {
		if u, ok := sp.LogoutURL(s); ok {
			http.Redirect(rw, r, u, http.StatusSeeOther)
			return
		}
	}
	http.Redirect(rw, r, "/login?e=loggedout", http.StatusSeeOther)
}

// samlSLO takes the IdP's single logout: a LogoutRequest (the person
// signed out at the IdP or another service: end their sessions here and
// answer), or the answer to our own logout request.
func (w *web) samlSLO(rw http.ResponseWriter, r *http.Request) {
	sp := w.sp.Load()
	if sp != nil && r.URL.Query().Get("SAMLRequest") != "" {
		req, err := sp.ParseLogoutRequest(r)
		if err != nil {
			w.auditSignin(audit.Actor{User: "unknown", Source: clientIP(r)}, "session.end_all", err.Error())
			w.log.Warn("a SAML logout request was refused", "err", err)
			http.Error(rw, "the logout request was refused", http.StatusBadRequest)
			return
		}
		w.sessions.End(rw, r, "idp logout") // this browser's own session, if any
		if err := w.a.store.Apply(r.Context(), &store.EndNameIDSessions{By: audit.Actor{User: "idp", Source: clientIP(r)}, NameID: req.NameID}); err != nil {
			http.Error(rw, "the sessions could not be ended", http.StatusServiceUnavailable)
			return
		}
		w.sessions.Forget()
		u, err := sp.LogoutResponseURL(req)
		if err != nil {
			http.Redirect(rw, r, "/login?e=loggedout", http.StatusSeeOther)
			return
		}
		http.Redirect(rw, r, u, http.StatusSeeOther)
		return
	}
	if sp != nil && r.URL.Query().Get("SAMLResponse") != "" {
		if err := sp.CheckLogoutResponse(r); err != nil {
			w.log.Warn("a SAML logout response was refused", "err", err)
		}
	}
	http.Redirect(rw, r, "/login?e=loggedout", http.StatusSeeOther)
}

// endUserWebSessions ends every web session of a user. Call it whenever a
// user is disabled: `user disable`, the admin console, and the AD sync.
func endUserWebSessions(ctx context.Context, st *store.Store, by audit.Actor, login, reason string) error {
	return st.Apply(ctx, &store.EndUserWebSessions{By: by, Login: login, Reason: reason})
}

// webSessionStore keeps web sessions in the store.
type webSessionStore struct{ st *store.Store }

func sessionActor(s directory.WebSession) audit.Actor {
	return ui.Viewer{Session: s, Source: s.Source}.Actor()
}

func (w webSessionStore) StartSession(ctx context.Context, hash string, s directory.WebSession, p sso.Proof) error {
	return w.st.Apply(ctx, &store.StartWebSession{By: sessionActor(s), Hash: hash, Session: s,
		AssertionID: p.AssertionID, AssertionExpires: p.AssertionExpires, TOTPStep: p.TOTPStep})
}

func (w webSessionStore) Session(hash string) (directory.WebSession, error) {
	return w.st.WebSession(hash)
}

func (w webSessionStore) EndSession(ctx context.Context, hash string, s directory.WebSession, reason string) error {
	return w.st.Apply(ctx, store.EndWebSession{By: sessionActor(s), Hash: hash, Reason: reason})
}

// runPurge forgets expired sessions and replay-cache entries every 10
// minutes.
func (w *web) runPurge(ctx context.Context) error {
	return every(ctx, 10*time.Minute, func() {
		cmd := &store.PurgeWebState{Max: 1000}
		if err := w.a.store.Apply(ctx, cmd); err != nil {
			w.log.Warn("purging expired web sessions failed; will try again", "err", err)
			return
		}
		w.sessions.Forget()
	})
}

// metricsAccess serves /metrics to loopback clients and to signed-in
// administrators (docs/web.md).
func (a *Appliance) metricsAccess(h http.Handler) http.Handler {
	loop := onlyLoopback(h)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if a.web != nil {
			if v, ok := a.web.viewer(r, true); ok && v.Session.Has(directory.RightAdmin) {
				h.ServeHTTP(rw, r)
				return
			}
		}
		loop.ServeHTTP(rw, r)
	})
}
