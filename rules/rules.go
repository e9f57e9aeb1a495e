package rules

// API of the rules engine that cmd codes against; the rules issue fills in
// the bodies and the State fields, the signatures are settled.

import (
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/pidf"
)

// Rules is a compiled rules file.
type Rules struct{}

// Load reads and compiles a rules file. Every mistake in it is reported,
// each as FILE:LINE:COL: message.
func Load(path string) (*Rules, error) { panic("rules: built by the rules issue") }

// Parse compiles a rules file's content; name is used in error messages.
func Parse(name string, data []byte) (*Rules, error) { panic("rules: built by the rules issue") }

// Segment is a span of the timeline with one presence.
type Segment struct {
	Start, End time.Time
	State      State
	Rule       string // the rule that decided it; "" for the default presence
	UID        string // the winning event's UID; "" for the default presence
}

// State is the presence of a segment.
type State struct {
	Basic      string // "open" or "closed"
	Activities []string
	Note       string
}

// Timeline returns the presence over [from, to) as contiguous segments,
// neighbours with identical presence merged. loc is the zone of the times
// that notes show. It is a pure function of its arguments.
func (r *Rules) Timeline(occs []calendar.Occurrence, from, to time.Time, loc *time.Location) []Segment {
	panic("rules: built by the rules issue")
}

// Document returns the PIDF document that publishes s for the presentity
// aor; ids for its tuple and person derive from idBase.
func (s Segment) Document(aor, idBase string) *pidf.Document {
	panic("rules: built by the rules issue")
}
