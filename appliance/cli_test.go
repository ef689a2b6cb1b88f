package appliance

import (
	"flag"
	"fmt"
	"testing"
)

var interleaveCases = []struct {
	args    []string
	wantPos string
	wantN   string
	wantErr bool
}{
	{[]string{"jsmith", "--name", "Smith, J"}, "[jsmith]", "Smith, J", false},
	{[]string{"--name", "Smith, J", "jsmith"}, "[jsmith]", "Smith, J", false},
	{[]string{"a", "--name=x", "b"}, "[a b]", "x", false},
	{[]string{"--", "--name", "x"}, "[--name x]", "", false},
	{[]string{"a", "--", "-b"}, "[a -b]", "", false},
	{[]string{"--bogus"}, "", "", true},
	{[]string{"--name"}, "", "", true},
	{nil, "[]", "", false},
}

func TestParseInterleaved(t *testing.T) {
	for _, c := range interleaveCases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(nopWriter{})
		name := fs.String("name", "", "")
		pos, err := parseInterleaved(fs, c.args)
		if c.wantErr {
			if err == nil {
				t.Errorf("%q: no error", c.args)
			}
			continue
		}
		if err != nil || fmt.Sprint(pos) != c.wantPos || *name != c.wantN {
			t.Errorf("%q: pos %v name %q err %v; want %s %q", c.args, pos, *name, err, c.wantPos, c.wantN)
		}
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func FuzzParseInterleaved(f *testing.F) {
	for _, c := range interleaveCases {
		if len(c.args) >= 2 {
			f.Add(c.args[0], c.args[1])
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(nopWriter{})
		fs.String("name", "", "")
		fs.Bool("json", false, "")
		parseInterleaved(fs, []string{a, b, a}) // must terminate and not panic
	})
}
