package calendar

import "time"

// Status is an event's STATUS (RFC 5545 §3.8.1.11) in lower case.
type Status string

// The event statuses of RFC 5545; the empty Status means none was given.
const (
	StatusNone      Status = ""
	StatusConfirmed Status = "confirmed"
	StatusTentative Status = "tentative"
	StatusCancelled Status = "cancelled"
)

// Class is an event's CLASS (RFC 5545 §3.8.1.3) in lower case.
type Class string

// The access classes of RFC 5545. An event without CLASS is public.
const (
	ClassPublic       Class = "public"
	ClassPrivate      Class = "private"
	ClassConfidential Class = "confidential"
)

// Occurrence is one instance of an event on the time line: what rules
// decide presence from. Recurring events yield one Occurrence per instance,
// with the instance's overrides applied.
//
// What an instance has of its own (its times) is held by value; the rest,
// the same for every instance of one event, is in Details, which the
// instances point to: a year of a big calendar is then a few megabytes,
// not tens. The fields of Details read as the Occurrence's own (o.Summary).
type Occurrence struct {
	// Details are shared by every occurrence of one event (a series, or
	// one overridden instance) that one Expand returned: never nil in its
	// result, and not to be written through. To change one occurrence's
	// details, give it a copy: d := *o.Details; d.Summary = "..."; o.Details = &d.
	*Details
	// RecurrenceID is the instance's original start; zero for an event
	// that does not recur.
	RecurrenceID time.Time
	Start, End   time.Time
}

// Details are the properties of an event that all its occurrences share.
// Expand gives each event its own Details on every call, copied from the
// Event, so the occurrences of one expansion never alias the parsed events
// or those of another expansion.
type Details struct {
	Calendar    string // the configured calendar's name
	UID         string
	Summary     string
	Description string
	Location    string
	// AllDay is set for DATE-valued events; Start and End are then
	// midnight, in the user's zone, of the first day and of the day after
	// the last.
	AllDay      bool
	Status      Status
	Transparent bool // TRANSP:TRANSPARENT, "free"
	Class       Class
	// Response is the user's PARTSTAT in lower case ("accepted",
	// "declined", "tentative", "needs-action", ...), "" when the user is not
	// an attendee.
	Response      string
	Attendees     int      // number of ATTENDEE properties
	AttendeeNames []string // CN, else the address, of each attendee
	Organizer     string   // the organizer's calendar address, if any
	OrganizerIsMe bool     // the organizer is one of the user's addresses
	Categories    []string
	// BusyStatus is what the event means for the user's availability as
	// Outlook and Exchange write it (X-MICROSOFT-CDO-BUSYSTATUS, else
	// X-MICROSOFT-CDO-INTENDEDSTATUS), in lower case: "free", "tentative",
	// "busy", "oof" (out of office) or "workingelsewhere"; "" when absent.
	BusyStatus string
}

// Private reports whether the event's class hides its details.
func (o *Details) Private() bool {
	return o.Class == ClassPrivate || o.Class == ClassConfidential
}
