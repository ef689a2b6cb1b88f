package appliance

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOnlyLoopback(t *testing.T) {
	cases := []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5000", 200},
		{"127.8.9.10:5000", 200},
		{"[::1]:5000", 200},
		{"10.1.2.3:5000", 403},
		{"[fe80::1]:5000", 403},
		{"192.168.0.10:443", 403},
		{"garbage", 403},
		{"", 403},
	}
	h := onlyLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = c.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("remote %q: %d, want %d", c.remote, w.Code, c.want)
		}
	}
}
