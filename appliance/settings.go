package appliance

import "path/filepath"

// Environment variables that override the config file (flags override them).
const (
	envConfig    = "WARDLINE_CONFIG"
	envData      = "WARDLINE_DATA"
	envKeyFile   = "WARDLINE_KEY_FILE"
	envMQTT      = "WARDLINE_MQTT_ADDR"
	envMQTTPlain = "WARDLINE_MQTT_PLAIN_ADDR"
	envHTTPS     = "WARDLINE_HTTPS_ADDR"
)

// settings returns the configuration for this command: the config file
// (--config or $WARDLINE_CONFIG) over the defaults, then the environment,
// then --data. It does not validate.
func (c *cli) settings() (Config, error) {
	file := c.configFile
	if file == "" {
		file = c.getenv(envConfig)
	}
	cfg, err := LoadConfig(file)
	if err != nil {
		return cfg, err
	}
	for env, dst := range map[string]*string{
		envData: &cfg.DataDir, envKeyFile: &cfg.Store.KeyFile,
		envMQTT: &cfg.MQTT.Addr, envMQTTPlain: &cfg.MQTT.PlainAddr, envHTTPS: &cfg.HTTPS.Addr,
	} {
		if v := c.getenv(env); v != "" {
			*dst = v
		}
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	return cfg, nil
}

// socketPath is the admin socket of the instance in dataDir.
func socketPath(dataDir string) string { return filepath.Join(dataDir, "wardline.sock") }
