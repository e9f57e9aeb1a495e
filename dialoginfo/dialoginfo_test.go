package dialoginfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/calpresence/calpresence/internal/testserver"

	"github.com/calpresence/calpresence/internal/golden"
	"github.com/calpresence/calpresence/internal/xmltext"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func u64(n uint64) *uint64 { return &n }

// goldenDocs are what calpresence publishes, plus every modelled element.
var goldenDocs = map[string]*Document{
	"confirmed": {
		Entity: "sip:alice@example.com", Version: 1772438400, State: Full,
		Dialogs: []Dialog{{ID: "calpresence-1a2b3c4d", Direction: Recipient, State: Confirmed,
			Local: &Participant{Identity: "sip:alice@example.com"}}},
	},
	"terminated": {
		Entity: "sip:alice@example.com", Version: 1772440200, State: Full,
		Dialogs: []Dialog{{ID: "calpresence-1a2b3c4d", Direction: Recipient, State: Terminated,
			Local: &Participant{Identity: "sip:alice@example.com"}}},
	},
	"empty": {Entity: "sip:bob@example.com", Version: 0, State: Full},
	"rich": {
		Entity: "sip:bob@example.com", Version: 7, State: Partial,
		Dialogs: []Dialog{
			{ID: "as7d900as8", CallID: "a84b4c76e66710", LocalTag: "1928301774", RemoteTag: "456248", Direction: Initiator,
				State: Early, Duration: u64(0),
				Local:  &Participant{Identity: "sip:bob@example.com", Display: `Bob "B" <&>`, Target: "sip:bob@10.0.0.1;transport=tcp"},
				Remote: &Participant{Identity: "sip:carol@example.com", Display: "Carol\tC\r\n"}},
			{ID: "x2", State: Terminated, Event: "rejected", Code: 486, Duration: u64(3600)},
		},
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
			if !reflect.DeepEqual(back, d) {
				t.Errorf("Unmarshal(Marshal(d)) = %+v, want %+v", back, d)
			}
		})
	}
}

// xmllintSchema validates files against the RFC 4235 schema and returns
// xmllint's verdict.
func xmllintSchema(t *testing.T, files ...string) ([]byte, error) {
	t.Helper()
	xmllint := testserver.LookPath(t, "xmllint", "libxml2-utils")
	args := append([]string{"--noout", "--nonet", "--schema", filepath.Join("testdata", "dialog-info.xsd")}, files...)
	return exec.Command(xmllint, args...).CombinedOutput()
}

// TestSchema validates the golden files, a timeline's documents and
// documents full of hostile text against the RFC 4235 schema, and checks
// that the schema does reject what it must.
func TestSchema(t *testing.T) {
	dir := t.TempDir()
	var files []string
	golden, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if len(golden) != len(goldenDocs) {
		t.Fatalf("golden files %v, want %d (run with -update)", golden, len(goldenDocs))
	}
	files = append(files, golden...)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for i, e := range Timeline("sip:alice@example.com", []Span{{t0, t0.Add(time.Hour)}, {t0.Add(2 * time.Hour), t0.Add(3 * time.Hour)}}, TimelineOptions{}) {
		files = append(files, write(fmt.Sprintf("timeline-%d.xml", i), e.Body))
	}
	for i, s := range hostile {
		// URIs (entity, identity) come from the config, which checks them;
		// text from anywhere else lands in xs:string values.
		d := hostileDoc(s)
		d.Entity, d.Dialogs[0].Local.Identity = "sip:alice@example.com", "sip:alice@example.com"
		b, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal() with text %q: %v", s, err)
		}
		files = append(files, write(fmt.Sprintf("hostile-%d.xml", i), b))
	}
	if out, err := xmllintSchema(t, files...); err != nil {
		t.Errorf("xmllint --schema dialog-info.xsd: %v\n%s", err, out)
	}

	// The schema is not a no-op: each of these breaks a rule of RFC 4235.
	for name, doc := range map[string]string{
		"no-version":   `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full" entity="sip:a@b"/>`,
		"bad-state":    `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="some" entity="sip:a@b"/>`,
		"no-dialog-id": `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog><state>early</state></dialog></dialog-info>`,
		"no-state":     `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x"/></dialog-info>`,
		"order":        `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x"><local/><state>early</state></dialog></dialog-info>`,
		"code":         `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:a@b"><dialog id="x"><state code="99">terminated</state></dialog></dialog-info>`,
	} {
		if out, err := xmllintSchema(t, write("invalid-"+name+".xml", []byte(doc))); err == nil {
			t.Errorf("xmllint --schema accepted invalid document %s:\n%s", name, out)
		}
		// Unmarshal is lenient about element order only.
		if d, err := Unmarshal([]byte(doc)); err == nil && name != "order" {
			t.Errorf("Unmarshal(%s) = %+v, want an error", name, d)
		}
	}
}

var hostile = []string{
	"<", "&", "]]>", "a\x00b\x01c\x1fd", "\xff\xfeinvalid", "\uFFFE\uFFFF", "\xed\xa0\x80",
	"\"'<>&", "<!-- x -->", "<![CDATA[x]]>", "\r\n\t", strings.Repeat("Long summary ", 800),
	"emoji 🎉 and 日本語",
}

func hostileDoc(s string) *Document {
	return &Document{Entity: "sip:" + s, State: Full, Dialogs: []Dialog{{
		ID: s + "id", CallID: s, LocalTag: s, RemoteTag: s, State: Confirmed,
		Local:  &Participant{Identity: "sip:x" + s, Display: s, Target: s},
		Remote: &Participant{Display: s},
	}}}
}

// TestHostileText proves the encoder's guarantee: whatever text a document
// holds, it encodes to well-formed UTF-8 that decodes back to clean(text).
func TestHostileText(t *testing.T) {
	for _, s := range hostile {
		checkText(t, s)
	}
}

