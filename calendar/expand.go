package calendar

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/teambition/rrule-go"
)

// DefaultMaxPerEvent caps the instances of one event in a window when
// ExpandOptions.MaxPerEvent is 0: a minutely series over a week stays
// under it, a secondly one does not.
const DefaultMaxPerEvent = 10000

// maxSkipped bounds how many instances before the window one rule may walk
// over when it cannot jump to the window directly (a COUNT with BY* parts).
const maxSkipped = 200000

// rule is one RRULE of an event, parsed; DTSTART is set when expanding.
type rule struct {
	opt   rrule.ROption
	until Time
}

func (b *builder) rule(v string, start Time) (r rule, notes []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("recurrence rule failed: %v", p)
		}
	}()
	if b.rules == nil {
		b.rules = ruleCache{}
	}
	opt, until, notes, err := ruleOptionIn(v, b.rules)
	if err != nil {
		return rule{}, notes, err
	}
	if start.Kind == KindDate && len(opt.Byhour)+len(opt.Byminute)+len(opt.Bysecond) > 0 {
		// RFC 5545 §3.3.10: with a DATE DTSTART these parts MUST be ignored.
		notes = append(notes, "BYHOUR, BYMINUTE and BYSECOND ignored on a DATE DTSTART")
		opt.Byhour, opt.Byminute, opt.Bysecond = nil, nil, nil
	}
	o := *opt
	o.Dtstart = start.Wall
	if !inBounds(o) {
		// rrule-go's own check, for its words.
		if _, err := rrule.NewRRule(o); err != nil {
			return rule{}, notes, err
		}
	}
	if neverMatches(o) {
		// rrule-go would search up to the year 9999 for an instance.
		return rule{}, notes, errors.New("the rule matches no date")
	}
	return rule{opt: *opt, until: until}, notes, nil
}

// inBounds reports the rules that rrule.NewRRule cannot refuse: it only
// checks the numbers of the BY* parts and BYDAY's ordinals against their
// ranges, and INTERVAL's sign. Building an rrule.RRule only to see that
// was a tenth of the bytes a parse allocated, for the most common rules.
func inBounds(o rrule.ROption) bool {
	if o.Interval < 0 || len(o.Bysecond)+len(o.Byminute)+len(o.Byhour)+len(o.Bymonthday)+
		len(o.Byyearday)+len(o.Byweekno)+len(o.Bymonth)+len(o.Bysetpos) > 0 {
		return false
	}
	for _, w := range o.Byweekday {
		if w.N() > 53 || w.N() < -53 {
			return false
		}
	}
	return true
}

// expander is one worker of an Expand call: what it expands into (p)
// and its scratch.
type expander struct {
	from, to time.Time
	user     *zone
	loc      *time.Location
	max      int
	p        *part       // the part of the events being expanded
	cands    []candidate // scratch, reused from event to event
	slab     []Details   // where details() takes the next Details from
	offs     offsetCache
	lenOf    *Event // the event whose DTEND instance length len is
	len      time.Duration
}

// candScratch is a worker's candidates, kept for the next one: the list
// grows to the most instances one event has in a window. sync.Pool lets
// the garbage collector have it when expansions stop.
var candScratch = sync.Pool{New: func() any { return new([]candidate) }}

// releaseCands returns the candidate list, emptied of pointers (times
// hold a *Location), to the pool.
func (x *expander) releaseCands() {
	l := x.cands[:cap(x.cands)]
	clear(l)
	l = l[:0]
	candScratch.Put(&l)
	x.cands = nil
}

// candidate is one instance of a series before overrides apply.
type candidate struct {
	wall   time.Time // start, wall-clock in the series' zone
	start  time.Time
	end    time.Time // explicit end (RDATE PERIOD), zero if none
	hasEnd bool
}

func (x *expander) warn(e *Event, err error) {
	x.p.warnings = append(x.p.warnings, Warning{Source: e.Source, Line: e.Line, UID: e.UID, Err: err})
}

