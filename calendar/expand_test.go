package calendar

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

func TestExpandOverrides(t *testing.T) {
	ics := vcal(`BEGIN:VEVENT
UID:s
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20260309T100000
SUMMARY:Series
END:VEVENT
BEGIN:VEVENT
UID:s
RECURRENCE-ID;TZID=Europe/Berlin:20260316T100000
DTSTART;TZID=Europe/Berlin:20260317T150000
DTEND;TZID=Europe/Berlin:20260317T153000
SUMMARY:Moved
END:VEVENT
BEGIN:VEVENT
UID:s
RECURRENCE-ID:20260323T090000Z
DTSTART;TZID=Europe/Berlin:20260323T100000
DTEND;TZID=Europe/Berlin:20260323T110000
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:s
RECURRENCE-ID;TZID=Europe/Berlin:20260401T100000
DTSTART;TZID=Europe/Berlin:20260401T120000
DTEND;TZID=Europe/Berlin:20260401T130000
SUMMARY:Extra (matches no instance)
END:VEVENT
BEGIN:VEVENT
UID:s
RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
SEQUENCE:1
SUMMARY:Only the summary changes (no DTSTART)
END:VEVENT
BEGIN:VEVENT
UID:orphan
RECURRENCE-ID;TZID=Europe/Berlin:20260304T080000
DTSTART;TZID=Europe/Berlin:20260304T090000
DTEND;TZID=Europe/Berlin:20260304T093000
END:VEVENT`)
	got, w := expandText(t, ics, "Europe/Berlin", "2026-03-01 00:00", "2026-05-01 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-02 10:00 +0100 2026-03-02 11:00 +0100 s",
		"2026-03-04 09:00 +0100 2026-03-04 09:30 +0100 orphan",
		"2026-03-17 15:00 +0100 2026-03-17 15:30 +0100 s",
		"2026-03-23 10:00 +0100 2026-03-23 11:00 +0100 s cancelled",
		"2026-03-30 10:00 +0200 2026-03-30 11:00 +0200 s",
		"2026-04-01 12:00 +0200 2026-04-01 13:00 +0200 s",
		"2026-04-06 10:00 +0200 2026-04-06 11:00 +0200 s",
	})
	if len(w) != 0 {
		t.Errorf("warnings = %v", w)
	}
	// The moved instance is found under its original start.
	loc := mustZone(t, "Europe/Berlin")
	events, _, _ := ParseICS(strings.NewReader(ics), ParseOptions{Zone: loc})
	occ, _ := Expand(events, time.Date(2026, 3, 17, 0, 0, 0, 0, loc), time.Date(2026, 3, 18, 0, 0, 0, 0, loc), ExpandOptions{Zone: loc})
	if len(occ) != 1 || occ[0].Summary != "Moved" || !occ[0].RecurrenceID.Equal(time.Date(2026, 3, 16, 10, 0, 0, 0, loc)) {
		t.Errorf("Expand() = %+v, want the moved instance with RecurrenceID 2026-03-16 10:00", occ)
	}
}

func TestExpandThisAndFuture(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/thisandfuture.ics")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := expandText(t, string(data), "Europe/Berlin", "2026-03-01 00:00", "2026-04-14 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-02 10:00 +0100 2026-03-02 11:00 +0100 taf@test",
		"2026-03-09 10:00 +0100 2026-03-09 11:00 +0100 taf@test",
		"2026-03-16 10:00 +0100 2026-03-16 11:00 +0100 taf@test",
		"2026-03-23 14:00 +0100 2026-03-23 15:30 +0100 taf@test",
		"2026-03-30 14:00 +0200 2026-03-30 15:30 +0200 taf@test",
		"2026-04-06 14:00 +0200 2026-04-06 15:30 +0200 taf@test",
		"2026-04-13 14:00 +0200 2026-04-13 15:30 +0200 taf@test",
	})
}

func TestExpandRDatePeriod(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus/rdate-period.ics")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := expandText(t, string(data), "Europe/Berlin", "2026-03-01 00:00", "2026-04-01 00:00")
	check(t, "occurrences", got, []string{
		"2026-03-03 10:00 +0100 2026-03-03 11:00 +0100 rdate-period@test",
		"2026-03-10 10:00 +0100 2026-03-10 13:00 +0100 rdate-period@test",
		"2026-03-17 10:00 +0100 2026-03-17 10:30 +0100 rdate-period@test",
	})
}

