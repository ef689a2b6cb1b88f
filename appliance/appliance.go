package appliance

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/certs"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// Appliance is one running Wardline: the store, the certificates, the MQTT
// broker, the HTTPS server and the admin socket, wired together.
type Appliance struct {
	cfg    Config
	log    *slog.Logger
	stdout io.Writer

	store  *store.Store
	certs  *certs.Manager
	broker *broker.Broker
	https  *http.Server
	httpLn net.Listener
	admin  *adminSocket
	api    *deviceAPI
	index  *directory.Index // users and groups for search and sign-in
	dir    *directorySync   // nil without [directory.ad]
	hooks  userHooks
	web    *web // sign-in, admin console, web client

	retentionSet atomic.Int64 // messaging.retention as changed on the admin console (ns); 0: the config's

	started time.Time
	ready   atomic.Bool
}

// newAppliance returns an appliance for cfg. It does no I/O: Run does.
func newAppliance(cfg Config, log *slog.Logger, stdout io.Writer) *Appliance {
	return &Appliance{cfg: cfg, log: log, stdout: stdout}
}

// shutdownGrace is how long requests in flight may take to finish at
// shutdown.
const shutdownGrace = 10 * time.Second

// Run starts everything, prints where it listens, and serves until ctx is
// done (SIGTERM or SIGINT). Then it stops accepting, lets work in flight
// finish, syncs and closes the store, and returns nil.
func (a *Appliance) Run(ctx context.Context) error {
	cfg := a.cfg
	st, err := store.Open(store.Options{Dir: cfg.DataDir, KeyFile: cfg.Store.KeyFile, CreateKey: true,
		MinFree: uint64(cfg.Store.MinFreeMB) << 20, Logger: a.log.With("component", "store")})
	if err != nil {
		return err
	}
	a.store = st
	defer func() {
		if err := st.Close(); err != nil {
			a.log.Error("closing the store", "err", err)
		}
	}()
	if err := a.startTLS(ctx); err != nil {
		return err
	}
	if err := a.startBroker(); err != nil {
		return err
	}
	if err := a.startDirectory(ctx); err != nil {
		return err
	}
	if err := a.api.loadSessions(ctx); err != nil {
		return err
	}
	a.OnUserDisabled(func(_ context.Context, login string) { a.api.endSessions(login) })
	if err := a.loadSettings(); err != nil {
		return err
	}
	if err := a.listenHTTPS(ctx); err != nil {
		return err
	}
	a.admin = &adminSocket{path: absOr(socketPath(cfg.DataDir)), log: a.log,
		api: (&adminAPI{store: st, log: a.log, status: a.status, devices: a.api.out, access: a.api.access,
			oncall: a.api.oncall, esc: a.api.esc,
			index: a.index, dir: a.dir, userDisabled: a.hooks.userDisabled}).handler()}
	if err := a.admin.listen(); err != nil {
		a.httpLn.Close()
		return err
	}

	runCtx, stopAll := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAll()
	errc := make(chan error, 16) // room for every component
	var wg sync.WaitGroup
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	a.api.out.runCtx = runCtx
	brokerCtx, stopBroker := context.WithCancel(runCtx)
	defer stopBroker()
	run("certificates", func() error { return a.certs.Run(runCtx) })
	run("mqtt", func() error { return a.broker.Run(brokerCtx) })
	run("https", func() error { return serveUntilClosed(a.https.Serve(a.httpLn)) })
	run("admin socket", a.admin.serve)
	run("audit of device sign-ins", func() error { return a.api.audit.run(runCtx) })
	run("critical repeats", func() error { return a.api.out.runRepeats(runCtx) })
	run("delivered notices", func() error { return a.api.out.runDrops(runCtx) })
	run("retention", func() error { return a.runRetention(runCtx) })
	run("escalations", func() error { return a.api.esc.run(runCtx) })
	run("on-call gaps", func() error { return a.api.oncall.runGapWatch(runCtx) })
	if a.dir != nil {
		run("directory sync", func() error { return a.dir.Run(runCtx) })
	}
	run("web sessions", func() error { return a.web.runPurge(runCtx) })
	run("shared-device sessions", func() error { return a.api.runSessionExpiry(runCtx) })

	select {
	case <-a.broker.Ready():
	case err := <-errc:
		a.shutdown(stopBroker)
		stopAll()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	a.started = time.Now()
	a.ready.Store(true)
	a.printBanner()
	a.log.Info("wardline started", "version", Version, "instance", st.Instance(), "listeners", a.listeners())

	var runErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down", "reason", context.Cause(ctx))
	case runErr = <-errc:
		a.log.Error("a component failed; shutting down", "err", runErr)
	}
	a.shutdown(stopBroker)
	stopAll()
	wg.Wait()
	a.log.Info("stopped cleanly")
	return runErr
}