// span returns an event's instance end for a start at wall time w
// (instant start) per its DTEND, DURATION or neither.
func (x *expander) span(e *Event, z *zone, w, start time.Time) time.Time {
	switch {
	case e.Duration != nil:
		d := *e.Duration
		end := start
		if d.Days != 0 {
			end = x.at(z, w.AddDate(0, 0, d.Days))
		}
		end = end.Add(d.Exact)
		if end.Before(start) {
			return start
		}
		return end
	case !e.End.IsZero():
		if e.AllDay {
			days := int(e.End.Wall.Sub(e.Start.Wall).Hours() / 24)
			if days < 1 {
				days = 1
			}
			return x.at(z, w.AddDate(0, 0, days))
		}
		// RFC 5545 §3.8.5.3: with DTEND every instance has the same exact
		// duration as the first.
		if x.lenOf != e {
			// Once per event, not per instance.
			x.lenOf, x.len = e, max(x.inst(e.End).Sub(x.inst(e.Start)), 0)
		}
		return start.Add(x.len)
	case e.AllDay:
		return x.at(z, w.AddDate(0, 0, 1))
	}
	return start
}

// at is z.instant(wall), by the worker's offset cache.
func (x *expander) at(z *zone, wall time.Time) time.Time { return z.instantIn(wall, &x.offs) }

// inst is t.instant(x.user), by the worker's offset cache.
func (x *expander) inst(t Time) time.Time { return t.zoneFor(x.user).instantIn(t.Wall, &x.offs) }

func (x *expander) overlaps(start, end time.Time) bool {
	if end.Equal(start) {
		return !start.Before(x.from) && start.Before(x.to)
	}
	return start.Before(x.to) && end.After(x.from)
}

// emit records an occurrence whose details are the part's det-th.
func (x *expander) emit(det int32, start, end, recID time.Time) {
	r := occRec{det: det, start: start.Unix(), end: end.Unix()}
	if !recID.IsZero() {
		r.recID, r.hasRecID = recID.Unix(), true
	}
	x.p.add(r)
}

// detailsChunk is how many Details details allocates at once: one
// allocation per event was a tenth of an expansion's allocations.
const detailsChunk = 128

// details makes a copy of e's shared properties for the occurrences of
// this expansion and returns its number in the part.
func (x *expander) details(e *Event) int32 {
	if len(x.slab) == 0 {
		x.slab = make([]Details, detailsChunk)
	}
	d := &x.slab[0]
	x.slab = x.slab[1:]
	*d = Details{
		Calendar: e.Calendar, UID: e.UID, Summary: e.Summary, Description: e.Description,
		Location: e.Location, AllDay: e.AllDay, Status: e.Status, Transparent: e.Transparent,
		Class: e.Class, Response: e.Response, Attendees: e.Attendees, AttendeeNames: e.AttendeeNames,
		Organizer: e.Organizer, OrganizerIsMe: e.OrganizerIsMe, Categories: e.Categories,
		BusyStatus: e.BusyStatus,
	}
	x.p.dets = append(x.p.dets, d)
	x.p.lines = append(x.p.lines, e.Line)
	return int32(len(x.p.dets) - 1)
}

