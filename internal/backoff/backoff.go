// Package backoff is the one retry policy of calendar polls, CalDAV
// requests and SIP publications: capped exponential delays with "equal
// jitter", so that retries stay spaced (at least half the delay) and
// clients that failed together (a server restart) do not retry together.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy bounds the delays. Min is the first delay and Max the cap; each
// failure doubles the delay until the cap.
type Policy struct {
	Min, Max time.Duration
}

// Delay is the wait after the failures-th failure in a row (1 for the
// first): Min·2^(failures-1), capped at Max, then drawn at random from its
// upper half. Zero or fewer failures, or a zero Min, wait nothing.
func (p Policy) Delay(failures int) time.Duration {
	d := p.Ceiling(failures)
	if half := d / 2; half > 0 {
		d = half + rand.N(half+1)
	}
	return d
}

// Ceiling is Delay without the jitter: the longest Delay can be.
func (p Policy) Ceiling(failures int) time.Duration {
	if failures <= 0 || p.Min <= 0 {
		return 0
	}
	hi := max(p.Max, p.Min)
	d := p.Min
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
