package calendar

import (
	"math"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA names must resolve on hosts without a zone database
)

// zone places wall-clock times on the time line: an IANA location, or the
// transitions of a custom VTIMEZONE (RFC 5545 §3.6.5) that no zone database
// knows.
type zone struct {
	name string
	loc  *time.Location // IANA; nil for a custom VTIMEZONE
	// For a custom VTIMEZONE: transitions sorted by instant; before the
	// first one the zone is at first's from offset.
	trans []transition
}

type transition struct {
	at       int64 // Unix seconds
	from, to int   // UTC offsets in seconds east
}

var utcZone = &zone{name: "UTC", loc: time.UTC}

// offset returns the zone's UTC offset, in seconds east, at Unix time u.
func (z *zone) offset(u int64) int {
	if z.loc != nil {
		if z.loc == time.UTC {
			return 0
		}
		_, off := time.Unix(u, 0).In(z.loc).Zone()
		return off
	}
	if len(z.trans) == 0 {
		return 0
	}
	i := sort.Search(len(z.trans), func(i int) bool { return z.trans[i].at > u })
	if i == 0 {
		return z.trans[0].from
	}
	return z.trans[i-1].to
}

// instant places a wall-clock time (its fields carried in a UTC time.Time)
// on the time line. RFC 5545 §3.3.5: a time that falls in a DST gap is read
// with the offset from before the gap, so it moves forward by the gap's
// length; a time that occurs twice means its first occurrence. Go's
// time.Date leaves both cases unspecified (and picks the second occurrence
// for zones east of UTC), so it is not used here.
func (z *zone) instant(wall time.Time) time.Time {
	return z.instantIn(wall, nil)
}

// instantIn is instant, with the zone's offsets looked up in c when c is
// not nil.
func (z *zone) instantIn(wall time.Time, c *offsetCache) time.Time {
	if z.loc == time.UTC {
		return wall
	}
	offset := z.offset
	if c != nil {
		offset = func(u int64) int { return c.offset(z, u) }
	}
	u := wall.Unix()
	// Offsets in force a little before and after: no zone changes its
	// offset twice within two days.
	before := offset(u - 36*3600)
	if c := u - int64(before); offset(c) == before {
		return time.Unix(c, int64(wall.Nanosecond())).UTC()
	}
	after := offset(u + 36*3600)
	if c := u - int64(after); offset(c) == after {
		return time.Unix(c, int64(wall.Nanosecond())).UTC()
	}
	// In the gap: read with the offset from before it.
	return time.Unix(u-int64(before), int64(wall.Nanosecond())).UTC()
}

// offsetCache holds the last two stretches of time over which an IANA
// zone kept one offset, as one worker of an expansion met them: the
// instances of a series fall in one stretch for months, and looking up
// each one's offset (twice per instant) in the zone's transitions was a
// tenth of an expansion's time. A zero offsetCache is empty.
type offsetCache [2]offsetSpan

type offsetSpan struct {
	z      *zone
	lo, hi int64 // [lo, hi) in Unix seconds
	off    int
}

// offset is z.offset(u), from the cache when it holds u's stretch.
func (c *offsetCache) offset(z *zone, u int64) int {
	if z.loc == nil || z.loc == time.UTC {
		return z.offset(u)
	}
	if s := &c[0]; s.z == z && s.lo <= u && u < s.hi {
		return s.off
	}
	if s := c[1]; s.z == z && s.lo <= u && u < s.hi {
		c[0], c[1] = s, c[0]
		return s.off
	}
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	s := offsetSpan{z: z, lo: math.MinInt64, hi: math.MaxInt64, off: off}
	if start, end := t.ZoneBounds(); !start.IsZero() || !end.IsZero() {
		if !start.IsZero() {
			s.lo = start.Unix()
		}
		if !end.IsZero() {
			s.hi = end.Unix()
		}
	}
	c[0], c[1] = s, c[0]
	return off
}

// wallOf returns the wall-clock fields of instant t in the zone, carried
// in a UTC time.Time.
func (z *zone) wallOf(t time.Time) time.Time {
	return t.Add(time.Duration(z.offset(t.Unix())) * time.Second).UTC()
}

var ianaCache sync.Map // name -> *time.Location, or nil when unknown

// loadIANA loads an IANA zone by name, caching hits and misses; it refuses
// the names time.LoadLocation gives a special meaning ("", "Local").
func loadIANA(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil
	}
	if v, ok := ianaCache.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	ianaCache.Store(name, loc)
	return loc
}

var ianaZones sync.Map // name -> *zone

// knownZone resolves a TZID that names a zone without help from the file:
// an IANA name, a Windows name as Outlook writes it, or one of those behind
// a prefix some exporters add ("/mozilla.org/20050126_1/Europe/Berlin",
// "/citadel.org/20190914_1/Europe/Berlin"). It returns nil when it does not
// know the name.
func knownZone(tzid string) *zone {
	tzid = strings.TrimSpace(strings.Trim(tzid, `"`))
	if v, ok := ianaZones.Load(tzid); ok {
		z, _ := v.(*zone)
		return z
	}
	var z *zone
	loc := loadIANA(tzid)
	switch {
	case strings.EqualFold(tzid, "UTC") || strings.EqualFold(tzid, "GMT") || strings.EqualFold(tzid, "Z"):
		z = utcZone
	case loc != nil:
		z = &zone{name: tzid, loc: loc}
	case windowsZones[tzid] != "":
		if loc := loadIANA(windowsZones[tzid]); loc != nil {
			z = &zone{name: tzid, loc: loc}
		}
	case strings.HasPrefix(tzid, "/"):
		// Keep the last path elements that name a zone:
		// Area/Location/Sub, Area/Location or a bare name.
		parts := strings.Split(strings.Trim(tzid, "/"), "/")
		for n := 3; n >= 1 && z == nil; n-- {
			if len(parts) >= n {
				if loc := loadIANA(strings.Join(parts[len(parts)-n:], "/")); loc != nil {
					z = &zone{name: tzid, loc: loc}
				}
			}
		}
	}
	ianaZones.Store(tzid, z)
	return z
}