// shutdown stops accepting in order: readiness first (so load balancers
// move away), then the HTTPS server and admin socket (requests in flight
// finish), then the broker. The store is closed last, by Run.
func (a *Appliance) shutdown(stopBroker context.CancelFunc) {
	a.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := a.https.Shutdown(ctx); err != nil {
		a.log.Warn("https shutdown", "err", err)
	}
	if err := a.admin.shutdown(ctx); err != nil {
		a.log.Warn("admin socket shutdown", "err", err)
	}
	stopBroker()
}

// serveUntilClosed treats a server's normal close as success.
func serveUntilClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// startTLS creates or loads the local CA and obtains the server
// certificates through certmagic.
func (a *Appliance) startTLS(ctx context.Context) error {
	names := certNames(a.cfg)
	m, err := certs.New(certs.Options{
		CADir: caDir(a.cfg.DataDir), Names: names, DefaultName: defaultName(a.cfg, names),
		Storage: certStorage{a.store}, Logger: a.log.With("component", "certs"),
		ACME: certs.ACME{Directory: a.cfg.TLS.ACMEDirectory, Email: a.cfg.TLS.ACMEEmail, CAFile: a.cfg.TLS.ACMECAFile},
	})
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := m.Provision(ctx); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	a.certs = m
	return nil
}

// certNames are the names the server certificates cover: the host name,
// localhost, the loopback addresses, the addresses the listeners bind to,
// and the configured host_names.
func certNames(cfg Config) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, h := range cfg.HostNames {
		add(h)
	}
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	add("localhost")
	add("127.0.0.1")
	add("::1")
	for _, addr := range []string{cfg.MQTT.Addr, cfg.HTTPS.Addr} {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
				add(ip.String())
			}
		}
	}
	return names
}

// defaultName is the certificate name served to clients that send no SNI
// and connect to an address the certificates do not name.
func defaultName(cfg Config, names []string) string {
	if len(cfg.HostNames) > 0 {
		return cfg.HostNames[0]
	}
	return names[0]
}

// startBroker builds the MQTT broker with the device API behind it:
// enrolled devices authenticate, their publishes become store commands, and
// committed messages are delivered from each device's queue.
func (a *Appliance) startBroker() error {
	a.api = &deviceAPI{store: a.store, access: newAccessCache(a.store), audit: newAuthAuditor(a.store), log: a.log.With("component", "devices"),
		maxBody: a.cfg.Messaging.MaxBody, now: time.Now}
	b, err := broker.New(broker.Options{
		TLSAddr: a.cfg.MQTT.Addr, PlainAddr: a.cfg.MQTT.PlainAddr, TLSConfig: a.certs.TLSConfig(),
		Logger: a.log, MaxConnections: a.cfg.MQTT.MaxConnections,
		Auth: &deviceAuth{store: a.store}, Handler: a.api,
	})
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	a.broker = b
	a.api.out = newDeliveries(a.store, b, a.log.With("component", "delivery"), a.cfg.Messaging.CriticalRepeat.Duration)
	a.api.oncall = newOncallService(a.store, a.log.With("component", "oncall"))
	if err := a.api.oncall.load(context.Background()); err != nil {
		return fmt.Errorf("on-call schedules: %w", err)
	}
	a.api.esc = newEscalations(a.store, a.api.oncall, a.api.out, a.log.With("component", "escalation"))
	return nil
}

// runRetention purges message bodies older than messaging.retention, at
// start and then every 10 minutes, a few hundred messages per command.
func (a *Appliance) runRetention(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		for {
			cmd := &store.PurgeMessages{Before: time.Now().Add(-a.retention()), Max: 256}
			if err := a.store.Apply(ctx, cmd); err != nil {
				a.log.Warn("retention purge failed; will try again", "err", err)
				break
			}
			if len(cmd.Purged) > 0 {
				a.log.Info("retention purged message bodies", "count", len(cmd.Purged))
			}
			if len(cmd.Purged) < cmd.Max {
				break
			}
		}
		a.purgeAlerts(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// listenHTTPS binds the HTTPS listener.
func (a *Appliance) listenHTTPS(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTPS.Addr)
	if err != nil {
		return fmt.Errorf("https: %w", err)
	}
	if a.web, err = a.newWeb(ctx, ln.Addr().(*net.TCPAddr).Port); err != nil {
		ln.Close()
		return err
	}
	a.api.out.web = a.web.hub
	a.httpLn = tls.NewListener(ln, a.certs.TLSConfig())
	a.https = &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.With("component", "https").Handler(), slog.LevelDebug),
	}
	return nil
}

