package loadgen

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of `wardline bench`: the appliance's figures, with
// --baseline the bare broker's, with --protocol-baseline the protocol
// broker's, and their ratios.
type Report struct {
	Setup     *SetupReport `json:"setup,omitempty"`
	Appliance *Result      `json:"appliance"`
	Baseline  *Result      `json:"baseline,omitempty"`
	Protocol  *Result      `json:"protocol,omitempty"`
	Ratio     *Ratio       `json:"ratio,omitempty"` // appliance / baseline

	VsProtocol         *Ratio `json:"ratio_appliance_protocol,omitempty"` // appliance / protocol
	ProtocolVsBaseline *Ratio `json:"ratio_protocol_baseline,omitempty"`  // protocol / baseline
}

// Ratio compares two results: the first one's figures over the second's.
type Ratio struct {
	DeliveredPerSec float64 `json:"delivered_per_s"`
	SendsAckedPerS  float64 `json:"sends_acked_per_s"`
	E2EP50          float64 `json:"e2e_p50"`
	E2EP99          float64 `json:"e2e_p99"`
}

// Compare fills the report's ratios from the results it has.
func (r *Report) Compare() {
	r.Ratio = compare(r.Appliance, r.Baseline)
	r.VsProtocol = compare(r.Appliance, r.Protocol)
	r.ProtocolVsBaseline = compare(r.Protocol, r.Baseline)
}

