package appliance_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wardline/wardline/internal/testkit"
)

// webSetup is an appliance signed into through SimpleSAMLphp.
type webSetup struct {
	a    *testkit.Appliance
	idp  *testkit.IdP
	base string
}

// startWeb starts SimpleSAMLphp on 127.0.0.1 as the IdP, and an appliance
// whose [saml] section trusts it, with the IdP's users in the directory.
func startWeb(t *testing.T, users []testkit.IdPUser, extra string) webSetup {
	t.Helper()
	port := testkit.FreePort(t)
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	idp := testkit.StartSimpleSAMLphp(t, base+"/saml/metadata", base+"/saml/acs", base+"/saml/slo", users)
	dir := t.TempDir()
	md := filepath.Join(dir, "idp-metadata.xml")
	if err := os.WriteFile(md, idp.Metadata(t), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "wardline.toml")
	conf := fmt.Sprintf(`[https]
base_url = %q

[saml]
idp_metadata_file = %q
admin_groups = ["WardlineAdmins"]
auditor_groups = ["Compliance"]
%s`, base, md, extra)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	a := testkit.Start(t, testkit.NewDataDir(t), "--config", cfg, "--https-addr", fmt.Sprintf("127.0.0.1:%d", port), "--mqtt-plain-addr", "127.0.0.1:0")
	for _, u := range users {
		if u.Login == "ghost" {
			continue // signs in at the IdP, but is not in the directory
		}
		if _, errOut, code := a.CLI("user", "add", u.Login, "--name", u.Name, "--department", "Cardiology"); code != 0 {
			t.Fatalf("user add %s: %s", u.Login, errOut)
		}
	}
	return webSetup{a: a, idp: idp, base: base}
}

// signIn goes to page, is sent to the IdP, signs in there and comes back.
func (w webSetup) signIn(t *testing.T, ctx context.Context, page, login, password string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx,
		chromedp.Navigate(w.base+page),
		chromedp.WaitVisible(chromedp.CSS("#sso")),
		chromedp.Click(chromedp.CSS("#sso")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(".who")),
	)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("signing in as %s through SimpleSAMLphp: %v (at %s)\nappliance log:\n%s\nidp log:\n%s", login, err, loc, w.a.Stderr(), w.idp.Log())
	}
}

// browse runs browser steps with a time limit and, when they fail, fails
// the test with the page's address and text.
func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, text)
	}
}

// waitText waits up to 20 s for the element sel of the page at path to
// show want, and fails the test with the page's location and text if not.
func waitText(t *testing.T, ctx context.Context, sel, want, path string) {
	t.Helper()
	var text, loc string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if strings.Contains(loc, path) && strings.Contains(text, want) {
			return
		}
	}
	t.Fatalf("%s of %s never showed %q; at %s it shows:\n%s", sel, path, want, loc, text)
}