func (x *expander) event(e *Event) {
	z := e.Start.zoneFor(x.user)
	start := x.at(z, e.Start.Wall)
	recurring := len(e.rules) > 0 || len(e.RDates) > 0
	if !recurring {
		end := x.span(e, z, e.Start.Wall, start)
		if x.overlaps(start, end) {
			var rid time.Time
			if !e.RecurrenceID.IsZero() {
				rid = x.inst(e.RecurrenceID)
			}
			x.emit(x.details(e), start, end, rid)
		}
		// Overrides of an event that does not recur still count.
		x.overrides(e, nil, nil, nil)
		return
	}
	// Overrides, by the instant of their RECURRENCE-ID; one whose
	// RECURRENCE-ID is a DATE for a DATE-TIME series, or the reverse, by
	// its day (producers that mix the two still mean that instance).
	var single map[int64]bool
	var singleDays map[time.Time]bool
	var future []futureOverride // RANGE=THISANDFUTURE, by recurrence instant
	var shift time.Duration
	for _, ov := range e.Overrides {
		rid := x.inst(ov.RecurrenceID)
		if single == nil {
			single = map[int64]bool{}
		}
		single[rid.Unix()] = true
		if day, ok := x.mixedDay(e, ov.RecurrenceID); ok {
			if singleDays == nil {
				singleDays = map[time.Time]bool{}
			}
			singleDays[day] = true
		}
		if ov.ThisAndFuture {
			oz := ov.Start.zoneFor(x.user)
			ovStart := x.at(oz, ov.Start.Wall)
			ovEnd := x.overrideEnd(e, ov, oz, ovStart)
			d := ovStart.Sub(rid)
			future = append(future, futureOverride{ev: ov, rid: rid, move: d, length: ovEnd.Sub(ovStart), det: -1})
			if d < 0 {
				d = -d
			}
			shift = max(shift, d)
		}
	}
	sort.Slice(future, func(i, j int) bool { return future[i].rid.Before(future[j].rid) })
	excluded, exDays := x.exclusions(e)

	baseLen := x.span(e, z, e.Start.Wall, start).Sub(start)
	margin := baseLen + shift + 27*time.Hour
	if e.Duration != nil && e.Duration.Days != 0 || e.AllDay {
		margin += 2 * time.Hour
	}
	wallLo := x.from.Add(-margin).UTC()
	wallLo = time.Date(wallLo.Year(), wallLo.Month(), wallLo.Day(), wallLo.Hour(), wallLo.Minute(), wallLo.Second(), 0, time.UTC)
	wallHi := x.to.Add(shift + 27*time.Hour).UTC()

	cands := x.cands[:0]
	defer func() { x.cands = cands[:0] }()
	limit := x.max
	earliest := x.from.Add(-baseLen - shift) // a start before it cannot reach the window
	add := func(c candidate) bool {
		if !c.hasEnd && c.start.Before(earliest) {
			return true
		}
		cands = append(cands, c)
		// Past the cap (with room for EXDATEs and overrides) the rest
		// would be cut anyway; the emit loop below reports it.
		return len(cands) <= 2*limit+16
	}
	// DTSTART is always the first instance (RFC 5545 §3.8.5.3).
	for _, rl := range e.exrules {
		if excluded == nil {
			excluded = map[int64]bool{}
		}
		if err := x.ruleWalls(e, rl, z, wallLo, wallHi, func(w time.Time) bool {
			excluded[x.at(z, w).Unix()] = true
			return true
		}); err != nil {
			x.warn(e, fmt.Errorf("EXRULE: %w", err))
		}
	}
	if !e.Start.Wall.Before(wallLo) && !e.Start.Wall.After(wallHi) {
		add(candidate{wall: e.Start.Wall, start: start})
	}
	for _, rl := range e.rules {
		if err := x.ruleWalls(e, rl, z, wallLo, wallHi, func(w time.Time) bool {
			return add(candidate{wall: w, start: x.at(z, w)})
		}); err != nil {
			x.warn(e, err)
		}
	}
	for _, rd := range e.RDates {
		rz := rd.Start.zoneFor(x.user)
		s := x.at(rz, rd.Start.Wall)
		c := candidate{wall: z.wallOf(s), start: s}
		if e.AllDay && rd.Start.Kind == KindDate {
			c.wall = rd.Start.Wall
		}
		switch {
		case !rd.End.IsZero():
			c.end, c.hasEnd = x.inst(rd.End), true
		case rd.Duration != nil:
			c.end = s
			if rd.Duration.Days != 0 {
				c.end = x.at(rz, rd.Start.Wall.AddDate(0, 0, rd.Duration.Days))
			}
			c.end, c.hasEnd = c.end.Add(rd.Duration.Exact), true
		}
		if c.hasEnd && c.end.Before(c.start) {
			c.end = c.start
		}
		if c.start.Before(x.from.Add(-margin-durOf(c))) || c.start.After(wallHi) {
			continue
		}
		add(c)
	}
	byStart := func(a, b candidate) int { return a.start.Compare(b.start) }
	if !slices.IsSortedFunc(cands, byStart) {
		slices.SortStableFunc(cands, byStart)
	}

	n := 0
	var last candidate
	master := int32(-1) // the series' details, made for its first instance
	for i, c := range cands {
		if i > 0 && c.start.Equal(last.start) && c.wall.Equal(last.wall) {
			// The recurrence set has no duplicates. Two local times that
			// meet on the time line (one in a DST gap, RFC 5545 §3.3.10)
			// are still two instances.
			continue
		}
		last = c
		key := c.start.Unix()
		if excluded[key] || single[key] {
			continue
		}
		if exDays != nil && exDays[dayOf(c.wall)] || singleDays != nil && singleDays[dayOf(c.wall)] {
			continue
		}
		s, end := c.start, c.end
		if !c.hasEnd {
			end = x.span(e, z, c.wall, c.start)
		}
		// The latest THISANDFUTURE override before this instance moves it
		// by its own offset and lends it its properties and length.
		fj := -1
		for j := len(future) - 1; j >= 0; j-- {
			f := future[j]
			if f.rid.After(c.start) {
				continue
			}
			s = c.start.Add(f.move)
			end = s.Add(f.length)
			fj = j
			break
		}
		if !x.overlaps(s, end) {
			continue
		}
		if n >= limit {
			x.warn(e, fmt.Errorf("more than %d instances in the window: the rest are left out", limit))
			break
		}
		n++
		// The instances of a series share one Details, and those an
		// override governs share the override's.
		if fj < 0 {
			if master < 0 {
				master = x.details(e)
			}
			x.emit(master, s, end, c.start)
		} else {
			f := &future[fj]
			if f.det < 0 {
				f.det = x.details(f.ev)
			}
			x.emit(f.det, s, end, c.start)
		}
	}
	x.overrides(e, excluded, exDays, future)
}