func TestExpandAllDayInUserZone(t *testing.T) {
	ics := vcal(`BEGIN:VEVENT
UID:d
DTSTART;VALUE=DATE:20260327
DTEND;VALUE=DATE:20260330
END:VEVENT`)
	for _, tc := range []struct{ zone, want string }{
		{"Europe/Berlin", "2026-03-27 00:00 +0100 2026-03-30 00:00 +0200 d"},
		{"America/Los_Angeles", "2026-03-27 00:00 -0700 2026-03-30 00:00 -0700 d"},
		{"Asia/Tokyo", "2026-03-27 00:00 +0900 2026-03-30 00:00 +0900 d"},
	} {
		got, _ := expandText(t, ics, tc.zone, "2026-03-29 23:00", "2026-03-29 23:30")
		check(t, tc.zone, got, []string{tc.want})
	}
	// An event that ends as the window starts does not overlap it.
	got, _ := expandText(t, ics, "Europe/Berlin", "2026-03-30 00:00", "2026-03-31 00:00")
	check(t, "after", got, nil)
}

func TestExpandPathological(t *testing.T) {
	for _, tc := range []struct {
		name, rule string
		max        int
		want       int
		warn       bool
	}{
		{"secondly forever", "FREQ=SECONDLY", 0, DefaultMaxPerEvent, true},
		{"secondly COUNT 1e9", "FREQ=SECONDLY;COUNT=1000000000", 0, DefaultMaxPerEvent, true},
		{"minutely from 2000", "FREQ=MINUTELY;INTERVAL=1", 100, 100, true},
		{"secondly by hour", "FREQ=SECONDLY;BYHOUR=9;BYMINUTE=0", 0, 60 * 7, false},
		{"never matches", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", 0, 0, true},
		{"daily COUNT 1e9", "FREQ=DAILY;COUNT=1000000000", 0, 7, false},
		{"secondly never matches", "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", 0, 0, true},
		{"hourly never matches", "FREQ=HOURLY;BYMONTHDAY=31;BYMONTH=4,6", 0, 0, true},
		{"weekly never matches", "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30;COUNT=5", 0, 0, true},
		{"hourly matches rarely", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ics := vcal("BEGIN:VEVENT\nUID:p\nDTSTART:20000101T000000Z\nRRULE:" + tc.rule + "\nEND:VEVENT")
			events, pw, err := ParseICS(strings.NewReader(ics), ParseOptions{Zone: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			start := time.Now()
			occ, w := Expand(events, from, from.AddDate(0, 0, 7), ExpandOptions{Zone: time.UTC, MaxPerEvent: tc.max})
			w = append(pw, w...)
			if len(occ) != tc.want || (len(w) > 0) != tc.warn {
				t.Errorf("Expand(%s) = %d occurrences, warnings %v; want %d, warning %v", tc.rule, len(occ), w, tc.want, tc.warn)
			}
			t.Logf("%s: %v", tc.rule, time.Since(start))
		})
	}
}

// TestRRuleGoWallTime records what rrule-go does with a DTSTART in a zone
// that changes offset: it keeps the wall time (good), but through
// time.Date, which reads a time that occurs twice as its second
// occurrence in zones east of UTC, against RFC 5545 §3.3.5. That is why
// Expand runs rrule-go on wall times in UTC and places them itself.
func TestRRuleGoWallTime(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	r, err := rrule.NewRRule(rrule.ROption{Freq: rrule.DAILY, Count: 3, Dtstart: time.Date(2026, 10, 24, 2, 30, 0, 0, berlin)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range r.All() {
		got = append(got, x.Format("01-02 15:04 -0700"))
	}
	check(t, "rrule-go in Europe/Berlin", got, []string{"10-24 02:30 +0200", "10-25 02:30 +0100", "10-26 02:30 +0100"})
	// Expand puts the ambiguous 02:30 at its first occurrence (+0200).
	ics := vcal("BEGIN:VEVENT\nUID:o\nDTSTART;TZID=Europe/Berlin:20261024T023000\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT")
	got2, _ := expandText(t, ics, "Europe/Berlin", "2026-10-24 00:00", "2026-10-27 00:00")
	check(t, "Expand", got2, []string{
		"2026-10-24 02:30 +0200 2026-10-24 02:30 +0200 o",
		"2026-10-25 02:30 +0200 2026-10-25 02:30 +0200 o",
		"2026-10-26 02:30 +0100 2026-10-26 02:30 +0100 o",
	})
}

func TestExpandCalendarName(t *testing.T) {
	events, _, _ := ParseICS(strings.NewReader(vcal("BEGIN:VEVENT\nUID:c\nDTSTART:20260302T100000Z\nEND:VEVENT")), ParseOptions{Calendar: "work", Zone: time.UTC})
	occ, _ := Expand(events, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), ExpandOptions{Zone: mustZone(t, "Asia/Tokyo")})
	if len(occ) != 1 || occ[0].Calendar != "work" || occ[0].Start.Location().String() != "Asia/Tokyo" || !occ[0].RecurrenceID.IsZero() {
		t.Errorf("Expand() = %+v, want calendar work, start in Asia/Tokyo, no RecurrenceID", occ)
	}
	if strings.Contains(fmt.Sprint(occ), "Local") {
		t.Errorf("an occurrence uses time.Local: %v", occ)
	}
}

func TestNeverMatches(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", true},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", false},
		{"FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=-31", true},
		{"FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=11", true},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", false},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=23", false},
		{"FREQ=WEEKLY;BYDAY=MO;BYSETPOS=8", true},
		{"FREQ=DAILY;BYHOUR=9,10;BYSETPOS=2", false},
		{"FREQ=DAILY;BYHOUR=9,10;BYSETPOS=3", true},
	} {
		o, _, _, err := ruleOption(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := neverMatches(*o); got != tc.want {
			t.Errorf("neverMatches(%s) = %v, want %v", tc.rule, got, tc.want)
		}
	}
}

// TestExpandConcurrent: a Scheduler hands the same events to several
// expansions at once; Expand must only read them.
func TestExpandConcurrent(t *testing.T) {
	loc := mustZone(t, "Europe/Berlin")
	events, _, err := ParseICS(bytes.NewReader(genCalendar(300, 3)), ParseOptions{Zone: loc})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	want, _ := Expand(events, from, from.AddDate(0, 3, 0), ExpandOptions{Zone: loc})
	results := make(chan []Occurrence, 4)
	for range 4 {
		go func() {
			got, _ := Expand(events, from, from.AddDate(0, 3, 0), ExpandOptions{Zone: loc})
			results <- got
		}()
	}
	for range 4 {
		if got := <-results; !reflect.DeepEqual(got, want) {
			t.Fatalf("concurrent Expand() gave %d occurrences, want the same %d", len(got), len(want))
		}
	}
}

// TestExpandRevisions covers calendars that carry several revisions of one
// event or instance, as Exchange exports with their iTIP history and feeds
// that concatenate updates write them (RFC 5546 §2.1.5).
func TestExpandRevisions(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"override twice, higher SEQUENCE wins whatever the order", `BEGIN:VEVENT
UID:s
DTSTAMP:20260101T000000Z
DTSTART;TZID=W. Europe Standard Time:20260302T100000
DTEND;TZID=W. Europe Standard Time:20260302T110000
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:s
SEQUENCE:2
DTSTAMP:20260201T000000Z
RECURRENCE-ID;TZID=W. Europe Standard Time:20260309T100000
DTSTART;TZID=W. Europe Standard Time:20260309T140000
DTEND;TZID=W. Europe Standard Time:20260309T150000
END:VEVENT
BEGIN:VEVENT
UID:s
SEQUENCE:1
DTSTAMP:20260301T000000Z
RECURRENCE-ID;TZID=W. Europe Standard Time:20260309T100000
DTSTART;TZID=W. Europe Standard Time:20260309T120000
DTEND;TZID=W. Europe Standard Time:20260309T130000
END:VEVENT`, []string{
			"2026-03-02 10:00 +0100 2026-03-02 11:00 +0100 s",
			"2026-03-09 14:00 +0100 2026-03-09 15:00 +0100 s",
			"2026-03-16 10:00 +0100 2026-03-16 11:00 +0100 s",
		}},
		{"equal SEQUENCE, later DTSTAMP wins; UTC and TZID RECURRENCE-ID meet", `BEGIN:VEVENT
UID:s
DTSTART;TZID=Europe/Berlin:20260302T100000
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:s
DTSTAMP:20260301T120000Z
RECURRENCE-ID:20260303T090000Z
DTSTART;TZID=Europe/Berlin:20260303T180000
END:VEVENT
BEGIN:VEVENT
UID:s
DTSTAMP:20260301T110000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260303T100000
DTSTART;TZID=Europe/Berlin:20260303T170000
END:VEVENT`, []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 s",
			"2026-03-03 18:00 +0100 2026-03-03 18:00 +0100 s",
		}},
		{"master twice: the newer revision replaces the older", `BEGIN:VEVENT
UID:m
SEQUENCE:0
DTSTART:20260302T090000Z
SUMMARY:old
END:VEVENT
BEGIN:VEVENT
UID:m
SEQUENCE:1
DTSTART:20260302T100000Z
SUMMARY:new
END:VEVENT
BEGIN:VEVENT
UID:m
DTSTART:20260302T080000Z
SUMMARY:oldest
END:VEVENT`, []string{
			"2026-03-02 11:00 +0100 2026-03-02 11:00 +0100 m",
		}},
		{"same UID, same revision: both kept (producers that reuse UIDs)", `BEGIN:VEVENT
UID:dup
DTSTART:20260302T090000Z
END:VEVENT
BEGIN:VEVENT
UID:dup
DTSTART:20260303T090000Z
END:VEVENT`, []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 dup",
			"2026-03-03 10:00 +0100 2026-03-03 10:00 +0100 dup",
		}},
		{"EXDATE removes an instance that has an override", `BEGIN:VEVENT
UID:x
DTSTART;TZID=Europe/Berlin:20260302T100000
RRULE:FREQ=DAILY;COUNT=4
EXDATE;TZID=Europe/Berlin:20260303T100000
EXDATE;VALUE=DATE:20260304
END:VEVENT
BEGIN:VEVENT
UID:x
RECURRENCE-ID;TZID=Europe/Berlin:20260303T100000
DTSTART;TZID=Europe/Berlin:20260303T150000
END:VEVENT
BEGIN:VEVENT
UID:x
RECURRENCE-ID;TZID=Europe/Berlin:20260304T100000
DTSTART;TZID=Europe/Berlin:20260304T150000
END:VEVENT`, []string{
			"2026-03-02 10:00 +0100 2026-03-02 10:00 +0100 x",
			"2026-03-05 10:00 +0100 2026-03-05 10:00 +0100 x",
		}},
		{"a newer master revision's EXDATE removes an older override", `BEGIN:VEVENT
UID:e
SEQUENCE:1
DTSTART;VALUE=DATE:20260302
DTEND;VALUE=DATE:20260303
RRULE:FREQ=WEEKLY;UNTIL=20260331;INTERVAL=2;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:e
SEQUENCE:2
RECURRENCE-ID;VALUE=DATE:20260316
DTSTART;VALUE=DATE:20260303
DTEND;VALUE=DATE:20260304
END:VEVENT
BEGIN:VEVENT
UID:e
SEQUENCE:3
DTSTART;VALUE=DATE:20260302
DTEND;VALUE=DATE:20260303
RRULE:FREQ=WEEKLY;UNTIL=20260331;INTERVAL=2;BYDAY=MO
EXDATE;VALUE=DATE:20260316
END:VEVENT`, []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 e",
			"2026-03-30 00:00 +0200 2026-03-31 00:00 +0200 e",
		}},
		{"without that EXDATE the older override stays", `BEGIN:VEVENT
UID:e
SEQUENCE:1
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=WEEKLY;UNTIL=20260331;INTERVAL=2;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:e
SEQUENCE:2
RECURRENCE-ID;VALUE=DATE:20260316
DTSTART;VALUE=DATE:20260303
END:VEVENT
BEGIN:VEVENT
UID:e
SEQUENCE:3
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=WEEKLY;UNTIL=20260331;INTERVAL=2;BYDAY=MO
END:VEVENT`, []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 e",
			"2026-03-03 00:00 +0100 2026-03-04 00:00 +0100 e",
			"2026-03-30 00:00 +0200 2026-03-31 00:00 +0200 e",
		}},
		{"an older revision's override of an instance the newer series lacks is dropped", `BEGIN:VEVENT
UID:o
SEQUENCE:1
RECURRENCE-ID;VALUE=DATE:20260330
DTSTART;VALUE=DATE:20260330
RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:o
SEQUENCE:2
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=WEEKLY;UNTIL=20260321;INTERVAL=2;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:o
SEQUENCE:2
RECURRENCE-ID;VALUE=DATE:20260323
DTSTART;VALUE=DATE:20260324
END:VEVENT`, []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 o",
			"2026-03-16 00:00 +0100 2026-03-17 00:00 +0100 o",
			"2026-03-24 00:00 +0100 2026-03-25 00:00 +0100 o",
		}},
		{"overrides without UID find their UID-less series", `BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20260305T140000
DTEND;TZID=Europe/Berlin:20260305T150000
RRULE:FREQ=WEEKLY;COUNT=2
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20260312T160000
DTEND;TZID=Europe/Berlin:20260312T170000
RECURRENCE-ID:20260312T130000Z
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260310
RECURRENCE-ID;VALUE=DATE:20260309
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260317
RECURRENCE-ID:20260316T000000Z
END:VEVENT`, []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 ",
			"2026-03-05 14:00 +0100 2026-03-05 15:00 +0100 ",
			"2026-03-10 00:00 +0100 2026-03-11 00:00 +0100 ",
			"2026-03-12 16:00 +0100 2026-03-12 17:00 +0100 ",
			"2026-03-17 00:00 +0100 2026-03-18 00:00 +0100 ",
		}},
		{"DATE RECURRENCE-ID for a DATE-TIME series", `BEGIN:VEVENT
UID:d
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:d
RECURRENCE-ID;VALUE=DATE:20260303
DTSTART;TZID=Europe/Berlin:20260303T160000
DTEND;TZID=Europe/Berlin:20260303T170000
END:VEVENT`, []string{
			"2026-03-02 10:00 +0100 2026-03-02 11:00 +0100 d",
			"2026-03-03 16:00 +0100 2026-03-03 17:00 +0100 d",
			"2026-03-04 10:00 +0100 2026-03-04 11:00 +0100 d",
		}},
		{"DATE-TIME RECURRENCE-ID for a DATE series", `BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:a
RECURRENCE-ID:20260302T230000Z
DTSTART;VALUE=DATE:20260310
SUMMARY:moved to the 10th
END:VEVENT`, []string{
			"2026-03-02 00:00 +0100 2026-03-03 00:00 +0100 a",
			"2026-03-04 00:00 +0100 2026-03-05 00:00 +0100 a",
			"2026-03-10 00:00 +0100 2026-03-11 00:00 +0100 a",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, w := expandText(t, vcal(tc.body), "Europe/Berlin", "2026-03-01 00:00", "2026-04-01 00:00")
			check(t, tc.name, got, tc.want)
			if len(w) != 0 {
				t.Errorf("warnings = %v", w)
			}
		})
	}
}

