package appliance_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// TestScheduleImportExportFeed: a CSV with bad lines is refused naming
// every one and imports nothing; a good CSV and an iCalendar feed import;
// the person's shifts come out of `schedule export` and of the secret
// HTTPS feed URL, which a new token or a revoke retires.
func TestScheduleImportExportFeed(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	for _, u := range []string{"dr.lee", "dr.kim"} {
		cli(t, a, "user", "add", u, "--name", u, "--email", u+"@hospital.example")
	}
	cli(t, a, "role", "add", "icu")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("role,user,start,end\nicu,dr.lee,2026-03-28T20:00:00+01:00,2026-03-29T08:00:00+02:00\nicu,ghost,2026-03-30T08:00:00Z,2026-03-30T09:00:00Z\nicu,dr.kim,2026-03-31T08:00:00Z,2026-03-31T07:00:00Z\nnope,dr.kim,2026-04-01T08:00:00Z,2026-04-01T09:00:00Z\nicu,dr.kim,2026-03-29T05:00:00Z,2026-03-29T07:00:00Z\n"), 0o600)
	_, errOut, code := a.CLI("schedule", "import", bad)
	if code != 1 {
		t.Fatalf("bad import: exit %d", code)
	}
	for _, want := range []string{"4 bad lines, nothing imported", "line 3: no user ghost", "line 4: shift ends at or before its start", "line 5: no role nope", "line 6: overlaps line 2"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, errOut)
		}
	}
	if out := cli(t, a, "oncall", "show", "icu", "--from", "2026-03-28T00:00:00Z", "--to", "2026-04-02T00:00:00Z"); strings.Contains(out, "dr.lee") {
		t.Fatalf("a refused import left shifts:\n%s", out)
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("role,user,start,end\nicu,dr.lee,2026-03-28T20:00:00+01:00,2026-03-29T08:00:00+02:00\n"), 0o600)
	cli(t, a, "schedule", "import", good)
	ics := filepath.Join(dir, "rota.ics")
	os.WriteFile(ics, []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20260330T080000\r\nDTEND;TZID=Europe/Berlin:20260330T200000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nATTENDEE:mailto:dr.kim@hospital.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), 0o600)
	cli(t, a, "schedule", "import", ics, "--role", "icu")
	// The DST night is 11 hours long.
	show := cli(t, a, "oncall", "show", "icu", "--from", "2026-03-28T00:00:00Z", "--to", "2026-04-02T00:00:00Z")
	if !regexp.MustCompile(`2026-03-28T19:00:00Z\s+2026-03-29T06:00:00Z\s+11\s+dr.lee`).MatchString(show) || strings.Count(show, "dr.kim") != 3 {
		t.Fatalf("oncall show:\n%s", show)
	}
	exp := cli(t, a, "schedule", "export", "--user", "dr.kim", "--from", "2026-03-01T00:00:00Z", "--to", "2026-05-01T00:00:00Z")
	if strings.Count(exp, "BEGIN:VEVENT") != 3 || !strings.Contains(exp, "DTSTART:20260330T060000Z") {
		t.Fatalf("export:\n%s", exp)
	}

	// The secret feed URL over HTTPS. Its window is the coming year: put a shift in it.
	now := time.Now().UTC().Truncate(time.Hour)
	cli(t, a, "oncall", "set", "icu", "--user", "dr.kim", "--from", rfc(now.Add(24*time.Hour)), "--to", rfc(now.Add(36*time.Hour)))
	out := cli(t, a, "schedule", "feed", "--user", "dr.kim")
	path := regexp.MustCompile(`/api/v1/schedule/feed/wlf_[A-Za-z0-9_-]+\.ics`).FindString(out)
	if path == "" {
		t.Fatalf("schedule feed printed %q", out)
	}
	get := func(p string) (int, string) {
		resp, err := a.HTTPSClient().Get(a.URL(p))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(path); code != http.StatusOK || !strings.Contains(body, "DTSTART:"+now.Add(24*time.Hour).Format("20060102T150405Z")) {
		t.Fatalf("feed: %d\n%s", code, body)
	}
	if code, _ := get("/api/v1/schedule/feed/wlf_guessed.ics"); code != http.StatusNotFound {
		t.Fatalf("a guessed token: %d", code)
	}
	cli(t, a, "schedule", "feed", "--user", "dr.kim", "--revoke")
	if code, _ := get(path); code != http.StatusNotFound {
		t.Fatalf("a revoked feed answered %d", code)
	}
}