func dayOf(w time.Time) time.Time {
	return time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
}

// exclusions returns a series' EXDATEs: instants, and days for DATE
// EXDATEs on a timed series (which remove that day's instances).
func (x *expander) exclusions(e *Event) (map[int64]bool, map[time.Time]bool) {
	var excluded map[int64]bool
	var exDays map[time.Time]bool
	for _, ex := range e.ExDates {
		if ex.Kind == KindDate && !e.AllDay {
			if exDays == nil {
				exDays = map[time.Time]bool{}
			}
			exDays[ex.Wall] = true
			continue
		}
		if excluded == nil {
			excluded = map[int64]bool{}
		}
		excluded[x.inst(ex).Unix()] = true
		if e.AllDay && ex.Kind != KindDate {
			// A DATE-TIME EXDATE on an all-day series: its day.
			if exDays == nil {
				exDays = map[time.Time]bool{}
			}
			exDays[dayOf(x.wallIn(ex))] = true
		}
	}
	return excluded, exDays
}

// wallIn returns the wall time whose day a DATE-TIME names for an
// all-day series: as written, except a UTC time off midnight, which is
// read in the user's zone. RECURRENCE-ID:20200921T000000Z (a date written
// as UTC midnight) is the 21st in every zone; 20260302T230000Z (local
// midnight of the 3rd in Berlin, converted to UTC) is the 3rd there.
func (x *expander) wallIn(t Time) time.Time {
	if t.Kind == KindUTC && !t.Wall.Equal(dayOf(t.Wall)) {
		return x.user.wallOf(t.Wall)
	}
	return t.Wall
}

// mixedDay returns the day a RECURRENCE-ID names when its type differs
// from the series' DTSTART: a DATE for a DATE-TIME series, a DATE-TIME
// for a DATE series.
func (x *expander) mixedDay(e *Event, rid Time) (time.Time, bool) {
	switch {
	case rid.Kind == KindDate && !e.AllDay:
		return rid.Wall, true
	case rid.Kind != KindDate && e.AllDay:
		return dayOf(x.wallIn(rid)), true
	}
	return time.Time{}, false
}

// futureOverride is a RANGE=THISANDFUTURE override, placed once per
// expansion rather than once per instance it moves.
type futureOverride struct {
	ev     *Event
	rid    time.Time     // its RECURRENCE-ID's instant
	move   time.Duration // from its RECURRENCE-ID to its start
	length time.Duration // of the instances it governs
	det    int32         // their details in the part, once the first is emitted; else -1
}

func durOf(c candidate) time.Duration {
	if c.hasEnd {
		return c.end.Sub(c.start)
	}
	return 0
}

// overrideEnd is an override's end: its own DTEND or DURATION, else the
// length of the series' instances.
func (x *expander) overrideEnd(master, ov *Event, oz *zone, ovStart time.Time) time.Time {
	if ov.Duration != nil || !ov.End.IsZero() || master == ov {
		return x.span(ov, oz, ov.Start.Wall, ovStart)
	}
	mz := master.Start.zoneFor(x.user)
	ms := x.at(mz, master.Start.Wall)
	return ovStart.Add(x.span(master, mz, master.Start.Wall, ms).Sub(ms))
}

