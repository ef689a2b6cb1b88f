package oncall

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// WriteICal writes a person's on-call stretches as an iCalendar (RFC 5545)
// feed: one VEVENT per stretch, times in UTC, stable UIDs, lines folded at
// 75 octets and ended with CRLF. host names the appliance in UIDs.
func WriteICal(user, host string, entries []RoleEntry, now time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) {
		for len(s) > 75 {
			cut := 75
			for cut > 1 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
				cut--
			}
			b.WriteString(s[:cut] + "\r\n")
			s = " " + s[cut:]
		}
		b.WriteString(s + "\r\n")
	}
	stamp := now.UTC().Format("20060102T150405Z")
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Wardline//On-call schedule//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + escapeText("On call: "+user))
	for _, e := range entries {
		line("BEGIN:VEVENT")
		line(fmt.Sprintf("UID:%s-%s-%d@%s", e.Role, user, e.Start.Unix(), host))
		line("DTSTAMP:" + stamp)
		line("DTSTART:" + e.Start.UTC().Format("20060102T150405Z"))
		line("DTEND:" + e.End.UTC().Format("20060102T150405Z"))
		line("SUMMARY:" + escapeText("On call: "+e.Role))
		if e.Kind != "" && e.Kind != LayerShift.String() {
			line("DESCRIPTION:" + escapeText(e.Kind))
		}
		line("X-WARDLINE-ROLE:" + e.Role)
		line("X-WARDLINE-USER:" + user)
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes()
}

// escapeText applies TEXT escaping.
func escapeText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `;`, `\;`, `,`, `\,`, "\n", `\n`, "\r", "")
	return r.Replace(s)
}
