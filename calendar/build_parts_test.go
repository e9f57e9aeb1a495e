package calendar

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// partsCalendar is a stream that makes every order-dependent step of the
// builder show: TZIDs that no zone knows, first used in several parts; a
// VTIMEZONE after the events; floating times under X-WR-TIMEZONE;
// overrides, revisions and broken events across the parts.
func partsCalendar(badZone bool) []byte {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Lab Zone\r\n")
	for i := range 3000 {
		uid := fmt.Sprintf("ev-%d", i%2500)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:%d\r\n", uid, i/2500)
		switch i % 7 {
		case 0:
			fmt.Fprintf(&b, "DTSTART;TZID=Nowhere/%d:20260105T090000\r\n", i%5)
		case 1:
			b.WriteString("DTSTART:20260105T090000\r\nRRULE:FREQ=WEEKLY;COUNT=3;UNTL=x\r\n")
		case 2:
			b.WriteString("DTSTART;TZID=Lab Zone:20260105T090000\r\nRRULE:FREQ=DAILY;COUNT=4\r\n")
		case 3:
			b.WriteString("DTSTART:2026010\r\n")
		case 4:
			fmt.Fprintf(&b, "DTSTART;TZID=Europe/Berlin:20260105T100000\r\nRECURRENCE-ID;TZID=Lab Zone:20260106T090000\r\nUID:ev-%d\r\n", i-2)
		case 5:
			fmt.Fprintf(&b, "DTSTART;TZID=Mars/Olympus:20260105T090000\r\nDTEND;TZID=Nowhere/%d:20260105T080000\r\n", i%3)
		default:
			b.WriteString("DTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=YEARLY;UNTIL=20200101\r\n")
		}
		fmt.Fprintf(&b, "SUMMARY:event %d\r\nEND:VEVENT\r\n", i)
		if i == 1700 {
			b.WriteString("END:VCALENDAR\r\nBEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Paris\r\n")
		}
	}
	b.WriteString("BEGIN:VTIMEZONE\r\nTZID:Lab Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n")
	if badZone {
		b.WriteString("TZOFFSETTO:+0a00\r\n")
	} else {
		b.WriteString("TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\n")
	}
	b.WriteString("END:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
	return b.Bytes()
}

// TestParsePartsSequential compares a parse on several workers with one on
// a single one: the same events, warnings in the same order.
func TestParsePartsSequential(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(data []byte, procs int) ([]*Event, []string) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		events, warnings, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "p.ics", Zone: berlin})
		if err != nil {
			t.Fatal(err)
		}
		var ws []string
		for _, w := range warnings {
			ws = append(ws, w.String())
		}
		return events, ws
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"zones", partsCalendar(false)},
		{"bad VTIMEZONE", partsCalendar(true)},
		{"generated", genCalendar(3000, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantEv, wantW := parse(tc.data, 1)
			if len(wantEv) < 1000 || len(wantW) < 10 && tc.name != "generated" {
				t.Fatalf("%d events, %d warnings: the stream no longer tests the parts", len(wantEv), len(wantW))
			}
			for _, procs := range []int{2, 3, 8} {
				gotEv, gotW := parse(tc.data, procs)
				if d := firstDiff(gotW, wantW); d != "" {
					t.Fatalf("GOMAXPROCS=%d: warnings differ: %s", procs, d)
				}
				if len(gotEv) != len(wantEv) {
					t.Fatalf("GOMAXPROCS=%d: %d events, want %d", procs, len(gotEv), len(wantEv))
				}
				for i := range gotEv {
					if !reflect.DeepEqual(gotEv[i], wantEv[i]) {
						t.Fatalf("GOMAXPROCS=%d: event %d:\n%+v\nwant\n%+v", procs, i, gotEv[i], wantEv[i])
					}
				}
			}
		})
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("#%d: %s\nwant %s", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d warnings, want %d:\n%s", len(got), len(want), strings.Join(got[min(len(got), len(want)):], "\n"))
	}
	return ""
}
