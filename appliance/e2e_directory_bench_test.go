package appliance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// BenchmarkADSync measures syncs of 10,000 users and 1,000 groups (35,000
// member links, a 5,000-member group, nesting) from a Samba AD DC into a
// running appliance: the first full sync into an empty store, a full
// re-read, and incremental syncs carrying 10 changes. Loading the DC
// takes about a minute, so it is not part of make test: run `make
// bench-ad`. Durations are the appliance's own (directory status
// duration_ms), medians of the runs.
func BenchmarkADSync(b *testing.B) {
	dc := testkit.SambaDC(b)
	t0 := time.Now()
	dc.Populate(b, testkit.Data{OU: "Bench", Prefix: "b", Users: 10000, Groups: 1000, Big: 5000})
	b.Logf("loaded 10,000 users and 1,000 groups into Samba in %v", time.Since(t0).Round(time.Second))
	cfg := filepath.Join(b.TempDir(), "wardline.toml")
	pw := filepath.Join(b.TempDir(), "pw")
	os.WriteFile(pw, []byte(dc.BindPW), 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf("[directory.ad]\nurl = %q\nca_file = %q\nbind_dn = %q\nbind_password_file = %q\nbase_dn = %q\nsync_interval = \"1h\"\ntimeout = \"60s\"\n[log]\nlevel = \"debug\"\n",
		dc.URL, dc.CAFile, dc.BindDN, pw, "OU=Bench,"+dc.BaseDN)), 0o600)
	a := testkit.Start(b, testkit.NewDataDir(b), "--config", cfg)
	status := func() (st struct {
		LastSuccess string `json:"last_success"`
		DurationMS  int64  `json:"duration_ms"`
		Users       int    `json:"users"`
		Groups      int    `json:"groups"`
		Changes     int    `json:"changes"`
		Error       string `json:"error"`
	}) {
		out, _, _ := a.CLI("directory", "status", "--json")
		json.Unmarshal([]byte(out), &st)
		return st
	}
	deadline := time.Now().Add(5 * time.Minute)
	for status().LastSuccess == "" { // the sync at start
		if time.Now().After(deadline) {
			b.Fatalf("no first sync after 5 minutes: %+v", status())
		}
		time.Sleep(100 * time.Millisecond)
	}
	first := status()
	if first.Users != 10000 || first.Groups != 1000 {
		b.Fatalf("first sync: %+v", first)
	}
	run := func(args ...string) int64 {
		out, errOut, code := a.CLI(append([]string{"directory", "sync", "--json"}, args...)...)
		if code != 0 {
			b.Fatalf("directory sync %v: %s %s", args, out, errOut)
		}
		return status().DurationMS
	}
	var full, incr []float64
	for i := 0; b.Loop(); i++ {
		full = append(full, float64(run("--full")))
		for j := range 10 { // 10 changes: titles of 10 users
			sam := fmt.Sprintf("bu%05d", (i*10+j)*7%10000)
			dn := dnOf(b, dc, "", sam)
			dc.Modify(b, dn, map[string][]string{"title": {fmt.Sprintf("Title %d-%d", i, j)}})
		}
		incr = append(incr, float64(run()))
		if c := status().Changes; c != 10 {
			b.Fatalf("incremental sync wrote %d changes, want 10", c)
		}
	}
	for _, line := range strings.Split(a.Stderr(), "\n") {
		if strings.Contains(line, "directory sync timings") {
			b.Log(line)
		}
	}
	b.ReportMetric(float64(first.DurationMS), "first-full-ms")
	b.ReportMetric(median(full), "full-ms")
	b.ReportMetric(median(incr), "incremental10-ms")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
