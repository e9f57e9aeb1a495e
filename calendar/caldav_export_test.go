package calendar

import "time"

// SetCalDAVRetry shortens a source's retries so that fault tests run fast.
func SetCalDAVRetry(s *CalDAVSource, retries int, backoff time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.testRetries, s.testBackoff = &retries, backoff
	if s.http != nil {
		s.http.retries, s.http.backoff, s.http.maxBackoff = retries, backoff, backoff
	}
}