func checkText(t *testing.T, s string) {
	t.Helper()
	b, err := hostileDoc(s).Marshal()
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
	dl := back.Dialogs[0]
	if back.Entity != "sip:"+want || dl.ID != want+"id" || dl.CallID != want || dl.LocalTag != want || dl.RemoteTag != want ||
		dl.Local.Identity != strings.TrimSpace("sip:x"+want) || dl.Local.Display != want || dl.Local.Target != want ||
		dl.Remote.Display != want {
		t.Errorf("round trip of %q = %+v, want text %q everywhere", s, back, want)
	}
}

// wellFormed runs the strict standard-library parser over the whole
// document, which rejects what XML 1.0 forbids.
func wellFormed(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// clean returns s as the encoder writes it: valid UTF-8 without the
// characters XML 1.0 forbids.
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
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Unmarshal(b)
		if err != nil {
			return
		}
		// What decodes must encode to something that decodes to the same.
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal(Unmarshal(b)) error = %v", err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("Marshal(Unmarshal(b)) is not valid UTF-8:\n%q", out)
		}
		d2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(Unmarshal(b))) error = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Errorf("round trip changed the document:\n%+v\nvs\n%+v", d, d2)
		}
		out2, _ := d2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Errorf("encoding is not stable:\n%s\nvs\n%s", out, out2)
		}
	})
}

// TestUnmarshalByNamespace decodes an aggregated document with other
// prefixes and unknown elements, as Kamailio's presence_dialoginfo writes.
func TestUnmarshalByNamespace(t *testing.T) {
	doc := `<?xml version="1.0"?>
<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" xmlns:x="urn:example:x" version="12" state="full" entity="sip:alice@example.com">
 <d:dialog id="calpresence-1a2b3c4d" direction="recipient"><d:state>confirmed</d:state><x:foo/><d:local><d:identity>sip:alice@example.com</d:identity></d:local></d:dialog>
 <d:dialog id="call1" call-id="c1" local-tag="l" remote-tag="r" direction="initiator">
  <d:state event="remote-bye" code="200"> terminated </d:state><d:duration> 42 </d:duration>
  <d:remote><d:identity display="Bob">sip:bob@example.com</d:identity><d:target uri="sip:bob@10.0.0.2"><d:param pname="x" pval="y"/></d:target></d:remote>
 </d:dialog>
 <dialog xmlns="urn:example:other" id="ignored"/>
</d:dialog-info>`
	got, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatalf("Unmarshal() error = %v", err)
	}
	want := &Document{Entity: "sip:alice@example.com", Version: 12, State: Full, Dialogs: []Dialog{
		{ID: "calpresence-1a2b3c4d", Direction: Recipient, State: Confirmed, Local: &Participant{Identity: "sip:alice@example.com"}},
		{ID: "call1", CallID: "c1", LocalTag: "l", RemoteTag: "r", Direction: Initiator, State: Terminated, Event: "remote-bye", Code: 200,
			Duration: u64(42), Remote: &Participant{Identity: "sip:bob@example.com", Display: "Bob", Target: "sip:bob@10.0.0.2"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Unmarshal() = %+v, want %+v", got, want)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"empty", ``, "no <dialog-info> element"},
		{"namespace", `<dialog-info xmlns="urn:example" version="0" state="full" entity="x"/>`, "expected element"},
		{"pidf", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, "expected element"},
		{"unclosed", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full"><dialog>`, "EOF"},
		{"version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="-1" state="full" entity="x"/>`, "version"},
		{"no-version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full" entity="x"/>`, "version"},
		{"state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="" entity="x"/>`, "state"},
		{"dialog-state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="x"><dialog id="a"><state>ringing</state></dialog></dialog-info>`, "ringing"},
		{"direction", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="x"><dialog id="a" direction="up"><state>early</state></dialog></dialog-info>`, "direction"},
		{"event", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="x"><dialog id="a"><state event="boom">terminated</state></dialog></dialog-info>`, "event"},
		{"duration", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="x"><dialog id="a"><state>confirmed</state><duration>1.5</duration></dialog></dialog-info>`, "duration"},
		{"trailing", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="x"/><x/>`, "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Unmarshal([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal(%q) = %+v, %v; want an error containing %q", tt.doc, d, err, tt.want)
			}
		})
	}
}

func TestMarshalInvalid(t *testing.T) {
	ok := Dialog{ID: "a", State: Confirmed}
	tests := []struct {
		name string
		mod  func(d *Document)
	}{
		{"state", func(d *Document) { d.State = "" }},
		{"id", func(d *Document) { d.Dialogs[0].ID = "" }},
		{"dialog-state", func(d *Document) { d.Dialogs[0].State = "busy" }},
		{"direction", func(d *Document) { d.Dialogs[0].Direction = "inbound" }},
		{"event", func(d *Document) { d.Dialogs[0].Event = "hangup" }},
		{"code", func(d *Document) { d.Dialogs[0].Code = 700 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Document{Entity: "sip:a@b", State: Full, Dialogs: []Dialog{ok}}
			if _, err := d.Marshal(); err != nil {
				t.Fatalf("Marshal() of the valid document: %v", err)
			}
			tt.mod(d)
			if b, err := d.Marshal(); err == nil {
				t.Errorf("Marshal() = %s, want an error", b)
			}
		})
	}
}

func TestIDFor(t *testing.T) {
	a, b := IDFor("sip:alice@example.com"), IDFor("sip:bob@example.com")
	if a == b || !strings.HasPrefix(a, "calpresence-") || a != IDFor("sip:alice@example.com") {
		t.Errorf("IDFor() = %q, %q: want stable, distinct, prefixed ids", a, b)
	}
}
