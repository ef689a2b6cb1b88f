package appliance

import (
	"encoding/json"
	"net/http"
	"time"
)

// routes is the HTTPS listener's mux: health, metrics, the MQTT
// WebSocket, and the web (sign-in, admin console, web client) with the
// JSON API on a mux of its own.
func (a *Appliance) routes() http.Handler {
	mux := http.NewServeMux()
	if a.web != nil {
		mux.Handle("/", a.web.browser())
		mux.Handle("/api/", a.web.api())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", a.metricsAccess(a.metricsHandler()))
	mux.Handle("/mqtt", a.broker.WebSocketHandler())
	a.feedRoutes(mux)
	return securityHeaders(mux)
}

// readyz answers 200 when the store is open and every listener is up, and
// 503 with the reasons otherwise.
func (a *Appliance) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{"store": "ok", "listeners": "ok"}
	ok := true
	if err := a.store.Ping(r.Context()); err != nil {
		checks["store"], ok = err.Error(), false
	}
	if !a.ready.Load() {
		checks["listeners"], ok = "starting or stopping", false
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks, "time": time.Now().UTC()})
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin") // "no-referrer" would make browsers send "Origin: null" on our own forms
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
