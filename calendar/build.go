package calendar

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teambition/rrule-go"
)

// builder turns the components of one calendar object into events. Both
// iCalendar libraries feed it, so every source yields the same model.
type builder struct {
	opts      ParseOptions
	user      *zone
	vtimezone map[string]*component
	zones     map[string]*zone
	warnings  []Warning
	me        []string
	// floatTZ is the X-WR-TIMEZONE of the calendar object being read:
	// Google and Outlook feeds write it for times that carry no TZID.
	floatTZ string
	// unknownTZ are the warnings about an unknown TZID, by their index in
	// warnings: of the builders of a stream's parts, only the first says it.
	unknownTZ []unknownTZ
	// rules are the rules read so far, for ruleOptionIn.
	rules ruleCache
}

type unknownTZ struct {
	index int
	tzid  string
}

func newBuilder(opts ParseOptions) *builder {
	b := &builder{opts: opts, user: locZone(opts.Zone), zones: map[string]*zone{}}
	for _, m := range opts.Me {
		if m = normAddr(m); m != "" {
			b.me = append(b.me, m)
		}
	}
	return b
}

func (b *builder) warn(line int, uid string, err error) {
	b.warnings = append(b.warnings, Warning{Source: b.opts.Source, Line: line, UID: uid, Err: err})
}

// build turns top-level components into events: VTIMEZONEs first (they may
// follow the events that use them), then VEVENTs grouped by UID with their
// overrides. Other components (VTODO, VJOURNAL, VFREEBUSY) are ignored.
func (b *builder) build(tops []*component) []*Event {
	b.vtimezone = map[string]*component{}
	for _, c := range tops {
		if c.name == "VTIMEZONE" && c.err == nil {
			if p := c.prop("TZID"); p != nil {
				b.vtimezone[strings.TrimSpace(unescapeText(p.value))] = c
			}
		}
	}
	events := b.events(tops)
	var (
		masters   []*Event
		byUID     = make(map[string]*Event, len(events)) // growing it was a tenth of the builder's time
		overrides []*Event
	)
	for _, ev := range events {
		if ev == nil {
			continue
		}
		if !ev.RecurrenceID.IsZero() {
			overrides = append(overrides, ev)
			continue
		}
		if old := byUID[ev.UID]; old != nil && newer(ev, old) != newer(old, ev) {
			// Two revisions of one event (a feed that concatenates
			// updates, an export with its iTIP history, RFC 5546 §2.1.5):
			// the higher SEQUENCE, then the later DTSTAMP, wins.
			if newer(ev, old) {
				i := slices.Index(masters, old)
				masters[i] = ev
				byUID[ev.UID] = ev
			}
			continue
		}
		masters = append(masters, ev)
		if _, dup := byUID[ev.UID]; !dup && ev.UID != "" {
			byUID[ev.UID] = ev
		}
	}
	var noUID []*Event // masters without UID, for overrides without one
	for _, m := range masters {
		if m.UID == "" {
			noUID = append(noUID, m)
		}
	}
	for _, ov := range overrides {
		m := byUID[ov.UID]
		if ov.UID == "" {
			m = b.seriesOf(ov, noUID)
		}
		if m != nil && m.deleted {
			continue // its series is deleted
		}
		if m == nil {
			// An instance without its series (an invitation to one
			// occurrence): it stands alone.
			masters = append(masters, ov)
			continue
		}
		b.addOverride(m, ov)
	}
	return slices.DeleteFunc(masters, func(e *Event) bool { return e.deleted })
}