// overrides emits the RECURRENCE-ID components of a series: each is an
// occurrence of its own, whether or not the rule generates its instance,
// unless an EXDATE removes its instance (RFC 5545 §3.8.5.1: EXDATE
// excludes the instance, whatever it has become).
// The details of a THISANDFUTURE override are those its instances in
// future already have, if any.
func (x *expander) overrides(e *Event, excluded map[int64]bool, exDays map[time.Time]bool, future []futureOverride) {
	for _, ov := range e.Overrides {
		if excluded[x.inst(ov.RecurrenceID).Unix()] {
			continue
		}
		if ov.sequence < e.sequence && !x.generates(e, ov.RecurrenceID) {
			// An override made for an older revision of the series, of an
			// instance the newer one no longer has (RFC 5546 §2.1.5).
			continue
		}
		if exDays != nil {
			day := dayOf(x.wallIn(ov.RecurrenceID))
			if ov.RecurrenceID.Kind != KindDate && !e.AllDay {
				day = dayOf(e.Start.zoneFor(x.user).wallOf(x.inst(ov.RecurrenceID)))
			}
			if exDays[day] {
				continue
			}
		}
		oz := ov.Start.zoneFor(x.user)
		s := x.at(oz, ov.Start.Wall)
		end := x.overrideEnd(e, ov, oz, s)
		if x.overlaps(s, end) {
			det := int32(-1)
			for i := range future {
				if future[i].ev == ov {
					if future[i].det < 0 {
						future[i].det = x.details(ov)
					}
					det = future[i].det
				}
			}
			if det < 0 {
				det = x.details(ov)
			}
			x.emit(det, s, end, x.inst(ov.RecurrenceID))
		}
	}
}

var errTooCostly = errors.New("recurrence rule too costly to reach the window: instances left out")

var pyWeekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// ruleWalls calls f with the wall-clock starts a rule generates in
// [lo, hi], until f returns false. rrule-go walks from DTSTART, so a rule
// without COUNT is first moved to a DTSTART aligned with its period just
// before the window (after making the parts it derives from DTSTART
// explicit), and a simple rule with COUNT skips whole periods; either way
// the cost follows the window, not the series' age.
func (x *expander) ruleWalls(e *Event, rl rule, z *zone, lo, hi time.Time, f func(time.Time) bool) (err error) {
	defer func() {
		// rrule-go is third-party code on untrusted input: a panic in it
		// costs this rule, not the process.
		if r := recover(); r != nil {
			err = fmt.Errorf("recurrence rule failed: %v", r)
		}
	}()
	opt := rl.opt
	dt := e.Start.Wall
	opt.Dtstart = dt
	until, err := x.until(e, rl, z)
	if err != nil {
		return err
	}
	if until.IsZero() || until.After(hi) {
		until = hi
	}
	if until.Before(lo) || until.Before(dt) {
		return nil
	}
	opt.Until = until
	interval := max(opt.Interval, 1)
	var next func() (time.Time, bool)
	if ownSet(opt) {
		if next, err = setIterator(opt, dt); err != nil {
			return fmt.Errorf("RRULE: %w", err)
		}
	} else if opt.Count == 0 {
		explicit(&opt, dt)
		if ns, ok := aligned(opt.Freq, opt.Wkst, interval, dt, lo); ok {
			opt.Dtstart = ns
		}
	} else if !startsOnRule(opt) {
		// RFC 5545 §3.3.10: DTSTART counts as the first of COUNT
		// instances even when the rule would not generate it.
		if opt.Count--; opt.Count == 0 {
			return nil
		}
	} else if ns, skipped, ok := skipCount(opt, interval, dt, lo); ok {
		if skipped >= opt.Count {
			return nil
		}
		opt.Dtstart, opt.Count = ns, opt.Count-skipped
	}
	var simple simpleRule
	if next == nil && simple.init(opt) {
		next = simple.next
	}
	if next == nil {
		rr, err := rrule.NewRRule(opt)
		if err != nil {
			return fmt.Errorf("RRULE: %w", err)
		}
		next = rr.Iterator()
	}
	for skipped := 0; ; {
		w, ok := next()
		if !ok || w.After(hi) {
			return nil
		}
		if w.Before(lo) {
			if skipped++; skipped > maxSkipped {
				return errTooCostly
			}
			continue
		}
		if !f(w) {
			return nil
		}
	}
}

// neverMatches reports rules whose BYMONTHDAY fits none of their BYMONTH
// months (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30), the common way to write a
// rule without instances.
func neverMatches(o rrule.ROption) bool {
	if len(o.Bysetpos) > 0 {
		// BYSETPOS picks from each period's set: past its size it
		// picks nothing, ever.
		n := maxSetSize(o)
		fits := false
		for _, p := range o.Bysetpos {
			if p <= n && -p <= n {
				fits = true
			}
		}
		if !fits {
			return true
		}
	}
	if len(o.Bymonth) == 0 || len(o.Bymonthday) == 0 {
		return false
	}
	longest := 0
	for _, m := range o.Bymonth {
		longest = max(longest, daysIn(time.Month(m), 2024)) // a leap year
	}
	for _, d := range o.Bymonthday {
		if d <= longest && -d <= longest {
			return false
		}
	}
	return true
}

