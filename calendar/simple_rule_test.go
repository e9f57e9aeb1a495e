package calendar

import (
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// simpleRuleOption builds a rule simpleIterator may take from fuzz input.
func simpleRuleOption(freq, interval, count uint8, byday uint8, hour int8, wkst uint8, start, untilHours int64) rrule.ROption {
	o := rrule.ROption{Freq: []rrule.Frequency{rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY}[freq%4], Interval: int(interval % 6), Count: int(count % 40)}
	wd := []rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}
	for i := range 7 {
		if byday&(1<<i) != 0 {
			o.Byweekday = append(o.Byweekday, wd[i])
		}
	}
	if byday&0x80 != 0 && len(o.Byweekday) > 0 {
		o.Byweekday[0] = o.Byweekday[0].Nth(2) // ignored below MONTHLY
	}
	switch k := freq / 4 % 8; {
	case o.Freq == rrule.MONTHLY && k < 4 && len(o.Byweekday) > 0:
		o.Byweekday = []rrule.Weekday{o.Byweekday[0].Nth([]int{1, 3, -1, 5}[k])}
	case o.Freq == rrule.MONTHLY && k < 6:
		o.Byweekday, o.Bymonthday = nil, []int{int(count%31) + 1}
	case o.Freq == rrule.YEARLY && k < 4:
		o.Byweekday, o.Bymonth, o.Bymonthday = nil, []int{int(interval%12) + 1}, []int{int(count%31) + 1}
	case o.Freq <= rrule.MONTHLY: // YEARLY, MONTHLY
		o.Byweekday = nil
	}
	o.Wkst = wd[wkst%7]
	if hour >= 0 {
		o.Byhour = []int{int(hour) % 24}
	}
	o.Dtstart = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(start%(5*365*24*3600)) * time.Second)
	if o.Dtstart.Before(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)) {
		o.Dtstart = o.Dtstart.AddDate(10, 0, 0)
	}
	if untilHours%5 != 0 {
		o.Until = o.Dtstart.Add(time.Duration(untilHours%(3*365*24)) * time.Hour)
	}
	return o
}

func checkSimpleIterator(t *testing.T, o rrule.ROption) {
	t.Helper()
	rr, err := rrule.NewRRule(o)
	if err != nil {
		return
	}
	want := rr.Iterator()
	got, ok := simpleIterator(o)
	if !ok {
		t.Fatalf("simpleIterator(%+v) not taken", o)
	}
	for i := range 400 {
		w, wok := want()
		g, gok := got()
		if wok != gok || !w.Equal(g) || w.Location() != g.Location() {
			t.Fatalf("rule %+v: instance %d = %v %v, rrule-go %v %v", o, i, g, gok, w, wok)
		}
		if !wok {
			return
		}
	}
}

func TestSimpleIterator(t *testing.T) {
	berlinWall := time.Date(2026, 3, 25, 9, 30, 0, 0, time.UTC)
	tests := []rrule.ROption{
		{Freq: rrule.WEEKLY, Dtstart: berlinWall},
		{Freq: rrule.WEEKLY, Interval: 2, Dtstart: berlinWall, Count: 10},
		{Freq: rrule.WEEKLY, Interval: 3, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.MO, rrule.FR}, Wkst: rrule.SU},
		{Freq: rrule.DAILY, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR}, Until: berlinWall.AddDate(0, 2, 0)},
		{Freq: rrule.DAILY, Interval: 7, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.TU}, Until: berlinWall.AddDate(1, 0, 0)},
		{Freq: rrule.DAILY, Dtstart: berlinWall, Byhour: []int{7}, Byminute: []int{0}, Bysecond: []int{0}, Count: 5},
		{Freq: rrule.WEEKLY, Dtstart: berlinWall, Until: berlinWall},
		{Freq: rrule.DAILY, Dtstart: berlinWall.In(time.FixedZone("X", 5400)), Byweekday: []rrule.Weekday{rrule.SA}, Count: 30},
		{Freq: rrule.WEEKLY, Interval: 2, Dtstart: berlinWall.In(time.FixedZone("X", -3600)), Count: 30},
		{Freq: rrule.WEEKLY, Dtstart: berlinWall, Until: berlinWall.Add(-time.Second)},
	}
	for _, o := range tests {
		checkSimpleIterator(t, o)
	}
	leapDay := time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)
	for _, o := range []rrule.ROption{
		{Freq: rrule.MONTHLY, Dtstart: berlinWall},
		{Freq: rrule.MONTHLY, Dtstart: time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), Count: 12},
		{Freq: rrule.MONTHLY, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.FR.Nth(-1)}},
		{Freq: rrule.MONTHLY, Interval: 2, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.MO.Nth(5)}, Until: berlinWall.AddDate(3, 0, 0)},
		{Freq: rrule.YEARLY, Dtstart: leapDay, Count: 3},
		{Freq: rrule.YEARLY, Dtstart: berlinWall, Bymonth: []int{2}, Bymonthday: []int{30}, Until: berlinWall.AddDate(5, 0, 0)},
	} {
		checkSimpleIterator(t, o)
	}
	for _, o := range []rrule.ROption{
		{Freq: rrule.MONTHLY, Dtstart: berlinWall, Bymonthday: []int{-1}},
		{Freq: rrule.MONTHLY, Dtstart: berlinWall, Byweekday: []rrule.Weekday{rrule.MO, rrule.TU}},
		{Freq: rrule.HOURLY, Dtstart: berlinWall},
		{Freq: rrule.WEEKLY, Dtstart: berlinWall, Bysetpos: []int{1}},
		{Freq: rrule.DAILY, Dtstart: berlinWall, Byhour: []int{8, 9}},
		{Freq: rrule.DAILY, Dtstart: berlinWall, Bymonth: []int{3}},
	} {
		if _, ok := simpleIterator(o); ok {
			t.Errorf("simpleIterator(%+v) taken", o)
		}
	}
}

// FuzzSimpleIterator holds simpleIterator to rrule-go on the rules it takes.
func FuzzSimpleIterator(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(0), uint8(0), int8(-1), uint8(0), int64(86400*100+9*3600), int64(1000))
	f.Add(uint8(0), uint8(1), uint8(12), uint8(0x1f), int8(8), uint8(6), int64(86400*400+7*3600+1800), int64(0))
	f.Add(uint8(1), uint8(2), uint8(0), uint8(0x85), int8(-1), uint8(2), int64(86400*3), int64(2001))
	f.Add(uint8(2), uint8(1), uint8(0), uint8(0x10), int8(-1), uint8(0), int64(86400*30+9*3600), int64(0))
	f.Add(uint8(2+4*2), uint8(1), uint8(0), uint8(0x10), int8(-1), uint8(0), int64(86400*30+9*3600), int64(0))
	f.Add(uint8(3), uint8(1), uint8(10), uint8(0), int8(-1), uint8(0), int64(86400*59+9*3600), int64(0))
	f.Add(uint8(3+4*1), uint8(1), uint8(28), uint8(0), int8(-1), uint8(0), int64(86400*59+9*3600), int64(0))
	f.Add(uint8(2+4*5), uint8(1), uint8(30), uint8(0), int8(-1), uint8(0), int64(86400*30+9*3600), int64(0))
	f.Fuzz(func(t *testing.T, freq uint8, interval, count, byday uint8, hour int8, wkst uint8, start, untilHours int64) {
		checkSimpleIterator(t, simpleRuleOption(freq, interval, count, byday, hour, wkst, start, untilHours))
	})
}
