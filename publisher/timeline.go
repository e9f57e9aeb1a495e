package publisher

import (
	"bytes"
	"slices"
	"time"
)

// Entry is one document of a timeline: Body is what to publish during
// [Start, End). A nil Body means "no publication" for that span.
type Entry struct {
	Start, End time.Time
	Body       []byte
}

// sortedTimeline copies entries sorted by Start.
func sortedTimeline(entries []Entry) []Entry {
	tl := slices.Clone(entries)
	slices.SortStableFunc(tl, func(a, b Entry) int { return a.Start.Compare(b.Start) })
	return tl
}

// state is what the timeline says at an instant.
type state struct {
	body []byte    // the document in force, nil for none
	end  time.Time // when body stops being in force (zero: never)
	next time.Time // the next instant at which anything may change (zero: none)
	// gapAfter is true when no publication follows body at end: the
	// publication is then asked to expire at end, not Grace after it,
	// and left to expire (see Publisher.decide).
	gapAfter bool
}

// stateAt finds the document in force at now in a sorted timeline. A zero
// End means open-ended. Where entries overlap, the later-starting one wins.
// Adjacent entries with identical bodies count as one segment, so that the
// Expires asked for covers them all.
func stateAt(tl []Entry, now time.Time) state {
	var st state
	cur := -1
	for i, e := range tl {
		if !e.Start.After(now) && (e.End.IsZero() || e.End.After(now)) {
			cur = i
		}
		for _, t := range []time.Time{e.Start, e.End} {
			if t.After(now) && (st.next.IsZero() || t.Before(st.next)) {
				st.next = t
			}
		}
	}
	if cur < 0 {
		return st
	}
	st.body = tl[cur].Body
	if st.body == nil {
		return st
	}
	st.end = tl[cur].End
	for _, e := range tl[cur+1:] {
		if st.end.IsZero() || e.Start.After(st.end) {
			break
		}
		if !bytes.Equal(e.Body, st.body) {
			// A later entry starting inside takes over from its start.
			if e.Start.Before(st.end) {
				st.end = e.Start
			}
			break
		}
		if e.End.IsZero() || e.End.After(st.end) {
			st.end = e.End
		}
		if st.end.IsZero() {
			break
		}
	}
	st.gapAfter = gapAt(tl, st.end)
	return st
}

// gapAt reports whether the timeline holds an explicit "no publication"
// (an entry with a nil Body) at t and no document: the span after a
// segment that the agent decided has nothing to say. The end of the
// timeline is no gap; the agent rebuilds it before then.
func gapAt(tl []Entry, t time.Time) bool {
	if t.IsZero() {
		return false
	}
	gap := false
	for _, e := range tl {
		if !e.Start.After(t) && (e.End.IsZero() || e.End.After(t)) {
			gap = e.Body == nil // the later-starting entry wins
		}
	}
	return gap
}
