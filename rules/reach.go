package rules

import "time"

// Reach is how far the rules' lead and lag carry an event: an event
// counts from lead before its start until lag after its end. The
// timeline of [from, to) therefore depends on the occurrences that
// overlap Window(from, to), and on no others.
func (r *Rules) Reach() (lead, lag time.Duration) {
	for _, ru := range r.rules {
		lead, lag = max(lead, ru.lead), max(lag, ru.lag)
	}
	return lead, lag
}

// Window is the span whose occurrences decide the timeline of [from, to):
// [from - lag, to + lead) with the rules' Reach, as an event that ends by
// from - lag or starts at to + lead or later counts only outside [from, to).
// Every caller that expands events for Timeline expands this window.
func (r *Rules) Window(from, to time.Time) (time.Time, time.Time) {
	lead, lag := r.Reach()
	return from.Add(-lag), to.Add(lead)
}
