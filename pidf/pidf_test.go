package pidf

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/calpresence/calpresence/internal/golden"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/internal/xmltext"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
)

// goldenDocs are the shapes CONTRACT.md promises, plus every RPID element.
var goldenDocs = map[string]*Document{
	"meeting": {
		Entity: "sip:alice@example.com",
		Tuples: []Tuple{{ID: "calpresence-1a2b3c4d-t", Basic: Closed, Contact: "sip:alice@example.com",
			Notes: []Note{{Lang: "en", Text: "In a meeting until 15:00"}}, Timestamp: t0}},
		Persons: []Person{{ID: "calpresence-1a2b3c4d-p",
			Activities: &Activities{Span: Span{From: t0, Until: t1}, Values: []Activity{{Name: "busy"}, {Name: "meeting"}}},
			Notes:      []Note{{Lang: "en", Text: "In a meeting until 15:00"}}, Timestamp: t0}},
	},
	"available": {
		Entity:  "sip:alice@example.com",
		Tuples:  []Tuple{{ID: "calpresence-1a2b3c4d-t", Basic: Open, Contact: "sip:alice@example.com", Timestamp: t0}},
		Persons: []Person{{ID: "calpresence-1a2b3c4d-p", Timestamp: t0}},
	},
	"rich": {
		Entity: "sip:bob@example.com",
		Tuples: []Tuple{{ID: "t1", Basic: Open, Contact: "sip:bob@example.com", Priority: "0.8", DeviceID: "urn:uuid:d1",
			Notes: []Note{{Text: `<script>&"it's"]]></script>`}}, Timestamp: t0}},
		Notes: []Note{{Lang: "de", Text: "Grüße"}},
		Persons: []Person{{ID: "p1",
			Activities: &Activities{Span: Span{Until: t1}, Values: []Activity{{Name: "on-the-phone"}, {Name: "other", Text: "On call"}},
				Notes: []Note{{Text: "call"}}},
			Mood:      &Mood{Values: []string{"happy", "in_awe"}, Other: "zen"},
			PlaceType: &PlaceType{Span: Span{From: t0}, Values: []string{"office", "train"}},
			Privacy:   &Privacy{Values: []string{"audio", "video"}},
			Sphere:    &Sphere{Value: "work"},
			Notes:     []Note{{Lang: "en", Text: "line1\nline2\ttab\rcr"}},
			Timestamp: t0}},
		Devices: []Device{{ID: "d1", DeviceID: "urn:uuid:d1", Notes: []Note{{Text: "desk phone"}}, Timestamp: t1}},
	},
	// What the agent publishes just before its removal on shutdown: a
	// tuple of its own with a status that says nothing, and the marker.
	"farewell": {
		Entity:   "sip:alice@example.com",
		Tuples:   []Tuple{{ID: "calpresence-1a2b3c4d-farewell"}},
		Farewell: true,
	},
	"sphere-text": {
		Entity:  "sip:carol@example.com",
		Persons: []Person{{ID: "p", Sphere: &Sphere{Value: "bowling league"}}},
	},
}

func TestGolden(t *testing.T) {
	for name, d := range goldenDocs {
		t.Run(name, func(t *testing.T) {
			got, err := d.Marshal()
			if err != nil {
				t.Fatalf("Marshal() error = %v", err)
			}
			golden.Check(t, filepath.Join("testdata", name+".xml"), got, *update)
			back, err := Unmarshal(got)
			if err != nil {
				t.Fatalf("Unmarshal(Marshal()) error = %v", err)
			}
			if !reflect.DeepEqual(normalize(back), normalize(d)) {
				t.Errorf("Unmarshal(Marshal(d)) = %+v, want %+v", back, d)
			}
		})
	}
}

// normalize makes times comparable with DeepEqual.
func normalize(d *Document) *Document {
	c := *d
	fix := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	c.Tuples = append([]Tuple(nil), d.Tuples...)
	for i := range c.Tuples {
		fix(&c.Tuples[i].Timestamp)
	}
	c.Persons = append([]Person(nil), d.Persons...)
	for i := range c.Persons {
		p := &c.Persons[i]
		fix(&p.Timestamp)
		if p.Activities != nil {
			a := *p.Activities
			fix(&a.From)
			fix(&a.Until)
			p.Activities = &a
		}
		if p.PlaceType != nil {
			a := *p.PlaceType
			fix(&a.From)
			fix(&a.Until)
			p.PlaceType = &a
		}
	}
	c.Devices = append([]Device(nil), d.Devices...)
	for i := range c.Devices {
		fix(&c.Devices[i].Timestamp)
	}
	return &c
}

