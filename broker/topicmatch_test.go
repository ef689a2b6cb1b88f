package broker

import "testing"

func TestMatchFilter(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"wl/v1/dev_a/in/#", "wl/v1/dev_a/in/msg", true},
		{"wl/v1/dev_a/in/#", "wl/v1/dev_a/in", true},
		{"wl/v1/dev_a/in/#", "wl/v1/dev_a/in/msg/x", true},
		{"wl/v1/dev_a/in/+", "wl/v1/dev_a/in/msg", true},
		{"wl/v1/dev_a/in/+", "wl/v1/dev_a/in/msg/x", false},
		{"wl/v1/dev_a/in/+", "wl/v1/dev_a/in", false},
		{"wl/v1/dev_a/in/+/x", "wl/v1/dev_a/in/msg/x", true},
		{"wl/v1/dev_a/in/msg", "wl/v1/dev_a/in/msg", true},
		{"wl/v1/dev_a/in/msg", "wl/v1/dev_a/in/notify", false},
		{"wl/v1/dev_a/in/msg", "wl/v1/dev_a/in/msg/x", false},
		{"wl/v1/dev_a/in/msg/#", "wl/v1/dev_a/in/msg", true},
		{"wl/v1/dev_a/in/msg/x", "wl/v1/dev_a/in/msg", false},
		{"wl/v1/dev_a/in/m", "wl/v1/dev_a/in/msg", false},
		{"#", "wl/v1/dev_a/in/msg", true},
		{"+/#", "$SYS/x", false},
		{"wl/v1/dev_a/in/", "wl/v1/dev_a/in/", true},
		{"wl/v1/dev_a/in/+", "wl/v1/dev_a/in/", true},
	}
	for _, tc := range tests {
		if got := matchFilter(tc.filter, tc.topic); got != tc.want {
			t.Errorf("matchFilter(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}
