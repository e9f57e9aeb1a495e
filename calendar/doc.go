// Package calendar is the first step of calpresence's flow: it reads
// iCalendar data (RFC 5545; RFC 7986's additions are read as unknown
// properties and ignored) into one normalized model and turns it into
// occurrences.
//
// [ParseICS] reads a stream into [Event] values: a master component with
// its recurrence data (RRULE, RDATE, EXDATE) and its overrides
// (RECURRENCE-ID); a component that cannot be read costs a [Warning], not
// the calendar. [Expand] turns events into [Occurrence] values over a
// window, with time zones resolved exactly: IANA names, Windows names as
// Outlook writes them, custom VTIMEZONE definitions, floating times and
// all-day dates in the user's zone.
//
// A [Source] is one configured calendar. Its implementations live in
// subpackages, one step each: calendar/ics reads files and feeds
// (conditional GETs, a size cap), calendar/caldav syncs a CalDAV account
// (RFC 4791), both on internal/httpx and both parsing with ParseICS; and
// calendar/poll keeps sources fresh on their schedules.
//
// The package knows nothing of HTTP, rules, presence or SIP.
package calendar
