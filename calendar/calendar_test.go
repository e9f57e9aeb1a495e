package calendar

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// vcal wraps VEVENT (and other) text in a VCALENDAR with CRLF lines.
func vcal(body string) string {
	body = strings.TrimSpace(body)
	return strings.ReplaceAll("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n"+body+"\nEND:VCALENDAR\n", "\n", "\r\n")
}

// expandText parses ics and expands it over [from, to) in zone, returning
// one line per occurrence: "start end uid status" in zone's wall time.
func expandText(t *testing.T, ics, zone, from, to string) ([]string, []Warning) {
	t.Helper()
	loc := mustZone(t, zone)
	events, w, err := ParseICS(strings.NewReader(ics), ParseOptions{Source: "test.ics", Zone: loc})
	if err != nil {
		t.Fatalf("ParseICS() error: %v", err)
	}
	f, err := time.ParseInLocation("2006-01-02 15:04", from, loc)
	if err != nil {
		t.Fatal(err)
	}
	to2, err := time.ParseInLocation("2006-01-02 15:04", to, loc)
	if err != nil {
		t.Fatal(err)
	}
	occ, w2 := Expand(events, f, to2, ExpandOptions{Zone: loc})
	var out []string
	for _, o := range occ {
		s := o.Start.Format("2006-01-02 15:04 -0700") + " " + o.End.Format("2006-01-02 15:04 -0700") + " " + o.UID
		if o.Status != "" {
			s += " " + string(o.Status)
		}
		out = append(out, s)
	}
	return out, append(w, w2...)
}

