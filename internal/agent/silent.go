package agent

import (
	"bytes"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// Presence servers merge calpresence's publication with the user's phone's
// own (Kamailio aggregates the tuples of every publication of a
// presentity). The default presence with nothing in it, basic open and no
// activity, mood, place, privacy, sphere or note, adds no information to
// the phone's: published, it reads "available" to a watcher merging the
// tuples even while the user has set the phone to DND or offline. So the
// agent publishes nothing for it: the timeline holds no document there
// (a nil Body), and the publisher removes the publication of the segment
// before it at the boundary, on time, after the farewell (farewell.go):
// Kamailio tells watchers of a plain removal as a closed tuple, of the
// farewell's removal as a tuple that says nothing beside the phone's.
// Letting the publication expire at the boundary instead
// (publisher.Options.ExpireIntoGaps) also leaves the phone's state alone,
// but watchers learn of it only when the server next cleans expired
// publications (Kamailio's clean_period: 100 s by default), not at the
// boundary.

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
	b, err := s.Document(p.spec.Publisher.AOR, p.idBase).Marshal()
	// Kept by the publisher as long as the segment lasts: in a slice of
	// its own size, not the encoder's grown buffer (twice the size).
	return bytes.Clone(b), err
}

// presenceChanged logs each change of what the user's watchers get: the
// published basic, activities and note (the note as published, never more
// of the event) and the rule that decided it ("" for the default). It is
// the publisher's OnChange.
func (p *pipeline) presenceChanged(body []byte, how string) {
	now := p.a.now()
	p.mu.Lock()
	// The segment in force with this document, else its first one: the
	// timeline is not rebuilt as time passes (an unchanged feed costs no
	// rebuild), so earlier segments may still be in it.
	i := -1
	for j, b := range p.bodies {
		if !bytes.Equal(b, body) {
			continue
		}
		if i < 0 {
			i = j
		}
		if p.live[j].End.After(now) {
			i = j
			break
		}
	}
	var s Segment
	if i >= 0 {
		s = p.live[i]
	}
	p.mu.Unlock()
	if i < 0 {
		return // a timeline newer than the document; its own change follows
	}
	until := ""
	if !s.End.IsZero() {
		until = s.End.Format(time.RFC3339)
	}
	p.log.Info("presence changed", "publication", how, "basic", s.Basic,
		"activities", s.Activities, "note", s.Note, "rule", s.Rule, "until", until)
}
