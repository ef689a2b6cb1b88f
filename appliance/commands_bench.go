package appliance

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/internal/loadgen"
)

func init() {
	commands = append(commands,
		command{path: "bench", args: "[--devices N] [--rate R] ...", nargs: 0, json: true,
			summary: "load the appliance with simulated devices; report throughput, latency, loss, RSS", define: defineBench},
		command{path: "sim", args: "--id DEV --secret S [--addr A]", nargs: 0,
			summary: "a simulated badge: show what arrives, send what you type", define: defineSim},
	)
}

// benchCacheName is the file, beside the data directory, that keeps the
// bench devices' credentials so that reruns need not enrol them again.
const benchCacheName = "wardline-bench-devices.json"

func defineBench(fs *flag.FlagSet) func(*cli, []string) error {
	devices := fs.Int("devices", 1000, "connected devices")
	senders := fs.Int("senders", 10, "devices that send (among --devices)")
	rate := fs.Float64("rate", 0, "messages per second in total; 0 = as fast as --inflight allows")
	inflight := fs.Int("inflight", 64, "unacknowledged sends per sender")
	duration := fs.Duration("duration", 30*time.Second, "how long to send (or, with --idle, to hold the connections)")
	body := fs.Int("body", 256, "message body bytes")
	group := fs.Int("group-size", 0, "0: 1:1 messages to random users; G: every message to a group of G bench users")
	idle := fs.Bool("idle", false, "connect the devices, hold them --duration, report memory; send nothing")
	baseline := fs.Bool("baseline", false, "run the same load against a bare in-process MQTT broker too, and compare")
	protocol := fs.Bool("protocol-baseline", false, "run the same load against the device API on Wardline's broker with no storage, in process, too, and compare")
	addr := fs.String("addr", "", "MQTT address (default: the plain listener if there is one, else the TLS listener)")
	useTLS := fs.Bool("tls", false, "use the TLS listener even when a plain one is open")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the bench client (not the appliance) to this file")
	return func(c *cli, _ []string) error {
		switch {
		case *devices < 1 || *devices > 99999:
			return usagef("bench: --devices must be 1 to 99999")
		case !*idle && (*senders < 1 || *senders > *devices):
			return usagef("bench: --senders must be 1 to --devices")
		case *group < 0 || *group > *devices:
			return usagef("bench: --group-size must be 0 to --devices")
		case *rate < 0 || *inflight < 1 || *body < 1 || *body > 4096 || *duration <= 0:
			return usagef("bench: --rate must be >= 0, --inflight >= 1, --body 1 to 4096, --duration > 0")
		}
		cfg, err := c.settings()
		if err != nil {
			return err
		}
		a, err := c.admin(false)
		if err != nil {
			return err
		}
		defer a.close()
		if tr, ok := a.http.Transport.(*http.Transport); ok {
			tr.MaxIdleConnsPerHost = 64 // setup keeps 32 requests going
		}
		var st Status
		if err := a.do(c.ctx, "GET", "/v1/status", nil, &st); err != nil {
			return err
		}
		mqttAddr, tlsCfg, err := deviceEndpoint(cfg.DataDir, st, *addr, "", *useTLS)
		if err != nil {
			return err
		}

		rep := &loadgen.Report{}
		setup, err := loadgen.Setup(c.ctx, a.do, benchCachePath(cfg.DataDir), st.Instance, *devices, *group, c.stderr)
		if err != nil {
			return err
		}
		rep.Setup = &setup
		if *cpuProfile != "" {
			stop, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
		}
		pid := st.PID // the appliance's process, for its RSS and CPU time
		if pid == 0 { // an appliance older than Status.PID: the admin socket's owner
			if pid, err = loadgen.SocketOwner(socketPath(cfg.DataDir)); err != nil {
				fmt.Fprintf(c.stderr, "wardline: the appliance's memory and CPU are not reported: %v\n", err)
			}
		}
		run := loadgen.Config{Target: loadgen.Appliance, Addr: mqttAddr, TLS: tlsCfg, Devices: setup.Devices, Senders: *senders,
			Rate: *rate, Inflight: *inflight, Duration: *duration, Body: *body, GroupSize: *group, Group: setup.Group,
			Idle: *idle, PID: pid, Progress: c.stderr}
		if rep.Appliance, err = loadgen.Run(c.ctx, run); err != nil {
			return err
		}
		if *baseline && c.ctx.Err() == nil {
			b, err := loadgen.StartBaseline()
			if err != nil {
				return err
			}
			run.Target, run.Addr, run.TLS, run.PID = loadgen.Baseline, b.Addr(), nil, 0
			run.Devices = loadgen.BaselineDevices(*devices)
			run.Group = loadgen.GroupName(*group)
			rep.Baseline, err = loadgen.Run(c.ctx, run)
			b.Close()
			if err != nil {
				return err
			}
			rep.Compare()
		}
		if *protocol && c.ctx.Err() == nil {
			run.Target, run.TLS, run.PID = loadgen.Protocol, nil, 0
			run.Devices = loadgen.ProtocolDevices(*devices)
			run.Group = loadgen.GroupName(*group)
			p, err := loadgen.StartProtocol(run.Devices, *group)
			if err != nil {
				return err
			}
			run.Addr = p.Addr()
			rep.Protocol, err = loadgen.Run(c.ctx, run)
			p.Close()
			if err != nil {
				return err
			}
			rep.Compare()
		}
		if c.jsonOut {
			err = c.printJSON(rep)
		} else {
			err = rep.WriteText(c.stdout)
		}
		if err != nil {
			return err
		}
		if n := rep.Appliance.Lost; n > 0 {
			return fmt.Errorf("%d acknowledged messages did not reach all their recipients", n)
		}
		return nil
	}
}