// events reads the VEVENTs among tops: the event of tops[i] is at index i,
// nil for another component or one that was skipped. Warnings come in the
// order of tops.
//
// Many components are read in parts on GOMAXPROCS workers, each part by a
// builder of its own; the stream's VTIMEZONEs are resolved before, so that
// whether a TZID resolves does not depend on which part asked first. A
// stream with a VTIMEZONE that cannot be read is read sequentially: its
// first use warns and later ones read the user's zone, as they always did.
func (b *builder) events(tops []*component) []*Event {
	events := make([]*Event, len(tops))
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 || len(tops) < 2*buildPart || !b.resolveZones() {
		for i, c := range tops {
			events[i] = b.topEvent(c)
		}
		return events
	}
	parts := make([]*builder, min(4*procs, len(tops)/buildPart))
	var wg sync.WaitGroup
	for k := range parts {
		lo, hi := k*len(tops)/len(parts), (k+1)*len(tops)/len(parts)
		p := &builder{opts: b.opts, user: b.user, vtimezone: b.vtimezone, zones: maps.Clone(b.zones), me: b.me}
		parts[k] = p
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				events[i] = p.topEvent(tops[i])
			}
		})
	}
	wg.Wait()
	warned := map[string]bool{}
	for _, p := range parts {
		unknown := p.unknownTZ
		for i, w := range p.warnings {
			if len(unknown) > 0 && unknown[0].index == i {
				tzid := unknown[0].tzid
				unknown = unknown[1:]
				if warned[tzid] {
					continue // an earlier part said it
				}
				warned[tzid] = true
			}
			b.warnings = append(b.warnings, w)
		}
	}
	return events
}

// buildPart is the fewest components a worker of events reads.
const buildPart = 256

// resolveZones resolves every VTIMEZONE that no zone database knows,
// and reports whether all could be read.
func (b *builder) resolveZones() bool {
	for tzid, c := range b.vtimezone {
		if _, ok := b.zones[tzid]; ok || knownZone(tzid) != nil {
			continue
		}
		z, err := customZone(tzid, c)
		if err != nil {
			return false
		}
		b.zones[tzid] = z
	}
	return true
}

// topEvent reads one top-level component: its notes become warnings, a
// VEVENT its event (nil when it cannot be read).
func (b *builder) topEvent(c *component) *Event {
	for _, n := range c.notes {
		b.warn(n.line, c.uid, n.err)
	}
	if c.name != "VEVENT" {
		return nil
	}
	b.floatTZ = ""
	if c.cal != nil {
		b.floatTZ = c.cal.xwrTZ
	}
	if c.err != nil {
		b.warn(c.line, c.uid, fmt.Errorf("skipped VEVENT: %w", c.err))
		return nil
	}
	ev, err := b.event(c)
	if err != nil {
		b.warn(c.line, c.uid, fmt.Errorf("skipped VEVENT: %w", err))
		return nil
	}
	return ev
}

// seriesOf finds the series of an override without UID (hand-written and
// converted calendars leave UIDs out): the UID-less series of the same
// value type that has an instance at its RECURRENCE-ID; a DATE-TIME
// RECURRENCE-ID of an all-day series by its day.
func (b *builder) seriesOf(ov *Event, masters []*Event) *Event {
	x := &expander{user: b.user, loc: time.UTC}
	for _, m := range masters {
		rid := ov.RecurrenceID
		if m.AllDay && rid.Kind != KindDate {
			rid = Time{Wall: dayOf(x.wallIn(rid)), Kind: KindDate}
		}
		if (rid.Kind == KindDate) == m.AllDay && x.generates(m, rid) {
			return m
		}
	}
	return nil
}

// newer reports whether revision a supersedes b: a higher SEQUENCE, or the
// same SEQUENCE and a later DTSTAMP (RFC 5546 §2.1.5). Equal revisions:
// the later in the stream, a, wins.
func newer(a, b *Event) bool {
	if a.sequence != b.sequence {
		return a.sequence > b.sequence
	}
	return !a.dtstamp.Before(b.dtstamp)
}