// TestExpandRRuleGoFaults pins rules rrule-go expands wrongly (confirmed
// against it: see ownSet), with RFC 5545's answer.
func TestExpandRRuleGoFaults(t *testing.T) {
	for _, tc := range []struct {
		rule string
		want []string // days of March 2026 at 10:00
	}{
		// Tuesday Mar 3 precedes DTSTART; DTSTART counts as the first of COUNT.
		{"FREQ=WEEKLY;COUNT=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2", []string{"04", "10", "17"}},
		{"FREQ=WEEKLY;COUNT=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=3", []string{"04", "11", "18"}},
		{"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", []string{"04", "06", "13", "20", "27"}},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;BYSETPOS=1;WKST=SU", []string{"04", "16", "30"}},
		{"FREQ=MONTHLY;COUNT=6;BYDAY=3MO,WE,FR", []string{"04", "06", "11", "13", "16", "18"}},
		{"FREQ=MONTHLY;BYDAY=-1MO,WE", []string{"04", "11", "18", "25", "30"}},
		{"FREQ=YEARLY;BYMONTH=3;BYDAY=1MO,FR", []string{"04", "06", "13", "20", "27"}},
		// Not rrule-go's fault: left to it.
		{"FREQ=MONTHLY;COUNT=3;BYDAY=WE,FR", []string{"04", "06", "11"}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			ics := vcal("BEGIN:VEVENT\nUID:r\nDTSTART;TZID=Europe/Berlin:20260304T100000\nRRULE:" + tc.rule + "\nEND:VEVENT")
			got, w := expandText(t, ics, "Europe/Berlin", "2026-03-01 00:00", "2026-04-01 00:00")
			var want []string
			for _, d := range tc.want {
				want = append(want, "2026-03-"+d+" 10:00 +0100 2026-03-"+d+" 10:00 +0100 r")
			}
			for i := range want { // CEST from Mar 29
				if tc.want[i] >= "30" {
					want[i] = strings.ReplaceAll(want[i], "+0100", "+0200")
				}
			}
			check(t, tc.rule, got, want)
			if len(w) != 0 {
				t.Errorf("warnings = %v", w)
			}
		})
	}
}

// TestExpandDateRecurrenceIDAsUTCMidnight: some producers write a DATE
// RECURRENCE-ID as UTC midnight; it names that date in every user zone.
func TestExpandDateRecurrenceIDAsUTCMidnight(t *testing.T) {
	ics := vcal(`BEGIN:VEVENT
UID:w
DTSTART;VALUE=DATE:20260302
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:w
RECURRENCE-ID:20260309T000000Z
DTSTART;VALUE=DATE:20260310
SUMMARY:moved a day
END:VEVENT`)
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Pacific/Auckland"} {
		got, _ := expandText(t, ics, zone, "2026-03-01 00:00", "2026-04-01 00:00")
		var days []string
		for _, g := range got {
			days = append(days, g[:10])
		}
		check(t, zone, days, []string{"2026-03-02", "2026-03-10", "2026-03-16"})
	}
}
