package ui

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestBack: a form returns only to a web client page, never elsewhere.
func TestBack(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/app/c/cnv_1", "/app/c/cnv_1?done=status"},
		{"/app/", "/app/?done=status"},
		{"", "/app/?done=status"},
		{"https://evil.example/app/", "/app/?done=status"},
		{"//evil.example/app/", "/app/?done=status"},
		{"/admin/users", "/app/?done=status"},
		{"/app/?done=x", "/app/?done=status"},
		{"/app/\\evil", "/app/?done=status"},
	} {
		r := httptest.NewRequest("POST", "/app/status", strings.NewReader(url.Values{"back": {c.in}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if got := back(r, "status"); got != c.want {
			t.Errorf("back %q = %q, want %q", c.in, got, c.want)
		}
	}
}
