package certs

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestNewValidates(t *testing.T) {
	base := func() Options {
		return Options{CADir: "/x", Names: []string{"wardline.hosp.test", "10.0.0.5"}, Storage: newMemStorage()}
	}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
		check   func(*testing.T, *Manager)
	}{
		{name: "ok, defaults", mod: func(*Options) {}, check: func(t *testing.T, m *Manager) {
			if m.opts.DefaultName != "wardline.hosp.test" || m.opts.Lifetime != DefaultLifetime || m.opts.Logger == nil || m.opts.Now == nil {
				t.Errorf("defaults not applied: %+v", m.opts)
			}
		}},
		{name: "only IPs default to first", mod: func(o *Options) { o.Names = []string{"10.0.0.5", "::1"} }, check: func(t *testing.T, m *Manager) {
			if m.opts.DefaultName != "10.0.0.5" {
				t.Errorf("DefaultName %q", m.opts.DefaultName)
			}
		}},
		{name: "names normalized", mod: func(o *Options) {
			o.Names = []string{"Wardline.Hosp.Test.", "0:0::1"}
			o.DefaultName = "WARDLINE.hosp.test"
		}, check: func(t *testing.T, m *Manager) {
			if strings.Join(m.opts.Names, ",") != "wardline.hosp.test,::1" || m.opts.DefaultName != "wardline.hosp.test" {
				t.Errorf("names %q default %q", m.opts.Names, m.opts.DefaultName)
			}
		}},
		{name: "no ca dir", mod: func(o *Options) { o.CADir = "" }, wantErr: "ca dir"},
		{name: "no storage", mod: func(o *Options) { o.Storage = nil }, wantErr: "storage"},
		{name: "no names", mod: func(o *Options) { o.Names = nil }, wantErr: "name"},
		{name: "bad name", mod: func(o *Options) { o.Names = []string{"bad name"} }, wantErr: "invalid name"},
		{name: "empty name", mod: func(o *Options) { o.Names = []string{""} }, wantErr: "empty name"},
		{name: "duplicate", mod: func(o *Options) { o.Names = []string{"a.test", "A.test"} }, wantErr: "twice"},
		{name: "default not in names", mod: func(o *Options) { o.DefaultName = "other.test" }, wantErr: "not one of names"},
		{name: "negative lifetime", mod: func(o *Options) { o.Lifetime = -1 }, wantErr: "lifetime"},
		{name: "negative interval", mod: func(o *Options) { o.RenewCheckInterval = -1 }, wantErr: "interval"},
		{name: "acme http", mod: func(o *Options) { o.ACME.Directory = "http://ca.test/dir" }, wantErr: "https"},
		{name: "acme ca file without dir", mod: func(o *Options) { o.ACME.CAFile = "/ca.pem" }, wantErr: "without an acme directory"},
		{name: "acme port", mod: func(o *Options) { o.ACME.Directory = "https://ca.test/dir"; o.ACME.HTTPChallengePort = 70000 }, wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base()
			tt.mod(&opts)
			m, err := New(opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}

func TestNewDoesNoIO(t *testing.T) {
	opts := testOptions(t)
	if _, err := New(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.CADir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New touched the ca dir: %v", err)
	}
}