// addOverride adds an override to its series; of two for the same
// instance (by instant, so UTC and TZID forms of one RECURRENCE-ID meet)
// the newer revision wins.
func (b *builder) addOverride(m, ov *Event) {
	rid := ov.RecurrenceID.instant(b.user)
	for i, o := range m.Overrides {
		if o.RecurrenceID.instant(b.user).Equal(rid) && o.ThisAndFuture == ov.ThisAndFuture {
			if newer(ov, o) {
				m.Overrides[i] = ov
			}
			return
		}
	}
	m.Overrides = append(m.Overrides, ov)
}

// event reads one VEVENT.
func (b *builder) event(c *component) (*Event, error) {
	ev := &Event{UID: c.uid, Calendar: b.opts.Calendar, Source: b.opts.Source, Line: c.line, Class: ClassPublic}
	var durProp, endProp *property
	var rrules, exrules []*property
	var intended string
	for i := range c.props {
		p := &c.props[i]
		var err error
		switch p.name {
		case "DTSTART":
			ev.Start, err = b.timeValue(p, ev.UID)
		case "DTEND":
			// A bad DTEND costs the DTEND, not the event.
			if ev.End, err = b.timeValue(p, ev.UID); err != nil {
				b.warn(p.line, ev.UID, fmt.Errorf("DTEND ignored: %w", err))
				ev.End, err = Time{}, nil
			} else {
				endProp = p
			}
		case "DURATION":
			durProp = p
		case "RRULE":
			ev.RRules = append(ev.RRules, p.value)
			rrules = append(rrules, p)
		case "EXRULE":
			// Deprecated by RFC 5545 (Appendix A.3), still written by old
			// producers: RFC 2445 §4.8.5.2.
			exrules = append(exrules, p)
		case "RDATE":
			ev.RDates = append(ev.RDates, b.periods(p, ev.UID)...)
		case "EXDATE":
			for _, q := range b.periods(p, ev.UID) {
				ev.ExDates = append(ev.ExDates, q.Start)
			}
		case "RECURRENCE-ID":
			ev.RecurrenceID, err = b.timeValue(p, ev.UID)
			ev.ThisAndFuture = strings.EqualFold(p.param("RANGE"), "THISANDFUTURE")
		case "SEQUENCE":
			ev.sequence, _ = strconv.Atoi(strings.TrimSpace(p.value))
		case "DTSTAMP":
			if w, _, _, err := parseWall(p.value); err == nil {
				ev.dtstamp = w
			}
		case "SUMMARY":
			ev.Summary = unescapeText(p.value)
		case "DESCRIPTION":
			ev.Description = unescapeText(p.value)
		case "LOCATION":
			ev.Location = unescapeText(p.value)
		case "STATUS":
			switch strings.ToUpper(strings.TrimSpace(p.value)) {
			case "CONFIRMED":
				ev.Status = StatusConfirmed
			case "TENTATIVE":
				ev.Status = StatusTentative
			case "CANCELLED":
				ev.Status = StatusCancelled
			}
		case "TRANSP":
			ev.Transparent = strings.EqualFold(strings.TrimSpace(p.value), "TRANSPARENT")
		case "CLASS":
			switch strings.ToUpper(strings.TrimSpace(p.value)) {
			case "PUBLIC":
				ev.Class = ClassPublic
			case "CONFIDENTIAL":
				ev.Class = ClassConfidential
			default:
				// RFC 5545 §3.8.1.3: unknown classes are treated as PRIVATE.
				ev.Class = ClassPrivate
			}
		case "CATEGORIES":
			for _, cat := range splitText(p.value) {
				if cat = strings.TrimSpace(cat); cat != "" {
					ev.Categories = append(ev.Categories, cat)
				}
			}
		case "ATTENDEE":
			ev.Attendees++
			name := p.param("CN")
			if name == "" {
				name = strings.TrimSpace(p.value)
				if len(name) > 7 && strings.EqualFold(name[:7], "mailto:") {
					name = name[7:]
				}
			}
			ev.AttendeeNames = append(ev.AttendeeNames, name)
			if b.isMe(p.value) && ev.Response == "" {
				ev.Response = strings.ToLower(strings.TrimSpace(p.param("PARTSTAT")))
				if ev.Response == "" {
					ev.Response = "needs-action" // RFC 5545 §3.2.12 default
				}
			}
		case "ORGANIZER":
			ev.Organizer = strings.TrimSpace(p.value)
			ev.OrganizerIsMe = b.isMe(p.value)
		case "X-MICROSOFT-CDO-BUSYSTATUS":
			ev.BusyStatus = busyStatus(p.value)
		case "X-MICROSOFT-CDO-INTENDEDSTATUS":
			intended = busyStatus(p.value)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", p.line, p.name, err)
		}
	}
	if ev.BusyStatus == "" {
		ev.BusyStatus = intended
	}
	if ev.Start.IsZero() && !ev.RecurrenceID.IsZero() {
		ev.Start = ev.RecurrenceID // an override that does not move its instance
	}
	if ev.Start.IsZero() {
		return nil, errors.New("no DTSTART")
	}
	ev.AllDay = ev.Start.Kind == KindDate
	ev.Floating = ev.Start.Kind == KindFloating
	if durProp != nil && ev.End.IsZero() {
		if d, err := parseDuration(durProp.value); err != nil {
			b.warn(durProp.line, ev.UID, fmt.Errorf("DURATION ignored: %w", err))
		} else {
			ev.Duration = &d
		}
	}
	if !ev.End.IsZero() && ev.AllDay && ev.End.Kind != KindDate {
		// A DATE start with a DATE-TIME end: keep the end's day.
		ev.End = Time{Wall: ev.End.Wall.Truncate(24 * time.Hour), Kind: KindDate}
	}
	if !ev.End.IsZero() && endBefore(ev, b.user) {
		if len(rrules) == 0 && len(ev.RDates) == 0 && ev.RecurrenceID.IsZero() && ev.End.Kind == ev.Start.Kind {
			// A single event with its times swapped (a converter's slip):
			// read the span it names, as recurring-ical-events does.
			b.warn(endProp.line, ev.UID, fmt.Errorf("DTEND %s before DTSTART: the two read swapped", endProp.value))
			ev.Start, ev.End = ev.End, ev.Start
		} else {
			// A series or an instance keeps its DTSTART, which places it.
			b.warn(endProp.line, ev.UID, fmt.Errorf("DTEND %s before DTSTART: read as no DTEND", endProp.value))
			ev.End = Time{}
		}
	}
	ended := 0
	for _, p := range rrules {
		if rl, ok := b.ruleProp(p, ev); ok {
			ev.rules = append(ev.rules, rl)
			if untilBefore(rl, ev, b.user) {
				ended++
			}
		}
	}
	if ended > 0 && ended == len(rrules) && len(ev.RDates) == 0 && ev.RecurrenceID.IsZero() {
		// Every rule ends before it starts: how Atlassian Confluence
		// exports a deleted series. No instance, DTSTART included.
		ev.deleted = true
	}
	for _, p := range exrules {
		if rl, ok := b.ruleProp(p, ev); ok {
			ev.exrules = append(ev.exrules, rl)
		}
	}
	return ev, nil
}

