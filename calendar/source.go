package calendar

// API of the calendar package that the other steps and cmd code against.
// The foundation issue fills in the bodies; the signatures are settled.

import (
	"context"
	"fmt"
	"io"
	"time"

	goical "github.com/emersion/go-ical"
)

// Event is a normalized VEVENT: a master component with its recurrence
// data and the overrides (RECURRENCE-ID components) of its instances.
type Event struct {
	UID string
	// The fields below are settled by the foundation issue.
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

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: uid %q: %v", w.Source, w.Line, w.UID, w.Err)
}

// ParseICS reads an iCalendar stream (RFC 5545) into events. A component
// that cannot be read is skipped with a Warning; an error means the stream
// as a whole could not be read.
func ParseICS(r io.Reader, opts ParseOptions) ([]*Event, []Warning, error) {
	panic("calendar.ParseICS: built by the foundation issue")
}

// FromGoICal maps a calendar object as go-ical (and so go-webdav's CalDAV
// client) hands it back into events.
func FromGoICal(cal *goical.Calendar, opts ParseOptions) ([]*Event, []Warning) {
	panic("calendar.FromGoICal: built by the foundation issue")
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
func Expand(events []*Event, from, to time.Time, opts ExpandOptions) ([]Occurrence, []Warning) {
	panic("calendar.Expand: built by the foundation issue")
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
