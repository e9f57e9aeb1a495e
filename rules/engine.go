package rules

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// The conditions of a match, in the order they are tried: cheap ones
// first, regular expressions last.
const (
	condNone = iota
	condAllDay
	condTransparent
	condOrganizer
	condPrivate
	condStatus
	condClass
	condResponse
	condBusyStatus
	condMinAttendees
	condMaxAttendees
	condMinDuration
	condMaxDuration
	condWeekday
	condTimeOfDay
	condCalendar
	condCategories
	condSummary
	condLocation
	condDescription
)

// fails returns the first condition of m that o does not meet, condNone
// when it meets them all. It does not allocate: the timeline calls it for
// every event and rule.
func (m *matcher) fails(o *calendar.Occurrence, loc *time.Location) int {
	switch {
	case m.allDay != nil && o.AllDay != *m.allDay:
		return condAllDay
	case m.transparent != nil && o.Transparent != *m.transparent:
		return condTransparent
	case m.organizerIsMe != nil && o.OrganizerIsMe != *m.organizerIsMe:
		return condOrganizer
	case m.private != nil && o.Private() != *m.private:
		return condPrivate
	case m.status != nil && !slices.Contains(m.status, orNone(string(o.Status))):
		return condStatus
	case m.class != nil && !slices.Contains(m.class, orPublic(o.Class)):
		return condClass
	case m.response != nil && !slices.Contains(m.response, orNone(o.Response)):
		return condResponse
	case m.busyStatus != nil && !slices.Contains(m.busyStatus, orNone(o.BusyStatus)):
		return condBusyStatus
	case m.minAttendees != nil && o.Attendees < *m.minAttendees:
		return condMinAttendees
	case m.maxAttendees != nil && o.Attendees > *m.maxAttendees:
		return condMaxAttendees
	case m.minDuration != nil && o.End.Sub(o.Start) < *m.minDuration:
		return condMinDuration
	case m.maxDuration != nil && o.End.Sub(o.Start) > *m.maxDuration:
		return condMaxDuration
	}
	if m.weekdays != 0 || m.timeOfDay != nil {
		start := o.Start.In(loc)
		if m.weekdays != 0 && m.weekdays&(1<<start.Weekday()) == 0 {
			return condWeekday
		}
		if m.timeOfDay != nil && !m.timeOfDay.contains(start.Hour()*60+start.Minute()) {
			return condTimeOfDay
		}
	}
	switch {
	case m.calendar != nil && !m.calendar.MatchString(o.Calendar):
		return condCalendar
	case m.categories != nil && !slices.ContainsFunc(o.Categories, m.categories.MatchString):
		return condCategories
	case m.summary != nil && !m.summary.MatchString(o.Summary):
		return condSummary
	case m.location != nil && !m.location.MatchString(o.Location):
		return condLocation
	case m.description != nil && !m.description.MatchString(o.Description):
		return condDescription
	}
	return condNone
}

