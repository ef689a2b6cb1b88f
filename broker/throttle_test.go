package broker

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottleWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(time.Minute, 3, 5, func() time.Time { return now })

	for i := 0; i < 3; i++ {
		if !th.allow("dev_a", "10.0.0.1") {
			t.Fatalf("refused after %d failures", i)
		}
		th.fail("dev_a", "10.0.0.1")
	}
	if th.allow("dev_a", "10.0.0.9") {
		t.Error("device id not throttled after 3 failures")
	}
	if !th.allow("dev_b", "10.0.0.1") {
		t.Error("other device throttled by the address's 3 failures (limit 5)")
	}
	th.fail("dev_b", "10.0.0.1")
	th.fail("dev_c", "10.0.0.1")
	if th.allow("dev_d", "10.0.0.1") {
		t.Error("address not throttled after 5 failures")
	}
	if !th.allow("dev_d", "10.0.0.2") {
		t.Error("other address throttled")
	}

	now = now.Add(time.Minute)
	if !th.allow("dev_a", "10.0.0.1") {
		t.Error("still throttled after the window")
	}

	th.fail("dev_e", "10.0.0.3")
	th.fail("dev_e", "10.0.0.3")
	th.succeed("dev_e")
	th.fail("dev_e", "10.0.0.3")
	th.fail("dev_e", "10.0.0.3")
	if !th.allow("dev_e", "10.0.0.4") {
		t.Error("success did not clear the device's failures")
	}
}

func TestThrottleBounded(t *testing.T) {
	now := time.Now()
	th := newThrottle(time.Minute, 3, 3, func() time.Time { return now })
	for i := 0; i < maxThrottleEntries+10; i++ {
		th.fail("", strconv.Itoa(i))
	}
	if n := len(th.failures); n > maxThrottleEntries {
		t.Errorf("%d entries, want <= %d", n, maxThrottleEntries)
	}
	now = now.Add(2 * time.Minute)
	th.fail("", "new")
	if n := len(th.failures); n != 1 {
		t.Errorf("%d entries after expiry sweep, want 1", n)
	}
}
