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
	return st
}