// startCPUProfile profiles this process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// benchCachePath is where bench keeps its devices: beside the data
// directory, or in the user's cache directory when that is not writable.
func benchCachePath(dataDir string) string {
	parent := filepath.Dir(absOr(dataDir))
	if syscall.Access(parent, 2 /* W_OK */) == nil {
		return filepath.Join(parent, benchCacheName)
	}
	if dir, err := os.UserCacheDir(); err == nil && os.MkdirAll(dir, 0o700) == nil {
		return filepath.Join(dir, benchCacheName)
	}
	return filepath.Join(parent, benchCacheName)
}

// deviceEndpoint picks the MQTT address a device connects to and its TLS
// configuration: addr when given (TLS unless it is the plain listener's),
// else the plain listener when there is one and TLS is not asked for, else
// the TLS listener. TLS trusts caFile, by default the instance's CA.
func deviceEndpoint(dataDir string, st Status, addr, caFile string, wantTLS bool) (string, *tls.Config, error) {
	plain, secure := st.Listeners[broker.ListenerPlain], st.Listeners[broker.ListenerTLS]
	useTLS := true
	switch {
	case addr != "":
		useTLS = wantTLS || addr != plain || plain == ""
	case plain != "" && !wantTLS:
		addr, useTLS = plain, false
	case secure != "":
		addr = secure
	default:
		return "", nil, errors.New("the appliance reports no MQTT listener; give --addr HOST:PORT")
	}
	addr = loopbackIfUnspecified(addr)
	if !useTLS {
		return addr, nil, nil
	}
	cfg, err := trustCA(dataDir, caFile)
	return addr, cfg, err
}

// trustCA returns a TLS client configuration that trusts only the CA in
// caFile (default DIR/ca/ca.crt).
func trustCA(dataDir, caFile string) (*tls.Config, error) {
	if caFile == "" {
		caFile = filepath.Join(caDir(dataDir), "ca.crt")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the CA certificate devices trust: %w (give --ca FILE)", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// loopbackIfUnspecified turns a listener bound to every address
// (0.0.0.0:8883, [::]:8883) into a loopback address to dial.
func loopbackIfUnspecified(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			return net.JoinHostPort("::1", port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// envSimSecret may hold the device secret, to keep it off the command line.
const envSimSecret = "WARDLINE_DEVICE_SECRET"

func defineSim(fs *flag.FlagSet) func(*cli, []string) error {
	id := fs.String("id", "", "the device id (dev_...)")
	secret := fs.String("secret", "", "the device secret (or $"+envSimSecret+")")
	addr := fs.String("addr", "", "MQTT address (default: the running appliance's TLS listener)")
	caFile := fs.String("ca", "", "CA certificate to trust (default DIR/ca/ca.crt)")
	plain := fs.Bool("plain", false, "plain TCP instead of TLS (the appliance's plain listener by default)")
	return func(c *cli, _ []string) error {
		if *secret == "" {
			*secret = c.getenv(envSimSecret)
		}
		if !broker.ValidDeviceID(*id) || *secret == "" {
			return usagef("sim: give --id DEV and --secret S (or $%s)", envSimSecret)
		}
		cfg, err := c.settings()
		if err != nil {
			return err
		}
		var st Status
		if *addr == "" {
			if err := c.call(false, "GET", "/v1/status", nil, &st); err != nil {
				return fmt.Errorf("%w (or give --addr HOST:PORT)", err)
			}
			if *plain && st.Listeners[broker.ListenerPlain] == "" {
				return errors.New("the appliance has no plain MQTT listener (serve --mqtt-plain-addr)")
			}
		}
		var mqttAddr string
		var tlsCfg *tls.Config
		switch {
		case *plain && *addr != "":
			mqttAddr = *addr
		case *plain:
			mqttAddr = loopbackIfUnspecified(st.Listeners[broker.ListenerPlain])
		default:
			if *addr == "" {
				*addr = st.Listeners[broker.ListenerTLS]
			}
			st.Listeners = map[string]string{} // --addr is TLS unless --plain
			mqttAddr, tlsCfg, err = deviceEndpoint(cfg.DataDir, st, *addr, *caFile, true)
			if err != nil {
				return err
			}
		}
		return loadgen.Sim(c.ctx, loadgen.SimConfig{Addr: mqttAddr, TLS: tlsCfg, Device: loadgen.Device{ID: *id, Secret: *secret},
			In: c.stdin, Out: c.stdout})
	}
}
