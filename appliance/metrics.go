package appliance

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the appliance's Prometheus registry. Labels hold listener and
// certificate names only: never a user, a message or a patient.
func (a *Appliance) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		applianceCollector{a},
		oncallCollector{a},
		directoryCollector{a.dir},
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// onlyLoopback serves h to clients on the loopback interface and answers
// 403 to others (administrators get it through the admin console later).
func onlyLoopback(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "metrics are served to loopback clients only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// applianceCollector reads the store, broker and certificate counters at
// each scrape.
type applianceCollector struct{ a *Appliance }

var (
	descInfo          = prometheus.NewDesc("wardline_build_info", "Build and instance of this appliance.", []string{"version", "instance"}, nil)
	descReady         = prometheus.NewDesc("wardline_ready", "1 when the store is open and every listener is up.", nil, nil)
	descCommits       = prometheus.NewDesc("wardline_store_commits_total", "Synced store transactions (each one fsync).", nil, nil)
	descCommands      = prometheus.NewDesc("wardline_store_commands_total", "Commands applied to the store.", nil, nil)
	descFailedCommits = prometheus.NewDesc("wardline_store_commit_failures_total", "Store transactions that could not be written.", nil, nil)
	descRefused       = prometheus.NewDesc("wardline_store_refused_total", "Commands refused because free disk space fell below the reserve.", nil, nil)
	descSync          = prometheus.NewDesc("wardline_store_commit_seconds_total", "Time spent committing and syncing store transactions.", nil, nil)
	descAudit         = prometheus.NewDesc("wardline_audit_events", "Events in the audit chain.", nil, nil)
	descMQTTClients   = prometheus.NewDesc("wardline_mqtt_clients", "Authenticated MQTT clients connected.", nil, nil)
	descMQTTConns     = prometheus.NewDesc("wardline_mqtt_connections", "Open MQTT network connections.", nil, nil)
	descMQTTAuthFail  = prometheus.NewDesc("wardline_mqtt_auth_failures_total", "Refused MQTT CONNECTs.", nil, nil)
	descMQTTMalformed = prometheus.NewDesc("wardline_mqtt_malformed_packets_total", "Connections closed for a malformed packet.", nil, nil)
	descMQTTDropped   = prometheus.NewDesc("wardline_mqtt_dropped_total", "Messages the broker dropped (slow subscribers, inflight limits).", nil, nil)
	descMsgSent       = prometheus.NewDesc("wardline_messages_sent_total", "Messages accepted from devices (stored and acknowledged).", nil, nil)
	descMsgRefused    = prometheus.NewDesc("wardline_messages_refused_total", "Sends refused (invalid, unknown recipient, forbidden, too large).", nil, nil)
	descMsgFailed     = prometheus.NewDesc("wardline_messages_store_failures_total", "Sends not stored because the store failed (alert on any).", nil, nil)
	descAcks          = prometheus.NewDesc("wardline_message_acks_total", "Delivered and read acks stored.", nil, nil)
	descDelivered     = prometheus.NewDesc("wardline_device_publishes_total", "Publishes written to devices (messages, notifications, receipts, replies, commands).", nil, nil)
	descMailboxes     = prometheus.NewDesc("wardline_delivery_devices", "Devices connected and subscribed, ready for delivery.", nil, nil)
	descWaiting       = prometheus.NewDesc("wardline_delivery_waiting", "Publishes waiting to be written to connected devices.", nil, nil)
	descCertExpiry    = prometheus.NewDesc("wardline_certificate_expiry_timestamp_seconds", "When the served certificate expires.", []string{"name"}, nil)
)

// Describe implements prometheus.Collector.
func (c applianceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descReady, descCommits, descCommands, descFailedCommits, descRefused, descSync, descAudit,
		descMQTTClients, descMQTTConns, descMQTTAuthFail, descMQTTMalformed, descMQTTDropped, descCertExpiry,
		descMsgSent, descMsgRefused, descMsgFailed, descAcks, descDelivered, descMailboxes, descWaiting} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c applianceCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descInfo, 1, Version, a.store.Instance())
	ready := 0.0
	if a.ready.Load() {
		ready = 1
	}
	gauge(descReady, ready)
	st := a.store.Stats()
	counter(descCommits, float64(st.Commits))
	counter(descCommands, float64(st.Commands))
	counter(descFailedCommits, float64(st.FailedCommits))
	counter(descRefused, float64(st.Refused))
	counter(descSync, st.SyncTime.Seconds())
	gauge(descAudit, float64(st.AuditSeq))
	bs := a.broker.Stats()
	gauge(descMQTTClients, float64(bs.ClientsConnected))
	gauge(descMQTTConns, float64(bs.OpenConnections))
	counter(descMQTTAuthFail, float64(bs.AuthFailures))
	counter(descMQTTMalformed, float64(bs.MalformedPackets))
	counter(descMQTTDropped, float64(bs.MessagesDropped+bs.InflightDropped))
	counter(descMsgSent, float64(a.api.sent.Load()))
	counter(descMsgRefused, float64(a.api.refused.Load()))
	counter(descMsgFailed, float64(a.api.storeFailed.Load()))
	counter(descAcks, float64(a.api.acks.Load()))
	counter(descDelivered, float64(a.api.out.delivered.Load()))
	boxes, waiting := a.api.out.mailboxes()
	gauge(descMailboxes, float64(boxes))
	gauge(descWaiting, float64(waiting))
	for _, ci := range a.certs.Certificates() {
		if !ci.NotAfter.IsZero() {
			gauge(descCertExpiry, float64(ci.NotAfter.Unix()), ci.Name)
		}
	}
}