// endBefore reports a DTEND before DTSTART (RFC 5545 §3.8.2.2 wants it
// later): common from hand-written and converted calendars.
func endBefore(ev *Event, user *zone) bool {
	if ev.AllDay {
		return ev.End.Wall.Before(ev.Start.Wall)
	}
	return ev.End.instant(user).Before(ev.Start.instant(user))
}

// ruleProp reads an RRULE or EXRULE property, warning at its line about
// what it had to read past.
func (b *builder) ruleProp(p *property, ev *Event) (rule, bool) {
	rl, notes, err := b.rule(p.value, ev.Start)
	for _, n := range notes {
		b.warn(p.line, ev.UID, fmt.Errorf("%s: %s", p.name, n))
	}
	if err != nil {
		b.warn(p.line, ev.UID, fmt.Errorf("%s %q ignored: %w", p.name, truncate(p.value, 80), err))
		return rule{}, false
	}
	if untilBefore(rl, ev, b.user) {
		msg := "UNTIL before DTSTART: the rule adds no instance"
		if p.name == "RRULE" {
			msg = "UNTIL before DTSTART: read as a deleted series, without instances"
		}
		b.warn(p.line, ev.UID, fmt.Errorf("%s: %s", p.name, msg))
	}
	return rl, true
}

// untilBefore reports a rule whose UNTIL lies before the event's DTSTART.
func untilBefore(rl rule, ev *Event, user *zone) bool {
	u := rl.until
	if u.IsZero() {
		return false
	}
	end := u.Wall
	switch u.Kind {
	case KindDate:
		end = end.Add(24*time.Hour - time.Second)
	case KindUTC:
		end = ev.Start.zoneFor(user).wallOf(end)
	}
	return end.Before(ev.Start.Wall)
}

