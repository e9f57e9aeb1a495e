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
type Occurrence struct {
	Calendar string // the configured calendar's name
	UID      string
	// RecurrenceID is the instance's original start; zero for an event
	// that does not recur.
	RecurrenceID time.Time
	Summary      string
	Description  string
	Location     string
	Start, End   time.Time
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
func (o *Occurrence) Private() bool {
	return o.Class == ClassPrivate || o.Class == ClassConfidential
}