// maxSetSize bounds the number of instances a rule yields per period.
func maxSetSize(o rrule.ROption) int {
	days := map[rrule.Frequency]int{rrule.YEARLY: 366, rrule.MONTHLY: 31, rrule.WEEKLY: 7}[o.Freq]
	if days == 0 {
		days = 1
	}
	ordinals := len(o.Byweekday) > 0
	for _, w := range o.Byweekday {
		if w.N() == 0 {
			ordinals = false
		}
	}
	if ordinals && (o.Freq == rrule.MONTHLY || o.Freq == rrule.YEARLY) {
		n := len(o.Byweekday)
		if o.Freq == rrule.YEARLY && len(o.Bymonth) > 0 {
			n *= len(o.Bymonth)
		}
		days = min(days, n)
	}
	if len(o.Bymonthday) > 0 && o.Freq == rrule.MONTHLY {
		days = min(days, len(o.Bymonthday))
	}
	if len(o.Byyearday) > 0 && o.Freq == rrule.YEARLY {
		days = min(days, len(o.Byyearday))
	}
	times := 1
	for _, l := range [][]int{o.Byhour, o.Byminute, o.Bysecond} {
		times *= max(len(l), 1)
	}
	return days * times
}

// startsOnRule reports whether the rule's first instance is its DTSTART.
func startsOnRule(o rrule.ROption) (on bool) {
	defer func() {
		if recover() != nil {
			on = true
		}
	}()
	o.Count = 1
	var simple simpleRule
	if simple.init(o) {
		// As rrule-go would say (FuzzSimpleIterator), without building
		// an RRule for every rule with COUNT on every expansion.
		first, ok := simple.next()
		return ok && first.Equal(o.Dtstart)
	}
	rr, err := rrule.NewRRule(o)
	if err != nil {
		return true
	}
	first, ok := rr.Iterator()()
	return ok && first.Equal(o.Dtstart)
}

// until returns a rule's UNTIL as a wall-clock time in the series' zone.
// RFC 5545 §3.3.10: UNTIL is a DATE for DATE series, else UTC for zoned
// series and floating for floating ones; the other forms are read sensibly.
func (x *expander) until(e *Event, rl rule, z *zone) (time.Time, error) {
	u := rl.until
	switch u.Kind {
	case KindNone:
		return time.Time{}, nil
	case KindDate:
		if e.AllDay {
			return u.Wall, nil
		}
		return u.Wall.Add(24*time.Hour - time.Second), nil // the whole day counts
	case KindUTC:
		if e.Start.Kind == KindUTC {
			return u.Wall, nil
		}
		return z.wallOf(u.Wall), nil
	}
	return u.Wall, nil
}

// explicit writes out the rule parts rrule-go derives from DTSTART (its
// buildRRule), so that DTSTART can move without changing the rule.
func explicit(o *rrule.ROption, dt time.Time) {
	if len(o.Byweekno) == 0 && len(o.Byyearday) == 0 && len(o.Bymonthday) == 0 && len(o.Byweekday) == 0 && len(o.Byeaster) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(dt.Month())}
			}
			o.Bymonthday = []int{dt.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{dt.Day()}
		case rrule.WEEKLY:
			o.Byweekday = []rrule.Weekday{pyWeekdays[dt.Weekday()]}
		}
	}
	if len(o.Byhour) == 0 && o.Freq < rrule.HOURLY {
		o.Byhour = []int{dt.Hour()}
	}
	if len(o.Byminute) == 0 && o.Freq < rrule.MINUTELY {
		o.Byminute = []int{dt.Minute()}
	}
	if len(o.Bysecond) == 0 && o.Freq < rrule.SECONDLY {
		o.Bysecond = []int{dt.Second()}
	}
}