// compare returns a / b, nil unless both are there.
func compare(a, b *Result) *Ratio {
	if a == nil || b == nil {
		return nil
	}
	return &Ratio{
		DeliveredPerSec: ratio(a.DeliveredPS, b.DeliveredPS),
		SendsAckedPerS:  ratio(a.AckedPerSec, b.AckedPerSec),
		E2EP50:          ratio(a.EndToEnd.P50, b.EndToEnd.P50),
		E2EP99:          ratio(a.EndToEnd.P99, b.EndToEnd.P99),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1000) / 1000
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	res := []*Result{r.Appliance}
	if r.Baseline != nil {
		res = append(res, r.Baseline)
	}
	if r.Protocol != nil {
		res = append(res, r.Protocol)
	}
	someRun := func(f func(*Result) bool) bool { return slices.ContainsFunc(res, f) }
	a := r.Appliance
	fmt.Fprintf(w, "wardline bench: %d devices", a.Devices)
	switch {
	case a.Idle:
		fmt.Fprintf(w, ", idle for %gs\n", a.WindowSeconds)
	default:
		rate := "as fast as possible"
		if a.Rate > 0 {
			rate = fmt.Sprintf("%g msg/s", a.Rate)
		}
		to := "1:1 to random users"
		if a.GroupSize > 0 {
			to = fmt.Sprintf("to a group of %d", a.GroupSize)
		}
		fmt.Fprintf(w, ", %d senders, %s (%d in flight per sender), %d-byte bodies, %s\n", a.Senders, rate, a.Inflight, a.Body, to)
	}
	if s := r.Setup; s != nil {
		fmt.Fprintf(w, "setup: %d devices (%d enrolled now, %d cached, %d users created) in %.1fs\n", len(s.Devices), s.Enrolled, s.Cached, s.UsersCreated, s.Seconds)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(name string, f func(*Result) string) {
		cells := []string{name}
		for _, x := range res {
			cells = append(cells, f(x))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	row("", func(x *Result) string { return string(x.Target) })
	row("address", func(x *Result) string {
		if x.TLS {
			return "tls://" + x.Addr
		}
		return x.Addr
	})
	row("connected", func(x *Result) string { return fmt.Sprintf("%d in %.2fs", x.Connected, x.ConnectSeconds) })
	if !a.Idle {
		n := func(f func(*Result) int64) func(*Result) string {
			return func(x *Result) string { return fmt.Sprint(f(x)) }
		}
		if someRun(func(x *Result) bool { return x.Drained > 0 }) {
			row("drained before sending", func(x *Result) string { return fmt.Sprintf("%d in %.1fs", x.Drained, x.DrainSeconds) })
		}
		row("sent", n(func(x *Result) int64 { return x.Sent }))
		row("acked (PUBACK 0)", n(func(x *Result) int64 { return x.Acked }))
		row("refused", func(x *Result) string { return fmt.Sprint(x.Refused) + codes(x.RefusedCodes) })
		row("unacked", n(func(x *Result) int64 { return x.Unacked }))
		row("delivered (per recipient)", func(x *Result) string { return fmt.Sprintf("%d of %d", x.Delivered, x.Expected) })
		row("lost (acked, not all got it)", n(func(x *Result) int64 { return x.Lost }))
		row("duplicates", n(func(x *Result) int64 { return x.Duplicates }))
		if someRun(func(x *Result) bool { return x.Misrouted+x.Stale > 0 }) {
			row("misrouted / stale", func(x *Result) string { return fmt.Sprintf("%d / %d", x.Misrouted, x.Stale) })
		}
		row("send window", func(x *Result) string { return fmt.Sprintf("%.2fs", x.WindowSeconds) })
		row("sends acked/s", func(x *Result) string { return fmt.Sprintf("%.1f", x.AckedPerSec) })
		row("delivered/s", func(x *Result) string { return fmt.Sprintf("%.1f", x.DeliveredPS) })
		if a.GroupSize > 0 {
			row("fully delivered msgs/s", func(x *Result) string { return fmt.Sprintf("%.1f", x.CompletePS) })
		}
		row("e2e latency p50/p99/max", func(x *Result) string { return lat3(x.EndToEnd) })
		if a.GroupSize > 0 {
			row("all recipients p50/p99/max", func(x *Result) string {
				if x.AllRecipients == nil {
					return "-"
				}
				return lat3(*x.AllRecipients)
			})
		}
		row("PUBACK latency p50/p99", func(x *Result) string { return fmt.Sprintf("%s / %s ms", num(x.Puback.P50), num(x.Puback.P99)) })
		row("disconnects", n(func(x *Result) int64 { return x.Disconnects }))
		row("bench CPU (of one core)", func(x *Result) string { return fmt.Sprintf("%.0f%%", x.BenchCPUPercent) })
		row("bench CPU per message", func(x *Result) string { return fmt.Sprintf("%.0f µs", x.BenchCPUPerMsg) })
	} else {
		row("disconnects", func(x *Result) string { return fmt.Sprint(x.Disconnects) })
	}
	if a.PID != 0 {
		row("appliance pid", func(x *Result) string { return pidOrDash(x.PID) })
		if !a.Idle {
			row("appliance CPU (of one core)", func(x *Result) string { return pct(x.PID, x.TargetCPU) })
			row("appliance CPU per message", func(x *Result) string {
				if x.PID == 0 {
					return "-"
				}
				return fmt.Sprintf("%.0f µs", x.TargetCPUPerMsg)
			})
		}
		row("RSS before connect", func(x *Result) string { return mib(x.PID, x.RSSBefore) })
		row("RSS connected", func(x *Result) string { return mib(x.PID, x.RSSConnected) })
		row("RSS peak / end", func(x *Result) string {
			if x.PID == 0 {
				return "-"
			}
			return mib(x.PID, x.RSSPeak) + " / " + mib(x.PID, x.RSSEnd)
		})
		row("RSS per device", func(x *Result) string {
			if x.PID == 0 || x.RSSPerDevice == 0 {
				return "-" // no PID, or the RSS did not grow (the devices were known)
			}
			return fmt.Sprintf("%.1f KiB", float64(x.RSSPerDevice)/1024)
		})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeTraffic(w, "appliance", a)
	if r.Protocol != nil {
		writeTraffic(w, "protocol", r.Protocol)
	}
	writeRatio(w, "appliance / baseline", r.Ratio)
	writeRatio(w, "appliance / protocol", r.VsProtocol)
	writeRatio(w, "protocol / baseline", r.ProtocolVsBaseline)
	return nil
}

// writeTraffic prints the device API traffic of a run, if it had any.
func writeTraffic(w io.Writer, name string, x *Result) {
	if x.Replies+x.Receipts+x.Notifies > 0 || len(x.ReplyErrors) > 0 || x.AckErrors > 0 {
		fmt.Fprintf(w, "%s traffic: %d replies%s, %d receipts, %d notifies, %d acks sent (%d failed)\n",
			name, x.Replies, codes(x.ReplyErrors), x.Receipts, x.Notifies, x.AcksSent, x.AckErrors)
	}
}

// writeRatio prints a ratio line, if there is the ratio.
func writeRatio(w io.Writer, name string, q *Ratio) {
	if q != nil {
		fmt.Fprintf(w, "%s: delivered/s %.3f, sends acked/s %.3f, e2e p50 %.2fx, p99 %.2fx\n",
			name, q.DeliveredPerSec, q.SendsAckedPerS, q.E2EP50, q.E2EP99)
	}
}

func lat3(l Latency) string {
	if l.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s ms", num(l.P50), num(l.P99), num(l.Max))
}

// num prints a millisecond figure with sensible precision.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func codes(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func pidOrDash(pid int) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprint(pid)
}

func pct(pid int, v float64) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func mib(pid int, b int64) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
