package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"time"
)

// Target says what a run loads, which decides the topics it uses.
type Target string

const (
	// Appliance is the Wardline device API: senders publish out/send,
	// recipients get in/msg and acknowledge it on out/ack.
	Appliance Target = "appliance"
	// Baseline is a bare MQTT broker: senders publish straight to the
	// recipient's wl/v1/{id}/in/msg (a group's messages to one topic its
	// members subscribe to), and recipients only record what they get.
	Baseline Target = "baseline"
	// Protocol is the device API on Wardline's own broker with nothing
	// stored (ProtocolBroker): the topics, the load and the checks are the
	// appliance's.
	Protocol Target = "protocol"
)

// deviceAPI reports whether the target speaks the device API (out/send,
// in/msg, out/ack) rather than bare MQTT.
func (t Target) deviceAPI() bool { return t == Appliance || t == Protocol }

// Device is one device to connect as.
type Device struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	User   string `json:"user"`
}

// Config describes one run.
type Config struct {
	Target  Target
	Addr    string      // MQTT address, host:port
	TLS     *tls.Config // nil: plain TCP
	Devices []Device    // the first Senders of them send

	Senders   int           // devices that send (default 10)
	Rate      float64       // sends per second in total; 0 = as fast as Inflight allows
	Inflight  int           // unacknowledged sends per sender (default 64)
	Duration  time.Duration // how long to send, or with Idle to hold the connections
	Body      int           // body bytes (default 256)
	GroupSize int           // 0: 1:1 to random users; G: every send to Group, whose members are the first G devices' users
	Group     string        // the group's name (Appliance, Protocol) or topic part (Baseline)
	Idle      bool          // connect, hold Duration, send nothing

	ConnectConcurrency int           // connects at a time (default 200)
	Straggle           time.Duration // how long to wait after Duration for late PUBACKs and deliveries (default 10 s)
	PID                int           // process whose RSS and CPU to report (0: none)
	Progress           io.Writer     // progress lines (nil: none)
}

// withDefaults fills the zero fields with their defaults and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Target == "" {
		c.Target = Appliance
	}
	if c.Senders == 0 {
		c.Senders = 10
	}
	if c.Inflight == 0 {
		c.Inflight = 64
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.Body == 0 {
		c.Body = 256
	}
	if c.ConnectConcurrency == 0 {
		c.ConnectConcurrency = 200
	}
	if c.Straggle == 0 {
		c.Straggle = 10 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	n := len(c.Devices)
	switch {
	case c.Target != Appliance && c.Target != Baseline && c.Target != Protocol:
		return c, fmt.Errorf("unknown target %q", c.Target)
	case c.Addr == "":
		return c, errors.New("no MQTT address")
	case n == 0:
		return c, errors.New("no devices")
	case c.Idle:
	case c.Senders < 1 || c.Senders > n:
		return c, fmt.Errorf("senders must be 1 to the number of devices (%d)", n)
	case c.GroupSize == 0 && n < 2:
		return c, errors.New("1:1 messages need at least 2 devices")
	case c.GroupSize < 0 || c.GroupSize > n:
		return c, fmt.Errorf("group size must be 0 to the number of devices (%d)", n)
	case c.GroupSize == 1 && c.Senders > 0:
		return c, errors.New("a group of 1 reaches no one when its member sends: use a group size of 2 or more")
	case c.GroupSize > 0 && c.Group == "":
		return c, errors.New("no group name")
	case c.Rate < 0 || c.Inflight < 1 || c.Body < 1 || c.Duration < 0:
		return c, errors.New("rate, inflight, body and duration must be positive")
	}
	return c, nil
}
