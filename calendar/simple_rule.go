package calendar

import (
	"time"

	"github.com/teambition/rrule-go"
)

// simpleIterator expands the rules most recurring meetings have, as
// rrule-go does, instance for instance, with no allocation per period:
// daily and weekly rules with BYDAY at most, monthly rules on one day of
// the month or one ordinal weekday (BYDAY=2TU, -1FR), yearly rules on one
// date, each with at most one BYHOUR, BYMINUTE and BYSECOND. rrule-go's
// iterator rebuilds a year's worth of day masks and allocates its day and
// result sets for every period: it was a quarter of the bytes
// BenchmarkParseExpand5k allocated. ok is false for every other rule;
// FuzzSimpleIterator holds it to rrule-go.
func simpleIterator(o rrule.ROption) (next func() (time.Time, bool), ok bool) {
	r := new(simpleRule)
	if !r.init(o) {
		return nil, false
	}
	return r.next, true
}

// simpleRule is the state of a simpleIterator. A value of it on the
// stack of its caller (ruleWalls) iterates without any allocation; the
// closures it replaced held the whole rrule.ROption on the heap, a
// twentieth of the bytes a parse+expand allocated.
type simpleRule struct {
	freq      rrule.Frequency
	mday      int // MONTHLY, YEARLY: the day of the month
	month     time.Month
	nth       int // MONTHLY: the ordinal of the weekday wday
	wday      time.Weekday
	interval  int
	count, n  int
	dt, until time.Time
	loc       *time.Location
	hour      int
	minute    int
	second    int
	utc       bool          // walls are UTC: days are 24 hours, see addDays
	clock     time.Duration // the time of day, for utc
	days      [7]bool       // DAILY, WEEKLY: the weekdays an instance may fall on
	period    time.Time     // the current period's first day
	cands     [7]time.Time  // the current period's candidate days
	cur, end  int           // the candidates not yet taken: cands[cur:end]
	done      bool
}

// init sets r up for the rule o and reports whether simpleIterator
// takes it.
func (r *simpleRule) init(o rrule.ROption) bool {
	if o.Freq > rrule.DAILY || o.Dtstart.IsZero() ||
		len(o.Bysetpos)+len(o.Byyearday)+len(o.Byweekno)+len(o.Byeaster) > 0 ||
		len(o.Byhour) > 1 || len(o.Byminute) > 1 || len(o.Bysecond) > 1 {
		return false
	}
	dt := o.Dtstart.Truncate(time.Second)
	// What rrule-go derives from DTSTART (its buildRRule).
	bymonth, bymonthday := o.Bymonth, o.Bymonthday
	if len(bymonthday) == 0 && len(o.Byweekday) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(bymonth) == 0 {
				bymonth = []int{int(dt.Month())}
			}
			bymonthday = []int{dt.Day()}
		case rrule.MONTHLY:
			bymonthday = []int{dt.Day()}
		}
	}
	*r = simpleRule{freq: o.Freq, dt: dt}
	switch o.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		if len(bymonth)+len(bymonthday) > 0 {
			return false
		}
	case rrule.MONTHLY:
		switch {
		case len(bymonth) > 0:
			return false
		case len(bymonthday) == 1 && len(o.Byweekday) == 0 && bymonthday[0] > 0 && bymonthday[0] <= 31:
			r.mday = bymonthday[0]
		case len(bymonthday) == 0 && len(o.Byweekday) == 1 && o.Byweekday[0].N() != 0:
			r.nth, r.wday = o.Byweekday[0].N(), time.Weekday((o.Byweekday[0].Day()+1)%7)
		default:
			return false
		}
	case rrule.YEARLY:
		if len(bymonth) != 1 || len(bymonthday) != 1 || len(o.Byweekday) > 0 ||
			bymonth[0] < 1 || bymonth[0] > 12 || bymonthday[0] < 1 || bymonthday[0] > 31 {
			return false
		}
		r.month, r.mday = time.Month(bymonth[0]), bymonthday[0]
	}
	r.interval = max(o.Interval, 1)
	r.count = max(o.Count, 0)
	r.until = o.Until.Truncate(time.Second)
	if o.Until.IsZero() {
		r.until = dt.Add(time.Duration(1<<63 - 1)) // as rrule-go: about 292 years
	}
	loc := dt.Location()
	r.loc = loc
	r.hour, r.minute, r.second = dt.Clock()
	if len(o.Byhour) == 1 {
		r.hour = o.Byhour[0]
	}
	if len(o.Byminute) == 1 {
		r.minute = o.Byminute[0]
	}
	if len(o.Bysecond) == 1 {
		r.second = o.Bysecond[0]
	}
	// DAILY, WEEKLY: the days of the week an instance may fall on, by
	// time.Weekday; below MONTHLY rrule-go ignores BYDAY ordinals.
	switch {
	case len(o.Byweekday) > 0:
		for _, d := range o.Byweekday {
			r.days[(d.Day()+1)%7] = true
		}
	case o.Freq == rrule.WEEKLY:
		r.days[dt.Weekday()] = true
	default:
		r.days = [7]bool{true, true, true, true, true, true, true}
	}
	// The periods: the day, week (per WKST), month or year DTSTART lies in
	// and every interval-th one after it; in each, its candidate days.
	y, m, d := dt.Date()
	switch o.Freq {
	case rrule.YEARLY:
		r.period = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case rrule.MONTHLY:
		r.period = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case rrule.WEEKLY:
		r.period = weekStart(o.Wkst, time.Date(y, m, d, 0, 0, 0, 0, loc))
	default:
		r.period = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	// Walls are UTC: a day is 24 hours and a time of day an offset, which
	// is much cheaper than AddDate and Date; other zones take the long way.
	r.utc = loc == time.UTC
	r.clock = time.Duration(r.hour)*time.Hour + time.Duration(r.minute)*time.Minute + time.Duration(r.second)*time.Second
	r.fill()
	return true
}

