package agent

import (
	"slices"
	"strings"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// UserTimeline is what a status page draws of one user: the segments of
// the timeline the agent last built, over its whole window (from the day
// before today to the horizon), in the user's zone.
type UserTimeline struct {
	ID       string
	Zone     *time.Location
	Segments []Segment // contiguous, sorted; nil before the first timeline
}

// segmentInfos is what the agent keeps of a timeline: the published state
// of each segment, never the events behind it. A note is the rules'
// output, in which private events read as "Private".
func segmentInfos(segs []rules.Segment, o *Override) []Segment {
	infos := make([]Segment, len(segs))
	for i, s := range segs {
		infos[i] = Segment{Start: s.Start, End: s.End, Basic: s.State.Basic,
			Activities: strings.Join(s.State.Activities, ","), Rule: s.Rule, Note: s.State.Note,
			Override: o != nil && !s.Start.Before(o.Since) && (o.Until.IsZero() || !s.End.After(o.Until))}
	}
	return infos
}

// Timeline returns the timeline of user id; false if the agent has no such
// user.
func (a *Agent) Timeline(id string) (UserTimeline, bool) {
	a.mu.Lock()
	p := a.users[id]
	a.mu.Unlock()
	if p == nil {
		return UserTimeline{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// p.segs is replaced, never changed in place: the clone is for the
	// caller's freedom to modify it.
	return UserTimeline{ID: p.id, Zone: p.spec.Zone, Segments: slices.Clone(p.segs)}, true
}