// busyStatus reads an X-MICROSOFT-CDO-BUSYSTATUS or -INTENDEDSTATUS value
// ([MS-OXCICAL] 2.1.3.1.1.20.7): FREE, TENTATIVE, BUSY, OOF or
// WORKINGELSEWHERE; other values are dropped.
func busyStatus(v string) string {
	switch s := strings.ToLower(strings.TrimSpace(v)); s {
	case "free", "tentative", "busy", "oof", "workingelsewhere":
		return s
	}
	return ""
}

func (b *builder) isMe(addr string) bool {
	a := normAddr(addr)
	return a != "" && slices.Contains(b.me, a)
}

// normAddr lower-cases a calendar address and drops its mailto: scheme, so
// that "MAILTO:Alice@Example.com" is the user "mailto:alice@example.com".
func normAddr(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "mailto:")
}

// timeValue reads a DATE or DATE-TIME property value.
func (b *builder) timeValue(p *property, uid string) (Time, error) {
	v := p.value
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return b.parseTime(v, p, uid)
}

func (b *builder) parseTime(v string, p *property, uid string) (Time, error) {
	if v = strings.TrimSpace(v); len(v) == 9 && (v[8] == 'Z' || v[8] == 'z') {
		// A DATE with a stray UTC designator (Google's birthday feeds):
		// a date has no zone, the Z says nothing.
		b.warn(p.line, uid, fmt.Errorf("%s value %q: DATE with a \"Z\" read as the date %s", p.name, v, v[:8]))
		v = v[:8]
	}
	wall, isDate, utc, err := parseWall(v)
	if err != nil {
		return Time{}, err
	}
	switch {
	case isDate:
		return Time{Wall: wall, Kind: KindDate}, nil
	case utc:
		return Time{Wall: wall, Kind: KindUTC}, nil
	}
	tzid := strings.TrimSpace(p.param("TZID"))
	if tzid == "" && b.floatTZ != "" && b.zoneKnown(b.floatTZ) {
		// X-WR-TIMEZONE (a de-facto extension of Apple, Google and
		// Microsoft) names the zone of times written without one.
		tzid = b.floatTZ
	}
	if tzid == "" {
		return Time{Wall: wall, Kind: KindFloating}, nil
	}
	return Time{Wall: wall, Kind: KindZoned, TZID: tzid, zone: b.zone(tzid, p.line, uid)}, nil
}

