package agent

import "github.com/calpresence/calpresence/rules"

// Presence servers merge calpresence's publication with the user's phone's
// own (Kamailio aggregates the tuples of every publication of a
// presentity). The default presence with nothing in it, basic open and no
// activity, mood, place, privacy, sphere or note, adds no information to
// the phone's: published, it reads "available" to a watcher merging the
// tuples even while the user has set the phone to DND or offline. So the
// agent publishes nothing for it: the timeline holds no document there
// (a nil Body), and the publisher lets the publication of the segment
// before it expire at the boundary (publisher.Options.ExpireIntoGaps),
// because Kamailio tells watchers of a removal as a closed tuple and of an
// expiry as the phone's state alone.

// saysNothing reports whether s is the default presence with nothing to
// say beyond "open".
func saysNothing(s rules.Segment) bool {
	st := s.State
	return s.Rule == "" && st.Basic == "open" && len(st.Activities) == 0 && st.Note == "" &&
		len(st.Mood) == 0 && len(st.PlaceType) == 0 && len(st.Privacy) == 0 && st.Sphere == "" && !st.BLF
}

// documentOf is the PIDF document the publisher gets for s: nil for a
// segment that says nothing.
func (p *pipeline) documentOf(s rules.Segment) ([]byte, error) {
	if saysNothing(s) {
		return nil, nil
	}
	return s.Document(p.spec.Publisher.AOR, p.idBase).Marshal()
}