func check(t *testing.T, name string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestParseICSSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "cal.ics:1:1: no BEGIN:VCALENDAR in input"},
		{"not ics", "hello\nworld\n", `cal.ics:1:1: expected BEGIN:VCALENDAR, got "hello"`},
		{"html", "\n<html>\n", `cal.ics:2:1: expected BEGIN:VCALENDAR, got "<html>"`},
		{"vevent first", "BEGIN:VEVENT\r\n", `cal.ics:1:1: expected BEGIN:VCALENDAR, got "BEGIN:VEVENT"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseICS(strings.NewReader(tc.in), ParseOptions{Source: "cal.ics", Zone: time.UTC})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseICS(%q) error = %v, want *SyntaxError", tc.in, err)
			}
			if err.Error() != tc.want {
				t.Errorf("ParseICS(%q) error = %q, want %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/malformed.ics")
	if err != nil {
		t.Fatal(err)
	}
	events, warnings, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "malformed.ics", Zone: time.UTC})
	if err != nil {
		t.Fatalf("ParseICS(malformed.ics) error: %v", err)
	}
	var uids []string
	for _, e := range events {
		uids = append(uids, e.UID)
	}
	check(t, "events", uids, []string{"good-1@test", "good-2@test"})
	var ws []string
	for _, w := range warnings {
		ws = append(ws, w.String())
	}
	check(t, "warnings", ws, []string{
		`malformed.ics:10: uid "bad-date@test": skipped VEVENT: line 12: DTSTART: invalid date "2026-03-11 08:00"`,
		`malformed.ics:15: uid "bad-line@test": skipped VEVENT: line 18: content line without ':'`,
	})
}

func TestParseStructure(t *testing.T) {
	for _, tc := range []struct {
		name, ics string
		uids      []string
		warnings  int
	}{
		{"unclosed at EOF", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\n", []string{"a"}, 1},
		{"mismatched END", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nBEGIN:VALARM\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"b"}, 1},
		{"no DTSTART", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nEND:VEVENT\nEND:VCALENDAR\n", nil, 1},
		{"todo journal ignored", "BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nDTSTART:20260101T000000Z\nEND:VTODO\nBEGIN:VJOURNAL\nUID:j\nEND:VJOURNAL\nBEGIN:VEVENT\nUID:e\nDTSTART:20260101T000000Z\nBEGIN:VALARM\nTRIGGER:-PT5M\nEND:VALARM\nEND:VEVENT\nEND:VCALENDAR\n", []string{"e"}, 0},
		{"two calendars", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\nBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a", "b"}, 0},
		{"year 0", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:00000101\nRRULE:FREQ=MONTHLY;COUNT=1\nEND:VEVENT\nEND:VCALENDAR\n", nil, 1},
		{"Go's zero time", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:00010101T000000\nRRULE:FREQ=DAILY\nEND:VEVENT\nEND:VCALENDAR\n", nil, 1},
		{"misspelt END:VTOOD", "BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nEND:VTOOD\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a", "b"}, 1},
		{"misspelt END:VEVENTX", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENTX\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a", "b"}, 1},
		{"END unlike any open component", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:XYZZY\nSUMMARY:still a\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a"}, 1},
		{"END missing, next BEGIN", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a", "b"}, 1},
		{"END missing before END:VCALENDAR", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VCALENDAR\n", []string{"a"}, 1},
		{"three calendars", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\nBEGIN:VCALENDAR\nEND:VCALENDAR\nBEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:c\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a", "c"}, 0},
		{"bad RRULE keeps the event", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nRRULE:FREQ=SOMETIMES\nEND:VEVENT\nEND:VCALENDAR\n", []string{"a"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, w, err := ParseICS(strings.NewReader(tc.ics), ParseOptions{Source: "s.ics", Zone: time.UTC})
			if err != nil {
				t.Fatalf("ParseICS() error: %v", err)
			}
			var uids []string
			for _, e := range events {
				uids = append(uids, e.UID)
			}
			check(t, "uids", uids, tc.uids)
			if len(w) != tc.warnings {
				t.Errorf("ParseICS() warnings = %v, want %d", w, tc.warnings)
			}
			for _, x := range w {
				if x.Source != "s.ics" || x.Line == 0 {
					t.Errorf("warning %v: want source s.ics and a line", x)
				}
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/google.ics")
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := ParseICS(bytes.NewReader(data), ParseOptions{Calendar: "work", Source: "google.ics", Zone: mustZone(t, "Europe/Berlin"), Me: []string{"MAILTO:Alice@Example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	byUID := map[string]*Event{}
	for _, e := range events {
		byUID[e.UID] = e
	}
	s := byUID["0a1b2c3d4e5f6g7h8i9j@google.com"]
	if s == nil {
		t.Fatal("standup missing")
	}
	if s.Description != "Daily standup.\nJoin: https://meet.google.com/abc-defg-hij, or dial in." {
		t.Errorf("Description = %q", s.Description)
	}
	if s.Location != "Room 4, 2nd floor" || s.Summary != "Standup" || s.Calendar != "work" {
		t.Errorf("Location, Summary, Calendar = %q, %q, %q", s.Location, s.Summary, s.Calendar)
	}
	if s.Attendees != 3 || !slices.Equal(s.AttendeeNames, []string{"Alice Example", "Bob Builder", "carol@example.com"}) {
		t.Errorf("Attendees = %d %q", s.Attendees, s.AttendeeNames)
	}
	if s.Response != "accepted" || s.Organizer != "mailto:bob@example.com" || s.OrganizerIsMe {
		t.Errorf("Response, Organizer, OrganizerIsMe = %q, %q, %v", s.Response, s.Organizer, s.OrganizerIsMe)
	}
	if s.Status != StatusConfirmed || s.Transparent || s.Class != ClassPublic || len(s.Overrides) != 2 || len(s.ExDates) != 2 {
		t.Errorf("Status, Transparent, Class, overrides, exdates = %q %v %q %d %d", s.Status, s.Transparent, s.Class, len(s.Overrides), len(s.ExDates))
	}
	if s.Line != 44 {
		t.Errorf("Line = %d, want 44", s.Line)
	}
	h := byUID["easter-holiday@google.com"]
	if !slices.Equal(h.Categories, []string{"Holiday", "Family, Friends", "Travel"}) || h.Class != ClassPrivate || !h.Transparent || !h.AllDay {
		t.Errorf("holiday: Categories %q Class %q Transparent %v AllDay %v", h.Categories, h.Class, h.Transparent, h.AllDay)
	}
	if r := byUID["utc-call@google.com"].Response; r != "tentative" {
		t.Errorf("utc-call Response = %q, want tentative (addresses compare case-insensitively)", r)
	}
	if r := byUID["nyc-weekly@google.com"].Response; r != "" {
		t.Errorf("nyc-weekly Response = %q, want \"\" (not invited)", r)
	}
}

func TestParseFoldingBOM(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/folding-bom.ics")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || bytes.Contains(data, []byte("\r")) {
		t.Fatal("folding-bom.ics must start with a BOM and use bare LF")
	}
	events, w, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "f.ics", Zone: time.UTC})
	if err != nil || len(events) != 1 || len(w) != 0 {
		t.Fatalf("ParseICS() = %d events, %v, %v", len(events), w, err)
	}
	e := events[0]
	for _, c := range []struct{ got, want string }{
		{e.UID, "folded-uid@test"},
		{e.Summary, "Größere Besprechung über mehrere Zeilen mit Umlauten und einem sehr langen Titel, der gefaltet wird"},
		{e.Description, "Line one\nLine two; with semicolon\\backslash"},
		{e.Location, "Café Zürich"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestZones(t *testing.T) {
	const custom = `BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0300
TZOFFSETTO:+0230
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0230
TZOFFSETTO:+0300
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0500
TZOFFSETTO:+0500
END:STANDARD
END:VTIMEZONE`
	for _, tc := range []struct {
		name, dtstart string
		want          string // UTC
		warn          bool
	}{
		{"IANA", "DTSTART;TZID=America/New_York:20260701T090000", "2026-07-01 13:00", false},
		{"IANA wins over a VTIMEZONE of the same name", "DTSTART;TZID=Europe/Berlin:20260701T090000", "2026-07-01 07:00", false},
		{"Windows name", "DTSTART;TZID=W. Europe Standard Time:20260115T090000", "2026-01-15 08:00", false},
		{"Windows name quoted", `DTSTART;TZID="Pacific Standard Time":20260701T090000`, "2026-07-01 16:00", false},
		{"Windows name Tokyo", "DTSTART;TZID=Tokyo Standard Time:20260701T090000", "2026-07-01 00:00", false},
		{"custom VTIMEZONE winter", "DTSTART;TZID=Customized Time Zone:20260115T090000", "2026-01-15 06:30", false},
		{"custom VTIMEZONE summer", "DTSTART;TZID=Customized Time Zone:20260715T090000", "2026-07-15 06:00", false},
		{"mozilla prefix", "DTSTART;TZID=/mozilla.org/20070129_1/Europe/Berlin:20260701T090000", "2026-07-01 07:00", false},
		{"UTC", "DTSTART:20260701T090000Z", "2026-07-01 09:00", false},
		{"floating in the user's zone", "DTSTART:20260701T090000", "2026-07-01 14:00", false},
		{"unknown TZID in the user's zone", "DTSTART;TZID=Mars/Olympus_Mons:20260701T090000", "2026-07-01 14:00", true},
		{"gap moves forward", "DTSTART;TZID=Europe/Berlin:20260329T023000", "2026-03-29 01:30", false},
		{"overlap takes the first", "DTSTART;TZID=Europe/Berlin:20261025T023000", "2026-10-25 00:30", false},
		{"US gap", "DTSTART;TZID=America/New_York:20260308T023000", "2026-03-08 07:30", false},
		{"US overlap", "DTSTART;TZID=America/New_York:20261101T013000", "2026-11-01 05:30", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ics := vcal(custom + "\nBEGIN:VEVENT\nUID:z\n" + tc.dtstart + "\nEND:VEVENT")
			events, w, err := ParseICS(strings.NewReader(ics), ParseOptions{Source: "z.ics", Zone: mustZone(t, "America/Chicago")})
			if err != nil || len(events) != 1 {
				t.Fatalf("ParseICS() = %d events, %v", len(events), err)
			}
			got := events[0].Start.In(mustZone(t, "America/Chicago")).UTC().Format("2006-01-02 15:04")
			if got != tc.want {
				t.Errorf("%s = %s UTC, want %s", tc.dtstart, got, tc.want)
			}
			if (len(w) > 0) != tc.warn {
				t.Errorf("%s warnings = %v, want warning %v", tc.dtstart, w, tc.warn)
			}
		})
	}
}

func TestWindowsZonesLoad(t *testing.T) {
	if len(windowsZones) < 139 {
		t.Errorf("windowsZones has %d entries, want the full CLDR list (139)", len(windowsZones))
	}
	for win, iana := range windowsZones {
		if loadIANA(iana) == nil {
			t.Errorf("windowsZones[%q] = %q, which does not load", win, iana)
		}
	}
}

func TestParseVTimezoneAfterEvent(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/vtimezone-after.ics")
	if err != nil {
		t.Fatal(err)
	}
	got, w := expandText(t, string(data), "America/New_York", "2026-03-01 00:00", "2026-04-30 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-16 04:00 -0400 2026-03-16 05:00 -0400 tz-after@test",
		"2026-03-23 04:00 -0400 2026-03-23 05:00 -0400 tz-after@test",
		"2026-03-30 03:00 -0400 2026-03-30 04:00 -0400 tz-after@test",
		"2026-04-06 03:00 -0400 2026-04-06 04:00 -0400 tz-after@test",
	})
	if len(w) != 0 {
		t.Errorf("warnings = %v", w)
	}
}

func TestExpandLengths(t *testing.T) {
	ics := vcal(`BEGIN:VEVENT
UID:p1d
DTSTART;TZID=Europe/Berlin:20260328T120000
DURATION:P1D
END:VEVENT
BEGIN:VEVENT
UID:pt24h
DTSTART;TZID=Europe/Berlin:20260328T120000
DURATION:PT24H
END:VEVENT
BEGIN:VEVENT
UID:date-no-end
DTSTART;VALUE=DATE:20260328
END:VEVENT
BEGIN:VEVENT
UID:datetime-no-end
DTSTART;TZID=Europe/Berlin:20260328T130000
END:VEVENT
BEGIN:VEVENT
UID:date-multi
DTSTART;VALUE=DATE:20260328
DTEND;VALUE=DATE:20260330
END:VEVENT
BEGIN:VEVENT
UID:p1w
DTSTART;VALUE=DATE:20260328
DURATION:P1W
END:VEVENT`)
	got, _ := expandText(t, ics, "Europe/Berlin", "2026-03-27 00:00", "2026-04-10 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-28 00:00 +0100 2026-03-30 00:00 +0200 date-multi",
		"2026-03-28 00:00 +0100 2026-03-29 00:00 +0100 date-no-end",
		"2026-03-28 00:00 +0100 2026-04-04 00:00 +0200 p1w",
		"2026-03-28 12:00 +0100 2026-03-29 12:00 +0200 p1d",
		"2026-03-28 12:00 +0100 2026-03-29 13:00 +0200 pt24h",
		"2026-03-28 13:00 +0100 2026-03-28 13:00 +0100 datetime-no-end",
	})
}

func TestExpandRules(t *testing.T) {
	for _, tc := range []struct {
		name, dtstart, rule string
		from, to            string
		want                []string // starts, Europe/Berlin wall time
	}{
		{"weekly keeps wall time over DST", "20260320T090000", "FREQ=WEEKLY;COUNT=3", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-20 09:00 +0100", "2026-03-27 09:00 +0100", "2026-04-03 09:00 +0200"}},
		{"interval", "20260302T090000", "FREQ=DAILY;INTERVAL=10;COUNT=4", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-02 09:00 +0100", "2026-03-12 09:00 +0100", "2026-03-22 09:00 +0100", "2026-04-01 09:00 +0200"}},
		{"BYDAY ordinals", "20260105T100000", "FREQ=MONTHLY;BYDAY=1MO,-1FR;COUNT=4", "2026-01-01 00:00", "2026-12-31 00:00",
			[]string{"2026-01-05 10:00 +0100", "2026-01-30 10:00 +0100", "2026-02-02 10:00 +0100", "2026-02-27 10:00 +0100"}},
		{"BYMONTHDAY negative", "20260130T100000", "FREQ=MONTHLY;BYMONTHDAY=-2;COUNT=3", "2026-01-01 00:00", "2026-12-31 00:00",
			[]string{"2026-01-30 10:00 +0100", "2026-02-27 10:00 +0100", "2026-03-30 10:00 +0200"}},
		{"BYSETPOS last workday", "20260130T160000", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3", "2026-01-01 00:00", "2026-12-31 00:00",
			[]string{"2026-01-30 16:00 +0100", "2026-02-27 16:00 +0100", "2026-03-31 16:00 +0200"}},
		{"BYWEEKNO", "20260101T120000", "FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=MO", "2026-01-01 00:00", "2027-01-10 00:00",
			[]string{"2026-01-01 12:00 +0100", "2026-12-28 12:00 +0100", "2027-01-04 12:00 +0100"}},
		{"BYYEARDAY", "20260101T070000", "FREQ=YEARLY;BYYEARDAY=1,-1", "2026-01-01 00:00", "2027-01-02 00:00",
			[]string{"2026-01-01 07:00 +0100", "2026-12-31 07:00 +0100", "2027-01-01 07:00 +0100"}},
		{"WKST", "20260301T100000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-01 10:00 +0100", "2026-03-03 10:00 +0100", "2026-03-15 10:00 +0100", "2026-03-17 10:00 +0100"}},
		{"WKST MO", "20260301T100000", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-01 10:00 +0100", "2026-03-10 10:00 +0100", "2026-03-15 10:00 +0100", "2026-03-24 10:00 +0100"}},
		{"UNTIL UTC inclusive", "20260302T090000", "FREQ=DAILY;UNTIL=20260304T080000Z", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-02 09:00 +0100", "2026-03-03 09:00 +0100", "2026-03-04 09:00 +0100"}},
		{"UNTIL DATE on a timed series", "20260302T090000", "FREQ=DAILY;UNTIL=20260304", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-02 09:00 +0100", "2026-03-03 09:00 +0100", "2026-03-04 09:00 +0100"}},
		{"UNTIL floating", "20260302T090000", "FREQ=DAILY;UNTIL=20260303T090000", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-02 09:00 +0100", "2026-03-03 09:00 +0100"}},
		{"lower-case rule and x-part", "20260302T090000", "freq=daily;count=2;X-FOO=1", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-02 09:00 +0100", "2026-03-03 09:00 +0100"}},
		{"DTSTART off the rule is the first instance", "20260303T090000", "FREQ=WEEKLY;BYDAY=MO;COUNT=2", "2026-03-01 00:00", "2026-05-01 00:00",
			[]string{"2026-03-03 09:00 +0100", "2026-03-09 09:00 +0100"}},
		{"old series reaches the window", "20000103T080000", "FREQ=WEEKLY;BYDAY=MO,TH", "2026-03-01 00:00", "2026-03-10 00:00",
			[]string{"2026-03-02 08:00 +0100", "2026-03-05 08:00 +0100", "2026-03-09 08:00 +0100"}},
		{"old monthly on the 31st", "20000131T080000", "FREQ=MONTHLY", "2026-03-01 00:00", "2026-06-01 00:00",
			[]string{"2026-03-31 08:00 +0200", "2026-05-31 08:00 +0200"}},
		{"old yearly leap day", "20000229T080000", "FREQ=YEARLY", "2027-01-01 00:00", "2029-01-01 00:00",
			[]string{"2028-02-29 08:00 +0100"}},
		{"old COUNT series ended", "20000103T080000", "FREQ=DAILY;INTERVAL=3;COUNT=3000", "2026-03-01 00:00", "2026-03-10 00:00",
			nil},
		{"old COUNT series ends in the window", "20000103T080000", "FREQ=DAILY;INTERVAL=3;COUNT=3187", "2026-03-01 00:00", "2026-03-30 00:00",
			[]string{"2026-03-02 08:00 +0100", "2026-03-05 08:00 +0100"}},
		{"old COUNT series still running", "20200103T080000", "FREQ=DAILY;INTERVAL=3;COUNT=3500", "2026-03-01 00:00", "2026-03-08 00:00",
			[]string{"2026-03-02 08:00 +0100", "2026-03-05 08:00 +0100"}},
		{"hourly with BYHOUR", "20260302T000000", "FREQ=HOURLY;INTERVAL=5;BYHOUR=10,15,20", "2026-03-02 00:00", "2026-03-08 00:00",
			[]string{"2026-03-02 00:00 +0100", "2026-03-02 10:00 +0100", "2026-03-02 15:00 +0100", "2026-03-02 20:00 +0100", "2026-03-07 10:00 +0100", "2026-03-07 15:00 +0100", "2026-03-07 20:00 +0100"}},
		{"old hourly keeps its phase", "20200101T000000", "FREQ=HOURLY;INTERVAL=5;BYHOUR=10,15,20", "2026-03-02 00:00", "2026-03-08 00:00",
			[]string{"2026-03-05 10:00 +0100", "2026-03-05 15:00 +0100", "2026-03-05 20:00 +0100"}},
		{"old minutely keeps its phase", "20200101T000000", "FREQ=MINUTELY;INTERVAL=7;BYHOUR=9;BYMINUTE=0,7,14", "2026-03-02 00:00", "2026-03-12 00:00",
			[]string{"2026-03-08 09:00 +0100", "2026-03-08 09:07 +0100", "2026-03-08 09:14 +0100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ics := vcal("BEGIN:VEVENT\nUID:r\nDTSTART;TZID=Europe/Berlin:" + tc.dtstart + "\nRRULE:" + tc.rule + "\nEND:VEVENT")
			got, w := expandText(t, ics, "Europe/Berlin", tc.from, tc.to)
			var starts []string
			for _, g := range got {
				starts = append(starts, g[:22])
			}
			check(t, tc.rule, starts, tc.want)
			if len(w) != 0 {
				t.Errorf("warnings = %v", w)
			}
		})
	}
}

func TestParseMe(t *testing.T) {
	ics := vcal(`BEGIN:VEVENT
UID:m
DTSTART:20260302T100000Z
ORGANIZER;CN=Alice:MAILTO:alice@EXAMPLE.com
ATTENDEE:mailto:alice@example.com
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com
END:VEVENT`)
	for _, tc := range []struct {
		me        []string
		response  string
		organizer bool
	}{
		{[]string{"mailto:alice@example.com"}, "needs-action", true},
		{[]string{"alice@example.com"}, "needs-action", true},
		{[]string{"mailto:bob@example.com"}, "declined", false},
		{nil, "", false},
	} {
		events, _, err := ParseICS(strings.NewReader(ics), ParseOptions{Zone: time.UTC, Me: tc.me})
		if err != nil || len(events) != 1 {
			t.Fatalf("ParseICS() = %v, %v", events, err)
		}
		e := events[0]
		if e.Response != tc.response || e.OrganizerIsMe != tc.organizer || e.Organizer != "MAILTO:alice@EXAMPLE.com" {
			t.Errorf("Me %q: Response %q OrganizerIsMe %v Organizer %q, want %q %v", tc.me, e.Response, e.OrganizerIsMe, e.Organizer, tc.response, tc.organizer)
		}
		if !slices.Equal(e.AttendeeNames, []string{"alice@example.com", "bob@example.com"}) {
			t.Errorf("AttendeeNames = %q", e.AttendeeNames)
		}
	}
}

// TestParseRecoveredLines checks that a recovered misspelt END is reported
// at its own line, and that the component before it keeps its content.
func TestParseRecoveredLines(t *testing.T) {
	ics := "BEGIN:VCALENDAR\nBEGIN:VTODO\nUID:t\nEND:VTOOD\nBEGIN:VEVENT\nUID:a\nDTSTART:20260101T000000Z\nSUMMARY:A\nEND:VEVENTX\nBEGIN:VEVENT\nUID:b\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR\n"
	events, w, err := ParseICS(strings.NewReader(ics), ParseOptions{Source: "s.ics", Zone: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	for _, x := range w {
		ws = append(ws, x.String())
	}
	check(t, "warnings", ws, []string{
		`s.ics:4: uid "t": END:VTOOD read as END:VTODO`,
		`s.ics:9: uid "a": END:VEVENTX read as END:VEVENT`,
	})
	if len(events) != 2 || events[0].Summary != "A" {
		t.Errorf("ParseICS() = %d events (first %+v), want a with its summary and b", len(events), events)
	}
}

// TestParseXWRTimezone checks that X-WR-TIMEZONE places the floating times
// of its own VCALENDAR only, and leaves dates, UTC and TZID times alone.
func TestParseXWRTimezone(t *testing.T) {
	ics := strings.ReplaceAll(`BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
X-WR-TIMEZONE:America/New_York
BEGIN:VEVENT
UID:floating
DTSTART:20260310T090000
DTEND:20260310T100000
END:VEVENT
BEGIN:VEVENT
UID:utc
DTSTART:20260310T090000Z
END:VEVENT
BEGIN:VEVENT
UID:zoned
DTSTART;TZID=Europe/Berlin:20260310T090000
END:VEVENT
BEGIN:VEVENT
UID:date
DTSTART;VALUE=DATE:20260311
END:VEVENT
END:VCALENDAR
BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
BEGIN:VEVENT
UID:second-floating
DTSTART:20260310T090000
END:VEVENT
END:VCALENDAR
BEGIN:VCALENDAR
X-WR-TIMEZONE:Not/AZone
BEGIN:VEVENT
UID:unknown-zone
DTSTART:20260310T090000
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	got, w := expandText(t, ics, "Europe/Berlin", "2026-03-01 00:00", "2026-04-01 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-10 09:00 +0100 2026-03-10 09:00 +0100 second-floating",
		"2026-03-10 09:00 +0100 2026-03-10 09:00 +0100 unknown-zone",
		"2026-03-10 09:00 +0100 2026-03-10 09:00 +0100 zoned",
		"2026-03-10 10:00 +0100 2026-03-10 10:00 +0100 utc",
		"2026-03-10 14:00 +0100 2026-03-10 15:00 +0100 floating",
		"2026-03-11 00:00 +0100 2026-03-12 00:00 +0100 date",
	})
	if len(w) != 0 {
		t.Errorf("warnings = %v", w)
	}
}