// miss returns "" when o fits every condition of m, else why not: the
// first condition that failed, for explain.
func (m *matcher) miss(o *calendar.Occurrence, loc *time.Location) string {
	start := o.Start.In(loc)
	switch m.fails(o, loc) {
	case condAllDay:
		return fmt.Sprintf("all_day is %t, not %t", o.AllDay, *m.allDay)
	case condTransparent:
		return fmt.Sprintf("transparent is %t, not %t", o.Transparent, *m.transparent)
	case condOrganizer:
		return fmt.Sprintf("organizer_is_me is %t, not %t", o.OrganizerIsMe, *m.organizerIsMe)
	case condPrivate:
		return fmt.Sprintf("private is %t, not %t", o.Private(), *m.private)
	case condStatus:
		return fmt.Sprintf("status %q is not one of %q", orNone(string(o.Status)), m.status)
	case condClass:
		return fmt.Sprintf("class %q is not one of %q", orPublic(o.Class), m.class)
	case condResponse:
		return fmt.Sprintf("response %q is not one of %q", orNone(o.Response), m.response)
	case condBusyStatus:
		return fmt.Sprintf("busy_status %q is not one of %q", orNone(o.BusyStatus), m.busyStatus)
	case condMinAttendees:
		return fmt.Sprintf("%d attendees, fewer than min_attendees = %d", o.Attendees, *m.minAttendees)
	case condMaxAttendees:
		return fmt.Sprintf("%d attendees, more than max_attendees = %d", o.Attendees, *m.maxAttendees)
	case condMinDuration:
		return fmt.Sprintf("lasts %v, less than min_duration = %v", o.End.Sub(o.Start), *m.minDuration)
	case condMaxDuration:
		return fmt.Sprintf("lasts %v, more than max_duration = %v", o.End.Sub(o.Start), *m.maxDuration)
	case condWeekday:
		return fmt.Sprintf("starts on a %s, not one of the weekdays", start.Weekday())
	case condTimeOfDay:
		return fmt.Sprintf("starts at %s, outside time_of_day %s", start.Format("15:04"), m.timeOfDay)
	case condCalendar:
		return fmt.Sprintf("calendar %q does not match %s", o.Calendar, pattern(m.calendar))
	case condCategories:
		return fmt.Sprintf("no category of %q matches %s", o.Categories, pattern(m.categories))
	case condSummary:
		return fmt.Sprintf("summary %q does not match %s", o.Summary, pattern(m.summary))
	case condLocation:
		return fmt.Sprintf("location %q does not match %s", o.Location, pattern(m.location))
	case condDescription:
		return fmt.Sprintf("description does not match %s", pattern(m.description))
	}
	return ""
}

// pattern shows a match expression as the rules file wrote it.
func pattern(re *regexp.Regexp) string {
	return "'" + strings.TrimPrefix(re.String(), "(?i)") + "'"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orPublic(c calendar.Class) string {
	if c == "" {
		return string(calendar.ClassPublic)
	}
	return string(c)
}

// decide returns the first rule that o fits, or nil.
func (r *Rules) decide(o *calendar.Occurrence, loc *time.Location) *rule {
	for _, ru := range r.rules {
		if ru.match.fails(o, loc) == condNone {
			return ru
		}
	}
	return nil
}

// cand is an event that counts for presence: it fits a rule that is not
// ignore.
type cand struct {
	start, end int64 // the span it counts for (lead and lag applied), unix ns
	occ        *calendar.Occurrence
	rule       *rule
	state      *State // rendered when it first wins
}

// beats reports whether c wins over d where both apply: the higher
// priority, then the earlier rule, then the event that started last.
func (c *cand) beats(d *cand) bool {
	if c.rule.priority != d.rule.priority {
		return c.rule.priority > d.rule.priority
	}
	if c.rule.index != d.rule.index {
		return c.rule.index < d.rule.index
	}
	if !c.occ.Start.Equal(d.occ.Start) {
		return c.occ.Start.After(d.occ.Start)
	}
	if !c.occ.End.Equal(d.occ.End) { // the shorter one is the more specific
		return c.occ.End.Before(d.occ.End)
	}
	if c.occ.UID != d.occ.UID {
		return c.occ.UID < d.occ.UID
	}
	return c.occ.RecurrenceID.Before(d.occ.RecurrenceID)
}

func (r *Rules) eventState(c *cand, loc *time.Location) State {
	if c.state != nil {
		return *c.state
	}
	p := &c.rule.presence
	s := r.state(p, noteData(c.occ, c.rule, loc))
	// RPID from/until say when the activities hold: the event's span,
	// widened by the rule's lead and lag so that a watcher never sees an
	// activity that has not started yet.
	s.From, s.Until = c.occ.Start.Add(-c.rule.lead), c.occ.End.Add(c.rule.lag)
	c.state = &s
	return s
}

func (r *Rules) state(p *presence, d NoteData) State {
	return State{
		// Clones: a State is the caller's to keep, the rules stay immutable.
		Basic: p.basic, Activities: slices.Clone(p.activities), Note: r.render(p, d), Lang: r.lang,
		Mood: slices.Clone(p.mood), PlaceType: slices.Clone(p.placeType), Privacy: slices.Clone(p.privacy), Sphere: p.sphere,
		BLF: p.blf,
	}
}

func (r *Rules) candidates(occs []calendar.Occurrence, from, to int64, loc *time.Location) []cand {
	var cs []cand
	for i := range occs {
		o := &occs[i]
		ru := r.decide(o, loc)
		if ru == nil || ru.ignore {
			continue
		}
		s, e := o.Start.Add(-ru.lead).UnixNano(), o.End.Add(ru.lag).UnixNano()
		if e <= from || s >= to || e <= s {
			continue
		}
		cs = append(cs, cand{start: s, end: e, occ: o, rule: ru})
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.start, b.start) })
	return cs
}

