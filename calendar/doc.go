// Package calendar is the first step of calpresence's flow: it reads
// calendars and turns them into occurrences.
//
// Two sources implement [Source]. Package calendar/ics reads an iCalendar file or
// feed (a path, file://, http(s):// or webcal://), asking with conditional
// GETs so that an unchanged feed is not parsed again. Package calendar/caldav syncs
// an account's calendars from a CalDAV server (RFC 4791): it discovers them
// from the server's URL, and after the first sync downloads only the
// objects that changed (getctag, sync-collection per RFC 6578, ETags).
//
// Both parse with [ParseICS] into one normalized model, [Event]: a master
// component with its recurrence data (RFC 5545 RRULE, RDATE, EXDATE) and
// its overrides (RECURRENCE-ID). [FromGoICal] maps a calendar parsed by
// github.com/emersion/go-ical into the same model, so one expansion engine
// serves every input. [Expand] turns events into [Occurrence] values over a
// window, with time zones resolved exactly: IANA names, Windows names as
// Outlook writes them, custom VTIMEZONE definitions, floating times and
// all-day dates in the user's zone.
//
// A [Scheduler] keeps calendars fresh: it polls each source at once, then
// on its cron schedule ([ParseSchedule]) in its user's zone, with a fixed
// pool of workers, and hands the events to a callback; a failed poll is
// retried with backoff while the last good events stay in force.
//
// The package knows nothing of rules, presence or SIP.
package calendar
