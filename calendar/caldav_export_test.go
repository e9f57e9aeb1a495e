package calendar

import "time"

// SetCalDAVRetry shortens a source's retries so that fault tests run fast.
// It must be called before the source's first Fetch.
func SetCalDAVRetry(s *CalDAVSource, retries int, backoff time.Duration) {
	s.testRetries, s.testBackoff = &retries, backoff
}