// TestXMLLint validates the golden documents against the RFC 3863 schema
// (testdata/pidf.xsd); the RFC 4479 and 4480 extensions in them are checked
// for well-formedness.
func TestXMLLint(t *testing.T) {
	xmllint := testserver.LookPath(t, "xmllint", "libxml2-utils")
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	args := append([]string{"--noout", "--nonet", "--schema", filepath.Join("testdata", "pidf.xsd")}, files...)
	out, err := exec.Command(xmllint, args...).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema pidf.xsd %v: %v\n%s", files, err, out)
	}
}

// TestHostileText proves the encoder's guarantee: whatever text a calendar
// holds, the document is well-formed UTF-8 and decodes back to clean(text).
func TestHostileText(t *testing.T) {
	texts := []string{
		"<", "&", "]]>", "a\x00b\x01c\x1fd", "\xff\xfeinvalid", "\uFFFE\uFFFF", "\xed\xa0\x80", // surrogate
		"\"'<>&", "<!-- x -->", "<![CDATA[x]]>", "\r\n\t", strings.Repeat("Long summary ", 800),
		"emoji 🎉 and 日本語",
	}
	for _, s := range texts {
		checkText(t, s)
	}
}

func checkText(t *testing.T, s string) {
	t.Helper()
	d := &Document{Entity: s,
		Tuples:  []Tuple{{ID: "t", Basic: Open, Contact: s, Notes: []Note{{Lang: "en", Text: s}}}},
		Persons: []Person{{ID: "p", Activities: &Activities{Values: []Activity{{Name: "other", Text: s}}}, Notes: []Note{{Text: s}}, Sphere: &Sphere{Value: s + "x"}}},
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatalf("Marshal() error = %v", err)
	}
	if !utf8.Valid(b) {
		t.Fatalf("Marshal() with text %q is not valid UTF-8", s)
	}
	if err := wellFormed(b); err != nil {
		t.Fatalf("Marshal() with text %q is not well-formed: %v\n%s", s, err, b)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal()) with text %q: %v", s, err)
	}
	want := clean(s)
	if back.Entity != want || back.Tuples[0].Notes[0].Text != want || back.Persons[0].Notes[0].Text != want ||
		back.Persons[0].Activities.Values[0].Text != want || back.Tuples[0].Contact != strings.TrimSpace(want) ||
		back.Persons[0].Sphere.Value != want+"x" {
		t.Errorf("round trip of %q = %+v, want text %q everywhere", s, back, want)
	}
}

// wellFormed runs the strict standard-library parser over the whole
// document, which rejects what XML 1.0 forbids.
func wellFormed(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

func FuzzMarshalText(f *testing.F) {
	for _, s := range []string{"", "<&>", "]]>", "\x00", "\xff", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkText(t, s) })
}

