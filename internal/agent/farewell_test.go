package agent

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/rules"
)

// segmentDoc is the document the agent publishes for a segment of state
// st, as documentOf builds it.
func segmentDoc(t *testing.T, aor string, st rules.State) []byte {
	t.Helper()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	seg := rules.Segment{Start: start, End: start.Add(time.Hour), State: st, Rule: "r"}
	b, err := seg.Document(aor, pidf.IDBase(aor)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstBasic models Kamailio's search for the offline version of a removed
// document (presence_xml's offline_nbody): the first element named "basic"
// in document order, whatever its namespace and case. It reports whether
// that element is inside the document's first tuple, the only part the
// offline version keeps, and whether there is one at all.
func firstBasic(t *testing.T, doc []byte) (inFirstTuple, found bool) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	depth, tupleDepth, tuples := 0, 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false, false
		}
		if err != nil {
			t.Fatalf("decode %s: %v", doc, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if strings.EqualFold(el.Name.Local, "tuple") {
				tuples++
				if tuples == 1 {
					tupleDepth = depth
				}
			}
			if strings.EqualFold(el.Name.Local, "basic") {
				return tupleDepth > 0, true
			}
		case xml.EndElement:
			if depth == tupleDepth {
				tupleDepth = 0
			}
			depth--
		}
	}
}

func TestPresenceFarewell(t *testing.T) {
	const aor = "sip:alice@example.com"
	base := pidf.IDBase(aor)
	meeting := segmentDoc(t, aor, rules.State{Basic: "closed", Activities: []string{"busy", "meeting"}, Note: "In a meeting until 15:00", Lang: "en"})
	lunch := segmentDoc(t, aor, rules.State{Basic: "open", Activities: []string{"away", "meal"}, Note: "Out for lunch until 13:00"})
	rich := segmentDoc(t, aor, rules.State{Basic: "closed", Mood: []string{"stressed"}, PlaceType: []string{"office"}, Privacy: []string{"audio"}, Sphere: "work"})
	farewell := presenceFarewell(meeting)
	for _, tc := range []struct {
		name      string
		published []byte
		want      bool // a farewell; else nil
	}{
		{"meeting: closed, busy, note", meeting, true},
		{"lunch: open, away, note", lunch, true},
		{"mood, place, privacy, sphere", rich, true},
		{"the farewell itself", farewell, true},
		{"a document without a tuple", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>`), false},
		{"not PIDF", []byte("<dialog-info/>"), false},
	} {
		got := presenceFarewell(tc.published)
		if !tc.want {
			if got != nil {
				t.Errorf("%s: presenceFarewell() = %s, want nil", tc.name, got)
			}
			continue
		}
		d, err := pidf.Unmarshal(got)
		if err != nil {
			t.Fatalf("%s: presenceFarewell() = %s: %v", tc.name, got, err)
		}
		// Our tuple, saying nothing: no basic, contact or note; no
		// person, and so no activity, mood or note of the segment's. Its
		// id is not the segment's tuple's, which another agent may
		// publish too.
		if d.Entity != aor || len(d.Tuples) != 1 || !reflect.DeepEqual(d.Tuples[0], pidf.Tuple{ID: base + "-farewell"}) ||
			len(d.Persons) != 0 || len(d.Devices) != 0 || len(d.Notes) != 0 || !d.Farewell {
			t.Errorf("%s: presenceFarewell() = %+v, want tuple %s-farewell alone, without a status value, and the marker", tc.name, d, base)
		}
		// What Kamailio turns closed on removal is outside the tuple it
		// keeps.
		if in, found := firstBasic(t, got); in || !found {
			t.Errorf("%s: the first element named basic: in the first tuple %t, found %t; want found, outside it\n%s", tc.name, in, found, got)
		}
		if !bytes.Equal(presenceFarewell(got), got) {
			t.Errorf("%s: the farewell of the farewell differs; the publisher would publish it twice", tc.name)
		}
	}
	// The document it replaces has the basic in its first tuple, which is
	// why a removal alone shows watchers our tuple closed.
	if in, _ := firstBasic(t, meeting); !in {
		t.Errorf("firstBasic(meeting) is outside the first tuple; the model of Kamailio's search is wrong")
	}
}

// The farewell validates against the RFC 3863 schema, as pidf's golden
// documents do (pidf's TestXMLLint).
func TestPresenceFarewellSchema(t *testing.T) {
	xmllint := testserver.LookPath(t, "xmllint", "libxml2-utils")
	f := filepath.Join(t.TempDir(), "farewell.xml")
	meeting := segmentDoc(t, "sip:alice@example.com", rules.State{Basic: "closed", Activities: []string{"busy"}, Note: "In a meeting"})
	if err := os.WriteFile(f, presenceFarewell(meeting), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("..", "..", "pidf", "testdata", "pidf.xsd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema pidf.xsd farewell.xml: %v\n%s", err, out)
	}
}

// Stopped during a meeting or a lunch, the agent publishes the farewell
// and then removes the publication; stopped between events, it sends
// nothing.
func TestAgentFarewellOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		time.Sleep(time.Until(time.Date(2000, 3, 10, 8, 0, 0, 0, time.UTC)))
		now := time.Now()
		cal := func(name string, ev icsEvent) *fakeSource {
			src := &fakeSource{name: name, zone: zone}
			src.set(buildICS([]icsEvent{ev}), nil)
			return src
		}
		users := map[string]*fakeSource{
			"sip:meeting@example.com": cal("m", icsEvent{uid: "m", summary: "Review", start: now, end: now.Add(time.Hour), attendees: 3}),
			"sip:lunch@example.com":   cal("l", icsEvent{uid: "l", summary: "Lunch", start: now, end: now.Add(time.Hour)}),
			"sip:later@example.com":   cal("x", icsEvent{uid: "x", summary: "Review", start: now.Add(2 * time.Hour), end: now.Add(3 * time.Hour), attendees: 3}),
		}
		var specs []User
		for aor, src := range users {
			u := userFor(aor, zone, builtin(t), src)
			u.NoBLF = true // the presence publication alone
			specs = append(specs, u)
		}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, specs...)
		time.Sleep(time.Minute)
		synctest.Wait()
		h.stop()

		for _, aor := range []string{"sip:meeting@example.com", "sip:lunch@example.com"} {
			rs := d.records(aor)
			if len(rs) != 3 || rs[0].op != "publish" || rs[1].op != "farewell" || rs[2].op != "remove" {
				var ops []string
				for _, r := range rs {
					ops = append(ops, r.op)
				}
				t.Errorf("%s: requests %v, want publish (the segment's document), farewell, remove", aor, ops)
				continue
			}
			if want := presenceFarewell(rs[0].body); !bytes.Equal(rs[1].body, want) {
				t.Errorf("%s: published before the removal:\n%s\nwant the farewell\n%s", aor, rs[1].body, want)
			}
			if !rs[1].at.Equal(now.Add(time.Minute)) || !rs[2].at.Equal(rs[1].at) {
				t.Errorf("%s: farewell at %v, removal at %v; want both at the stop, %v", aor, rs[1].at, rs[2].at, now.Add(time.Minute))
			}
		}
		if rs := d.records("sip:later@example.com"); len(rs) != 0 {
			t.Errorf("stopped between events: %d requests, want none", len(rs))
		}
	})
}
