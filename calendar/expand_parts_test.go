package calendar

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// tieCalendar has occurrences that agree in start and UID and differ only
// in the later sort keys: end, recurrence instant and line (revisions
// of one event that neither supersedes, in two calendars).
func tieCalendar() []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := range 40 {
		for _, end := range []string{"T100000Z", "T093000Z", "T100000Z"} {
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:tie-%d\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302%s\r\nSUMMARY:%d %s\r\nEND:VEVENT\r\n", i%7, end, i, end)
		}
	}
	b.WriteString("BEGIN:VEVENT\r\nUID:ser\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\nRRULE:FREQ=DAILY;COUNT=20\r\nSUMMARY:series\r\nEND:VEVENT\r\n")
	for d := 3; d < 20; d += 2 {
		// Overrides moved onto the next instance's start.
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:ser\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID:202603%02dT090000Z\r\nDTSTART:202603%02dT090000Z\r\nDTEND:202603%02dT093000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n", d, d+1, d+1)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func mergeTestEvents(t *testing.T, loc *time.Location) []*Event {
	t.Helper()
	var events []*Event
	for i, data := range [][]byte{genCalendar(1500, 11), tieCalendar(), tieCalendar()} {
		evs, _, err := ParseICS(bytes.NewReader(data), ParseOptions{Calendar: fmt.Sprint("cal", i), Zone: loc})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	return events
}

// The packed-key sort and the comparison sort order every occurrence
// alike, and both as the contract says: by start, then UID, then end and
// recurrence instant.
func TestMergePackedKeys(t *testing.T) {
	loc := mustZone(t, "Europe/Berlin")
	events := mergeTestEvents(t, loc)
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
	x := expander{from: from, to: to, user: locZone(loc), loc: loc, max: DefaultMaxPerEvent}
	packed, _ := mergeSorted(expandParts(events, x), loc, true)
	compared, _ := mergeSorted(expandParts(events, x), loc, false)
	if len(packed) < 10000 {
		t.Fatalf("only %d occurrences: the test needs many", len(packed))
	}
	if !reflect.DeepEqual(packed, compared) {
		for i := range packed {
			if !reflect.DeepEqual(packed[i], compared[i]) {
				t.Fatalf("occurrence %d: packed %v %s %q, compared %v %s %q", i,
					packed[i].Start, packed[i].UID, packed[i].Summary, compared[i].Start, compared[i].UID, compared[i].Summary)
			}
		}
	}
	ties := 0
	for i := 1; i < len(packed); i++ {
		a, b := packed[i-1], packed[i]
		c := a.Start.Compare(b.Start)
		if c == 0 {
			c = strings.Compare(a.UID, b.UID)
		}
		if c == 0 {
			ties++
			c = a.End.Compare(b.End)
		}
		if c == 0 {
			c = a.RecurrenceID.Compare(b.RecurrenceID)
		}
		if c > 0 {
			t.Fatalf("occurrences %d and %d out of order: %v %s, %v %s", i-1, i, a.Start, a.UID, b.Start, b.UID)
		}
	}
	if ties < 100 {
		t.Errorf("only %d ties of start and UID: the test needs them", ties)
	}
}

// Expanding on several workers gives what one gives: the same
// occurrences in the same order, the same warnings in the same order.
func TestExpandWorkers(t *testing.T) {
	loc := mustZone(t, "Europe/Berlin")
	events := mergeTestEvents(t, loc)
	var bad strings.Builder
	bad.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := range 600 {
		// Each one warns: a minutely series over the cap.
		fmt.Fprintf(&bad, "BEGIN:VEVENT\r\nUID:m%d\r\nDTSTART:20260302T090000Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\n", i)
	}
	bad.WriteString("END:VCALENDAR\r\n")
	evs, _, err := ParseICS(strings.NewReader(bad.String()), ParseOptions{Zone: loc})
	if err != nil {
		t.Fatal(err)
	}
	events = slices.Insert(events, 700, evs...)
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 4, 0, 0, 0, 0, loc)
	opts := ExpandOptions{Zone: loc, MaxPerEvent: 50}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one, oneWarn := Expand(events, from, to, opts)
	runtime.GOMAXPROCS(4)
	four, fourWarn := Expand(events, from, to, opts)
	if len(oneWarn) != 600 {
		t.Fatalf("%d warnings, want 600", len(oneWarn))
	}
	if !reflect.DeepEqual(one, four) {
		t.Errorf("Expand on 4 workers gave %d occurrences other than the %d of one", len(four), len(one))
	}
	if fmt.Sprint(oneWarn) != fmt.Sprint(fourWarn) {
		t.Errorf("Expand on 4 workers warned otherwise:\n%v\nwant\n%v", fourWarn[:3], oneWarn[:3])
	}
}
