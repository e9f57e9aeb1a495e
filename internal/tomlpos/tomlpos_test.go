package tomlpos

import (
	"errors"
	"fmt"
	"strconv"
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

func TestLookup(t *testing.T) {
	root, err := Parse("f.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want Pos
	}{
		{"timezone", Pos{1, 1}},
		{"me", Pos{2, 1}},
		{"me.1", Pos{2, 31}},
		{"me.2", Pos{2, 1}},
		{"sip.aor", Pos{5, 1}},
		{"calendar", Pos{7, 3}},
		{"calendar.0.name", Pos{8, 1}},
		{"calendar.1.url", Pos{12, 3}},
		{"calendar.1.missing", Pos{10, 3}},
		{"calendar.x.name", Pos{7, 3}},
		{"user.0.sip.proxy", Pos{17, 1}},
		{"user.0.calendar.0.name", Pos{19, 1}},
		{"user.1.calendar.0.name", Pos{22, 1}},
		{"user.1.calendar.1.inline.b", Pos{24, 19}},
		{"user.1.calendar.1.inline.b.deeper", Pos{24, 19}},
		{"timezone.0", Pos{1, 1}},
		{"nothing", Pos{}},
		{"", Pos{}},
	}
	for _, tt := range tests {
		if got := root.Lookup(tt.path); got != tt.want {
			t.Errorf("Lookup(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	in := "b = true\na.x = 0x10\nf = 1.5\nd = 1979-05-27\nlist = [[\"s\"], []]\n[t]\nz = 'lit'\ny = { k = -3 }\n"
	root, err := Parse("f.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(root.Keys(), " "), "b a f d list t"; got != want {
		t.Errorf("Parse(%q).Keys() = %q, want %q", in, got, want)
	}
	tests := []struct {
		path       string
		get        func(*Value) any
		kind       Kind
		pos, key   Pos
		wantScalar any
	}{
		{"b", func(v *Value) any { return v.Bool }, KindBool, Pos{1, 5}, Pos{1, 1}, true},
		{"a", nil, KindTable, Pos{2, 1}, Pos{2, 1}, nil},
		{"a.x", func(v *Value) any { return v.Int }, KindInteger, Pos{2, 7}, Pos{2, 3}, int64(16)},
		{"f", nil, KindFloat, Pos{3, 5}, Pos{3, 1}, nil},
		{"d", nil, KindDateTime, Pos{4, 5}, Pos{4, 1}, nil},
		{"list", func(v *Value) any { return len(v.Array) }, KindArray, Pos{5, 1}, Pos{5, 1}, 2},
		{"list.0", func(v *Value) any { return len(v.Array) }, KindArray, Pos{5, 1}, Pos{}, 1},
		{"list.0.0", func(v *Value) any { return v.Str }, KindString, Pos{5, 10}, Pos{}, "s"},
		{"t.z", func(v *Value) any { return v.Str }, KindString, Pos{7, 5}, Pos{7, 1}, "lit"},
		{"t.y", nil, KindTable, Pos{8, 5}, Pos{8, 1}, nil},
		{"t.y.k", func(v *Value) any { return v.Int }, KindInteger, Pos{8, 11}, Pos{8, 7}, int64(-3)},
	}
	for _, tt := range tests {
		v := &Value{Kind: KindTable, Table: root}
		for part := range strings.SplitSeq(tt.path, ".") {
			if v = v.child(part); v == nil {
				t.Fatalf("Parse(%q) has no %s", in, tt.path)
			}
		}
		if v.Kind != tt.kind || v.Pos != tt.pos || v.KeyPos != tt.key {
			t.Errorf("Parse(%q) at %s = %s at %v key %v, want %s at %v key %v", in, tt.path, v.Kind, v.Pos, v.KeyPos, tt.kind, tt.pos, tt.key)
		}
		if tt.get != nil {
			if got := tt.get(v); got != tt.wantScalar {
				t.Errorf("Parse(%q) at %s = %v, want %v", in, tt.path, got, tt.wantScalar)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a = \n", "f.toml:1:5: syntax error: toml: unexpected character U+000A at start of value"},
		{"a = 1\na = 2\n", "f.toml:2:1: syntax error: toml: key a is already defined"},
	}
	for _, tt := range tests {
		_, err := Parse("f.toml", []byte(tt.in))
		var e *Error
		if !errors.As(err, &e) || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want *Error %q", tt.in, err, tt.want)
		}
	}
	// A byte-order mark is not a syntax error, and columns count after it.
	root, err := Parse("f.toml", []byte("\xef\xbb\xbfa = 1\n"))
	if err != nil || root.Lookup("a") != (Pos{1, 1}) {
		t.Errorf("Parse(BOM a = 1) = %v, %v, want a at 1:1", root, err)
	}
}

func TestErrorf(t *testing.T) {
	tests := []struct {
		p    Pos
		want string
	}{
		{Pos{3, 7}, "f.toml:3:7: bad 42"},
		{Pos{}, "f.toml: bad 42"},
	}
	for _, tt := range tests {
		if got := Errorf("f.toml", tt.p, "bad %d", 42).Error(); got != tt.want {
			t.Errorf("Errorf(f.toml, %v, ...) = %q, want %q", tt.p, got, tt.want)
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

func FuzzParse(f *testing.F) {
	f.Add(doc)
	f.Add("[[a]]\n[a.b]\nc = [1, {d = 2}]\n")
	f.Add("x.y.z = [[1], [2, [3]]]\n[p.q]\n[[p.r]]\ns = 1979-05-27T07:32:00Z\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = fmt.Sprint(Decode("f", []byte(s), &target{}))
		root, err := Parse("f", []byte(s))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 || e.Col < 1 {
				t.Fatalf("Parse(%q) = %v, want a positioned *Error", s, err)
			}
			return
		}
		lines := strings.Count(s, "\n") + 1
		var walk func(path string, v *Value)
		walk = func(path string, v *Value) {
			if v.Pos.Line < 1 || v.Pos.Line > lines || v.Pos.Col < 1 {
				t.Fatalf("Parse(%q) places %s at %v", s, path, v.Pos)
			}
			if got := root.Lookup(path); got != v.at() {
				t.Fatalf("Parse(%q).Lookup(%q) = %v, want %v", s, path, got, v.at())
			}
			switch v.Kind {
			case KindTable:
				for _, k := range v.Table.Keys() {
					if strings.Contains(k, ".") || k == "" {
						continue // not reachable by a dotted path
					}
					walk(path+"."+k, v.Table.Get(k))
				}
			case KindArray:
				for i, e := range v.Array {
					walk(path+"."+strconv.Itoa(i), e)
				}
			}
		}
		for _, k := range root.Keys() {
			if !strings.Contains(k, ".") && k != "" {
				walk(k, root.Get(k))
			}
		}
	})
}