// spans returns the working-hours spans from a week before from to the
// first one starting at or after to, as unix ns pairs.
func (w *workingHours) spans(from, to int64, loc *time.Location) [][2]int64 {
	var out [][2]int64
	day := time.Unix(0, from).In(loc)
	y, m, d := day.Date()
	for i := -8; ; i++ {
		date := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if date.UnixNano() > to+int64(8*24*time.Hour) {
			return out
		}
		if w.days&(1<<date.Weekday()) == 0 {
			continue
		}
		s := time.Date(y, m, d+i, w.hours.from/60, w.hours.from%60, 0, 0, loc).UnixNano()
		e := time.Date(y, m, d+i, w.hours.to/60, w.hours.to%60, 0, 0, loc).UnixNano()
		out = append(out, [2]int64{s, e})
		if s >= to {
			return out
		}
	}
}

// Timeline returns the presence over [from, to) as contiguous segments,
// neighbours with identical presence merged. loc is the zone of the times
// that notes show. It is a pure function of its arguments.
func (r *Rules) Timeline(occs []calendar.Occurrence, from, to time.Time, loc *time.Location) []Segment {
	if !from.Before(to) {
		return nil
	}
	f, t := from.UnixNano(), to.UnixNano()
	cs := r.candidates(occs, f, t, loc)
	bounds := make([]int64, 0, 2*len(cs)+2)
	bounds = append(bounds, f, t)
	add := func(x int64) {
		if x > f && x < t {
			bounds = append(bounds, x)
		}
	}
	for _, c := range cs {
		add(c.start)
		add(c.end)
	}
	var work [][2]int64
	if r.work != nil {
		work = r.work.spans(f, t, loc)
		for _, w := range work {
			add(w[0])
			add(w[1])
		}
		// Outside working hours, notes may depend on the day ("Back
		// Monday"), so they are decided afresh at each midnight.
		y, m, d := from.In(loc).Date()
		for i := 1; ; i++ {
			mid := time.Date(y, m, d+i, 0, 0, 0, 0, loc).UnixNano()
			if mid >= t {
				break
			}
			add(mid)
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)

	segs := make([]Segment, 0, len(bounds)/2+1)
	var active []*cand
	next, wi := 0, 0
	defState := r.state(&r.def, NoteData{})
	for i := 0; i+1 < len(bounds); i++ {
		at := bounds[i]
		active = slices.DeleteFunc(active, func(c *cand) bool { return c.end <= at })
		for next < len(cs) && cs[next].start <= at {
			if cs[next].end > at {
				active = append(active, &cs[next])
			}
			next++
		}
		var win *cand
		for _, c := range active {
			if win == nil || c.beats(win) {
				win = c
			}
		}
		seg := Segment{Start: time.Unix(0, at).In(loc), End: time.Unix(0, bounds[i+1]).In(loc)}
		switch {
		case win != nil:
			seg.State, seg.Rule, seg.UID = r.eventState(win, loc), win.rule.name, win.occ.UID
		case r.work != nil:
			for wi < len(work) && work[wi][1] <= at {
				wi++
			}
			if wi < len(work) && work[wi][0] <= at {
				seg.State = defState
			} else {
				d := NoteData{Start: seg.Start}
				if wi < len(work) {
					d.Back = time.Unix(0, work[wi][0]).In(loc)
					d.End = d.Back
				}
				seg.State = r.state(&r.work.outside, d)
			}
		default:
			seg.State = defState
		}
		if n := len(segs); n > 0 && segs[n-1].State.Equal(seg.State) {
			segs[n-1].End = seg.End
			continue
		}
		segs = append(segs, seg)
	}
	segs[0].Start, segs[len(segs)-1].End = from, to
	return segs
}

// Explanation says why the presence at one instant is what it is.
type Explanation struct {
	At time.Time
	// Events are the occurrences on at At, or counting for it through a
	// rule's lead or lag, sorted by start.
	Events []EventExplanation
	// Winner indexes Events: the event that decided the presence; -1 when
	// none did.
	Winner int
	// Segment is the timeline segment holding At.
	Segment Segment
	// OutsideWorkingHours is set when no event applies and At is outside
	// the working hours of the rules.
	OutsideWorkingHours bool
}

// EventExplanation is one event of an Explanation.
type EventExplanation struct {
	Occurrence calendar.Occurrence
	// Rule is the first rule the event fits, "" when none does.
	Rule string
	// Ignored is set when that rule says ignore = true, or none fits.
	Ignored bool
	// Misses are the rules before Rule (all of them when none fits), each
	// with the first condition the event failed.
	Misses []Miss
	// Start and End bound when the event counts, its rule's lead and lag
	// applied.
	Start, End time.Time
	// Counts reports whether [Start, End) holds the instant explained.
	Counts bool
}

// Miss is a rule an event did not fit, and why.
type Miss struct {
	Rule   string
	Reason string
}

// Explain tells which events are on at at, which rule each fits (or why
// each earlier rule does not), which one wins, and the resulting segment.
func (r *Rules) Explain(occs []calendar.Occurrence, at time.Time, loc *time.Location) Explanation {
	ex := Explanation{At: at, Winner: -1}
	var best *cand
	for i := range occs {
		o := &occs[i]
		ee := EventExplanation{Occurrence: *o, Start: o.Start, End: o.End, Ignored: true}
		var matched *rule
		for _, ru := range r.rules {
			if why := ru.match.miss(o, loc); why != "" {
				ee.Misses = append(ee.Misses, Miss{Rule: ru.name, Reason: why})
				continue
			}
			matched = ru
			break
		}
		if matched != nil {
			ee.Rule, ee.Ignored = matched.name, matched.ignore
			ee.Start, ee.End = o.Start.Add(-matched.lead), o.End.Add(matched.lag)
		}
		ee.Counts = !ee.Start.After(at) && ee.End.After(at)
		onNow := !o.Start.After(at) && o.End.After(at)
		if !ee.Counts && !onNow {
			continue
		}
		if ee.Counts && !ee.Ignored {
			c := &cand{occ: o, rule: matched}
			if best == nil || c.beats(best) {
				best = c
				ex.Winner = len(ex.Events)
			}
		}
		ex.Events = append(ex.Events, ee)
	}
	const margin = 62 * 24 * time.Hour
	for _, s := range r.Timeline(occs, at.Add(-margin), at.Add(margin), loc) {
		if !s.Start.After(at) && s.End.After(at) {
			ex.Segment = s
		}
	}
	if best == nil && r.work != nil {
		ex.OutsideWorkingHours = true
		n := at.UnixNano()
		for _, w := range r.work.spans(n, n+1, loc) {
			if w[0] <= n && n < w[1] {
				ex.OutsideWorkingHours = false
			}
		}
	}
	return ex
}

// String renders a State briefly, for tables and logs.
func (s State) String() string {
	var b strings.Builder
	b.WriteString(s.Basic)
	if len(s.Activities) > 0 {
		b.WriteString(" [" + strings.Join(s.Activities, ", ") + "]")
	}
	if s.Note != "" {
		fmt.Fprintf(&b, " %q", s.Note)
	}
	return b.String()
}