// aligned returns the start of the rule's period (year, month, week,
// day, hour, minute, second) that lies a whole number of intervals after
// dt's and at least one interval before lo.
func aligned(freq rrule.Frequency, wkst rrule.Weekday, interval int, dt, lo time.Time) (time.Time, bool) {
	if !lo.After(dt) {
		return time.Time{}, false
	}
	day := time.Date(dt.Year(), dt.Month(), dt.Day(), 0, 0, 0, 0, time.UTC)
	var ns time.Time
	switch freq {
	case rrule.YEARLY:
		k := (lo.Year()-dt.Year())/interval - 1
		if k <= 0 {
			return time.Time{}, false
		}
		ns = time.Date(dt.Year()+k*interval, 1, 1, 0, 0, 0, 0, time.UTC)
	case rrule.MONTHLY:
		months := (lo.Year()-dt.Year())*12 + int(lo.Month()) - int(dt.Month())
		k := months/interval - 1
		if k <= 0 {
			return time.Time{}, false
		}
		ns = time.Date(dt.Year(), dt.Month()+time.Month(k*interval), 1, 0, 0, 0, 0, time.UTC)
	case rrule.WEEKLY:
		wd := (int(dt.Weekday()) + 6) % 7 // Monday = 0, as rrule-go counts
		back := (wd - wkst.Day() + 7) % 7
		weekStart := day.AddDate(0, 0, -back)
		k := int(lo.Sub(weekStart).Hours()/24)/(7*interval) - 1
		if k <= 0 {
			return time.Time{}, false
		}
		ns = weekStart.AddDate(0, 0, k*7*interval)
	case rrule.DAILY:
		k := int(lo.Sub(day).Hours()/24)/interval - 1
		if k <= 0 {
			return time.Time{}, false
		}
		ns = day.AddDate(0, 0, k*interval)
	case rrule.HOURLY, rrule.MINUTELY, rrule.SECONDLY:
		unit := map[rrule.Frequency]time.Duration{rrule.HOURLY: time.Hour, rrule.MINUTELY: time.Minute, rrule.SECONDLY: time.Second}[freq]
		base := dt.Truncate(unit)
		k := int64(lo.Sub(base)/unit)/int64(interval) - 1
		if k <= 0 {
			return time.Time{}, false
		}
		ns = base.Add(time.Duration(k*int64(interval)) * unit)
	default:
		return time.Time{}, false
	}
	return ns, true
}

// skipCount handles a COUNT rule with one instance per period (no BY*
// parts, no month end or leap day to skip): instance n is DTSTART plus n
// intervals, so whole periods before lo can be counted off without walking
// them.
func skipCount(o rrule.ROption, interval int, dt, lo time.Time) (time.Time, int, bool) {
	if len(o.Bysetpos)+len(o.Bymonth)+len(o.Bymonthday)+len(o.Byyearday)+len(o.Byweekno)+
		len(o.Byweekday)+len(o.Byhour)+len(o.Byminute)+len(o.Bysecond)+len(o.Byeaster) > 0 || !lo.After(dt) {
		return time.Time{}, 0, false
	}
	step := func(k int) time.Time {
		switch o.Freq {
		case rrule.YEARLY:
			return dt.AddDate(k*interval, 0, 0)
		case rrule.MONTHLY:
			return dt.AddDate(0, k*interval, 0)
		case rrule.WEEKLY:
			return dt.AddDate(0, 0, 7*k*interval)
		case rrule.DAILY:
			return dt.AddDate(0, 0, k*interval)
		case rrule.HOURLY:
			return dt.Add(time.Duration(k*interval) * time.Hour)
		case rrule.MINUTELY:
			return dt.Add(time.Duration(k*interval) * time.Minute)
		}
		return dt.Add(time.Duration(k*interval) * time.Second)
	}
	var per time.Duration
	switch o.Freq {
	case rrule.YEARLY:
		if dt.Month() == 2 && dt.Day() == 29 {
			return time.Time{}, 0, false
		}
		per = 366 * 24 * time.Hour
	case rrule.MONTHLY:
		if dt.Day() > 28 {
			return time.Time{}, 0, false
		}
		per = 31 * 24 * time.Hour
	case rrule.WEEKLY:
		per = 7 * 24 * time.Hour
	case rrule.DAILY:
		per = 24 * time.Hour
	case rrule.HOURLY:
		per = time.Hour
	case rrule.MINUTELY:
		per = time.Minute
	default:
		per = time.Second
	}
	// An estimate from the longest period length, never past lo.
	k := int(int64(lo.Sub(dt)/per)/int64(interval)) - 1
	if k <= 0 {
		return time.Time{}, 0, false
	}
	return step(k), k, true
}

// mixedByDay reports a BYDAY that mixes ordinal days with plain ones
// (BYDAY=3MO,WE,FR): rrule-go yields no instance at all for it.
func mixedByDay(o rrule.ROption) bool {
	ord, plain := false, false
	for _, d := range o.Byweekday {
		if d.N() != 0 {
			ord = true
		} else {
			plain = true
		}
	}
	return ord && plain && (o.Freq == rrule.MONTHLY || o.Freq == rrule.YEARLY)
}

