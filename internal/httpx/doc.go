// Package httpx is what the calendar sources (calendar/ics and
// calendar/caldav) share of HTTP (RFC 9110): the default transport and its
// extra CAs, the Authorization header, the one rule for when credentials
// may follow a redirect ([SameOrigin]), the one redactor of URLs in
// messages and logs ([Redact]), the one wording of transport failures
// — timeouts, refused connections, TLS — in our words ([Explain]), and the one error for an HTTP status
// ([StatusError]), which carries Retry-After (RFC 9110 §10.2.3) to the
// poll scheduler.
package httpx
