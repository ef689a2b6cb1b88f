package ui

import (
	"net/url"
	"testing"
)

// auditFilterCases seed FuzzAuditFilter.
var auditFilterCases = []struct {
	query   string
	wantErr bool
	limit   int
}{
	{"", false, 200},
	{"since=2026-11-23&until=2026-11-24T08:00", false, 200},
	{"since=2026-11-23T20:00:00Z&limit=50", false, 50},
	{"since=yesterday", true, 200},
	{"limit=999999", false, 200},
	{"limit=-1&outcome=bogus", false, 200},
}

func TestAuditFilter(t *testing.T) {
	for _, c := range auditFilterCases {
		q, _ := url.ParseQuery(c.query)
		f, err := auditFilter(q)
		if (err != nil) != c.wantErr || f.Limit != c.limit || f.Outcome == "bogus" {
			t.Errorf("%q: %+v, %v", c.query, f, err)
		}
	}
}

func FuzzAuditFilter(f *testing.F) {
	for _, c := range auditFilterCases {
		f.Add(c.query)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		fl, _ := auditFilter(q)
		if fl.Limit < 1 || fl.Limit > 5000 {
			t.Fatalf("limit %d", fl.Limit)
		}
	})
}
