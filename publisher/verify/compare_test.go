package verify

import (
	"strings"
	"testing"

	"github.com/calpresence/calpresence/pidf"
)

const aor = "sip:alice@example.com"

func doc(t *testing.T, basic, note string, acts ...string) []byte {
	t.Helper()
	base := pidf.IDBase(aor)
	d := &pidf.Document{Entity: aor, Tuples: []pidf.Tuple{{ID: base + "-t", Basic: basic, Contact: aor}}}
	if note != "" {
		d.Tuples[0].Notes = []pidf.Note{{Text: note}}
	}
	p := pidf.Person{ID: base + "-p"}
	if len(acts) > 0 {
		p.Activities = &pidf.Activities{}
		for _, a := range acts {
			p.Activities.Values = append(p.Activities.Values, pidf.Activity{Name: a})
		}
	}
	d.Persons = []pidf.Person{p}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A server merges the agent's document with a phone's and may write its
// own prefixes (Kamailio does when it aggregates): the meeting, merged,
// with the RPID namespace under another prefix.
const kamailioMerged = `<?xml version="1.0"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:x="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">
  <tuple id="phone-1"><status><basic>open</basic></status></tuple>
  <tuple id="BASE-t"><status><basic>closed</basic></status><contact>sip:alice@example.com</contact><note>In a meeting</note></tuple>
  <dm:person id="BASE-p"><x:activities><x:busy/><x:meeting/></x:activities></dm:person>
</presence>`

func TestHolds(t *testing.T) {
	base := pidf.IDBase(aor)
	merged := strings.ReplaceAll(kamailioMerged, "BASE", base)
	meeting := doc(t, "closed", "In a meeting", "busy", "meeting")
	for _, tc := range []struct {
		name         string
		notify, want []byte
		holds        bool
	}{
		{"same document", meeting, meeting, true},
		{"merged, other prefixes", []byte(merged), meeting, true},
		{"stale busy", doc(t, "closed", "In a meeting", "busy", "meeting"), doc(t, "open", ""), false},
		{"other note", doc(t, "closed", "In a call", "busy", "meeting"), meeting, false},
		{"other activities", doc(t, "closed", "In a meeting", "busy"), meeting, false},
		{"missing", doc(t, "open", ""), nil, false}, // ours, though none should be there
		{"missing publication", []byte(strings.ReplaceAll(merged, base, "someone-else")), meeting, false},
		{"empty NOTIFY", nil, meeting, false},
		{"empty NOTIFY, none wanted", nil, nil, true},
		{"removed: closed tuple, no person", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="` + base + `-t"><status><basic>closed</basic></status></tuple></presence>`), nil, true},
		{"not PIDF", []byte("<html>"), meeting, false},
	} {
		if got := Holds(tc.notify, tc.want, base); got != tc.holds {
			t.Errorf("%s: Holds = %v, want %v", tc.name, got, tc.holds)
		}
	}
}

func FuzzHolds(f *testing.F) {
	f.Add([]byte(kamailioMerged))
	f.Add([]byte(""))
	f.Add([]byte("<presence/>"))
	f.Fuzz(func(t *testing.T, notify []byte) {
		base := pidf.IDBase(aor)
		want := doc(t, "open", "")
		if Holds(notify, want, base) && Holds(notify, nil, base) {
			t.Errorf("Holds(%q) is true both for the document and for none", notify)
		}
	})
}
