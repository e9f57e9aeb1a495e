package calendar

// API of the calendar package that the other steps and cmd code against:
// the signatures are settled.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// Event is a normalized VEVENT: a master component with its recurrence
// data and the overrides (RECURRENCE-ID components) of its instances. A
// RECURRENCE-ID component whose series is not in the calendar is an Event
// of its own, with RecurrenceID set.
type Event struct {
	UID      string
	Calendar string // ParseOptions.Calendar
	Source   string // ParseOptions.Source
	Line     int    // line of BEGIN:VEVENT in Source, 0 if unknown

	Start Time // DTSTART
	// The instance length comes from End (DTEND), else Duration
	// (DURATION), else the defaults of RFC 5545 §3.6.1: one day for a
	// DATE start, none for a DATE-TIME start.
	End      Time
	Duration *Duration
	AllDay   bool // DTSTART is a DATE
	Floating bool // DTSTART is a local time without zone

	RRules  []string // RRULE values as written
	RDates  []Period // RDATE values (DATE, DATE-TIME, PERIOD)
	ExDates []Time   // EXDATE values

	// RecurrenceID is set on overrides; ThisAndFuture when its RANGE is
	// THISANDFUTURE.
	RecurrenceID  Time
	ThisAndFuture bool
	Overrides     []*Event

	Summary, Description, Location string
	Status                         Status
	Transparent                    bool
	Class                          Class
	Response                       string // the user's PARTSTAT, lower case; "" if not invited
	Attendees                      int
	AttendeeNames                  []string // CN, else the address
	Organizer                      string   // the organizer's calendar address
	OrganizerIsMe                  bool
	Categories                     []string
	BusyStatus                     string // see Occurrence.BusyStatus

	rules    []rule
	exrules  []rule // EXRULE (RFC 2445), deprecated but still written
	sequence int
	dtstamp  time.Time // DTSTAMP, to order revisions of equal SEQUENCE
	deleted  bool      // every RRULE ends before DTSTART: no instances
}

// ParseOptions says how to read a calendar.
type ParseOptions struct {
	Calendar string         // the configured calendar's name, copied into occurrences
	Source   string         // file path or URL, for warnings and errors
	Zone     *time.Location // for floating times and all-day dates; required
	Me       []string       // the user's calendar addresses ("mailto:alice@example.com")
}

// Warning is a problem that cost part of a calendar but not all of it: a
// malformed component skipped, an expansion capped.
type Warning struct {
	Source string // file path, URL or CalDAV href
	Line   int    // 1-based line in Source, 0 if unknown
	UID    string // the event's UID, if known
	Err    error
}

// String formats the warning as SOURCE:LINE: uid "UID": error, for logs.
func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: uid %q: %v", w.Source, w.Line, w.UID, w.Err)
}

// ParseICS reads an iCalendar stream (RFC 5545) into events. A component
// that cannot be read is skipped with a Warning; an error means the stream
// as a whole could not be read.
//
// A stream that is not iCalendar at all yields a *SyntaxError. Floating
// times and dates are kept as written and placed in the user's zone when
// expanded; opts.Zone serves TZIDs that name no known zone (nil: UTC).
func ParseICS(r io.Reader, opts ParseOptions) ([]*Event, []Warning, error) {
	var data []byte
	var err error
	if l, ok := r.(interface{ Len() int }); ok {
		// A *bytes.Reader or *strings.Reader: one allocation of its size.
		// The events keep the buffer (their strings point into it), and
		// bytes.Buffer.ReadFrom would have grown it to twice that.
		data = make([]byte, l.Len())
		_, err = io.ReadFull(r, data)
	} else {
		var buf bytes.Buffer
		_, err = buf.ReadFrom(r)
		data = buf.Bytes()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", opts.Source, err)
	}
	tops, err := lexICS(data, opts.Source)
	if err != nil {
		return nil, nil, err
	}
	b := newBuilder(opts)
	events := b.build(tops)
	return events, b.warnings, nil
}

// ExpandOptions bounds an expansion.
type ExpandOptions struct {
	Zone *time.Location // the user's zone, for all-day dates; required
	// MaxPerEvent caps the instances of one event in the window (0: a
	// sensible default); an event that hits it yields a Warning.
	MaxPerEvent int
}

// Expand returns the occurrences of events that overlap [from, to), sorted
// by start, then UID.
// Floating times and all-day dates are read in opts.Zone (nil: UTC); the
// occurrences' times are in opts.Zone too. Expand only reads the events,
// so several expansions may share them. Memory and time follow the
// window and the number of events, not the age of a series.
func Expand(events []*Event, from, to time.Time, opts ExpandOptions) ([]Occurrence, []Warning) {
	x := expander{from: from, to: to, user: locZone(opts.Zone), loc: opts.Zone, max: opts.MaxPerEvent}
	if x.loc == nil {
		x.loc = time.UTC
	}
	if x.max <= 0 {
		x.max = DefaultMaxPerEvent
	}
	if !from.Before(to) {
		return nil, nil
	}
	return merge(expandParts(events, x), x.loc)
}

// Source is one configured calendar.
type Source interface {
	// Name is the configured calendar's name.
	Name() string
	// Fetch returns the calendar's events. A source that can tell cheaply
	// that nothing changed (HTTP 304, an unchanged CalDAV ctag) returns its
	// previous events without parsing again.
	Fetch(ctx context.Context) ([]*Event, []Warning, error)
}