// periods reads an RDATE or EXDATE value list: DATE, DATE-TIME or PERIOD
// values, all in the property's TZID. A bad value costs that value, with a
// warning, not the event (Google's birthday feeds write RDATE:20131210Z).
func (b *builder) periods(p *property, uid string) []Period {
	var out []Period
	for _, v := range strings.Split(p.value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		per, err := b.period(v, p, uid)
		if err != nil {
			b.warn(p.line, uid, fmt.Errorf("%s value ignored: %w", p.name, err))
			continue
		}
		out = append(out, per)
		if len(out) > 100000 {
			b.warn(p.line, uid, fmt.Errorf("%s: more than 100000 values: the rest are left out", p.name))
			break
		}
	}
	return out
}

func (b *builder) period(v string, p *property, uid string) (Period, error) {
	start, rest, isPeriod := strings.Cut(v, "/")
	t, err := b.parseTime(start, p, uid)
	if err != nil {
		return Period{}, err
	}
	per := Period{Start: t}
	if isPeriod {
		if strings.HasPrefix(rest, "P") || strings.HasPrefix(rest, "+P") || strings.HasPrefix(rest, "-P") {
			d, err := parseDuration(rest)
			if err != nil {
				return Period{}, err
			}
			per.Duration = &d
		} else if per.End, err = b.parseTime(rest, p, uid); err != nil {
			return Period{}, err
		}
	}
	return per, nil
}

// zoneKnown reports whether a TZID resolves without falling back to the
// user's zone.
func (b *builder) zoneKnown(tzid string) bool {
	if z, ok := b.zones[tzid]; ok {
		return z != b.user || knownZone(tzid) != nil
	}
	return knownZone(tzid) != nil || b.vtimezone[tzid] != nil
}

// zone resolves a TZID: IANA names first, then Windows names, then the
// file's own VTIMEZONE; an unknown TZID is read in the user's zone.
func (b *builder) zone(tzid string, line int, uid string) *zone {
	if z, ok := b.zones[tzid]; ok {
		return z
	}
	z := knownZone(tzid)
	if z == nil {
		if c := b.vtimezone[tzid]; c != nil {
			var err error
			z, err = customZone(tzid, c)
			if err != nil {
				b.warn(c.line, uid, fmt.Errorf("VTIMEZONE %q: %w", tzid, err))
				z = nil
			}
		}
	}
	if z == nil {
		b.unknownTZ = append(b.unknownTZ, unknownTZ{len(b.warnings), tzid})
		b.warn(line, uid, fmt.Errorf("unknown TZID %q: read in the user's zone %s", tzid, b.user.name))
		z = b.user
	}
	b.zones[tzid] = z
	return z
}

