package appliance

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is the whole configuration: the keys of docs/config.md. Every key
// is optional; Defaults gives the values of a config-less start.
type Config struct {
	DataDir   string          `toml:"data_dir"`
	HostNames []string        `toml:"host_names"`
	MQTT      MQTTConfig      `toml:"mqtt"`
	HTTPS     HTTPSConfig     `toml:"https"`
	Store     StoreConfig     `toml:"store"`
	TLS       TLSConfig       `toml:"tls"`
	Messaging MessagingConfig `toml:"messaging"`
	Directory DirectoryConfig `toml:"directory"`
	SAML      *SAMLConfig     `toml:"saml"`
	Web       WebConfig       `toml:"web"`
	Log       LogConfig       `toml:"log"`
}

// MQTTConfig is the [mqtt] section.
type MQTTConfig struct {
	Addr           string `toml:"addr"`
	PlainAddr      string `toml:"plain_addr"`
	MaxConnections int    `toml:"max_connections"`
}

// HTTPSConfig is the [https] section.
type HTTPSConfig struct {
	Addr    string `toml:"addr"`
	BaseURL string `toml:"base_url"`
}

// StoreConfig is the [store] section.
type StoreConfig struct {
	KeyFile string `toml:"key_file"`
	// MinFreeMB is the free space below which writes are refused (MiB).
	MinFreeMB int `toml:"min_free_mb"`
}

// TLSConfig is the [tls] section.
type TLSConfig struct {
	ACMEDirectory string `toml:"acme_directory"`
	ACMEEmail     string `toml:"acme_email"`
	ACMECAFile    string `toml:"acme_ca_file"`
}

// MessagingConfig is the [messaging] section.
type MessagingConfig struct {
	Retention      Duration `toml:"retention"`
	MaxBody        int      `toml:"max_body"`
	CriticalRepeat Duration `toml:"critical_repeat"` // a critical message's notify repeats this often until read
}

// DirectoryConfig is the [directory] section; AD is [directory.ad].
type DirectoryConfig struct {
	AD *ADConfig `toml:"ad"`
}

// ADConfig is the [directory.ad] section: Active Directory synchronisation.
type ADConfig struct {
	URL                string   `toml:"url"`
	StartTLS           bool     `toml:"start_tls"`
	CAFile             string   `toml:"ca_file"`
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	BindDN             string   `toml:"bind_dn"`
	BindPasswordFile   string   `toml:"bind_password_file"`
	BaseDN             string   `toml:"base_dn"`
	UserFilter         string   `toml:"user_filter"`
	GroupFilter        string   `toml:"group_filter"`
	SyncInterval       Duration `toml:"sync_interval"`
	MaxDisableShare    float64  `toml:"max_disable_share"`
	Timeout            Duration `toml:"timeout"`
}

// SAMLConfig is the [saml] section: single sign-on.
type SAMLConfig struct {
	IdPMetadataURL       string   `toml:"idp_metadata_url"`
	IdPMetadataFile      string   `toml:"idp_metadata_file"`
	IdPCAFile            string   `toml:"idp_ca_file"`
	EntityID             string   `toml:"entity_id"`
	AllowIdPInitiated    bool     `toml:"allow_idp_initiated"`
	LoginAttribute       string   `toml:"login_attribute"`
	NameAttribute        string   `toml:"name_attribute"`
	GroupsAttribute      string   `toml:"groups_attribute"`
	AdminGroups          []string `toml:"admin_groups"`
	AuditorGroups        []string `toml:"auditor_groups"`
	RequiredAuthnContext []string `toml:"required_authn_context"`
}

