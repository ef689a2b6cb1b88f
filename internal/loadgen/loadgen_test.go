package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	tests := []struct {
		name   string
		values []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"one p50", []int64{7}, 50, 7},
		{"one p99", []int64{7}, 99, 7},
		{"two p50", []int64{1, 2}, 50, 1},
		{"two p51", []int64{1, 2}, 51, 2},
		{"ten p50", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5},
		{"ten p90", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
		{"ten p99", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"ten p100", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 100, 10},
		{"hundred p99", seq(100), 99, 99},
		{"thousand p99", seq(1000), 99, 990},
		{"thousand p99.9", seq(1000), 99.9, 999},
		{"tiny p", []int64{3, 4}, 0.001, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.values, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %g) = %d, want %d", len(tt.values), tt.p, got, tt.want)
			}
		})
	}
}

// seq returns 1..n.
func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

func TestSummarize(t *testing.T) {
	ns := []int64{5e6, 1e6, 3e6, 2e6, 4e6} // unsorted, in ns
	got := summarize(ns)
	want := Latency{Count: 5, P50: 3, P90: 5, P99: 5, Max: 5, Mean: 3}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

func TestBody(t *testing.T) {
	tests := []struct {
		name   string
		sender int
		seq    uint64
		at     int64
		size   int
		want   string
	}{
		{"padded", 3, 17, 1700000000123456789, 40, "bench 3 17 1700000000123456789 xxxxxxxxx"},
		{"exact", 0, 0, 5, 11, "bench 0 0 5"},
		{"one over", 0, 0, 5, 12, "bench 0 0 5 "},
		{"too small", 12, 345, 6789, 4, "bench 12 345 6789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendBody(nil, tt.sender, tt.seq, tt.at, tt.size)
			if string(b) != tt.want {
				t.Fatalf("appendBody = %q, want %q", b, tt.want)
			}
			s, q, at, ok := parseBody(b)
			if !ok || s != tt.sender || q != tt.seq || at != tt.at {
				t.Errorf("parseBody(%q) = %d %d %d %t", b, s, q, at, ok)
			}
		})
	}
	for _, bad := range []string{"", "bench", "hello 1 2 3", "bench x 1 2", "bench 1 2", "bench -1 2 3"} {
		if _, _, _, ok := parseBody([]byte(bad)); ok {
			t.Errorf("parseBody(%q) accepted", bad)
		}
	}
}