func (r *simpleRule) addDays(t time.Time, n int) time.Time {
	if r.utc {
		return t.Add(time.Duration(n) * 24 * time.Hour)
	}
	return t.AddDate(0, 0, n)
}

// fill puts the current period's candidate days in cands[cur:end].
func (r *simpleRule) fill() {
	r.cur, r.end = 0, 0
	period := r.period
	switch r.freq {
	case rrule.DAILY:
		if r.days[period.Weekday()] {
			r.cands[0], r.end = period, 1
		}
	case rrule.WEEKLY:
		for j := range 7 {
			if day := r.addDays(period, j); r.days[day.Weekday()] {
				r.cands[r.end] = day
				r.end++
			}
		}
	case rrule.MONTHLY:
		last := daysIn(period.Month(), period.Year())
		if r.nth != 0 {
			first := int(r.wday-period.Weekday()+7) % 7 // days to the month's first wday
			var day int
			if r.nth > 0 {
				day = 1 + first + 7*(r.nth-1)
			} else {
				day = 1 + first + 7*((last-1-first)/7) + 7*(r.nth+1)
			}
			if day >= 1 && day <= last {
				r.cands[0], r.end = period.AddDate(0, 0, day-1), 1
			}
		} else if r.mday <= last {
			r.cands[0], r.end = period.AddDate(0, 0, r.mday-1), 1
		}
	default:
		if r.mday <= daysIn(r.month, period.Year()) {
			r.cands[0], r.end = time.Date(period.Year(), r.month, r.mday, 0, 0, 0, 0, r.loc), 1
		}
	}
}

// advance moves to the next period of the rule.
func (r *simpleRule) advance() {
	switch r.freq {
	case rrule.YEARLY:
		r.period = r.period.AddDate(r.interval, 0, 0)
	case rrule.MONTHLY:
		r.period = r.period.AddDate(0, r.interval, 0)
	case rrule.WEEKLY:
		r.period = r.addDays(r.period, 7*r.interval)
	default:
		r.period = r.addDays(r.period, r.interval)
	}
}

// next returns the rule's next instance, false after the last.
func (r *simpleRule) next() (time.Time, bool) {
	for !r.done {
		if r.cur == r.end {
			r.advance()
			if r.period.Year() > rrule.MAXYEAR {
				break
			}
			r.fill()
			continue
		}
		day := r.cands[r.cur]
		r.cur++
		var res time.Time
		if r.utc {
			res = day.Add(r.clock)
		} else {
			y, m, d := day.Date()
			res = time.Date(y, m, d, r.hour, r.minute, r.second, 0, r.loc)
		}
		if res.After(r.until) {
			break
		}
		if res.Before(r.dt) {
			continue
		}
		if r.count > 0 {
			if r.n == r.count {
				break
			}
			r.n++
		}
		return res, true
	}
	r.done = true
	return time.Time{}, false
}