// TestWebClientThroughSimpleSAMLphp is the vertical slice: a
// clinician signs in through SimpleSAMLphp, sends a message from the web
// client, a Paho device receives it, and the device's read receipt shows
// in the browser. Script in the body stays text.
func TestWebClientThroughSimpleSAMLphp(t *testing.T) {
	users := []testkit.IdPUser{
		{Login: "jdoe", Password: "s3cret-jdoe", Name: "Doe, Jane", Groups: []string{"Clinicians", "WardlineAdmins"}},
		{Login: "audrey", Password: "s3cret-audrey", Name: "Audit, Audrey", Groups: []string{"Compliance"}},
		{Login: "nick", Password: "s3cret-nick", Name: "Nurse, Nick", Groups: []string{"Clinicians"}},
		{Login: "ghost", Password: "s3cret-ghost", Name: "Not In Directory", Groups: []string{"WardlineAdmins"}},
	}
	w := startWeb(t, users, "")
	a := w.a
	a.CLI("user", "add", "bob", "--name", "Lee, Robert", "--department", "Cardiology", "--title", "Charge nurse")
	a.CLI("user", "add", "mallory", "--name", `<img src=x id=xssname>Mallory`)
	bobID, bobSecret := a.Enroll(t, "bob")
	bob := mustDial(t, a, bobID, bobSecret, false)
	defer bob.Close()
	malID, malSecret := a.Enroll(t, "mallory")
	mal := mustDial(t, a, malID, malSecret, false)
	defer mal.Close()

	ctx := testkit.Browser(t, 1280, 800)
	browse(t, ctx, "the sign-in page", chromedp.Navigate(w.base+"/app/"), chromedp.WaitVisible(chromedp.CSS("#sso")))
	testkit.Screenshot(t, ctx, "login-1280x800.png")
	w.signIn(t, ctx, "/app/", "jdoe", "s3cret-jdoe")

	// Directory search while typing a recipient: a prefix of a word of the
	// name, ignoring case.
	browse(t, ctx, "directory search", chromedp.Navigate(w.base+"/app/new"), chromedp.WaitVisible(chromedp.CSS("#to")),
		chromedp.SendKeys(chromedp.CSS("#to"), "robe"), chromedp.WaitReady(chromedp.CSS(`#people option[value="bob"]`)))
	hits, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/v1/directory?q=LEE").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(hits, `"login":"bob"`) || strings.Contains(hits, `"login":"jdoe"`) {
		t.Fatalf("directory search for LEE: %s %v", hits, err)
	}

	// Send from the web client.
	marker := fmt.Sprintf("REF-%d", time.Now().UnixNano()%1000000)
	body := "Bed 12B: K+ 6.1 on the morning labs, ECG unchanged. Can you review before rounds? " + marker
	browse(t, ctx, "sending from the web client",
		chromedp.Navigate(w.base+"/app/new?to=bob"),
		chromedp.WaitVisible(chromedp.CSS("#body")),
		chromedp.SendKeys(chromedp.CSS("#body"), body),
		chromedp.SetValue(chromedp.CSS("#priority"), "urgent"),
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS(`#msgs .msg.mine`)),
	)

	// The device gets it over MQTT, and reads it.
	got := bob.Expect("msg", wait)
	if !strings.Contains(string(got.Payload), marker) {
		t.Fatalf("bob's device got %s, want the marker", got.Payload)
	}
	id, _ := got.Fields["id"].(string)
	from, _ := got.Fields["from"].(map[string]any)
	if from["user"] != "jdoe" || id == "" || got.Fields["priority"] != "urgent" {
		t.Fatalf("in/msg = %s", got.Payload)
	}
	if code, err := bob.Publish("ack", map[string]string{"id": id, "state": "read"}); err != nil || code != 0 {
		t.Fatalf("bob's read ack: %#x %v", code, err)
	}

	// The receipt reaches the browser over server-sent events, without a reload.
	readSel := fmt.Sprintf(`[data-msg=%q] .state[data-user="bob"].state-read`, id)
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(readSel))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("msgs").outerHTML`))
		t.Fatalf("bob's read receipt did not appear in the browser: %v\n%s", err, html)
	}

	// A message from the device appears live, and seeing it counts as read.
	reply := send(t, bob, map[string]any{"client_ref": "r1", "to": []map[string]string{{"user": "jdoe"}}, "body": "Seen it. Repeat K+ sent, I will be there in 10 minutes."})
	rid, _ := reply.Fields["id"].(string)
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-msg=%q]`, rid)))); err != nil {
		t.Fatalf("bob's message did not appear live: %v", err)
	}
	r := bob.Expect("receipt", wait)
	if r.Fields["state"] != "read" || r.Fields["user"] != "jdoe" {
		t.Fatalf("bob's device got receipt %s, want read by jdoe", r.Payload)
	}

	// jdoe is on call for a role whose policy escalates: an alert through
	// it reaches the open page live, above the conversations.
	now := time.Now().UTC()
	for _, args := range [][]string{
		{"role", "add", "cardiology-oncall", "--members", "bob"},
		{"oncall", "set", "cardiology-oncall", "--user", "jdoe", "--from", now.Add(-2 * time.Hour).Format(time.RFC3339), "--to", now.Add(6 * time.Hour).Format(time.RFC3339)},
		{"oncall", "set", "cardiology-oncall", "--user", "nick", "--from", now.Add(14 * time.Hour).Format(time.RFC3339), "--to", now.Add(26 * time.Hour).Format(time.RFC3339)},
		{"policy", "add", "cardio-critical", "--step", "role:cardiology-oncall:5m", "--step", "user:nick:5m"},
		{"policy", "attach", "cardio-critical", "--role", "cardiology-oncall"},
		{"alert", "raise", "--policy", "cardio-critical", "--kind", "critical_result", "--priority", "critical",
			"--text", "Potassium 6.9 mmol/l (critical high). Repeat the sample and get an ECG now.", "--mrn", "400123", "--patient-name", "Byron, Ada", "--location", "Ward 4B, bed 12"},
	} {
		if _, errOut, code := a.CLI(args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	browse(t, ctx, "the alert arriving live", chromedp.WaitVisible(chromedp.CSS(`#alerts .alert.prio-critical button[value="accept"]`)))
	if txt, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#alerts"))); !strings.Contains(txt, "Byron, Ada · 400123 · Ward 4B, bed 12") {
		t.Fatalf("the alert in the browser: %s", txt)
	}
	testkit.Screenshot(t, ctx, "web-client-1280x800.png")

	// Phone size: the alert is on the page as served, and accepting it
	// there closes it in the other browser, live.
	phone := testkit.Browser(t, 390, 844)
	w.signIn(t, phone, "/app/", "jdoe", "s3cret-jdoe")
	testkit.Screenshot(t, phone, "web-client-list-390x844.png")
	convID, _ := got.Fields["conversation"].(string)
	browse(t, phone, "browsing", chromedp.Navigate(w.base+"/app/c/"+convID), chromedp.WaitVisible(chromedp.CSS("#msgs")), chromedp.WaitVisible(chromedp.CSS("#alerts .alert")))
	testkit.Screenshot(t, phone, "web-client-390x844.png")
	browse(t, phone, "accepting the alert", chromedp.Click(chromedp.CSS(`#alerts button[value="accept"]`)), chromedp.WaitVisible(chromedp.CSS(".notice-ok")))
	browse(t, ctx, "the accept reaching the other browser", chromedp.WaitNotPresent(chromedp.CSS("#alerts .alert")))
	if out, _, _ := a.CLI("audit", "export"); !strings.Contains(out, `"alert.accept"`) {
		t.Fatal("no alert.accept in the audit trail")
	}
	for _, p := range []struct{ path, sel, name string }{{"/admin/", ".tiles", "dashboard-390x844.png"}, {"/admin/audit", "table.audit", "audit-390x844.png"}} {
		browse(t, phone, "browsing", chromedp.Navigate(w.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		testkit.Screenshot(t, phone, p.name)
	}

	// Script in a message body and in a display name is inert text, in the
	// list, the conversation and the live update alike.
	script := `<script>window.pwned=1</script><img src=x onerror="window.pwned=1">`
	xss := send(t, mal, map[string]any{"client_ref": "x1", "to": []map[string]string{{"user": "jdoe"}}, "body": "hi " + script})
	xconv, _ := xss.Fields["conversation"].(string)
	browse(t, ctx, "opening mallory's conversation", chromedp.Navigate(w.base+"/app/c/"+xconv), chromedp.WaitVisible(chromedp.CSS("#reply-body")))
	// Type only once the page shows mallory's message: on a busy machine
	// the reply once went to the page before (bob's conversation).
	waitText(t, ctx, "#msgs", "hi "+script, "/app/c/"+xconv)
	browse(t, ctx, "replying in mallory's conversation", chromedp.SendKeys(chromedp.CSS("#reply-body"), script),
		chromedp.Click(chromedp.CSS("#send")), chromedp.WaitVisible(chromedp.CSS("#msgs .msg.mine")))
	send(t, mal, map[string]any{"client_ref": "x2", "to": []map[string]string{{"user": "jdoe"}}, "body": "live " + script})
	// Wait for the live update (the machine may be busy), then check.
	var text string
	for deadline := time.Now().Add(10 * time.Second); ; {
		text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#msgs`)))
		if strings.Count(text, "<script>window.pwned=1</script>") >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === 1 || document.querySelectorAll("main img:not([src^='/static/']), main script, #xssname").length > 0`))
	if err != nil || pwned {
		t.Fatalf("markup in a message body or name was interpreted (pwned=%v, %v)", pwned, err)
	}
	if strings.Count(text, "<script>window.pwned=1</script>") < 3 || !strings.Contains(text, "<img src=x id=xssname>Mallory") {
		t.Fatalf("bodies and names were not shown as text:\n%s", text)
	}
	browse(t, ctx, "back to bob's conversation", chromedp.Navigate(w.base+"/app/c/"+fmt.Sprint(got.Fields["conversation"])), chromedp.WaitVisible(chromedp.CSS("#msgs")))

	// The admin console and the audit viewer, for the screenshots.
	browse(t, ctx, "browsing", chromedp.Navigate(w.base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".tiles")))
	testkit.Screenshot(t, ctx, "dashboard-1280x800.png")
	// Enrol a device from the console: its credentials as a QR code, once.
	browse(t, ctx, "enrolling a device", chromedp.Navigate(w.base+"/admin/devices"), chromedp.WaitVisible(chromedp.CSS("#dev-user")),
		chromedp.SendKeys(chromedp.CSS("#dev-user"), "jdoe"), chromedp.SendKeys(chromedp.CSS("#dev-name"), "Ward 4 workstation"),
		chromedp.Submit(chromedp.CSS("#dev-user")), chromedp.WaitVisible(chromedp.CSS(".qr svg")))
	testkit.Screenshot(t, ctx, "devices-1280x800.png")
	if out, _, _ := a.CLI("device", "list", "--json"); !strings.Contains(out, "Ward 4 workstation") {
		t.Fatalf("the device enrolled from the console is not listed:\n%s", out)
	}
	browse(t, ctx, "browsing", chromedp.Navigate(w.base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("table")))
	testkit.Screenshot(t, ctx, "users-1280x800.png")
	// The roles page: coverage and gaps from the on-call service; a shift
	// added through its form is in the schedule.
	shFrom, shTo := now.Add(30*time.Hour).Format("2006-01-02T15:04"), now.Add(34*time.Hour).Format("2006-01-02T15:04")
	browse(t, ctx, "adding a shift on the roles page", chromedp.Navigate(w.base+"/admin/roles"), chromedp.WaitVisible(chromedp.CSS("#role-cardiology-oncall.role-gap")),
		chromedp.SendKeys(chromedp.CSS("#sh-user"), "bob"), chromedp.SetValue(chromedp.CSS("#sh-from"), shFrom), chromedp.SetValue(chromedp.CSS("#sh-to"), shTo),
		chromedp.Submit(chromedp.CSS("#sh-user")), chromedp.WaitVisible(chromedp.CSS(".notice-ok")))
	if out, _, _ := a.CLI("oncall", "show", "cardiology-oncall", "--json"); !strings.Contains(out, `"user": "bob"`) {
		t.Fatalf("the shift added on the roles page is not in the schedule:\n%s", out)
	}
	testkit.Screenshot(t, ctx, "roles-1280x800.png")
	browse(t, phone, "browsing", chromedp.Navigate(w.base+"/admin/roles"), chromedp.WaitVisible(chromedp.CSS("#role-cardiology-oncall")))
	testkit.Screenshot(t, phone, "roles-390x844.png")
	browse(t, ctx, "browsing", chromedp.Navigate(w.base+"/admin/audit?action=message."), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	testkit.Screenshot(t, ctx, "audit-1280x800.png")
	auditText, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.audit")))
	if !strings.Contains(auditText, "message.send") || strings.Contains(auditText, marker) {
		t.Fatalf("the audit viewer should list message.send and never a body:\n%s", auditText)
	}

	// Rights come from IdP groups: an auditor reads the dashboard and the
	// audit log and nothing else; a clinician has no admin console; a person
	// the directory does not know gets no session at all.
	aud := testkit.Browser(t, 1280, 800)
	w.signIn(t, aud, "/admin/", "audrey", "s3cret-audrey")
	browse(t, aud, "auditor: audit log", chromedp.Navigate(w.base+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	browse(t, aud, "auditor: roles", chromedp.Navigate(w.base+"/admin/roles"), chromedp.WaitVisible(chromedp.CSS("#role-cardiology-oncall")))
	if n, _ := chromedp.Run(aud, chromedp.Evaluate[int](`document.querySelectorAll("main form").length`)); n != 0 {
		t.Errorf("the auditor's roles page has %d forms, want none", n)
	}
	for _, p := range []string{"/admin/users", "/admin/devices", "/admin/settings", "/admin/backup"} {
		browse(t, aud, "auditor: "+p, chromedp.Navigate(w.base+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h, _ := chromedp.Run(aud, chromedp.Text(chromedp.CSS("main h1"))); h != "Forbidden" {
			t.Errorf("auditor at %s sees %q, want Forbidden", p, h)
		}
	}
	nick := testkit.Browser(t, 1280, 800)
	w.signIn(t, nick, "/app/", "nick", "s3cret-nick")
	browse(t, nick, "clinician: admin console", chromedp.Navigate(w.base+"/admin/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h, _ := chromedp.Run(nick, chromedp.Text(chromedp.CSS("main h1"))); h != "Forbidden" {
		t.Errorf("a clinician at /admin/ sees %q, want Forbidden", h)
	}
	// Signing out at the IdP ends the Wardline session too (IdP-initiated
	// single logout: a signed LogoutRequest to /saml/slo, answered).
	browse(t, nick, "IdP-initiated logout", chromedp.Navigate(w.idp.URL+"/saml2/idp/initSLO.php?RelayState="+url.QueryEscape(w.base+"/login?e=loggedout")),
		chromedp.WaitVisible(chromedp.CSS("#sso")))
	browse(t, nick, "after IdP logout", chromedp.Navigate(w.base+"/app/"), chromedp.WaitVisible(chromedp.CSS("#sso")))
	if out, _, _ := a.CLI("audit", "export"); !strings.Contains(out, `"reason":"idp logout"`) {
		t.Fatalf("no IdP-initiated logout in the audit trail; IdP log:\n%s", w.idp.Log())
	}
	ghost := testkit.Browser(t, 1280, 800)
	browse(t, ghost, "signing in as a person not in the directory", chromedp.Navigate(w.base+"/app/"), chromedp.Click(chromedp.CSS("#sso")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)), chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "ghost"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "s3cret-ghost"), chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(".notice-error")))
	if txt, _ := chromedp.Run(ghost, chromedp.Text(chromedp.CSS(".notice-error"))); !strings.Contains(txt, "not enabled for Wardline") {
		t.Errorf("a person not in the directory sees %q", txt)
	}

	// Sign-out ends the server session, then single logout at the IdP
	// brings the browser back to the sign-in page.
	browse(t, ctx, "signing out", chromedp.Navigate(w.base+"/app/"), chromedp.WaitVisible(chromedp.CSS(".who button")), chromedp.Click(chromedp.CSS(".who button")),
		chromedp.WaitVisible(chromedp.CSS("#sso")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasPrefix(loc, w.base+"/login?e=loggedout") {
		t.Errorf("after sign-out and single logout the browser is at %s", loc)
	}
	if !strings.Contains(w.idp.Log(), "SingleLogoutService.php") {
		t.Errorf("the browser never went to the IdP's single logout")
	}
	if out, _, _ := a.CLI("audit", "export"); !strings.Contains(out, `"session.end"`) || !strings.Contains(out, `"reason":"logout"`) {
		t.Fatalf("no session.end (logout) in the audit trail")
	}
	browse(t, ctx, "after sign-out", chromedp.Navigate(w.base+"/app/"), chromedp.WaitVisible(chromedp.CSS("#sso")))

	// Disabling the user ends the phone's session at once.
	if _, errOut, code := a.CLI("user", "disable", "jdoe"); code != 0 {
		t.Fatal(errOut)
	}
	browse(t, phone, "after user disable", chromedp.Navigate(w.base+"/app/"), chromedp.WaitVisible(chromedp.CSS("#sso")))
	if out, _, _ := a.CLI("audit", "export"); !strings.Contains(out, `"session.end_all"`) {
		t.Fatal("user disable did not end the user's web sessions (no session.end_all)")
	}
}
