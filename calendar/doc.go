// Package calendar is the first step of calpresence's flow: it reads
// calendars and turns them into occurrences.
//
// Sources (ICS files and feeds over file, http(s) and webcal, and CalDAV
// collections per RFC 4791) are parsed into one normalized model, [Event]: a
// master component with its recurrence data (RFC 5545 RRULE, RDATE, EXDATE)
// and its overrides (RECURRENCE-ID). Both iCalendar libraries the project
// uses (github.com/arran4/golang-ical for feeds, github.com/emersion/go-ical
// as handed back by the CalDAV client) map into that model, so one
// expansion engine serves every source. [Expand] turns events into
// [Occurrence] values over a window, with time zones resolved exactly: IANA
// names, Windows names as Outlook writes them, custom VTIMEZONE definitions,
// floating times and all-day dates in the user's zone.
//
// The package also owns the cron-scheduled pollers that keep a calendar's
// events fresh. It knows nothing of rules, presence or SIP.
package calendar
