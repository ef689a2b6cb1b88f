package broker

import "strings"

// matchFilter reports whether the MQTT topic filter matches the topic
// name: '+' matches exactly one level, a final '#' the parent level and
// any number of levels below it. Wildcards at the first level do not match
// topics beginning with '$'.
func matchFilter(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, fRest, fMore := strings.Cut(filter, "/")
		if f == "#" && !fMore {
			return true
		}
		t, tRest, tMore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fMore || !tMore {
			// The filter "a/#" also matches the topic "a".
			return fMore == tMore || (fMore && fRest == "#")
		}
		filter, topic = fRest, tRest
	}
}
