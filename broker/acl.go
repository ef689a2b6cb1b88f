package broker

import "strings"

// topicRoot is the first two levels of every device API topic.
const topicRoot = "wl/v1/"

// maxDeviceIDLen bounds a device id; ids are short opaque strings.
const maxDeviceIDLen = 128

// outTopics are the last levels a device may publish to below wl/v1/{id}/out/.
var outTopics = [...]string{"send", "ack", "respond", "req"}

// ValidDeviceID reports whether id has the form of a device id: "dev_"
// followed by one or more URL-safe characters (A-Z, a-z, 0-9, '-', '_').
// Such an id can never contain a topic separator or an MQTT wildcard.
func ValidDeviceID(id string) bool {
	if len(id) <= len("dev_") || len(id) > maxDeviceIDLen || !strings.HasPrefix(id, "dev_") {
		return false
	}
	for i := len("dev_"); i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// mayPublish reports whether the device may publish to topic: exactly
// wl/v1/{id}/out/send, .../ack, .../respond or .../req.
func mayPublish(deviceID, topic string) bool {
	if !ValidDeviceID(deviceID) {
		return false
	}
	rest, ok := strings.CutPrefix(topic, topicRoot+deviceID+"/out/")
	if !ok {
		return false
	}
	for _, t := range outTopics {
		if rest == t {
			return true
		}
	}
	return false
}

// maySubscribe reports whether the device may subscribe to filter, which
// may also be a plain topic name (mochi checks delivered topics the same way).
// Allowed are wl/v1/{id}/in/# and filters strictly below wl/v1/{id}/in/
// whose levels are non-empty and use wildcards correctly ('+' as a whole
// level, '#' only as the whole last level). Everything else, including "#",
// "$SYS/#", "$share/..." and other devices' topics, is refused.
func maySubscribe(deviceID, filter string) bool {
	if !ValidDeviceID(deviceID) {
		return false
	}
	rest, ok := strings.CutPrefix(filter, topicRoot+deviceID+"/in/")
	if !ok || rest == "" {
		return false
	}
	levels := strings.Split(rest, "/")
	for i, l := range levels {
		switch {
		case l == "":
			return false
		case l == "#":
			if i != len(levels)-1 {
				return false
			}
		case l == "+":
		case strings.ContainsAny(l, "+#\x00"):
			return false
		}
	}
	return true
}
