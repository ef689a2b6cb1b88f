package broker

import (
	"strings"
	"testing"
)

// FuzzTopicACL checks invariants of the topic rules for any device id and
// topic: what is allowed lies in the device's own subtree, is a valid MQTT
// filter, and is never allowed for another device.
func FuzzTopicACL(f *testing.F) {
	for _, tc := range aclCases {
		f.Add("dev_a", tc.topic)
	}
	f.Add("dev_x-Y_1", "wl/v1/dev_x-Y_1/in/+/#")
	f.Fuzz(func(t *testing.T, id, topic string) {
		sub, pub := maySubscribe(id, topic), mayPublish(id, topic)
		if (sub || pub) && !ValidDeviceID(id) {
			t.Fatalf("invalid id %q allowed %q", id, topic)
		}
		if sub {
			if !strings.HasPrefix(topic, "wl/v1/"+id+"/in/") || !validFilter(topic) {
				t.Fatalf("subscribe %q allowed for %q", topic, id)
			}
			if strings.HasPrefix(topic, "$") || strings.Contains(topic[len("wl/v1/"+id+"/in/"):], "//") {
				t.Fatalf("subscribe %q allowed", topic)
			}
		}
		if pub {
			if strings.ContainsAny(topic, "+#") || !strings.HasPrefix(topic, "wl/v1/"+id+"/out/") {
				t.Fatalf("publish %q allowed for %q", topic, id)
			}
		}
		if sub && pub {
			t.Fatalf("%q allowed both ways", topic)
		}
		other := "dev_other"
		if id == other {
			other = "dev_other2"
		}
		if maySubscribe(other, topic) && sub || mayPublish(other, topic) && pub {
			t.Fatalf("%q allowed for two devices", topic)
		}
	})
}
