package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimeKind says how a DATE or DATE-TIME value (RFC 5545 §3.3.4, §3.3.5) is
// placed on the time line.
type TimeKind uint8

// The forms of DATE and DATE-TIME values.
const (
	KindNone     TimeKind = iota
	KindDate              // a whole day, in the user's zone
	KindFloating          // a local time without zone, in the user's zone
	KindUTC               // "Z"
	KindZoned             // with a TZID
)

// Time is a DATE or DATE-TIME value as written: its wall-clock fields and
// how to place them on the time line. Floating times and dates are placed
// in the user's zone only when expanded, so one parse serves any zone.
type Time struct {
	Wall time.Time // the fields as written, carried in a UTC time.Time
	Kind TimeKind
	TZID string // as written; "" unless Kind is KindZoned
	zone *zone
}

// IsZero reports whether the value is absent.
func (t Time) IsZero() bool { return t.Kind == KindNone }

// zoneFor returns the zone the value's wall time is read in.
func (t Time) zoneFor(user *zone) *zone {
	switch t.Kind {
	case KindUTC:
		return utcZone
	case KindZoned:
		if t.zone != nil {
			return t.zone
		}
	}
	return user
}

// In returns the instant the value stands for, reading floating times and
// dates (midnight at the day's start) in the user's zone.
func (t Time) In(user *time.Location) time.Time {
	return t.instant(locZone(user))
}

func (t Time) instant(user *zone) time.Time {
	return t.zoneFor(user).instant(t.Wall)
}

func locZone(loc *time.Location) *zone {
	if loc == nil || loc == time.UTC {
		return utcZone
	}
	return &zone{name: loc.String(), loc: loc}
}

// Duration is a DURATION value (RFC 5545 §3.3.6): days (and weeks) are
// nominal, so P1D across a DST change is one calendar day, while hours,
// minutes and seconds are exact.
type Duration struct {
	Days  int
	Exact time.Duration
}

// Period is one RDATE: a start, and for PERIOD values (RFC 5545 §3.3.9) an
// explicit end or duration.
type Period struct {
	Start    Time
	End      Time      // explicit end, zero if none
	Duration *Duration // explicit duration, nil if none
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

var errBadDate = errors.New("invalid date")

// parseWall reads YYYYMMDD or YYYYMMDDTHHMMSS[Z].
func parseWall(s string) (wall time.Time, isDate, utc bool, err error) {
	s = strings.TrimSpace(s)
	if len(s) < 8 {
		return time.Time{}, false, false, fmt.Errorf("%w %q", errBadDate, truncate(s, 40))
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[4:6])
	d, ok3 := digits(s[6:8])
	// Year 0 does not exist (and panics rrule-go); 0001-01-01 00:00 is Go's
	// zero time, which rrule-go reads as "now".
	if !ok1 || !ok2 || !ok3 || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || y == 1 && mo == 1 && d == 1 {
		return time.Time{}, false, false, fmt.Errorf("%w %q", errBadDate, truncate(s, 40))
	}
	if d > daysIn(time.Month(mo), y) {
		return time.Time{}, false, false, fmt.Errorf("%w %q", errBadDate, truncate(s, 40))
	}
	if len(s) == 8 {
		return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), true, false, nil
	}
	rest := s[8:]
	if rest[0] != 'T' && rest[0] != 't' {
		return time.Time{}, false, false, fmt.Errorf("%w %q", errBadDate, truncate(s, 40))
	}
	rest = rest[1:]
	if strings.HasSuffix(rest, "Z") || strings.HasSuffix(rest, "z") {
		utc = true
		rest = rest[:len(rest)-1]
	}
	if len(rest) != 6 {
		return time.Time{}, false, false, fmt.Errorf("invalid time %q", truncate(s, 40))
	}
	h, ok1 := digits(rest[0:2])
	mi, ok2 := digits(rest[2:4])
	se, ok3 := digits(rest[4:6])
	if !ok1 || !ok2 || !ok3 || h > 24 || mi > 59 || se > 60 {
		return time.Time{}, false, false, fmt.Errorf("invalid time %q", truncate(s, 40))
	}
	if se == 60 { // leap second: the time line has none
		se = 59
	}
	return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC), false, utc, nil
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseDuration reads an RFC 5545 §3.3.6 duration: [+-]P[nW] or
// [+-]P[nD][T[nH][nM][nS]].
func parseDuration(s string) (Duration, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	orig := s
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return Duration{}, fmt.Errorf("invalid duration %q", truncate(orig, 40))
	}
	s = s[1:]
	var d Duration
	inTime := false
	num := -1
	any := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if num < 0 {
				num = 0
			}
			if num > 1e8 {
				return Duration{}, fmt.Errorf("duration %q too long", truncate(orig, 40))
			}
			num = num*10 + int(c-'0')
			continue
		case c == 'T' && !inTime && num < 0:
			inTime = true
			continue
		}
		if num < 0 {
			return Duration{}, fmt.Errorf("invalid duration %q", truncate(orig, 40))
		}
		switch {
		case c == 'W' && !inTime:
			d.Days += 7 * num
		case c == 'D' && !inTime:
			d.Days += num
		case c == 'H' && inTime:
			d.Exact += time.Duration(num) * time.Hour
		case c == 'M' && inTime:
			d.Exact += time.Duration(num) * time.Minute
		case c == 'S' && inTime:
			d.Exact += time.Duration(num) * time.Second
		default:
			return Duration{}, fmt.Errorf("invalid duration %q", truncate(orig, 40))
		}
		num = -1
		any = true
	}
	if num >= 0 || !any {
		return Duration{}, fmt.Errorf("invalid duration %q", truncate(orig, 40))
	}
	if neg {
		d.Days, d.Exact = -d.Days, -d.Exact
	}
	return d, nil
}

// parseOffset reads a UTC-OFFSET (RFC 5545 §3.3.14): +HHMM or +HHMMSS.
func parseOffset(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 || s[0] != '+' && s[0] != '-' {
		return 0, fmt.Errorf("invalid UTC offset %q", truncate(s, 40))
	}
	h, ok1 := digits(s[1:3])
	m, ok2 := digits(s[3:5])
	sec, ok3 := 0, true
	if len(s) == 7 {
		sec, ok3 = digits(s[5:7])
	}
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("invalid UTC offset %q", truncate(s, 40))
	}
	off := h*3600 + m*60 + sec
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}
