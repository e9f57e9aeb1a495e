package rules

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/calpresence/calpresence/internal/tomlpos"
	"github.com/calpresence/calpresence/pidf"
)

// Error is one mistake in a rules file, at a line and column. It is the
// type config files report theirs with, so callers tell both kinds of
// mistake from other failures with one errors.As.
type Error = tomlpos.Error

// Rules is a compiled rules file. It is immutable and safe for concurrent
// use.
type Rules struct {
	noteLimit int
	lang      string
	def       presence
	work      *workingHours
	rules     []*rule
}

// Load reads and compiles a rules file. Every mistake in it is reported,
// each as FILE:LINE:COL: message.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return Parse(path, data)
}

// Parse compiles a rules file's content; name is used in error messages.
// The error, if any, joins one *Error per mistake (errors.Join), in the
// order of the file.
func Parse(name string, data []byte) (*Rules, error) {
	root, err := tomlpos.Parse(name, data)
	if err != nil {
		return nil, err
	}
	c := &compiler{file: name}
	r := c.compile(root)
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b error) int {
			ea, eb := a.(*Error), b.(*Error)
			if ea.Line != eb.Line {
				return ea.Line - eb.Line
			}
			return ea.Col - eb.Col
		})
		return nil, errors.Join(c.errs...)
	}
	return r, nil
}

// Names returns the rules' names in file order.
func (r *Rules) Names() []string {
	names := make([]string, len(r.rules))
	for i, ru := range r.rules {
		names[i] = ru.name
	}
	return names
}

type rule struct {
	name        string
	index       int
	pos         pos
	priority    int
	ignore      bool
	showPrivate bool
	lead, lag   time.Duration
	match       matcher
	presence    presence
}

type matcher struct {
	caseSensitive                                        bool
	summary, description, location, calendar, categories *regexp.Regexp
	allDay, transparent, organizerIsMe, private          *bool
	status, class, response, busyStatus                  []string
	minAttendees, maxAttendees                           *int
	minDuration, maxDuration                             *time.Duration
	weekdays                                             uint8 // bit i: time.Weekday(i); 0 = any
	timeOfDay                                            *window
}

type presence struct {
	basic      string
	activities []string
	note       *template.Template
	mood       []string
	placeType  []string
	privacy    []string
	sphere     string
	blf        bool
}

type workingHours struct {
	days    uint8
	hours   window
	outside presence
}

// Segment is a span of the timeline with one presence.
type Segment struct {
	Start, End time.Time
	State      State
	Rule       string // the rule that decided it; "" for the default presence
	UID        string // the winning event's UID; "" for the default presence
}

// State is the presence of a segment: what its PIDF document says.
type State struct {
	Basic string // "open" or "closed"
	// Activities are RFC 4480 activity names in publishing order; "other"
	// with a text is written "other:TEXT".
	Activities []string
	// From and Until bound the activities (RPID from/until): the winning
	// event's start and end, widened by its rule's lead and lag; zero when
	// no event applies.
	From, Until time.Time
	Note        string // already shortened to the rules' note_limit
	Lang        string // xml:lang of the note, "" for none
	Mood        []string
	PlaceType   []string
	Privacy     []string
	Sphere      string
	// BLF says that BLF keys watching the user show busy (a lit lamp)
	// during the segment: the rule said blf = true. It goes beside the
	// PIDF document into a dialog-info publication (RFC 4235, package
	// dialoginfo), which is what desk phones' BLF keys subscribe to.
	BLF bool
}

// Equal reports whether s and o publish the same presence.
func (s State) Equal(o State) bool {
	return s.Basic == o.Basic && slices.Equal(s.Activities, o.Activities) &&
		s.From.Equal(o.From) && s.Until.Equal(o.Until) && s.Note == o.Note && s.Lang == o.Lang &&
		slices.Equal(s.Mood, o.Mood) && slices.Equal(s.PlaceType, o.PlaceType) &&
		slices.Equal(s.Privacy, o.Privacy) && s.Sphere == o.Sphere && s.BLF == o.BLF
}

// Document returns the PIDF document that publishes s for the presentity
// aor; ids for its tuple and person derive from idBase (see pidf.IDBase).
// Its timestamps are the segment's start, so equal segments give equal
// bytes.
func (s Segment) Document(aor, idBase string) *pidf.Document {
	st := s.State
	var notes []pidf.Note
	if st.Note != "" {
		notes = []pidf.Note{{Lang: st.Lang, Text: st.Note}}
	}
	p := pidf.Person{ID: idBase + "-p", Notes: notes, Timestamp: s.Start}
	span := pidf.Span{From: st.From, Until: st.Until}
	if len(st.Activities) > 0 {
		a := &pidf.Activities{Span: span}
		for _, name := range st.Activities {
			if text, ok := strings.CutPrefix(name, "other:"); ok {
				a.Values = append(a.Values, pidf.Activity{Name: "other", Text: text})
			} else {
				a.Values = append(a.Values, pidf.Activity{Name: name})
			}
		}
		p.Activities = a
	}
	if len(st.Mood) > 0 {
		m := &pidf.Mood{Span: span}
		m.Values, m.Other = splitOther(st.Mood)
		p.Mood = m
	}
	if len(st.PlaceType) > 0 {
		pt := &pidf.PlaceType{Span: span}
		pt.Values, pt.Other = splitOther(st.PlaceType)
		p.PlaceType = pt
	}
	if len(st.Privacy) > 0 {
		p.Privacy = &pidf.Privacy{Span: span, Values: slices.Clone(st.Privacy)}
	}
	if st.Sphere != "" {
		p.Sphere = &pidf.Sphere{Span: span, Value: st.Sphere}
	}
	return &pidf.Document{
		Entity: aor,
		Tuples: []pidf.Tuple{{
			ID: idBase + "-t", Basic: st.Basic, Contact: aor, Notes: notes, Timestamp: s.Start,
		}},
		Persons: []pidf.Person{p},
	}
}

func splitOther(values []string) (known []string, other string) {
	for _, v := range values {
		if text, ok := strings.CutPrefix(v, "other:"); ok {
			other = text
			continue
		}
		known = append(known, v)
	}
	return known, other
}
