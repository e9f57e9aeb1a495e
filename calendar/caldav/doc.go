// Package caldav is a calendar source (calendar.Source) that syncs one
// account's calendars from a CalDAV server (RFC 4791).
//
// A [Source] discovers the calendars from the server's URL (RFC 6764
// well-known URI, current-user-principal per RFC 5397, calendar-home-set),
// selects the configured ones by name or path, and after the first sync
// downloads only the objects that changed: it watches the getctag or the
// sync-token, asks sync-collection (RFC 6578) or lists ETags for what
// changed, and fetches those with calendar-multiget. Each object is parsed
// by calendar.ParseICS (RFC 5545).
//
// HTTP comes from internal/httpx, shared with calendar/ics: credentials
// never follow a redirect to another origin, URLs in messages are redacted,
// and errors are *httpx.StatusError. The source retries transport failures
// and bare 5xx answers within a poll; a 429 or 503 (or any Retry-After) is
// returned at once, so that the poll scheduler waits as the server asked.
package caldav
