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
	if o.Freq > rrule.DAILY || o.Dtstart.IsZero() ||
		len(o.Bysetpos)+len(o.Byyearday)+len(o.Byweekno)+len(o.Byeaster) > 0 ||
		len(o.Byhour) > 1 || len(o.Byminute) > 1 || len(o.Bysecond) > 1 {
		return nil, false
	}
	dt := o.Dtstart.Truncate(time.Second)
	// What rrule-go derives from DTSTART (its buildRRule).
	if len(o.Bymonthday) == 0 && len(o.Byweekday) == 0 {
		switch o.Freq {
		case rrule.YEARLY:
			if len(o.Bymonth) == 0 {
				o.Bymonth = []int{int(dt.Month())}
			}
			o.Bymonthday = []int{dt.Day()}
		case rrule.MONTHLY:
			o.Bymonthday = []int{dt.Day()}
		}
	}
	var (
		mday  int // MONTHLY, YEARLY: the day of the month
		month time.Month
		nth   int // MONTHLY: the ordinal of the weekday wday
		wday  time.Weekday
	)
	switch o.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		if len(o.Bymonth)+len(o.Bymonthday) > 0 {
			return nil, false
		}
	case rrule.MONTHLY:
		switch {
		case len(o.Bymonth) > 0:
			return nil, false
		case len(o.Bymonthday) == 1 && len(o.Byweekday) == 0 && o.Bymonthday[0] > 0 && o.Bymonthday[0] <= 31:
			mday = o.Bymonthday[0]
		case len(o.Bymonthday) == 0 && len(o.Byweekday) == 1 && o.Byweekday[0].N() != 0:
			nth, wday = o.Byweekday[0].N(), time.Weekday((o.Byweekday[0].Day()+1)%7)
		default:
			return nil, false
		}
	case rrule.YEARLY:
		if len(o.Bymonth) != 1 || len(o.Bymonthday) != 1 || len(o.Byweekday) > 0 ||
			o.Bymonth[0] < 1 || o.Bymonth[0] > 12 || o.Bymonthday[0] < 1 || o.Bymonthday[0] > 31 {
			return nil, false
		}
		month, mday = time.Month(o.Bymonth[0]), o.Bymonthday[0]
	}
	interval := max(o.Interval, 1)
	count := max(o.Count, 0)
	until := o.Until.Truncate(time.Second)
	if o.Until.IsZero() {
		until = dt.Add(time.Duration(1<<63 - 1)) // as rrule-go: about 292 years
	}
	loc := dt.Location()
	hour, minute, second := dt.Clock()
	if len(o.Byhour) == 1 {
		hour = o.Byhour[0]
	}
	if len(o.Byminute) == 1 {
		minute = o.Byminute[0]
	}
	if len(o.Bysecond) == 1 {
		second = o.Bysecond[0]
	}
	// DAILY, WEEKLY: the days of the week an instance may fall on, by
	// time.Weekday; below MONTHLY rrule-go ignores BYDAY ordinals.
	var days [7]bool
	switch {
	case len(o.Byweekday) > 0:
		for _, d := range o.Byweekday {
			days[(d.Day()+1)%7] = true
		}
	case o.Freq == rrule.WEEKLY:
		days[dt.Weekday()] = true
	default:
		days = [7]bool{true, true, true, true, true, true, true}
	}
	// The periods: the day, week (per WKST), month or year DTSTART lies in
	// and every interval-th one after it; in each, its candidate days.
	y, m, d := dt.Date()
	var period time.Time
	switch o.Freq {
	case rrule.YEARLY:
		period = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case rrule.MONTHLY:
		period = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case rrule.WEEKLY:
		period = weekStart(o.Wkst, time.Date(y, m, d, 0, 0, 0, 0, loc))
	default:
		period = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	// Walls are UTC: a day is 24 hours and a time of day an offset, which
	// is much cheaper than AddDate and Date; other zones take the long way.
	utc := loc == time.UTC
	addDays := func(t time.Time, n int) time.Time {
		if utc {
			return t.Add(time.Duration(n) * 24 * time.Hour)
		}
		return t.AddDate(0, 0, n)
	}
	clock := time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute + time.Duration(second)*time.Second
	var cands [7]time.Time
	fill := func() []time.Time {
		switch o.Freq {
		case rrule.DAILY:
			if days[period.Weekday()] {
				cands[0] = period
				return cands[:1]
			}
			return cands[:0]
		case rrule.WEEKLY:
			n := 0
			for j := range 7 {
				if day := addDays(period, j); days[day.Weekday()] {
					cands[n] = day
					n++
				}
			}
			return cands[:n]
		case rrule.MONTHLY:
			if nth != 0 {
				first := int(wday-period.Weekday()+7) % 7 // days to the month's first wday
				last := daysIn(period.Month(), period.Year())
				var day int
				if nth > 0 {
					day = 1 + first + 7*(nth-1)
				} else {
					day = 1 + first + 7*((last-1-first)/7) + 7*(nth+1)
				}
				if day < 1 || day > last {
					return cands[:0]
				}
				cands[0] = period.AddDate(0, 0, day-1)
				return cands[:1]
			}
			if mday > daysIn(period.Month(), period.Year()) {
				return cands[:0]
			}
			cands[0] = period.AddDate(0, 0, mday-1)
			return cands[:1]
		}
		if mday > daysIn(month, period.Year()) {
			return cands[:0]
		}
		cands[0] = time.Date(period.Year(), month, mday, 0, 0, 0, 0, loc)
		return cands[:1]
	}
	advance := func() {
		switch o.Freq {
		case rrule.YEARLY:
			period = period.AddDate(interval, 0, 0)
		case rrule.MONTHLY:
			period = period.AddDate(0, interval, 0)
		case rrule.WEEKLY:
			period = addDays(period, 7*interval)
		default:
			period = addDays(period, interval)
		}
	}
	cur := fill()
	n, done := 0, false
	return func() (time.Time, bool) {
		for !done {
			if len(cur) == 0 {
				advance()
				if period.Year() > rrule.MAXYEAR {
					break
				}
				cur = fill()
				continue
			}
			day := cur[0]
			cur = cur[1:]
			var res time.Time
			if utc {
				res = day.Add(clock)
			} else {
				y, m, d := day.Date()
				res = time.Date(y, m, d, hour, minute, second, 0, loc)
			}
			if res.After(until) {
				break
			}
			if res.Before(dt) {
				continue
			}
			if count > 0 {
				if n == count {
					break
				}
				n++
			}
			return res, true
		}
		done = true
		return time.Time{}, false
	}, true
}
