package tomlpos

import (
	"fmt"
	"strings"
	"testing"
)

const doc = `timezone = "Europe/Berlin"
me = ["mailto:a@example.com", "mailto:b@example.com"]

[sip]
aor = "sip:alice@example.com"

[[calendar]]
name = "work"

[[calendar]]
name = "home"
  url = "file:///x.ics"

[[user]]
aor = "sip:bob@example.com"
[user.sip]
proxy = "sip:127.0.0.1"
[[user.calendar]]
name = "b1"
[[user]]
[[user.calendar]]
name = "c1"
[[user.calendar]]
inline = { a = 1, b = "x" }
`

func TestIndexLookup(t *testing.T) {
	ix := NewIndex([]byte(doc))
	tests := []struct {
		path string
		want Position
	}{
		{"timezone", Position{1, 1}},
		{"me.1", Position{2, 31}},
		{"sip.aor", Position{5, 1}},
		{"calendar.0.name", Position{8, 1}},
		{"calendar.1.url", Position{12, 3}},
		{"calendar.1.missing", Position{10, 3}},
		{"user.0.sip.proxy", Position{17, 1}},
		{"user.0.calendar.0.name", Position{19, 1}},
		{"user.1.calendar.0.name", Position{22, 1}},
		{"user.1.calendar.1.inline.b", Position{24, 19}},
		{"nothing", Position{}},
	}
	for _, tt := range tests {
		if got := ix.Lookup(tt.path); got != tt.want {
			t.Errorf("Lookup(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

type target struct {
	Name string `toml:"name"`
	N    int    `toml:"n"`
	Sub  struct {
		X string `toml:"x"`
	} `toml:"sub"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"ok", "name = \"a\"\nn = 3\n", nil},
		{"unknown keys, all of them", "name = \"a\"\nbogus = 1\n[sub]\ny = 2\n", []string{
			`f.toml:2:1: unknown key "bogus"`, `f.toml:4:1: unknown key "sub.y"`}},
		{"wrong type", "n = \"three\"\n", []string{`f.toml:1:5: n: cannot decode TOML string into struct field tomlpos.target.N of type int`}},
		{"syntax", "name = \n", []string{"f.toml:1:8: unexpected character U+000A at start of value"}},
		{"bom", "\xef\xbb\xbfname = \"a\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v target
			errs := Decode("f.toml", []byte(tt.in), &v)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Decode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzIndex(f *testing.F) {
	f.Add(doc)
	f.Add("[[a]]\n[a.b]\nc = [1, {d = 2}]\n")
	f.Fuzz(func(t *testing.T, s string) {
		ix := NewIndex([]byte(s))
		for k := range ix.m {
			if p := ix.Lookup(k); p.Line < 1 || p.Col < 1 {
				t.Fatalf("Lookup(%q) = %v, want a position", k, p)
			}
		}
		_ = fmt.Sprint(Decode("f", []byte(s), &target{}))
	})
}
