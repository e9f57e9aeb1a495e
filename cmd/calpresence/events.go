package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/calpresence/calpresence/calendar"
)

// runEvents prints the occurrences overlapping [from, to) (CONTRACT.md
// "events -json"), as a table or as JSON.
func runEvents(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "events",
		"usage: calpresence events [-config FILE | -ics PATH_OR_URL ...] [-from T] [-to T] [-tz ZONE] [-me ADDR] [-user AOR] [-json]",
		"Prints the expanded occurrences of the calendars that overlap [from, to).")
	in := addInputFlags(fs)
	win := addWindowFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON array (see docs/reference.md) instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}

	if e.getenv("GOGC") == "" {
		// The heap of a one-shot listing is mostly the calendar, held to
		// the end: collecting at every doubling of it was a sixth of the
		// process's time at 5,000 events (make bench-peers), and at 30,000
		// events (18 MB) the peak RSS is 172 MB either way.
		debug.SetGCPercent(400)
	}
	inputs, err := in.load(e)
	if err != nil {
		return fail(e, err)
	}
	from, to, err := win.window(time.Now(), inputs.zone)
	if err != nil {
		return fail(e, err)
	}
	occs, err := inputs.occurrences(ctx, from, to, e.stderr)
	if err != nil {
		return fail(e, err)
	}
	// occs are in the contract's order (start, then UID): one Expand over
	// every source's events sorts them so.
	if *asJSON {
		err = writeEventsJSON(e.stdout, occs, inputs.zone)
	} else {
		err = writeEventsTable(e.stdout, occs, from, to, inputs.zone)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence events: writing the output: %v.\n", err)
		return 1
	}
	return 0
}

// writeJSON writes v as the JSON output of a command: indented, with
// calendar text such as "<b>" or "&" as it is.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeEventsTable prints one line per occurrence, times in zone.
func writeEventsTable(w io.Writer, occs []calendar.Occurrence, from, to time.Time, zone *time.Location) error {
	if len(occs) == 0 {
		_, err := fmt.Fprintf(w, "No events from %s to %s.\n", from.In(zone).Format(eventsTimeLayout), to.In(zone).Format(eventsTimeLayout))
		return err
	}
	rows := [][]string{{"DATE", "TIME", "CALENDAR", "SUMMARY", "LOCATION", "STATUS", "FLAGS"}}
	for _, o := range occs {
		start, end := o.Start.In(zone), o.End.In(zone)
		rows = append(rows, []string{
			start.Format("Mon 2006-01-02"), eventsTimeRange(start, end, o.AllDay),
			eventsCell(o.Calendar), eventsCell(o.Summary), eventsCell(o.Location),
			eventsCell(string(o.Status)), eventsFlags(&o),
		})
	}
	return writeEventsColumns(w, rows)
}

// writeEventsColumns aligns rows in columns two spaces apart. Unlike
// text/tabwriter it measures cells as a terminal shows them, so that a
// summary with an emoji or CJK text does not shift the columns after it.
func writeEventsColumns(w io.Writer, rows [][]string) error {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], eventsWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-eventsWidth(cell)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// eventsWidth is the number of terminal columns s takes: two for wide
// (East Asian) characters and emoji, none for combining marks and
// zero-width joiners.
func eventsWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == 0x200d || (r >= 0xfe00 && r <= 0xfe0f):
		case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf && r != 0x303f, r >= 0xac00 && r <= 0xd7a3,
			r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f, r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6,
			r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff, r >= 0x1f680 && r <= 0x1f6ff,
			r >= 0x20000 && r <= 0x3fffd:
			n += 2
		default:
			n++
		}
	}
	return n
}

const eventsTimeLayout = "Mon 2006-01-02 15:04 MST"

// eventsTimeRange writes "09:00-09:30", "23:00-01:00+1" for an event
// ending on a later day, "all day" or "all day, 3 days".
func eventsTimeRange(start, end time.Time, allDay bool) string {
	days := eventsDaysBetween(start, end)
	if allDay {
		if days <= 1 {
			return "all day"
		}
		return fmt.Sprintf("all day, %d days", days)
	}
	s := start.Format("15:04") + "-" + end.Format("15:04")
	if days > 0 {
		s += fmt.Sprintf("+%d", days)
	}
	return s
}

// eventsDaysBetween counts calendar days from start's date to end's,
// which are in the same zone; DST days are 23 or 25 hours long, so it
// compares dates rather than dividing durations.
func eventsDaysBetween(start, end time.Time) int {
	a := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// eventsFlags lists what the other columns do not show.
func eventsFlags(o *calendar.Occurrence) string {
	var flags []string
	if !o.RecurrenceID.IsZero() {
		flags = append(flags, "recurring")
	}
	if o.Transparent {
		flags = append(flags, "free")
	}
	if o.Class == calendar.ClassPrivate || o.Class == calendar.ClassConfidential {
		flags = append(flags, string(o.Class))
	}
	if o.Response != "" {
		flags = append(flags, strings.ToLower(o.Response))
	}
	switch o.Attendees {
	case 0:
	case 1:
		flags = append(flags, "1 attendee")
	default:
		flags = append(flags, fmt.Sprintf("%d attendees", o.Attendees))
	}
	if len(o.Categories) > 0 {
		flags = append(flags, "categories: "+strings.Join(o.Categories, "/"))
	}
	return eventsCell(strings.Join(flags, ", "))
}

// eventsCell makes calendar text safe for one table cell: line breaks and
// tabs become spaces, other control characters go, "" becomes "-".
func eventsCell(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "-"
	}
	return s
}