func TestSendPayload(t *testing.T) {
	r := &run{cfg: Config{Devices: []Device{{User: "bench-u00001"}, {User: "bench-u00002"}}, Body: 30}}
	var m struct {
		ClientRef string              `json:"client_ref"`
		To        []map[string]string `json:"to"`
		Body      string              `json:"body"`
		Priority  string              `json:"priority"`
	}
	if err := json.Unmarshal(r.appendSend(nil, 1, 9, 42, 0), &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(m.ClientRef, "-1-9") || len(m.To) != 1 || m.To[0]["user"] != "bench-u00001" || len(m.Body) != 30 || m.Priority != "normal" {
		t.Errorf("1:1 payload = %+v", m)
	}
	r.cfg.GroupSize, r.cfg.Group = 2, "bench-g2"
	if err := json.Unmarshal(r.appendSend(nil, 0, 1, 42, 0), &m); err != nil {
		t.Fatal(err)
	}
	if m.To[0]["group"] != "bench-g2" {
		t.Errorf("group payload = %+v", m)
	}
}

// fakeRun is a run without a network: receipts are fed to its devices
// directly.
func fakeRun(t *testing.T, devices, senders, group int) *run {
	t.Helper()
	cfg, err := Config{Target: Baseline, Addr: "x", Devices: BaselineDevices(devices), Senders: senders, GroupSize: group, Group: "g"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	recipients := max(1, group)
	r := &run{cfg: cfg, table: newTable(senders, recipients), next: make([]atomic.Uint64, senders), replyErrors: map[string]int64{}}
	r.startNs.Store(1000)
	for i := range devices {
		r.devs = append(r.devs, &device{r: r, idx: i})
	}
	return r
}

// sendFake records a send as the worker does and returns its body.
func sendFake(r *run, s int, to int, at int64, state uint32) []byte {
	seq := r.next[s].Add(1) - 1
	rec := r.table.get(s, seq, true)
	want := int32(1)
	if g := r.cfg.GroupSize; g > 0 {
		want = int32(g)
		if s < g {
			want--
		}
	}
	rec.to.Store(int32(to))
	rec.want.Store(want)
	rec.sentAt.Store(at)
	rec.puback.Store(int64(time.Millisecond))
	rec.state.Store(state)
	if state == stateAcked {
		r.expected.Add(int64(want))
	}
	return appendBody(nil, s, seq, at, 64)
}

func TestCountingOneToOne(t *testing.T) {
	r := fakeRun(t, 4, 2, 0)
	ms := int64(time.Millisecond)
	b1 := sendFake(r, 0, 2, 10*ms, stateAcked) // delivered twice: one duplicate
	b2 := sendFake(r, 0, 3, 20*ms, stateAcked) // never delivered: lost
	b3 := sendFake(r, 1, 0, 30*ms, stateAcked) // delivered late
	b4 := sendFake(r, 1, 2, 40*ms, stateRefused)
	sendFake(r, 1, 2, 50*ms, stateFailed)
	r.devs[2].received(b1, 12*ms)
	r.devs[2].received(b1, 13*ms)
	r.devs[1].received(b2, 21*ms) // the wrong device
	r.devs[0].received(b3, 130*ms)
	r.devs[2].received([]byte("bench 0 0 5 old"), 14*ms) // an earlier run's
	r.devs[2].received([]byte("hello"), 14*ms)
	_ = b4

	res := &Result{}
	r.fill(res, time.Second)
	want := Result{Sent: 5, Acked: 3, Refused: 1, Unacked: 1, Expected: 3, Delivered: 2, Complete: 2, Lost: 1, LostRecipient: 1,
		Duplicates: 1, Misrouted: 1, Stale: 2, AckedPerSec: 3, DeliveredPS: 2, CompletePS: 2}
	got := *res
	got.EndToEnd, got.Puback, got.RefusedCodes = Latency{}, Latency{}, nil
	if !equalResult(got, want) {
		t.Errorf("counts:\n got %+v\nwant %+v", got, want)
	}
	if res.EndToEnd.Count != 2 || res.EndToEnd.P50 != 2 || res.EndToEnd.Max != 100 {
		t.Errorf("e2e latency = %+v, want 2 samples, p50 2 ms, max 100 ms", res.EndToEnd)
	}
	if res.Puback.Count != 3 || res.Puback.P99 != 1 {
		t.Errorf("puback latency = %+v, want 3 samples of 1 ms", res.Puback)
	}
}

func TestCountingGroup(t *testing.T) {
	r := fakeRun(t, 6, 2, 4) // members: devices 0-3; senders 0 and 1 are members
	ms := int64(time.Millisecond)
	b := sendFake(r, 0, 0, 10*ms, stateAcked) // to 1, 2, 3
	for i, at := range []int64{11, 15, 19} {
		r.devs[i+1].received(b, at*ms)
	}
	r.devs[3].received(b, 30*ms)               // duplicate
	r.devs[0].received(b, 12*ms)               // the sender itself: misrouted
	r.devs[5].received(b, 12*ms)               // not a member: misrouted
	b2 := sendFake(r, 1, 0, 20*ms, stateAcked) // to 0, 2, 3; 3 never gets it
	r.devs[0].received(b2, 21*ms)
	r.devs[2].received(b2, 22*ms)

	res := &Result{}
	r.fill(res, time.Second)
	if res.Expected != 6 || res.Delivered != 5 || res.Complete != 1 || res.Lost != 1 || res.LostRecipient != 1 || res.Duplicates != 1 || res.Misrouted != 2 {
		t.Errorf("group counts = %+v", res)
	}
	if res.AllRecipients == nil || res.AllRecipients.Count != 1 || res.AllRecipients.Max != 9 {
		t.Errorf("all-recipients latency = %+v, want one sample of 9 ms", res.AllRecipients)
	}
}

func equalResult(a, b Result) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func startBaseline(t *testing.T) *BaselineBroker {
	t.Helper()
	b, err := StartBaseline()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBaselineOneToOne(t *testing.T) {
	b := startBaseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Baseline, Addr: b.Addr(), Devices: BaselineDevices(20), Senders: 2,
		Rate: 200, Duration: time.Second, Body: 100, Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 20 {
		t.Errorf("connected = %d, want 20", res.Connected)
	}
	if res.Sent < 190 || res.Sent > 200 {
		t.Errorf("sent = %d, want about 200 (200/s for 1 s)", res.Sent)
	}
	checkClean(t, res, res.Sent)
	if res.GroupSize != 0 || res.AllRecipients != nil {
		t.Errorf("1:1 run reports group figures: %+v", res)
	}
}

func TestBaselineGroup(t *testing.T) {
	b := startBaseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Baseline, Addr: b.Addr(), Devices: BaselineDevices(10), Senders: 2,
		Rate: 100, Duration: time.Second, GroupSize: 5, Group: "bench-g5", Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Both senders are members: each send reaches the 4 other members.
	checkClean(t, res, 4*res.Sent)
	if res.AllRecipients == nil || res.AllRecipients.Count != int(res.Acked) {
		t.Errorf("all-recipients latency = %+v, want one sample per send (%d)", res.AllRecipients, res.Acked)
	}
	if res.AllRecipients != nil && res.AllRecipients.P99 < res.EndToEnd.P50 {
		t.Errorf("all recipients p99 %.3f < per-recipient p50 %.3f", res.AllRecipients.P99, res.EndToEnd.P50)
	}
}

func TestBaselineUnlimited(t *testing.T) {
	b := startBaseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Baseline, Addr: b.Addr(), Devices: BaselineDevices(10), Senders: 2,
		Inflight: 8, Duration: 300 * time.Millisecond, Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent < 100 {
		t.Errorf("sent only %d in 300 ms as fast as possible", res.Sent)
	}
	checkClean(t, res, res.Sent)
}

// checkClean checks a run in which everything arrived once.
func checkClean(t *testing.T, res *Result, recipients int64) {
	t.Helper()
	if res.Acked != res.Sent || res.Refused != 0 || res.Unacked != 0 {
		t.Errorf("sent %d, acked %d, refused %d, unacked %d", res.Sent, res.Acked, res.Refused, res.Unacked)
	}
	if res.Expected != recipients || res.Delivered != recipients || res.Lost != 0 || res.Duplicates != 0 || res.Misrouted != 0 || res.Stale != 0 {
		t.Errorf("expected %d (want %d), delivered %d, lost %d, duplicates %d, misrouted %d, stale %d",
			res.Expected, recipients, res.Delivered, res.Lost, res.Duplicates, res.Misrouted, res.Stale)
	}
	l := res.EndToEnd
	if l.Count != int(res.Delivered) || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Errorf("e2e latency = %+v for %d deliveries", l, res.Delivered)
	}
	if res.Puback.Count != int(res.Acked) || res.Puback.P50 <= 0 {
		t.Errorf("puback latency = %+v for %d acked", res.Puback, res.Acked)
	}
	if res.Disconnects != 0 {
		t.Errorf("%d disconnects", res.Disconnects)
	}
}

func TestIdle(t *testing.T) {
	b := startBaseline(t)
	res, err := Run(context.Background(), Config{Target: Baseline, Addr: b.Addr(), Devices: BaselineDevices(5), Idle: true,
		Duration: 100 * time.Millisecond, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 5 || res.Sent != 0 || res.RSSEnd == 0 || res.RSSPeak < res.RSSBefore {
		t.Errorf("idle result = %+v", res)
	}
}

func TestReportText(t *testing.T) {
	a := &Result{Target: Appliance, Addr: "127.0.0.1:1", Devices: 50, Senders: 5, Rate: 200, Inflight: 64, Body: 256, Connected: 50,
		Sent: 1000, Acked: 1000, Expected: 1000, Delivered: 1000, AckedPerSec: 200, DeliveredPS: 200, PID: 42, RSSEnd: 50 << 20,
		EndToEnd: Latency{Count: 1000, P50: 3, P99: 9, Max: 12}}
	bl := &Result{Target: Baseline, Addr: "127.0.0.1:2", Devices: 50, Senders: 5, Connected: 50, Sent: 1000, Acked: 1000,
		Expected: 1000, Delivered: 1000, AckedPerSec: 400, DeliveredPS: 400, EndToEnd: Latency{Count: 1000, P50: 1, P99: 3, Max: 4}}
	rep := &Report{Appliance: a, Baseline: bl}
	rep.Compare()
	if rep.Ratio.DeliveredPerSec != 0.5 || rep.Ratio.E2EP99 != 3 {
		t.Errorf("ratio = %+v", rep.Ratio)
	}
	var out strings.Builder
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"appliance", "baseline", "delivered/s", "200.0", "400.0", "3.00 / 9.00 / 12.0 ms", "50.0 MiB", "delivered/s 0.500"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSetupCache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "bench.json")
	var enrolled, users, groups int
	devices := map[string]string{} // id -> user
	var mu sync.Mutex
	admin := func(_ context.Context, method, path string, in, out any) error {
		mu.Lock()
		defer mu.Unlock()
		switch method + " " + path {
		case "POST /v1/users":
			users++
			if users%2 == 0 {
				return errExists
			}
			return nil
		case "POST /v1/devices":
			enrolled++
			id := "dev_" + strings.Repeat("a", enrolled)
			devices[id] = in.(map[string]string)["user"]
			return json.Unmarshal([]byte(`{"id":"`+id+`","secret":"s"}`), out)
		case "GET /v1/devices":
			var list []map[string]any
			for id, u := range devices {
				list = append(list, map[string]any{"id": id, "user": u, "revoked": false})
			}
			b, _ := json.Marshal(list)
			return json.Unmarshal(b, out)
		case "POST /v1/groups":
			groups++
			return nil
		}
		t.Fatalf("unexpected %s %s", method, path)
		return nil
	}
	rep, err := Setup(context.Background(), admin, cache, "inst1", 5, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enrolled != 5 || rep.Cached != 0 || rep.UsersCreated != 3 || groups != 1 || rep.Group != "bench-g3" {
		t.Errorf("first setup = %+v, %d groups", rep, groups)
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v, %v", fi, err)
	}
	// A rerun enrols only what is missing: one device was removed.
	for id, u := range devices {
		if u == UserLogin(4) {
			delete(devices, id)
		}
	}
	rep, err = Setup(context.Background(), admin, cache, "inst1", 6, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enrolled != 2 || rep.Cached != 4 || enrolled != 7 {
		t.Errorf("second setup = %+v (enrolled %d in all)", rep, enrolled)
	}
	for i, d := range rep.Devices {
		if d.User != UserLogin(i) || d.ID == "" || d.Secret == "" {
			t.Errorf("device %d = %+v", i, d)
		}
	}
	// Another instance shares nothing.
	if rep, err = Setup(context.Background(), admin, cache, "inst2", 2, 0, nil); err != nil || rep.Cached != 0 {
		t.Errorf("other instance: %+v, %v", rep, err)
	}
}

type existsError struct{}

func (existsError) Error() string { return "user bench-u00002: already exists" }

var errExists error = existsError{}
