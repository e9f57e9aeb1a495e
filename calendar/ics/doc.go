// Package ics is a calendar source (calendar.Source) for iCalendar files
// and feeds (RFC 5545): a path, file://, http(s):// or webcal:// URL.
//
// A [Source] remembers what it last read, so that an unchanged feed costs
// no parse: over HTTP it asks with conditional GETs (RFC 9110 §13.1) and
// compares a digest of the body when the server ignores them; for files it
// compares size and modification time. Feeds are capped in size after
// decompression ([DefaultMaxBytes]). Credentials, the redirect rule, URL
// redaction and the status error come from internal/httpx, shared with
// calendar/caldav; the events are parsed by calendar.ParseICS.
package ics
