package calendar

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// genZones are the zones of generated calendars: IANA names, a Windows
// name as Outlook writes it, and UTC.
var genZones = []string{"Europe/Berlin", "America/New_York", "W. Europe Standard Time", "Asia/Tokyo", "UTC"}

// genCalendar writes a realistic calendar of n events over ten years from
// 2020: 30% recurring (daily, weekly, monthly by day, yearly), many with
// EXDATEs and moved or cancelled overrides, in several zones, with
// attendees and folded descriptions. The same seed gives the same file.
func genCalendar(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	var b bytes.Buffer
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calpresence//bench//EN\r\n")
	b.WriteString(outlookBerlinVTimezone)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		tz := genZones[r.IntN(len(genZones))]
		day := base.AddDate(0, 0, r.IntN(3650))
		start := day.Add(time.Duration(7+r.IntN(11))*time.Hour + time.Duration(r.IntN(4)*15)*time.Minute)
		dur := time.Duration(1+r.IntN(8)) * 15 * time.Minute
		uid := fmt.Sprintf("gen-%d-%d@bench", seed, i)
		allDay := r.IntN(20) == 0
		recurring := r.IntN(10) < 3
		if recurring {
			// Recurring series mostly start in the earlier years and run on.
			start = base.AddDate(0, 0, r.IntN(2500)).Add(start.Sub(day))
		}
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\n", uid)
		switch {
		case allDay:
			fmt.Fprintf(&b, "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\n", start.Format("20060102"), start.AddDate(0, 0, 1+r.IntN(3)).Format("20060102"))
		case tz == "UTC":
			fmt.Fprintf(&b, "DTSTART:%s\r\nDTEND:%s\r\n", start.Format("20060102T150405Z"), start.Add(dur).Format("20060102T150405Z"))
		default:
			fmt.Fprintf(&b, "DTSTART;TZID=%s:%s\r\nDTEND;TZID=%s:%s\r\n", tz, start.Format("20060102T150405"), tz, start.Add(dur).Format("20060102T150405"))
		}
		fmt.Fprintf(&b, "SUMMARY:Meeting %d about project %c\r\n", i, 'A'+rune(r.IntN(26)))
		b.WriteString(foldLine(fmt.Sprintf("DESCRIPTION:Agenda for meeting %d:\\n1. Status\\n2. Risks\\, issues and next steps\\n3. Any other business that comes up during the week", i)))
		b.WriteString("LOCATION:Room " + fmt.Sprint(r.IntN(40)) + "\r\n")
		fmt.Fprintf(&b, "ORGANIZER;CN=Organizer %d:mailto:org%d@example.com\r\n", i%50, i%50)
		for a := 0; a < r.IntN(5); a++ {
			fmt.Fprintf(&b, "ATTENDEE;CN=Person %d;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:p%d@example.com\r\n", a, a)
		}
		if r.IntN(3) == 0 {
			b.WriteString("ATTENDEE;CN=Alice;PARTSTAT=TENTATIVE:mailto:alice@example.com\r\n")
		}
		var rule string
		if recurring {
			switch k := r.IntN(10); {
			case k < 2:
				rule = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"
			case k < 6:
				rule = "FREQ=WEEKLY"
				if r.IntN(2) == 0 {
					rule += ";INTERVAL=2"
				}
			case k < 8:
				rule = "FREQ=MONTHLY;BYDAY=" + []string{"1MO", "2TU", "3WE", "-1FR"}[r.IntN(4)]
			default:
				rule = "FREQ=YEARLY"
			}
			switch r.IntN(4) {
			case 0:
				rule += fmt.Sprintf(";COUNT=%d", 10+r.IntN(300))
			case 1:
				rule += ";UNTIL=" + start.AddDate(1+r.IntN(8), 0, 0).Format("20060102T150405Z")
			}
			fmt.Fprintf(&b, "RRULE:%s\r\n", rule)
		}
		var exdates []time.Time
		if recurring && !allDay && r.IntN(2) == 0 {
			for e := 0; e < 1+r.IntN(6); e++ {
				exdates = append(exdates, start.AddDate(0, 0, 7*(1+r.IntN(300))))
			}
			for _, ex := range exdates {
				if tz == "UTC" {
					fmt.Fprintf(&b, "EXDATE:%s\r\n", ex.Format("20060102T150405Z"))
				} else {
					fmt.Fprintf(&b, "EXDATE;TZID=%s:%s\r\n", tz, ex.Format("20060102T150405"))
				}
			}
		}
		b.WriteString("END:VEVENT\r\n")
		if recurring && !allDay && tz != "UTC" && r.IntN(3) == 0 && strings.HasPrefix(rule, "FREQ=WEEKLY") && !strings.Contains(rule, "INTERVAL") {
			for o := 0; o < 1+r.IntN(4); o++ {
				rid := start.AddDate(0, 0, 7*(1+r.IntN(200)))
				moved := rid.Add(time.Duration(1+r.IntN(3)) * time.Hour)
				fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID;TZID=%s:%s\r\n", uid, tz, rid.Format("20060102T150405"))
				fmt.Fprintf(&b, "DTSTART;TZID=%s:%s\r\nDTEND;TZID=%s:%s\r\n", tz, moved.Format("20060102T150405"), tz, moved.Add(dur).Format("20060102T150405"))
				if r.IntN(3) == 0 {
					b.WriteString("STATUS:CANCELLED\r\n")
				}
				fmt.Fprintf(&b, "SUMMARY:Meeting %d (moved)\r\nEND:VEVENT\r\n", i)
			}
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.Bytes()
}

const outlookBerlinVTimezone = "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n" +
	"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n" +
	"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"

// foldLine folds a content line at 75 octets (RFC 5545 §3.1).
func foldLine(s string) string {
	var b strings.Builder
	for len(s) > 75 {
		b.WriteString(s[:75])
		b.WriteString("\r\n ")
		s = s[75:]
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

// TestWriteBenchCalendars writes the benchmark calendars for the peers
// script (testdata/peers/run.sh) when CALPRESENCE_BENCH_DIR is set.
func TestWriteBenchCalendars(t *testing.T) {
	dir := os.Getenv("CALPRESENCE_BENCH_DIR")
	if dir == "" {
		t.Skip("CALPRESENCE_BENCH_DIR not set: nothing to write")
	}
	for _, n := range []int{5000, 50000} {
		path := filepath.Join(dir, fmt.Sprintf("bench-%d.ics", n))
		if err := os.WriteFile(path, genCalendar(n, uint64(n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// benchWindow is the year that benchmarks expand.
var benchWindow = [2]time.Time{
	time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
}

func benchmarkParseExpand(b *testing.B, n int) {
	data := genCalendar(n, uint64(n))
	zone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var occ []Occurrence
	for b.Loop() {
		events, _, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "bench.ics", Zone: zone})
		if err != nil {
			b.Fatal(err)
		}
		occ, _ = Expand(events, benchWindow[0], benchWindow[1], ExpandOptions{Zone: zone})
	}
	b.ReportMetric(float64(len(occ)), "occurrences")
}

func BenchmarkParseExpand5k(b *testing.B)  { benchmarkParseExpand(b, 5000) }
func BenchmarkParseExpand50k(b *testing.B) { benchmarkParseExpand(b, 50000) }