// listeners names where the appliance listens.
func (a *Appliance) listeners() map[string]string {
	out := map[string]string{}
	for id, addr := range a.broker.Addrs() {
		out[id] = addr
	}
	if a.httpLn != nil {
		out["https"] = a.httpLn.Addr().String()
		out["mqtt-websocket"] = "https://" + a.httpLn.Addr().String() + "/mqtt"
	}
	if a.admin != nil {
		out["admin"] = a.admin.path
	}
	return out
}

// status reports the running appliance for `wardline status`.
func (a *Appliance) status(ctx context.Context) Status {
	users, _ := a.store.Users(ctx)
	st := Status{Version: Version, Instance: a.store.Instance(), Running: true, Ready: a.ready.Load() && a.store.Ping(ctx) == nil,
		Started: a.started, DataDir: absOr(a.cfg.DataDir), Listeners: a.listeners(), Users: len(users),
		Store: storeStatus(a.store), Certificates: []CertStatus{}, MQTT: MQTTStatus{Clients: int(a.broker.Stats().ClientsConnected)},
		PID: os.Getpid(), RSSBytes: residentBytes()}
	st.OnCall = a.oncallStatus()
	if a.dir != nil {
		ds := a.dir.Status()
		st.Directory = &ds
	}
	for _, c := range a.certs.Certificates() {
		st.Certificates = append(st.Certificates, CertStatus{Name: c.Name, NotAfter: c.NotAfter, Issuer: c.Issuer})
	}
	return st
}

// absOr returns the absolute form of p, or p.
func absOr(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// printBanner tells the operator where the appliance listens and what to
// do next.
func (a *Appliance) printBanner() {
	l := a.listeners()
	data := absOr(a.cfg.DataDir)
	keyFile := a.cfg.Store.KeyFile
	if keyFile == "" {
		keyFile = store.DefaultKeyFile(a.cfg.DataDir)
	}
	w := a.stdout
	fmt.Fprintf(w, "Wardline %s is running (instance %s).\n\n", Version, a.store.Instance())
	fmt.Fprintf(w, "  MQTT over TLS    %s\n", orOff(l[broker.ListenerTLS]))
	fmt.Fprintf(w, "  MQTT plain TCP   %s\n", orOff(l[broker.ListenerPlain]))
	fmt.Fprintf(w, "  HTTPS            https://%s  (/healthz, /readyz, /metrics, /mqtt)\n", l["https"])
	fmt.Fprintf(w, "  Web              %s/app/ (clinicians), %s/admin/ (administrators)\n", a.web.origin, a.web.origin)
	fmt.Fprintf(w, "  Admin socket     %s\n", l["admin"])
	fmt.Fprintf(w, "  Data directory   %s (encrypted; key in %s)\n\n", data, keyFile)
	d, me := shellQuote(a.cfg.DataDir), commandName()
	fmt.Fprintf(w, "Next steps, in another terminal:\n")
	fmt.Fprintf(w, "  %s tls ca --data %s > wardline-ca.pem       # the CA certificate devices must trust\n", me, d)
	fmt.Fprintf(w, "  %s user add jsmith --name \"Smith, Jane\" --data %s\n", me, d)
	fmt.Fprintf(w, "  %s status --data %s\n", me, d)
	fmt.Fprintf(w, "  %s audit verify --data %s\n", me, d)
	fmt.Fprintf(w, "  %s backup wardline-$(date +%%F).backup --data %s\n", me, d)
	fmt.Fprintf(w, "Stop with Ctrl-C or SIGTERM.\n")
}

// commandName is how the operator ran this binary ("./bin/wardline"), or
// "wardline" when it was found on PATH.
func commandName() string {
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		return shellQuote(os.Args[0])
	}
	return "wardline"
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b, _ := json.Marshal(s)
			return "'" + string(b[1:len(b)-1]) + "'"
		}
	}
	return s
}
