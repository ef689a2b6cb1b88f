package loadgen

// Result is what one run measured. Counts of deliveries are per recipient
// device; counts of sends are per send.
type Result struct {
	Target    Target  `json:"target"`
	Addr      string  `json:"addr"`
	TLS       bool    `json:"tls"`
	Devices   int     `json:"devices"`
	Senders   int     `json:"senders"`
	Rate      float64 `json:"rate"` // asked for; 0 = as fast as possible
	Inflight  int     `json:"inflight"`
	Body      int     `json:"body_bytes"`
	GroupSize int     `json:"group_size,omitempty"`
	Idle      bool    `json:"idle,omitempty"`

	Connected      int     `json:"connected"`
	ConnectSeconds float64 `json:"connect_seconds"`
	Disconnects    int64   `json:"disconnects"` // connections lost during the run

	Drained      int64   `json:"drained"` // messages of earlier runs that arrived before sending began
	DrainSeconds float64 `json:"drain_seconds"`

	WindowSeconds float64          `json:"window_seconds"` // the send window
	Sent          int64            `json:"sent"`
	Acked         int64            `json:"acked"`   // PUBACK reason 0
	Refused       int64            `json:"refused"` // PUBACK reason >= 0x80
	RefusedCodes  map[string]int64 `json:"refused_codes,omitempty"`
	Unacked       int64            `json:"unacked"`                          // no PUBACK by the end (timeout, connection lost)
	Expected      int64            `json:"expected"`                         // recipients of the acked sends
	Delivered     int64            `json:"delivered"`                        // first receipts, per recipient
	Complete      int64            `json:"complete"`                         // acked sends every recipient received
	Lost          int64            `json:"lost"`                             // acked sends some recipient did not receive
	LostRecipient int64            `json:"lost_recipients"`                  // recipients those sends missed
	Duplicates    int64            `json:"duplicates"`                       // receipts of a message a recipient had already
	Misrouted     int64            `json:"misrouted"`                        // receipts by a device the message was not for
	Stale         int64            `json:"stale"`                            // messages of earlier runs, acknowledged and ignored
	AckedPerSec   float64          `json:"sends_acked_per_s"`                // Acked over the send window
	DeliveredPS   float64          `json:"delivered_per_s"`                  // Delivered over the send window
	CompletePS    float64          `json:"complete_per_s"`                   // Complete over the send window
	EndToEnd      Latency          `json:"e2e_latency"`                      // send to in/msg, per recipient
	AllRecipients *Latency         `json:"all_recipients_latency,omitempty"` // send until the last recipient had it (groups)
	Puback        Latency          `json:"puback_latency"`                   // send to PUBACK, acked sends

	Replies     int64            `json:"replies,omitempty"` // in/reply answers to sends
	ReplyErrors map[string]int64 `json:"reply_errors,omitempty"`
	Receipts    int64            `json:"receipts,omitempty"`
	Notifies    int64            `json:"notifies,omitempty"`
	AcksSent    int64            `json:"acks_sent,omitempty"`
	AckErrors   int64            `json:"ack_errors,omitempty"`

	// The measured process (the appliance); zero when there is none.
	PID             int     `json:"pid,omitempty"`
	RSSBefore       int64   `json:"rss_before_bytes,omitempty"`    // before the devices connected
	RSSConnected    int64   `json:"rss_connected_bytes,omitempty"` // right after they connected
	RSSPeak         int64   `json:"rss_peak_bytes,omitempty"`      // largest sample during the run
	RSSEnd          int64   `json:"rss_end_bytes,omitempty"`       // at the end, devices still connected
	RSSPerDevice    int64   `json:"rss_per_device_bytes,omitempty"`
	TargetCPU       float64 `json:"target_cpu_percent,omitempty"` // of one core, over the send window
	BenchCPUPercent float64 `json:"bench_cpu_percent"`            // this process, of one core, over the send window
	// CPU time per acknowledged send, in microseconds, of the measured
	// process (appliance only) and of this process: less sensitive to a
	// busy machine than throughput.
	TargetCPUPerMsg float64 `json:"target_cpu_us_per_msg,omitempty"`
	BenchCPUPerMsg  float64 `json:"bench_cpu_us_per_msg,omitempty"`
}
