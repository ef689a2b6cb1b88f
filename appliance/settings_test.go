package appliance

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSettingsPrecedence checks flags over WARDLINE_* variables over the
// config file over the defaults.
func TestSettingsPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "w.toml")
	os.WriteFile(file, []byte("data_dir = \"/from/file\"\n[https]\naddr = \"127.0.0.1:1001\"\n[mqtt]\naddr = \"127.0.0.1:1002\"\n"), 0o600)
	cases := []struct {
		name      string
		env       map[string]string
		dataFlag  string
		wantData  string
		wantHTTPS string
		wantMQTT  string
		wantPlain string
	}{
		{"file", nil, "", "/from/file", "127.0.0.1:1001", "127.0.0.1:1002", ""},
		{"env over file", map[string]string{envData: "/from/env", envHTTPS: "127.0.0.1:2001", envMQTTPlain: "127.0.0.1:2003"}, "", "/from/env", "127.0.0.1:2001", "127.0.0.1:1002", "127.0.0.1:2003"},
		{"flag over env", map[string]string{envData: "/from/env"}, "/from/flag", "/from/flag", "127.0.0.1:1001", "127.0.0.1:1002", ""},
		{"config from env", map[string]string{envConfig: file, envMQTT: "127.0.0.1:3002"}, "", "/from/file", "127.0.0.1:1001", "127.0.0.1:3002", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := &cli{getenv: func(k string) string { return c.env[k] }, dataDir: c.dataFlag}
			if c.env[envConfig] == "" {
				cl.configFile = file
			}
			got, err := cl.settings()
			if err != nil {
				t.Fatal(err)
			}
			if got.DataDir != c.wantData || got.HTTPS.Addr != c.wantHTTPS || got.MQTT.Addr != c.wantMQTT || got.MQTT.PlainAddr != c.wantPlain {
				t.Fatalf("got data %q https %q mqtt %q plain %q", got.DataDir, got.HTTPS.Addr, got.MQTT.Addr, got.MQTT.PlainAddr)
			}
		})
	}
}