// TestParseLenient covers invalid but common input: each is read the way
// its writer meant it, with a warning naming the line, never dropped
// whole and never a crash.
func TestParseLenient(t *testing.T) {
	for _, tc := range []struct {
		name, body, from, to string
		want                 []string
		warnings             []string // each a substring of one warning, in order
	}{
		{"RDATE DATE with a stray Z (Google birthdays)", `BEGIN:VEVENT
UID:bday
DTSTART;VALUE=DATE:20131210
RRULE:FREQ=YEARLY
RDATE:20131210Z
SUMMARY:Birthday
END:VEVENT`, "2026-12-01 00:00", "2027-01-01 00:00", []string{
			"2026-12-10 00:00 +0100 2026-12-11 00:00 +0100 bday",
		}, []string{`test.ics:8: uid "bday": RDATE value "20131210Z": DATE with a "Z" read as the date 20131210`}},
		{"a bad RDATE value costs that value", `BEGIN:VEVENT
UID:r
DTSTART;TZID=Europe/Berlin:20260302T100000
RDATE;TZID=Europe/Berlin:20260305T100000,2026-03-06,20260307T100000
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 r",
			"2026-03-05 10:00 +0100 2026-03-05 10:00 +0100 r",
			"2026-03-07 10:00 +0100 2026-03-07 10:00 +0100 r",
		}, []string{`test.ics:7: uid "r": RDATE value ignored: invalid date "2026-03-06"`}},
		{"a bad DTEND costs the DTEND", `BEGIN:VEVENT
UID:e
DTSTART:20260302T090000Z
DTEND:tomorrow
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 e",
		}, []string{`DTEND ignored: invalid date "tomorrow"`}},
		{"DTEND before DTSTART, single event: swapped", `BEGIN:VEVENT
UID:back
DTSTART;TZID=Europe/Berlin:20260302T234500
DTEND;TZID=Europe/Berlin:20260302T233000
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 23:30 +0100 2026-03-02 23:45 +0100 back",
		}, []string{`test.ics:7: uid "back": DTEND 20260302T233000 before DTSTART: the two read swapped`}},
		{"DTEND before DTSTART, series: DTSTART stays", `BEGIN:VEVENT
UID:back
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T090000
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 back",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 back",
		}, []string{`test.ics:7: uid "back": DTEND 20260302T090000 before DTSTART: read as no DTEND`}},
		{"COUNT=0 read as no COUNT", `BEGIN:VEVENT
UID:c0
DTSTART:20260302T090000Z
RRULE:FREQ=DAILY;COUNT=0
END:VEVENT`, "2026-03-01 00:00", "2026-03-05 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 c0",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 c0",
			"2026-03-04 10:00 +0100 2026-03-04 10:00 +0100 c0",
		}, []string{"RRULE: COUNT=0 read as no COUNT"}},
		{"negative COUNT read as no COUNT", `BEGIN:VEVENT
UID:cn
DTSTART:20260302T090000Z
RRULE:FREQ=DAILY;COUNT=-1
END:VEVENT`, "2026-03-03 00:00", "2026-03-04 00:00", []string{
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 cn",
		}, []string{"RRULE: COUNT=-1 read as no COUNT"}},
		{"UNTIL before DTSTART: a deleted series (Confluence)", `BEGIN:VEVENT
UID:u
DTSTART;TZID=Europe/Berlin:20260302T100000
RRULE:FREQ=DAILY;UNTIL=20260301T090000Z
END:VEVENT
BEGIN:VEVENT
UID:u
RECURRENCE-ID;TZID=Europe/Berlin:20260302T100000
DTSTART;TZID=Europe/Berlin:20260302T120000
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", nil,
			[]string{"RRULE: UNTIL before DTSTART: read as a deleted series, without instances"}},
		{"UNTIL before DTSTART on one of two rules", `BEGIN:VEVENT
UID:u2
DTSTART;TZID=Europe/Berlin:20260302T100000
RRULE:FREQ=DAILY;UNTIL=20260301T090000Z
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 u2",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 u2",
		}, []string{"RRULE: UNTIL before DTSTART"}},
		{"misspelt rule part warned, not silently unbounded", `BEGIN:VEVENT
UID:untl
DTSTART:20260302T090000Z
RRULE:FREQ=DAILY;UNTL=20260303T090000Z
END:VEVENT`, "2026-03-01 00:00", "2026-03-04 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 untl",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 untl",
		}, []string{`test.ics:7: uid "untl": RRULE: unknown rule part "UNTL" ignored`}},
		{"DATE values without VALUE=DATE", `BEGIN:VEVENT
UID:d
DTSTART:20260302
DTEND:20260304
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 00:00 +0100 2026-03-04 00:00 +0100 d",
		}, nil},
		{"globally unique TZIDs", `BEGIN:VEVENT
UID:moz
DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20260302T100000
END:VEVENT
BEGIN:VEVENT
UID:sto
DTSTART;TZID=/Europe/Stockholm:20260302T110000
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 moz",
			"2026-03-02 11:00 +0100 2026-03-02 11:00 +0100 sto",
		}, nil},
		{"BYHOUR on a DATE start ignored", `BEGIN:VEVENT
UID:bh
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=DAILY;COUNT=2;BYHOUR=9,17
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 bh",
			"2026-03-03 00:00 +0100 2026-03-04 00:00 +0100 bh",
		}, []string{"BYHOUR, BYMINUTE and BYSECOND ignored on a DATE DTSTART"}},
		{"repeated BY value counts once against COUNT", `BEGIN:VEVENT
UID:rep
DTSTART:20260302T090000Z
RRULE:FREQ=DAILY;COUNT=4;BYHOUR=9,10,9
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 rep",
			"2026-03-02 11:00 +0100 2026-03-02 11:00 +0100 rep",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 rep",
			"2026-03-03 11:00 +0100 2026-03-03 11:00 +0100 rep",
		}, []string{"repeated BY values read once"}},
		{"EXRULE (RFC 2445) removes its instances", `BEGIN:VEVENT
UID:exr
DTSTART;TZID=Europe/Berlin:20260302T080000
RRULE:FREQ=DAILY;COUNT=7
EXRULE:FREQ=WEEKLY;BYDAY=SA,SU
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 08:00 +0100 2026-03-02 08:00 +0100 exr",
			"2026-03-03 08:00 +0100 2026-03-03 08:00 +0100 exr",
			"2026-03-04 08:00 +0100 2026-03-04 08:00 +0100 exr",
			"2026-03-05 08:00 +0100 2026-03-05 08:00 +0100 exr",
			"2026-03-06 08:00 +0100 2026-03-06 08:00 +0100 exr",
		}, nil},
		{"several RRULEs: the union, UNTIL instants included", `BEGIN:VEVENT
UID:multi
DTSTART;TZID=Europe/Berlin:20260302T100000
RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260316T090000Z
RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20260311T090000Z
END:VEVENT`, "2026-03-01 00:00", "2026-04-01 00:00", []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 multi",
			"2026-03-04 10:00 +0100 2026-03-04 10:00 +0100 multi",
			"2026-03-09 10:00 +0100 2026-03-09 10:00 +0100 multi",
			"2026-03-11 10:00 +0100 2026-03-11 10:00 +0100 multi",
			"2026-03-16 10:00 +0100 2026-03-16 10:00 +0100 multi",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, w := expandText(t, vcal(tc.body), "Europe/Berlin", tc.from, tc.to)
			check(t, "occurrences", got, tc.want)
			if len(w) != len(tc.warnings) {
				t.Fatalf("warnings = %v, want %d: %q", w, len(tc.warnings), tc.warnings)
			}
			for i, sub := range tc.warnings {
				if s := w[i].String(); !strings.Contains(s, sub) || w[i].Line == 0 {
					t.Errorf("warning %d = %q, want it to contain %q and a line", i, s, sub)
				}
			}
		})
	}
}

// TestParseBusyStatus reads an Exchange "availability only" publication:
// "Show as" travels in X-MICROSOFT-CDO-BUSYSTATUS, else -INTENDEDSTATUS.
func TestParseBusyStatus(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/exchange-availability.ics")
	if err != nil {
		t.Fatal(err)
	}
	loc := mustZone(t, "Europe/Berlin")
	events, w, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "exchange-availability.ics", Zone: loc})
	if err != nil || len(w) != 0 {
		t.Fatalf("ParseICS() = %v, %v", w, err)
	}
	occ, _ := Expand(events, time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 20, 0, 0, 0, 0, loc), ExpandOptions{Zone: loc})
	var got []string
	for _, o := range occ {
		got = append(got, o.Start.Format("01-02 15:04")+" "+o.Summary+" "+o.BusyStatus)
	}
	check(t, "busy status", got, []string{
		"03-02 09:00 Busy busy",
		"03-04 13:00 Tentative tentative",
		"03-05 12:00 Free free",
		"03-06 08:00 Client site workingelsewhere",
		"03-09 09:00 Busy busy",
		"03-16 00:00 Conference in Lyon oof",
		"03-16 09:00 Busy busy",
	})
	for _, tc := range []struct{ in, want string }{
		{"OOF", "oof"}, {" workingElsewhere ", "workingelsewhere"}, {"FREE", "free"}, {"AWAY", ""}, {"", ""},
	} {
		if got := busyStatus(tc.in); got != tc.want {
			t.Errorf("busyStatus(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
