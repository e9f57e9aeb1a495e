// Package poll keeps calendars fresh: a [Scheduler] polls each
// calendar.Source when added, then on its cron schedule ([ParseSchedule],
// [DefaultSchedule]) in its user's zone, with a fixed pool of workers, and
// hands the events to Spec.OnUpdate, saying whether they changed. A failed
// poll is retried with capped, jittered backoff (internal/backoff) while
// the last good events stay in force; a server's Retry-After (RFC 9110
// §10.2.3, carried by *httpx.StatusError from calendar/ics and
// calendar/caldav) is honoured. Time comes from an internal/clock.Clock, so
// tests run under testing/synctest and demos on a scaled clock.
package poll
