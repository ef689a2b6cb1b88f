package sso

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wardline/wardline/directory"
)

// memSessions is a SessionStore in memory, for tests.
type memSessions struct {
	mu    sync.Mutex
	m     map[string]directory.WebSession
	ended []string
}

func (s *memSessions) StartSession(_ context.Context, h string, ws directory.WebSession, _ Proof) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[h] = ws
	return nil
}

func (s *memSessions) Session(h string) (directory.WebSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := s.m[h]
	if !ok {
		return ws, errors.New("none")
	}
	return ws, nil
}

func (s *memSessions) EndSession(_ context.Context, h string, _ directory.WebSession, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, h)
	s.ended = append(s.ended, reason)
	return nil
}

// TestSessionTimeouts: idle and absolute timeouts on an injected clock
// (AC-3), and sign-out making the cookie worthless.
func TestSessionTimeouts(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := []struct {
		name   string
		steps  []time.Duration // requests after these pauses
		wantOK []bool
		reason string
	}{
		{"active within the idle timeout", []time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}, []bool{true, true, true}, ""},
		{"idle 15 minutes", []time.Duration{5 * time.Minute, 15 * time.Minute}, []bool{true, false}, "idle"},
		{"absolute 12 hours", func() []time.Duration {
			var d []time.Duration
			for i := 0; i < 49; i++ {
				d = append(d, 14*time.Minute+59*time.Second)
			}
			return d
		}(), nil, "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &memSessions{m: map[string]directory.WebSession{}}
			m := NewSessions(st, 15*time.Minute, 12*time.Hour, clock)
			rec := httptest.NewRecorder()
			if _, err := m.Create(context.Background(), rec, directory.WebSession{Login: "jdoe", Method: directory.MethodSAML}, Proof{}); err != nil {
				t.Fatal(err)
			}
			cookie := rec.Result().Cookies()[0]
			var last bool
			for i, d := range c.steps {
				now = now.Add(d)
				req := httptest.NewRequest("GET", "/app/", nil)
				req.AddCookie(cookie)
				_, err := m.Lookup(req, true)
				last = err == nil
				if c.wantOK != nil && last != c.wantOK[i] {
					t.Fatalf("request %d after %v: ok=%v, want %v", i, d, last, c.wantOK[i])
				}
			}
			if c.reason != "" && (last || len(st.ended) != 1 || st.ended[0] != c.reason) {
				t.Fatalf("ended %v (last ok %v), want one %q", st.ended, last, c.reason)
			}
		})
	}
}

func TestSignOutEndsTheServerSession(t *testing.T) {
	st := &memSessions{m: map[string]directory.WebSession{}}
	m := NewSessions(st, 15*time.Minute, 12*time.Hour, nil)
	rec := httptest.NewRecorder()
	if _, err := m.Create(context.Background(), rec, directory.WebSession{Login: "jdoe"}, Proof{}); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	if c.Name != SessionCookie || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
	req := httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(c)
	m.End(httptest.NewRecorder(), req, "logout")
	req = httptest.NewRequest("GET", "/app/", nil)
	req.AddCookie(c) // replayed after sign-out
	if _, err := m.Lookup(req, true); err == nil {
		t.Fatal("the cookie still works after sign-out")
	}
}

func TestBreakGlassSecrets(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse battery staple") || CheckPassword(h, "correct horse battery stapl") || CheckPassword("$argon2id$bad", "x") {
		t.Fatal("password check")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Fatal("a short password was accepted")
	}
	k, err := NewTOTP("Wardline", "it")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckTOTP(k.Secret(), "123", time.Now()); err == nil {
		t.Fatal("a 3-digit code was accepted")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(5, 15*time.Minute, func() time.Time { return now })
	for i := 0; i < 5; i++ {
		if l.Check("login:a", "ip:1") != 0 {
			t.Fatalf("refused after %d failures", i)
		}
		l.Fail("login:a", "ip:1")
	}
	if w := l.Check("login:b", "ip:1"); w <= 0 || w > 15*time.Minute {
		t.Fatalf("the address is not limited: wait %v", w)
	}
	now = now.Add(15 * time.Minute)
	if l.Check("login:a", "ip:1") != 0 {
		t.Fatal("still refused after the window")
	}
}

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		origin, referer string
		want            bool
	}{
		{"https://w.test", "", true},
		{"https://evil.test", "", false},
		{"null", "", false},
		{"", "https://w.test/app/", true},
		{"", "https://w.test.evil.test/", false},
		{"", "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/x", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.referer != "" {
			r.Header.Set("Referer", c.referer)
		}
		if got := SameOrigin(r, "https://w.test"); got != c.want {
			t.Errorf("Origin %q Referer %q: %v, want %v", c.origin, c.referer, got, c.want)
		}
	}
}

// FuzzCheckPassword: a stored hash of any shape never panics the check
// and matches nothing it should not. The table seeds the fuzzer.
func FuzzCheckPassword(f *testing.F) {
	for _, h := range []string{
		"$argon2id$v=19$m=65536,t=2,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
		"$argon2id$v=19$m=4294967295,t=1,p=1$AA$AA",
		"$argon2id$v=19$m=8,t=1,p=0$AA$AA",
		"$argon2i$v=19$m=8,t=1,p=1$AA$AA",
		"$$$$$", "",
	} {
		f.Add(h, "pw")
	}
	f.Fuzz(func(t *testing.T, h, pw string) {
		if CheckPassword(h, pw) && h == "" {
			t.Fatal("an empty hash matched")
		}
	})
}

// BenchmarkCheckPassword measures one break-glass password check (argon2id,
// 64 MiB, 2 passes, 2 lanes).
func BenchmarkCheckPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		CheckPassword(h, "correct horse battery staple")
	}
}
