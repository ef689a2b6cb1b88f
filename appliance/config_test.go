package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adTOML is a complete [directory.ad] section with only the required keys.
const adTOML = "[directory.ad]\nurl = \"ldaps://dc1.hosp.test:636\"\nbind_dn = \"CN=svc,DC=hosp,DC=test\"\nbind_password_file = \"/etc/wardline/ad-pw\"\nbase_dn = \"DC=hosp,DC=test\"\n"

var configCases = []struct {
	name    string
	toml    string
	wantErr string // "" when the file must load and validate
	check   func(t *testing.T, c Config)
}{
	{"empty", "", "", func(t *testing.T, c Config) {
		if c.DataDir != "./wardline-data" || c.MQTT.Addr != "127.0.0.1:8883" || c.HTTPS.Addr != "127.0.0.1:8443" || c.MQTT.PlainAddr != "" {
			t.Errorf("defaults: %+v", c)
		}
	}},
	{"comments and values", "# Wardline\ndata_dir = \"/var/lib/wardline\" # where\nhost_names = [\"wardline.hosp.test\"]\n[mqtt]\nplain_addr = \"127.0.0.1:1883\"\n[messaging]\nretention = \"48h\"\n", "", func(t *testing.T, c Config) {
		if c.DataDir != "/var/lib/wardline" || c.MQTT.PlainAddr != "127.0.0.1:1883" || c.Messaging.Retention.Duration != 48*time.Hour || c.HostNames[0] != "wardline.hosp.test" {
			t.Errorf("got %+v", c)
		}
	}},
	{"unknown top key", "data_dri = \"x\"\n", `unknown key "data_dri" (line 1)`, nil},
	{"unknown section", "[mqqt]\naddr = \"x:1\"\n", `unknown key "mqqt`, nil},
	{"unknown nested key", "[store]\nkeyfile = \"k\"\n", `unknown key "store.keyfile"`, nil},
	{"bad duration", "[messaging]\nretention = \"forever\"\n", "not a duration", nil},
	{"short retention", "[messaging]\nretention = \"5m\"\n", "messaging.retention", nil},
	{"bad address", "[https]\naddr = \"8443\"\n", "https.addr", nil},
	{"no mqtt listener", "[mqtt]\naddr = \"\"\n", "mqtt.addr", nil},
	{"body too large", "[messaging]\nmax_body = 100000\n", "messaging.max_body", nil},
	{"bad log level", "[log]\nlevel = \"loud\"\n", "log.level", nil},
	{"not toml", "data_dir = \n", "line 1", nil},
	{"wrong type", "data_dir = 5\n", "line 1", nil},
	{"ad incomplete", "[directory.ad]\nurl = \"ldaps://dc1:636\"\n", "directory.ad.bind_dn", nil},
	{"ad defaults", adTOML, "", func(t *testing.T, c Config) {
		ad := c.Directory.AD
		if ad == nil || ad.SyncInterval.Duration != time.Minute || ad.MaxDisableShare != 0.10 || ad.Timeout.Duration != 30*time.Second ||
			ad.UserFilter != "(&(objectCategory=person)(objectClass=user))" || ad.GroupFilter != "(objectClass=group)" || ad.StartTLS {
			t.Errorf("[directory.ad] defaults: %+v", ad)
		}
	}},
	{"ad set", adTOML + "start_tls = false\nsync_interval = \"5s\"\nmax_disable_share = 0.5\ntimeout = \"3s\"\nuser_filter = \"(objectClass=user)\"\n", "", func(t *testing.T, c Config) {
		if ad := c.Directory.AD; ad.SyncInterval.Duration != 5*time.Second || ad.MaxDisableShare != 0.5 || ad.UserFilter != "(objectClass=user)" {
			t.Errorf("[directory.ad]: %+v", ad)
		}
	}},
	{"ad plain ldap", strings.Replace(adTOML, "ldaps://dc1.hosp.test:636", "ldap://dc1.hosp.test:389", 1), "directory.ad.url", nil},
	{"ad short interval", adTOML + "sync_interval = \"1s\"\n", "directory.ad.sync_interval", nil},
	{"ad share", adTOML + "max_disable_share = 1.5\n", "directory.ad.max_disable_share", nil},
	{"ad bad filter", adTOML + "user_filter = \"(&(a=b)\"\n", "directory.ad.user_filter", nil},
	{"ad unknown key", adTOML + "bind_password = \"x\"\n", `unknown key "directory.ad.bind_password"`, nil},
	{"acme http", "[tls]\nacme_directory = \"http://ca/dir\"\n", "tls.acme_directory", nil},
	{"saml defaults", "[saml]\nidp_metadata_file = \"/etc/wardline/idp.xml\"\n", "", func(t *testing.T, c Config) {
		if c.SAML == nil || c.SAML.LoginAttribute != "uid" || c.SAML.NameAttribute != "displayName" || c.SAML.GroupsAttribute != "http://schemas.xmlsoap.org/claims/Group" {
			t.Errorf("saml defaults: %+v", c.SAML)
		}
	}},
	{"saml login from NameID", "[saml]\nidp_metadata_file = \"idp.xml\"\nlogin_attribute = \"\"\nadmin_groups = [\"it\"]\n", "", func(t *testing.T, c Config) {
		if c.SAML.LoginAttribute != "" || c.SAML.AdminGroups[0] != "it" {
			t.Errorf("saml: %+v", c.SAML)
		}
	}},
	{"no saml section", "[web]\nsession_idle = \"10m\"\n", "", func(t *testing.T, c Config) {
		if c.SAML != nil {
			t.Errorf("saml without a section: %+v", c.SAML)
		}
	}},
	{"saml without metadata", "[saml]\n", "needs idp_metadata_url or idp_metadata_file", nil},
	{"saml both metadata", "[saml]\nidp_metadata_url = \"https://idp/md\"\nidp_metadata_file = \"x\"\n", "not both", nil},
	{"saml http metadata", "[saml]\nidp_metadata_url = \"http://idp/md\"\n", "saml.idp_metadata_url", nil},
	{"saml unknown key", "[saml]\nidp_metadata_file = \"x\"\nadmin_group = []\n", `unknown key "saml.admin_group"`, nil},
	{"base url with a path", "[https]\nbase_url = \"https://w.hosp.test/wardline\"\n", "https.base_url", nil},
}

func loadString(t testing.TB, s string) (Config, error) {
	p := filepath.Join(t.TempDir(), "wardline.toml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestConfig(t *testing.T) {
	for _, c := range configCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := loadString(t, c.toml)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

// TestPackagedConfigLoads keeps packaging/wardline.toml, the commented file
// the .deb installs, valid.
func TestPackagedConfigLoads(t *testing.T) {
	c, err := LoadConfig("../packaging/wardline.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func FuzzConfig(f *testing.F) {
	for _, c := range configCases {
		f.Add(c.toml)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := loadString(t, s)
		if err == nil && (c.DataDir == "" || c.HTTPS.Addr == "") {
			t.Fatalf("a config that validates has no data_dir or https.addr: %+v", c)
		}
	})
}
