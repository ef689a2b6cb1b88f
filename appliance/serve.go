package appliance

import (
	"flag"
	"fmt"
)

func defineServe(fs *flag.FlagSet) func(*cli, []string) error {
	var check bool
	var mqttAddr, mqttPlain, httpsAddr string
	fs.BoolVar(&check, "check-config", false, "validate the configuration and exit")
	fs.StringVar(&mqttAddr, "mqtt-addr", "", "MQTT over TLS listen address (default 127.0.0.1:8883; $WARDLINE_MQTT_ADDR)")
	fs.StringVar(&httpsAddr, "https-addr", "", "HTTPS listen address (default 127.0.0.1:8443; $WARDLINE_HTTPS_ADDR)")
	fs.StringVar(&mqttPlain, "mqtt-plain-addr", "", "plain-TCP MQTT listen address, off unless set ($WARDLINE_MQTT_PLAIN_ADDR)")
	return func(c *cli, _ []string) error {
		cfg, err := c.settings()
		if err != nil {
			return err
		}
		overrides := []struct {
			flag string
			dst  *string
		}{{mqttAddr, &cfg.MQTT.Addr}, {httpsAddr, &cfg.HTTPS.Addr}, {mqttPlain, &cfg.MQTT.PlainAddr}}
		for _, o := range overrides {
			if o.flag != "" {
				*o.dst = o.flag
			}
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if check {
			if err := checkSAMLMetadataFile(cfg.SAML); err != nil {
				return fmt.Errorf("config: %w", err)
			}
			fmt.Fprintf(c.stdout, "Configuration OK: data %s, MQTT/TLS %s, MQTT plain %s, HTTPS %s.\n",
				cfg.DataDir, orOff(cfg.MQTT.Addr), orOff(cfg.MQTT.PlainAddr), cfg.HTTPS.Addr)
			return nil
		}
		return newAppliance(cfg, newLogger(c.stderr, cfg.Log), c.stdout).Run(c.ctx)
	}
}