// WebConfig is the [web] section.
type WebConfig struct {
	SessionIdle Duration `toml:"session_idle"`
	SessionMax  Duration `toml:"session_max"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // auto (JSON unless stderr is a terminal), json, text
}

// Duration is a time.Duration written as a Go duration string ("90s").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"90s\" or \"15m\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Defaults returns the configuration of a start with no config file.
func Defaults() Config {
	return Config{
		DataDir:   "./wardline-data",
		MQTT:      MQTTConfig{Addr: "127.0.0.1:8883", MaxConnections: 50000},
		HTTPS:     HTTPSConfig{Addr: "127.0.0.1:8443"},
		Store:     StoreConfig{MinFreeMB: 256},
		Messaging: MessagingConfig{Retention: Duration{720 * time.Hour}, MaxBody: 4096, CriticalRepeat: Duration{2 * time.Minute}},
		Web:       WebConfig{SessionIdle: Duration{15 * time.Minute}, SessionMax: Duration{12 * time.Hour}},
		Log:       LogConfig{Level: "info", Format: "auto"},
	}
}

// LoadConfig reads a TOML config file over the defaults. Unknown keys and
// sections are errors that name them.
func LoadConfig(path string) (Config, error) {
	cfg := Defaults()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	saml := samlDefaults
	cfg.SAML = &saml // decoded over its defaults; dropped again below when the file has no [saml]
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, describeTOMLError(err))
	}
	if cfg.Directory.AD != nil {
		// Decode again over the defaults of [directory.ad], now that the
		// section is known to be there.
		cfg.Directory.AD = adDefaults()
		if err := toml.NewDecoder(bytes.NewReader(b)).Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, describeTOMLError(err))
		}
	}
	if !hasSection(b, "saml") {
		cfg.SAML = nil
	}
	return cfg, nil
}

// describeTOMLError turns go-toml's errors into one line per problem, with
// the key and line.
func describeTOMLError(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var msgs []string
		for _, e := range strict.Errors {
			row, _ := e.Position()
			msgs = append(msgs, fmt.Sprintf("unknown key %q (line %d)", strings.Join(e.Key(), "."), row))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("line %d, column %d: %s", row, col, de.Error())
	}
	return err
}

// Validate checks the values and says what is wrong with which key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, a...)...))
	}
	if c.DataDir == "" {
		bad("data_dir", "is empty")
	}
	checkAddr := func(key, v string, required bool) {
		if v == "" {
			if required {
				bad(key, "is empty")
			}
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(key, "is not host:port (%v)", err)
		}
	}
	checkAddr("mqtt.addr", c.MQTT.Addr, false)
	checkAddr("mqtt.plain_addr", c.MQTT.PlainAddr, false)
	checkAddr("https.addr", c.HTTPS.Addr, true)
	if c.MQTT.Addr == "" && c.MQTT.PlainAddr == "" {
		bad("mqtt.addr", "is empty and no plain_addr is set: devices could not connect")
	}
	if c.MQTT.MaxConnections < 1 {
		bad("mqtt.max_connections", "must be at least 1")
	}
	for _, h := range c.HostNames {
		if h == "" || strings.ContainsAny(h, " /:*") && net.ParseIP(h) == nil {
			bad("host_names", "%q is not a host name or IP address", h)
		}
	}
	if c.Store.MinFreeMB < 1 {
		bad("store.min_free_mb", "must be at least 1")
	}
	if c.Messaging.MaxBody < 1 || c.Messaging.MaxBody > 4096 {
		bad("messaging.max_body", "must be between 1 and 4096 characters")
	}
	if c.Messaging.Retention.Duration < time.Hour {
		bad("messaging.retention", "must be at least 1h")
	}
	if c.Messaging.CriticalRepeat.Duration < time.Second {
		bad("messaging.critical_repeat", "must be at least 1s")
	}
	if c.Web.SessionIdle.Duration <= 0 || c.Web.SessionMax.Duration < c.Web.SessionIdle.Duration {
		bad("web.session_idle", "must be positive and no longer than web.session_max")
	}
	if c.TLS.ACMEDirectory != "" && !strings.HasPrefix(c.TLS.ACMEDirectory, "https://") {
		bad("tls.acme_directory", "must be an https:// URL")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		bad("log.format", "must be auto, json or text")
	}
	// Sections of later versions are parsed so that a full config file is
	// accepted by name, but refused until their feature exists, rather than
	// ignored.
	if c.Directory.AD != nil {
		errs = append(errs, c.Directory.AD.validate())
	}
	if c.SAML != nil {
		c.SAML.validate(bad)
	}
	if c.HTTPS.BaseURL != "" {
		if _, err := baseURL(*c, 0); err != nil {
			bad("https.base_url", "must be an https://host[:port] URL without a path")
		}
	}
	return errors.Join(errs...)
}
