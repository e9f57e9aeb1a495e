package caldav

import "time"

// SetRetry shortens a source's retries so that fault tests run fast.
func SetRetry(s *Source, retries int, backoff time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retries, s.backoff, s.maxBackoff = retries, backoff, backoff
	if s.http != nil {
		s.http.retries, s.http.backoff, s.http.maxBackoff = retries, backoff, backoff
	}
}

// HeldLastModified returns the getlastmodified s holds for its first
// calendar, whether it holds one, and whether it trusts it.
func HeldLastModified(s *Source) (at time.Time, ok, trusted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.selected) == 0 {
		return time.Time{}, false, false
	}
	lm := s.selected[0].lastMod
	return lm.at, lm.ok, lm.trusted
}