// customZone interprets a VTIMEZONE's STANDARD and DAYLIGHT observances
// (RFC 5545 §3.6.5): each onset (DTSTART, its RRULE and RDATEs, in local
// time at TZOFFSETFROM) starts TZOFFSETTO.
func customZone(tzid string, c *component) (z *zone, err error) {
	defer func() {
		if p := recover(); p != nil { // rrule-go on untrusted input
			z, err = nil, fmt.Errorf("observance rule failed: %v", p)
		}
	}()
	const lastYear = 2200
	z = &zone{name: tzid}
	for _, o := range c.children {
		if o.name != "STANDARD" && o.name != "DAYLIGHT" {
			continue
		}
		var (
			start    time.Time
			from, to int
			haveFrom bool
			haveTo   bool
			rules    []string
			rdates   []time.Time
		)
		for i := range o.props {
			p := &o.props[i]
			var err error
			switch p.name {
			case "DTSTART":
				start, _, _, err = parseWall(p.value)
			case "TZOFFSETFROM":
				from, err = parseOffset(p.value)
				haveFrom = true
			case "TZOFFSETTO":
				to, err = parseOffset(p.value)
				haveTo = true
			case "RRULE":
				rules = append(rules, p.value)
			case "RDATE":
				for _, v := range strings.Split(p.value, ",") {
					w, _, _, err := parseWall(strings.SplitN(v, "/", 2)[0])
					if err != nil {
						return nil, fmt.Errorf("%s RDATE: %w", o.name, err)
					}
					rdates = append(rdates, w)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", o.name, p.name, err)
			}
		}
		if start.IsZero() || !haveTo {
			return nil, fmt.Errorf("%s without DTSTART or TZOFFSETTO", o.name)
		}
		if !haveFrom {
			from = to
		}
		add := func(w time.Time) {
			z.trans = append(z.trans, transition{at: w.Unix() - int64(from), from: from, to: to})
		}
		add(start)
		for _, w := range rdates {
			add(w)
		}
		for _, r := range rules {
			opt, until, _, err := ruleOption(r)
			if err != nil {
				return nil, fmt.Errorf("%s RRULE: %w", o.name, err)
			}
			opt.Dtstart = start
			// rrule-go's default UNTIL is DTSTART plus the longest
			// time.Duration (292 years): an Outlook zone starting in 1601
			// would stop changing in 1893.
			opt.Until = time.Date(lastYear, 12, 31, 23, 59, 59, 0, time.UTC)
			rr, err := rrule.NewRRule(*opt)
			if err != nil {
				return nil, fmt.Errorf("%s RRULE: %w", o.name, err)
			}
			next := rr.Iterator()
			for n := 0; n < 4000; n++ {
				w, ok := next()
				if !ok || w.Year() > lastYear {
					break
				}
				if !until.IsZero() {
					// UNTIL is UTC (RFC 5545 §3.3.10) or, loosely, local.
					at := w.Add(-time.Duration(from) * time.Second)
					if until.Kind != KindUTC {
						at = w
					}
					if at.After(until.Wall) {
						break
					}
				}
				if !w.Equal(start) {
					add(w)
				}
			}
		}
	}
	if len(z.trans) == 0 {
		return nil, errors.New("no STANDARD or DAYLIGHT observance")
	}
	sort.SliceStable(z.trans, func(i, j int) bool { return z.trans[i].at < z.trans[j].at })
	return z, nil
}

// ruleParts are the RRULE parts rrule-go reads; x-name parts are dropped,
// others (a misspelt UNTL=) are dropped with a warning.
var ruleParts = map[string]bool{
	"FREQ": true, "INTERVAL": true, "WKST": true, "COUNT": true, "BYSETPOS": true,
	"BYMONTH": true, "BYMONTHDAY": true, "BYYEARDAY": true, "BYWEEKNO": true,
	"BYDAY": true, "BYHOUR": true, "BYMINUTE": true, "BYSECOND": true,
}

// ruleOption parses an RRULE value. UNTIL is taken out and returned as a
// Time, since it comes in three forms (DATE, UTC, floating) that must be
// read against DTSTART, which rrule-go cannot do.
//
// It also returns notes on what it read past: unknown parts, a COUNT that
// is not positive (read as no COUNT, as rrule-go, libical and
// python-dateutil read COUNT=0), repeated BY values (which rrule-go would
// count twice against COUNT).
func ruleOption(v string) (*rrule.ROption, Time, []string, error) {
	return ruleOptionIn(v, nil)
}

// ruleCache holds what rrule-go and the checks after it made of the parts
// of a rule other than UNTIL and COUNT, by those parts: the series of a
// calendar repeat a few rules (FREQ=WEEKLY;BYDAY=MO) and differ mostly in
// where they end. rrule-go's parser was a twentieth of a parse+expand.
type ruleCache map[string]*parsedRule

type parsedRule struct {
	opt rrule.ROption // its BY lists are shared by every rule read from it: only ever read
	dup bool          // repeated BY values were dropped
	err error
}

// ruleOptionIn is ruleOption, with rules parsed before taken from cache
// (nil: none).
func ruleOptionIn(v string, cache ruleCache) (*rrule.ROption, Time, []string, error) {
	var (
		buf    [160]byte
		key    = buf[:0] // the parts for rrule-go, joined by ';'
		nparts int
		until  Time
		notes  []string
		counts int
		// The bytes of the COUNT part in key, when its value is a number.
		countFrom, countTo = -1, -1
		countVal           int
	)
	for rest, more := strings.TrimSpace(v), true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ";")
		k, val, ok := strings.Cut(part, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		val = strings.ToUpper(strings.TrimSpace(val))
		switch {
		case k == "" && !ok:
			continue
		case k == "UNTIL":
			wall, isDate, utc, err := parseWall(val)
			if err != nil {
				return nil, Time{}, nil, fmt.Errorf("UNTIL: %w", err)
			}
			until = Time{Wall: wall, Kind: KindFloating}
			if isDate {
				until.Kind = KindDate
			} else if utc {
				until.Kind = KindUTC
			}
		case k == "COUNT":
			n, err := strconv.Atoi(val)
			if err == nil && n <= 0 {
				notes = append(notes, fmt.Sprintf("COUNT=%d read as no COUNT", n))
				continue
			}
			counts++
			from := len(key)
			key = appendPart(key, nparts, k, val)
			nparts++
			if err == nil {
				countFrom, countTo, countVal = from, len(key), n
			}
		case ruleParts[k]:
			key = appendPart(key, nparts, k, val)
			nparts++
		case strings.HasPrefix(k, "X-"):
		default:
			notes = append(notes, fmt.Sprintf("unknown rule part %q ignored", truncate(k, 40)))
		}
	}
	count := -1
	if cache != nil && counts == 1 && countFrom >= 0 && nparts > 1 {
		// rrule-go reads a number's COUNT as that number and nothing
		// else; without the other parts it would fail differently.
		if countFrom == 0 {
			key = append(key[:0], key[countTo+1:]...) // and the ';' after it
		} else {
			key = append(key[:countFrom], key[countTo:]...) // from the ';' before it
		}
		count = countVal
	}
	r := cache[string(key)]
	if r == nil {
		parts := string(key)
		r = parseRuleOption(parts)
		if cache != nil {
			cache[parts] = r
		}
	}
	if r.err != nil {
		return nil, Time{}, notes, r.err
	}
	opt := r.opt
	if count >= 0 {
		opt.Count = count
	}
	if r.dup {
		notes = append(notes, "repeated BY values read once")
	}
	return &opt, until, notes, nil
}

