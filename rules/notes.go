package rules

import (
	"reflect"
	"strings"
	"text/template"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/pidf"
)

// NoteData is what note templates see as ".": the winning event, its
// times in the configured zone, and for the presence outside working
// hours, when they start again. For private and confidential events the
// text fields read "Private" unless the rule sets show_private = true.
type NoteData struct {
	Summary       string
	Description   string
	Location      string
	Calendar      string
	Categories    []string
	Organizer     string
	AttendeeNames []string
	Attendees     int
	AllDay        bool
	Private       bool
	// Start and End are the event's start and end; outside working hours,
	// the start of the span shown (at the latest the day's midnight) and
	// when working hours start again.
	Start, End time.Time
	// LastDay is the last day the event covers: for an all-day event, the
	// day before its end. Show it with date.
	LastDay time.Time
	// Back is when working hours start again (set outside them).
	Back time.Time
	Rule string
}

// Private is what hidden text reads as.
const Private = "Private"

func noteData(o *calendar.Occurrence, ru *rule, loc *time.Location) NoteData {
	d := NoteData{
		Summary: o.Summary, Description: o.Description, Location: o.Location, Calendar: o.Calendar,
		Categories: o.Categories, Organizer: o.Organizer, AttendeeNames: o.AttendeeNames,
		Attendees: o.Attendees, AllDay: o.AllDay, Private: o.Private(),
		Start: o.Start.In(loc), End: o.End.In(loc), LastDay: o.End.Add(-time.Nanosecond).In(loc), Rule: ru.name,
	}
	if d.Private && !ru.showPrivate {
		d.Summary, d.Description, d.Location, d.Organizer = Private, Private, Private, Private
		d.Categories = hideAll(o.Categories)
		d.AttendeeNames = hideAll(o.AttendeeNames)
	}
	return d
}

func hideAll(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := make([]string, len(s))
	for i := range out {
		out[i] = Private
	}
	return out
}

func sampleNoteData() NoteData {
	t := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return NoteData{Summary: "s", Description: "d", Location: "l", Calendar: "c", Categories: []string{"c"},
		Organizer: "o", AttendeeNames: []string{"a"}, Attendees: 1, Start: t, End: t.Add(time.Hour),
		LastDay: t, Back: t, Rule: "r"}
}

func noteFields() []string {
	t := reflect.TypeFor[NoteData]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// templateFuncs are the helpers of note templates. The times of NoteData
// are already in the configured zone, so the helpers show them as they are.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// clock: "15:04", 24-hour.
		"clock": func(t time.Time) string { return t.Format("15:04") },
		// date: "Fri 5 Mar".
		"date": func(t time.Time) string { return t.Format("Mon 2 Jan") },
		// weekday: "Friday".
		"weekday": func(t time.Time) string { return t.Weekday().String() },
		// format: any Go layout, e.g. {{format "2006-01-02" .Start}}.
		"format": func(layout string, t time.Time) string { return t.Format(layout) },
		// sameday: whether two times fall on the same day.
		"sameday": func(a, b time.Time) bool {
			ya, ma, da := a.Date()
			yb, mb, db := b.Date()
			return ya == yb && ma == mb && da == db
		},
		// days: how many calendar days b is after a (0: the same day).
		"days": func(a, b time.Time) int {
			ya, ma, da := a.Date()
			yb, mb, db := b.Date()
			return int(time.Date(yb, mb, db, 0, 0, 0, 0, time.UTC).Sub(time.Date(ya, ma, da, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		},
		"join":  strings.Join,
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
	}
}

// render runs a note template; a failure (which loading makes unlikely)
// yields the note without the event's text rather than none.
func (r *Rules) render(p *presence, d NoteData) string {
	if p.note == nil {
		return ""
	}
	var sb strings.Builder
	if err := p.note.Execute(&sb, d); err != nil {
		return ""
	}
	return pidf.Shorten(sb.String(), r.noteLimit)
}