func FuzzUnmarshal(f *testing.F) {
	for _, d := range goldenDocs {
		b, _ := d.Marshal()
		f.Add(b)
	}
	f.Add([]byte(`<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" entity="x"><p:tuple id="a"><p:status><p:basic>open</p:basic></p:status></p:tuple></p:presence>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Unmarshal(b)
		if err != nil {
			return
		}
		// What decodes must encode to something that decodes to the same.
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal() error = %v", err)
		}
		d2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(Unmarshal(b))) error = %v\n%s", err, out)
		}
		out2, _ := d2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Errorf("encoding is not stable:\n%s\nvs\n%s", out, out2)
		}
	})
}

// TestUnmarshalByNamespace decodes a document whose prefixes differ from
// ours, as a presence server that merged publications writes it.
func TestUnmarshalByNamespace(t *testing.T) {
	doc := `<?xml version="1.0"?>
<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:ietf:params:xml:ns:pidf:data-model"
  xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:alice@example.com">
 <p:tuple id="phone"><p:status><p:basic>open</p:basic></p:status><c:card>x</c:card><p:contact priority="1">sip:alice@10.0.0.1</p:contact></p:tuple>
 <p:tuple id="agent"><p:status><p:basic>closed</p:basic></p:status><p:note xml:lang="en">In a meeting</p:note></p:tuple>
 <x:person id="agent-p"><r:activities until="2026-03-02T14:00:00Z"><r:busy/><r:meeting/><r:unknown-future/></r:activities>
  <x:note>In a meeting</x:note><x:timestamp>2026-03-02T08:00:00+00:00</x:timestamp></x:person>
 <busy xmlns="urn:ietf:params:xml:ns:pidf:rpid"/>
</p:presence>`
	d, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatalf("Unmarshal() error = %v", err)
	}
	if len(d.Tuples) != 2 || d.Tuples[0].Basic != Open || d.Tuples[0].Contact != "sip:alice@10.0.0.1" || d.Tuples[0].Priority != "1" ||
		d.Tuples[1].Basic != Closed || d.Tuples[1].Notes[0] != (Note{Lang: "en", Text: "In a meeting"}) {
		t.Errorf("Unmarshal() tuples = %+v", d.Tuples)
	}
	p := d.Persons[0]
	if p.ID != "agent-p" || len(p.Activities.Values) != 2 || p.Activities.Values[1].Name != "meeting" ||
		!p.Activities.Until.Equal(t1) || !p.Timestamp.Equal(t0) || p.Notes[0].Text != "In a meeting" {
		t.Errorf("Unmarshal() person = %+v", p)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, doc := range []string{
		``,
		`<presence xmlns="urn:example">x</presence>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="t"><timestamp>yesterday</timestamp></tuple></presence>`,
		`<presence xmlns="urn:ietf:params:xml:ns:pidf"></presence><presence xmlns="urn:ietf:params:xml:ns:pidf"/>`,
	} {
		if d, err := Unmarshal([]byte(doc)); err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want an error", doc, d)
		}
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"In a meeting until 15:00", 64, "In a meeting until 15:00"},
		{"In a meeting until 15:00", 0, "In a meeting until 15:00"},
		{"In a meeting until 15:00", 20, "In a meeting until…"},
		{"In a meeting until 15:00", 13, "In a meeting…"},
		{"Supercalifragilistic", 10, "Supercali…"},
		{"  spaced\n\tout  ", 64, "spaced out"},
		{"Grüße aus Köln und Düsseldorf", 12, "Grüße aus…"},
		{"abc", 1, "…"},
		{"", 64, ""},
		{" ", 64, ""},
		{"a  b ", 64, "a b"},
		{"a\u00a0b\u2003c", 64, "a b c"},
		{"bad \xff byte", 64, "bad \xff byte"},
	}
	for _, tt := range tests {
		got := Shorten(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if tt.limit > 0 && utf8.RuneCountInString(got) > tt.limit {
			t.Errorf("Shorten(%q, %d) = %q, longer than the limit", tt.in, tt.limit, got)
		}
	}
}

func TestIDBase(t *testing.T) {
	a, b := IDBase("sip:alice@example.com"), IDBase("sip:bob@example.com")
	if a == b || !strings.HasPrefix(a, "calpresence-") || a != IDBase("sip:alice@example.com") {
		t.Errorf("IDBase() = %q, %q: want stable, distinct, prefixed ids", a, b)
	}
}

// clean returns s as the encoder writes it: valid UTF-8 without the
// characters XML 1.0 forbids. Decoding a document gives back clean(text).
func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case xmltext.IsChar(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestNamesAreCopies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names func() []string
		is    func(string) bool
	}{
		{"activity", ActivityNames, IsActivity},
		{"mood", MoodNames, IsMood},
		{"place type", PlaceTypeNames, IsPlaceType},
		{"privacy", PrivacyNames, IsPrivacy},
		{"sphere", SphereNames, IsSphere},
	} {
		names := tc.names()
		if len(names) == 0 {
			t.Fatalf("%s: no names", tc.name)
		}
		first := names[0]
		for _, n := range names {
			if !tc.is(n) {
				t.Errorf("Is(%q) = false for a %s name", n, tc.name)
			}
		}
		if tc.is("no-such-" + tc.name) {
			t.Errorf("%s: Is(unknown) = true", tc.name)
		}
		names[0] = "changed"
		if tc.is("changed") || !tc.is(first) || tc.names()[0] != first {
			t.Errorf("%s: writing into the returned slice changed the package's names", tc.name)
		}
	}
}
