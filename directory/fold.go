package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fold returns s as search compares it: lower case, accents removed from
// Latin letters ("Müller" → "muller", "Nguyễn" → "nguyen", "Łukasz" →
// "lukasz", "Weiß" → "weiss"), combining marks dropped, invalid UTF-8
// dropped. Other scripts are only lower-cased.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			continue
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case unicode.Is(unicode.Mn, r):
			continue // a combining accent of decomposed input
		default:
			if f, ok := foldTable[r]; ok {
				b.WriteString(f)
				continue
			}
			r = unicode.ToLower(r)
			if f, ok := foldTable[r]; ok { // "ẞ" lowers to "ß", which folds to "ss"
				b.WriteString(f)
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Words splits folded text into the words search matches the start of:
// runs of letters and digits ("o'brien, ana-maria" → "o", "brien", "ana",
// "maria"). Apostrophes also join ("obrien"), so both spellings find it.
func Words(folded string) []string {
	out := strings.FieldsFunc(folded, notWordRune)
	if strings.ContainsAny(folded, "'’") {
		joined := strings.NewReplacer("'", "", "’", "").Replace(folded)
		for _, w := range strings.FieldsFunc(joined, notWordRune) {
			out = appendNew(out, w)
		}
	}
	return out
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// appendNew appends w unless list holds it.
func appendNew(list []string, w string) []string {
	for _, x := range list {
		if x == w {
			return list
		}
	}
	return append(list, w)
}