// weekStart returns the first day (per WKST) of the week dt lies in, at
// dt's time of day.
func weekStart(wkst rrule.Weekday, dt time.Time) time.Time {
	wd := (int(dt.Weekday()) + 6) % 7 // Monday = 0, as rrule-go counts
	return dt.AddDate(0, 0, -((wd - wkst.Day() + 7) % 7))
}

// ownSet reports the rules rrule-go expands wrongly, which setIterator
// expands instead:
//   - a weekly BYSETPOS whose DTSTART is not the week's first day: rrule-go
//     picks from the days from DTSTART on, RFC 5545 §3.3.10 from the whole
//     week (FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2 from a Wednesday is
//     Tuesday, before DTSTART, so nothing in the first week; rrule-go says
//     Thursday);
//   - a BYDAY that mixes ordinal and plain days without BYSETPOS
//     (FREQ=MONTHLY;BYDAY=3MO,WE,FR): the union of its two halves.
func ownSet(o rrule.ROption) bool {
	if len(o.Bysetpos) > 0 && o.Freq == rrule.WEEKLY && !weekStart(o.Wkst, o.Dtstart).Equal(o.Dtstart) {
		return true
	}
	return len(o.Bysetpos) == 0 && mixedByDay(o)
}

// setIterator expands a rule that ownSet picked: as one or two rrule-go
// rules without COUNT, started where the RFC's set starts, merged in
// order without duplicates, with instances before DTSTART dropped and
// COUNT applied here (DTSTART counting as the first, RFC 5545 §3.3.10).
func setIterator(opt rrule.ROption, dt time.Time) (func() (time.Time, bool), error) {
	count := opt.Count
	explicit(&opt, dt)
	opt.Count = 0
	subs := []rrule.ROption{opt}
	if len(opt.Bysetpos) == 0 && mixedByDay(opt) {
		ord, plain := opt, opt
		ord.Byweekday, plain.Byweekday = nil, nil
		for _, d := range opt.Byweekday {
			if d.N() != 0 {
				ord.Byweekday = append(ord.Byweekday, d)
			} else {
				plain.Byweekday = append(plain.Byweekday, d)
			}
		}
		subs = []rrule.ROption{ord, plain}
	}
	type head struct {
		next func() (time.Time, bool)
		w    time.Time
		ok   bool
	}
	heads := make([]head, len(subs))
	for i, o := range subs {
		if o.Freq == rrule.WEEKLY && len(o.Bysetpos) > 0 {
			o.Dtstart = weekStart(o.Wkst, dt)
		}
		rr, err := rrule.NewRRule(o)
		if err != nil {
			return nil, err
		}
		heads[i].next = rr.Iterator()
		heads[i].w, heads[i].ok = heads[i].next()
	}
	n, first := 0, true
	var last time.Time
	return func() (time.Time, bool) {
		for {
			best := -1
			for i, h := range heads {
				if h.ok && (best < 0 || h.w.Before(heads[best].w)) {
					best = i
				}
			}
			if best < 0 {
				return time.Time{}, false
			}
			w := heads[best].w
			heads[best].w, heads[best].ok = heads[best].next()
			if w.Before(dt) || !first && w.Equal(last) {
				continue
			}
			if first && count > 0 && !w.Equal(dt) {
				n++ // DTSTART, off the rule, was the first instance
			}
			first, last = false, w
			if count > 0 {
				if n >= count {
					return time.Time{}, false
				}
				n++
			}
			return w, true
		}
	}, nil
}

// generates reports whether a series has an instance at a RECURRENCE-ID:
// its DTSTART, an RDATE or an instance of one of its rules. RECURRENCE-IDs
// of the other value type (DATE for DATE-TIME) count as generated.
func (x *expander) generates(e *Event, rid Time) bool {
	if _, mixed := x.mixedDay(e, rid); mixed {
		return true
	}
	at := x.inst(rid)
	z := e.Start.zoneFor(x.user)
	if x.at(z, e.Start.Wall).Equal(at) {
		return true
	}
	for _, rd := range e.RDates {
		if x.inst(rd.Start).Equal(at) {
			return true
		}
	}
	w := z.wallOf(at)
	if e.AllDay {
		w = rid.Wall
	}
	found := false
	for _, rl := range e.rules {
		_ = x.ruleWalls(e, rl, z, w, w, func(g time.Time) bool {
			found = found || g.Equal(w)
			return !found
		})
		if found {
			return true
		}
	}
	return false
}
