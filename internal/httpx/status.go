package httpx

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StatusError is an HTTP answer the request could not use (a 4xx or 5xx,
// after redirects), so that callers can tell a wrong password from a
// server fault and the poll scheduler can honour Retry-After. Its message
// never carries a credential: URL is redacted.
type StatusError struct {
	// Method and URL (redacted, see [Redact]) name the request; both are
	// empty when the caller names the URL itself, as an ICS feed's
	// FetchError does.
	Method, URL string
	Code        int    // the HTTP status code
	Status      string // the status line's code and reason, "404 Not Found"; "" means from Code
	Credentials bool   // the request carried credentials
	// Retry is how long the server asked us to wait (Retry-After, RFC
	// 9110 §10.2.3, with 429 and 503); 0 if it did not say.
	Retry time.Duration
}

// NewStatusError describes resp, the answer to a request with credentials
// or not, as read at now (for a Retry-After date). It does not read or
// close resp.Body.
func NewStatusError(resp *http.Response, credentials bool, now time.Time) *StatusError {
	e := &StatusError{Code: resp.StatusCode, Status: resp.Status, Credentials: credentials,
		Retry: ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	if resp.Request != nil {
		e.Method, e.URL = resp.Request.Method, RedactURL(resp.Request.URL)
	}
	return e
}

// RetryAfter returns how long the server asked to wait; the poll
// scheduler honours it.
func (e *StatusError) RetryAfter() time.Duration { return e.Retry }

// ClientFault reports whether the request is at fault rather than the
// server or the network: a 4xx other than 408 Request Timeout and 429 Too
// Many Requests, which are the server's way of saying "later". Wrong
// credentials and a wrong URL are client faults; commands exit 2 for them.
func (e *StatusError) ClientFault() bool {
	return e.Code >= 400 && e.Code < 500 && e.Code != http.StatusRequestTimeout && e.Code != http.StatusTooManyRequests
}

// WrongCredentials reports whether the server refused the credentials the
// request carried.
func (e *StatusError) WrongCredentials() bool {
	return (e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden) && e.Credentials
}

func (e *StatusError) status() string {
	if e.Status != "" {
		return e.Status
	}
	return strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// Error says in words what the statuses users must act on mean. Without a
// URL it names the status only, for a caller that adds the URL.
func (e *StatusError) Error() string {
	if e.URL == "" {
		switch {
		case e.WrongCredentials():
			return "HTTP " + e.status()
		case e.Code == http.StatusUnauthorized:
			return "the feed needs credentials (HTTP " + e.status() + ")"
		}
		return "server answered HTTP " + e.status()
	}
	switch e.Code {
	case http.StatusUnauthorized:
		return "wrong credentials for " + e.URL
	case http.StatusForbidden:
		return "access to " + e.URL + " forbidden (403)"
	case http.StatusNotFound:
		return e.URL + " not found (404)"
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
}

// ParseRetryAfter reads a Retry-After value: seconds or an HTTP date,
// relative to now. Values beyond a day are taken as a day, so that a wrong
// header cannot stop a calendar for good; "" and unreadable values are 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), 86400)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), 24*time.Hour)
}
