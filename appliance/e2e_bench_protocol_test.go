package appliance_test

import (
	"encoding/json"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestBenchProtocolBaseline runs `wardline bench --baseline
// --protocol-baseline` against a real appliance: three clean runs of the
// same load, in that order, and the three ratios.
func TestBenchProtocolBaseline(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t), "--mqtt-plain-addr", "127.0.0.1:0")
	out, stderr, code := a.CLI("bench", "--devices", "10", "--senders", "2", "--rate", "50", "--duration", "1s",
		"--baseline", "--protocol-baseline", "--json")
	if code != 0 {
		t.Fatalf("bench exited %d:\n%s", code, stderr)
	}
	type result struct {
		Target    string `json:"target"`
		Sent      int64  `json:"sent"`
		Acked     int64  `json:"acked"`
		Delivered int64  `json:"delivered"`
		Lost      int64  `json:"lost"`
		Receipts  int64  `json:"receipts"`
	}
	var rep struct {
		Appliance, Baseline, Protocol *result
		Ratio                         *struct {
			DeliveredPerS float64 `json:"delivered_per_s"`
		} `json:"ratio"`
		VsProtocol *struct {
			DeliveredPerS float64 `json:"delivered_per_s"`
		} `json:"ratio_appliance_protocol"`
		ProtocolVsBaseline *struct {
			DeliveredPerS float64 `json:"delivered_per_s"`
		} `json:"ratio_protocol_baseline"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out)
	}
	for want, r := range map[string]*result{"appliance": rep.Appliance, "baseline": rep.Baseline, "protocol": rep.Protocol} {
		if r == nil || r.Target != want || r.Sent < 40 || r.Acked != r.Sent || r.Delivered != r.Sent || r.Lost != 0 {
			t.Errorf("%s: %+v, want about 50 sent, all acked and delivered once", want, r)
		}
	}
	if p := rep.Protocol; p != nil && p.Receipts != p.Delivered {
		t.Errorf("protocol: %d receipts for %d deliveries", p.Receipts, p.Delivered)
	}
	if rep.Ratio == nil || rep.VsProtocol == nil || rep.ProtocolVsBaseline == nil || rep.VsProtocol.DeliveredPerS <= 0 {
		t.Errorf("ratios: %+v %+v %+v", rep.Ratio, rep.VsProtocol, rep.ProtocolVsBaseline)
	}
}
