package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// TestEveryTemplateRenders compiles every template and executes each page
// with representative data, markup in every text field: it must come out
// escaped.
func TestEveryTemplateRenders(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	x := `<script>alert(1)</script>`
	v := Viewer{Session: directory.WebSession{Login: "jdoe", Name: x, Rights: []directory.Right{directory.RightAdmin, directory.RightClinician}, CSRF: "tok"}}
	conv := ConversationPage{ID: "c1", Title: x, Members: []Person{{Name: x}}, Messages: []MessageItem{{ID: "m1", FromName: x, Body: x, Priority: "urgent", Patient: x, Mine: true, States: []StateItem{{User: x, State: "read"}}}}}
	data := map[string]any{
		"app": appPage{Conversations: []ConversationItem{{ID: "c1", Title: x, Preview: x, Unread: 2}}, Open: &conv, Path: x,
			Alerts: []AlertItem{{ID: x, Kind: x, Priority: "critical", Text: x, Patient: x, State: "exhausted", Declined: true, Open: true}}, Status: StatusItem{Status: "dnd", ForwardTo: x}},
		"compose":   appPage{ComposeTo: x, ComposeKind: "user", Error: x},
		"dashboard": Dashboard{Ready: true, Version: x, Certificates: []CertItem{{Name: x, NotAfter: time.Now()}}},
		"users": struct {
			Users []directory.User
			Q     string
		}{[]directory.User{{Login: "a", Name: x, Enabled: true, Source: directory.SourceLocal}}, x},
		"devices": devicesPage{Devices: []DeviceItem{{ID: "d1", Name: x}}, Enrolled: &Enrolled{ID: "d1", Secret: x, QRSVG: "<svg></svg>"}},
		"roles": rolesPageData{RolesPage: RolesPage{Roles: []RoleItem{{Name: x, Members: []string{x}, OnCall: x, Source: "fallback", Status: x, Policy: x,
			Next: &ShiftItem{User: x, Start: time.Now()}, Shifts: []ShiftItem{{ID: x, User: x, Kind: "override"}}, Gaps: []GapItem{{Fallback: true}}}},
			Policies: []PolicyItem{{Name: x, Steps: []string{x}, Attached: []string{x}}}, Schedules: true}, CanEdit: true, Error: x},
		"audit":    auditPage{Events: []audit.Event{{Seq: 1, Actor: x, Action: x, Objects: []string{x}, Reason: x}}, Filter: AuditFilter{Actor: x, Limit: 10}, Verify: &VerifyResult{Error: x}},
		"settings": settingsPage{Settings: Settings{ConfigFile: x, EntityID: x, SAML: true, SetRetention: x}, Error: x},
		"login":    struct{ IdPName string }{x},
		"error":    nil,
	}
	for name, tmpl := range pages {
		d, ok := data[name]
		if !ok {
			t.Errorf("page %s has no test data", name)
			continue
		}
		var buf bytes.Buffer
		p := page{Title: x, Section: "admin", Viewer: v, SignedIn: true, CSRF: "tok", Error: x, Data: d}
		if err := tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
			t.Errorf("page %s: %v", name, err)
			continue
		}
		if bytes.Contains(buf.Bytes(), []byte(x)) {
			t.Errorf("page %s shows markup unescaped", name)
		}
	}
}

// TestStaticRefusesTraversal: only embedded files are served.
func TestStaticRefusesTraversal(t *testing.T) {
	for _, p := range []string{"../ui.go", "..%2fui.go", "/etc/passwd", "a\\..\\b", "x\x00", "", "."} {
		if validStatic(p) {
			t.Errorf("%q accepted", p)
		}
	}
	if !validStatic("wardline.css") {
		t.Error("wardline.css refused")
	}
}
