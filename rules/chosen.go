package rules

import (
	"time"

	"github.com/calpresence/calpresence/pidf"
)

// Chosen is the presence a person picked for themselves over [from, until):
// one of the built-in states available, busy, dnd (Do Not Disturb) and
// away, or the presence of a rule of r by its name, which beats the
// calendar while it lasts. note, if not "", replaces the state's note
// (shortened to the rules' note_limit);
// otherwise a rule's note template sees Start = from, End = until and
// Rule = name and no event (Summary and the other event fields are
// empty). A zero until means "until cleared": the note then shows no end,
// and a rule's note is left out, as its "until" would be wrong. ok is
// false for a name that is neither a built-in state nor a rule.
func (r *Rules) Chosen(name string, from, until time.Time, note string, loc *time.Location) (s State, ok bool) {
	if b, found := builtinStates[name]; found {
		s = State{Basic: b.basic, Activities: append([]string(nil), b.activities...), Lang: r.lang}
		s.Note = b.note
		if s.Note != "" && !until.IsZero() {
			s.Note += " until " + until.In(loc).Format("15:04")
		}
	} else {
		var ru *rule
		for _, x := range r.rules {
			if x.name == name && !x.ignore {
				ru = x
				break
			}
		}
		if ru == nil {
			return State{}, false
		}
		var d NoteData
		if !until.IsZero() {
			d = NoteData{Start: from.In(loc), End: until.In(loc), LastDay: until.Add(-time.Nanosecond).In(loc), Rule: name}
		}
		s = r.state(&ru.presence, d)
		if until.IsZero() {
			s.Note = ""
		}
	}
	if note != "" {
		s.Note = pidf.Shorten(note, r.noteLimit)
		s.Lang = r.lang
	}
	if len(s.Activities) > 0 {
		s.From, s.Until = from, until
	}
	return s, true
}

// BuiltinStates are the names Chosen knows besides the rules' names.
var BuiltinStates = []string{"available", "busy", "dnd", "away"}

var builtinStates = map[string]struct {
	basic      string
	activities []string
	note       string
}{
	"available": {basic: "open"},
	"busy":      {basic: "open", activities: []string{"busy"}, note: "Busy"},
	// Closed is Do Not Disturb, as for meetings (CONTRACT.md).
	"dnd":  {basic: "closed", activities: []string{"busy"}, note: "Do not disturb"},
	"away": {basic: "open", activities: []string{"away"}, note: "Away"},
}
