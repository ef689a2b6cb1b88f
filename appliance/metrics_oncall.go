package appliance

import "github.com/prometheus/client_golang/prometheus"

// oncallCollector exposes on-call coverage and escalation counters.
type oncallCollector struct{ a *Appliance }

var (
	descGapsAhead      = prometheus.NewDesc("wardline_oncall_gaps_ahead", "Gaps in scheduled roles' coverage that start within 12 hours (alert on any).", nil, nil)
	descEscPending     = prometheus.NewDesc("wardline_escalations_pending", "Escalation steps waiting for their timer.", nil, nil)
	descEscSteps       = prometheus.NewDesc("wardline_escalation_steps_total", "Escalation steps taken after the first.", nil, nil)
	descEscAccepted    = prometheus.NewDesc("wardline_escalations_accepted_total", "Escalations closed by an accept (or a read, for a message).", nil, nil)
	descEscExhausted   = prometheus.NewDesc("wardline_escalations_exhausted_total", "Escalations whose every step ran out without an accept (alert on any).", nil, nil)
	descEscExpired     = prometheus.NewDesc("wardline_escalations_expired_total", "Escalations closed as expired: nobody accepted before their expiry.", nil, nil)
	descEscMaxLateness = prometheus.NewDesc("wardline_escalation_max_lateness_seconds", "The latest an escalation timer fired after its due time since the start.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c oncallCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGapsAhead, descEscPending, descEscSteps, descEscAccepted, descEscExhausted, descEscExpired, descEscMaxLateness} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c oncallCollector) Collect(ch chan<- prometheus.Metric) {
	api := c.a.api
	if api == nil || api.oncall == nil || api.esc == nil {
		return
	}
	x := api.esc
	ch <- prometheus.MustNewConstMetric(descGapsAhead, prometheus.GaugeValue, float64(api.oncall.gapsAhead.Load()))
	ch <- prometheus.MustNewConstMetric(descEscPending, prometheus.GaugeValue, float64(x.timers.Len()))
	ch <- prometheus.MustNewConstMetric(descEscSteps, prometheus.CounterValue, float64(x.steps.Load()))
	ch <- prometheus.MustNewConstMetric(descEscAccepted, prometheus.CounterValue, float64(x.accepted.Load()))
	ch <- prometheus.MustNewConstMetric(descEscExhausted, prometheus.CounterValue, float64(x.exhausted.Load()))
	ch <- prometheus.MustNewConstMetric(descEscExpired, prometheus.CounterValue, float64(x.expired.Load()))
	ch <- prometheus.MustNewConstMetric(descEscMaxLateness, prometheus.GaugeValue, float64(x.maxLateMs.Load())/1000)
}

// OnCallStatus is the on-call part of Status.
type OnCallStatus struct {
	GapsAhead          int    `json:"gaps_ahead"` // gaps in scheduled roles starting within 12 hours
	PendingEscalations int    `json:"pending_escalations"`
	Exhausted          uint64 `json:"exhausted_escalations"` // since the appliance started
}

// oncallStatus reports coverage gaps ahead and escalations.
func (a *Appliance) oncallStatus() *OnCallStatus {
	if a.api == nil || a.api.oncall == nil || a.api.esc == nil {
		return nil
	}
	return &OnCallStatus{GapsAhead: int(a.api.oncall.gapsAhead.Load()), PendingEscalations: a.api.esc.timers.Len(), Exhausted: a.api.esc.exhausted.Load()}
}