// appendPart appends the rule part k=val to key, which has n parts.
func appendPart(key []byte, n int, k, val string) []byte {
	if n > 0 {
		key = append(key, ';')
	}
	key = append(key, k...)
	key = append(key, '=')
	return append(key, val...)
}

// parseRuleOption reads the parts of a rule that ruleOptionIn keeps, with
// rrule-go, and drops repeated BY values.
func parseRuleOption(parts string) *parsedRule {
	opt, err := rrule.StrToROption(parts)
	if err != nil {
		return &parsedRule{err: err}
	}
	if opt.Interval < 0 {
		return &parsedRule{err: errors.New("negative INTERVAL")}
	}
	dup := false
	for _, l := range []*[]int{&opt.Bysetpos, &opt.Bymonth, &opt.Bymonthday, &opt.Byyearday, &opt.Byweekno, &opt.Byhour, &opt.Byminute, &opt.Bysecond} {
		dup = dedupe(l) || dup
	}
	seen := map[rrule.Weekday]bool{}
	days := opt.Byweekday[:0]
	for _, d := range opt.Byweekday {
		if seen[d] {
			dup = true
			continue
		}
		seen[d] = true
		days = append(days, d)
	}
	opt.Byweekday = days
	return &parsedRule{opt: *opt, dup: dup}
}

// dedupe drops repeated values from l, keeping the first of each, and
// reports whether there were any.
func dedupe(l *[]int) bool {
	if len(*l) < 2 {
		return false
	}
	seen := map[int]bool{}
	out := (*l)[:0]
	for _, v := range *l {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	dup := len(out) < len(*l)
	*l = out
	return dup
}
