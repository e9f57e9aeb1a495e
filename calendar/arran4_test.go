package calendar

import (
	"bytes"
	"os"
	"strings"
	"testing"

	ics "github.com/arran4/golang-ical"
)

// TestGolangICalShortcomings records why ParseICS drives golang-ical
// property by property instead of calling ParseCalendar: if a release
// fixes one of these, this test says so.
func TestGolangICalShortcomings(t *testing.T) {
	// One malformed content line costs the whole calendar.
	data, err := os.ReadFile("testdata/corpus/malformed.ics")
	if err != nil {
		t.Fatal(err)
	}
	if cal, err := ics.ParseCalendar(bytes.NewReader(data)); err == nil {
		t.Errorf("ics.ParseCalendar(malformed.ics) = %d components, no error: it now skips bad lines", len(cal.Components))
	}
	// TEXT values come back unescaped, so an escaped comma in CATEGORIES
	// can no longer be told from a separator.
	p, err := ics.ParseProperty("CATEGORIES;LANGUAGE=en:Family\\, Friends,Travel")
	if err != nil {
		t.Fatal(err)
	}
	if p.Value != "Family, Friends,Travel" {
		t.Errorf("ics.ParseProperty(CATEGORIES) value = %q: it now keeps escapes", p.Value)
	}
	// GetEndAt ignores DURATION.
	cal, err := ics.ParseCalendar(strings.NewReader(vcal("BEGIN:VEVENT\nUID:d\nDTSTART:20260302T100000Z\nDURATION:PT1H\nEND:VEVENT")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cal.Events()[0].GetEndAt(); err == nil {
		t.Errorf("GetEndAt() with DURATION: no error: it now reads DURATION")
	}
}
