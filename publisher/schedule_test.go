package publisher

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/publisher/publishertest"
)

// lateClock is a publisher clock on which every timer fires late: each
// time the bubble's time has moved since the previous reading (the
// publisher woke up), the clock jumps late further ahead, as when a loaded
// machine runs a goroutine a few ms after its timer. With speed > 1 it
// runs that much faster than the bubble, like the demo's clock, so the
// lateness is multiplied too.
type lateClock struct {
	start time.Time
	speed float64
	late  time.Duration

	mu    sync.Mutex
	last  time.Time
	ahead time.Duration
}

func (c *lateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if !c.last.IsZero() && now.After(c.last) {
		c.ahead += c.late
	}
	c.last = now
	d := now.Sub(c.start) + c.ahead
	if c.speed > 1 {
		d = time.Duration(float64(d) * c.speed)
	}
	return c.start.Add(d)
}

// AfterFunc and NewTimer wait d of the clock's time: d/speed of the
// bubble's.
func (c *lateClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return c.scaled().AfterFunc(d, f)
}

func (c *lateClock) NewTimer(d time.Duration) clock.Timer { return c.scaled().NewTimer(d) }

func (c *lateClock) scaled() clock.Clock {
	if c.speed > 1 {
		return clock.NewScaled(c.start, c.speed)
	}
	return clock.Real
}

// TestPublicationNeverLapses follows timelines whose segments are about as
// long as Expires with timers firing late, and checks every request
// against the publisher's promises: the publication never lapses while a
// segment runs (no fresh PUBLISH but after a gap), it never outlives its
// segment by more than Grace (or the Expires floor), Expires never drops
// below the floor, no refresh goes out just before a boundary that
// modifies anyway, and every boundary is published within 100 ms.
func TestPublicationNeverLapses(t *testing.T) {
	const gap = -1 // a segment length marking a span without publication
	for _, tc := range []struct {
		name           string
		expires, grace time.Duration
		segs           []time.Duration
		late           time.Duration
		speed          float64
	}{
		{"segments as long as expires", time.Hour, 2 * time.Minute,
			[]time.Duration{time.Hour, time.Hour, 45 * time.Minute, 2 * time.Hour, time.Hour + time.Second, time.Hour - time.Second, 3 * time.Hour}, 3 * time.Millisecond, 0},
		{"segments about expires minus grace", time.Hour, 2 * time.Minute,
			[]time.Duration{58 * time.Minute, 58*time.Minute + 30*time.Second, 59 * time.Minute, 61 * time.Minute, 62 * time.Minute, 65 * time.Minute, 70 * time.Minute}, 3 * time.Millisecond, 0},
		{"gap between segments", time.Hour, 2 * time.Minute,
			[]time.Duration{time.Hour, gap, time.Hour, 2 * time.Hour}, 3 * time.Millisecond, 0},
		{"short expires", 10 * time.Minute, 2 * time.Minute,
			[]time.Duration{10 * time.Minute, 8 * time.Minute, 8*time.Minute + time.Second, 9 * time.Minute, 30 * time.Minute}, 3 * time.Millisecond, 0},
		{"expires at the floor", time.Minute, 2 * time.Minute,
			[]time.Duration{time.Minute, 30 * time.Second, 5 * time.Minute, 10 * time.Second, 3 * time.Minute}, 3 * time.Millisecond, 0},
		{"small grace", time.Hour, 5 * time.Second,
			[]time.Duration{time.Hour, time.Hour, 30 * time.Minute, 3 * time.Hour}, 3 * time.Millisecond, 0},
		{"very late timers", time.Hour, 2 * time.Minute,
			[]time.Duration{time.Hour, time.Hour, 90 * time.Minute}, 50 * time.Millisecond, 0},
		{"demo at 2000x speed", time.Hour, 2 * time.Minute,
			[]time.Duration{time.Hour, time.Hour, 15 * time.Minute, time.Hour, 45 * time.Minute, 2 * time.Hour, time.Hour}, 3 * time.Millisecond, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				var tl []Entry
				at := t0
				for i, d := range tc.segs {
					e := Entry{Start: at, End: at.Add(max(d, 0)), Body: fmt.Appendf(nil, "S%d", i)}
					if d == gap {
						e.End, e.Body = at.Add(30*time.Minute), nil
					}
					tl = append(tl, e)
					at = e.End
				}
				tl = append(tl, Entry{Start: at, Body: []byte("open-ended")})
				until := at.Add(2 * time.Hour)

				clock := &lateClock{start: t0, speed: tc.speed, late: tc.late}
				s := &publishertest.Doer{Now: clock.Now}
				p, cancel, done := start(t, s, Options{Expires: tc.expires, Grace: tc.grace, Clock: clock})
				p.SetTimeline(tl)
				for clock.Now().Before(until) {
					d := until.Sub(clock.Now())
					if tc.speed > 1 {
						d = time.Duration(float64(d)/tc.speed) + 1
					}
					time.Sleep(d)
				}
				synctest.Wait()
				cancel()
				<-done
				checkNeverLapses(t, tl, tc.expires, tc.grace, until, 100*time.Millisecond+time.Duration(float64(tc.late)*max(tc.speed, 1)), sents(s))
			})
		})
	}
}

func checkNeverLapses(t *testing.T, tl []Entry, expires, grace time.Duration, until time.Time, onTime time.Duration, got []sent) {
	t.Helper()
	t.Log("requests:\n" + dump(got))
	floor := min(time.Minute, expires)
	segAt := func(at time.Time) Entry {
		for _, e := range tl {
			if !at.Before(e.Start) && (e.End.IsZero() || at.Before(e.End)) {
				return e
			}
		}
		return Entry{}
	}
	var expiry time.Time // of the publication, zero: none
	removed := true
	for i, r := range got {
		if r.at.After(until) {
			break // the removal on shutdown
		}
		if !expiry.IsZero() && !r.at.Before(expiry) {
			t.Errorf("request %d at %v: the publication lapsed at %v\n%s", i, r.at.Sub(t0), expiry.Sub(t0), dump(got))
		}
		if fresh := r.ifMatch == ""; fresh != removed {
			t.Errorf("request %d at %v: fresh PUBLISH %v, want %v (the ETag must survive)\n%s", i, r.at.Sub(t0), fresh, removed, dump(got))
		}
		exp, err := strconv.Atoi(r.expires)
		if err != nil {
			t.Fatalf("request %d: Expires %q", i, r.expires)
		}
		if exp == 0 {
			expiry, removed = time.Time{}, true
			continue
		}
		removed = false
		g := time.Duration(exp) * time.Second
		e := segAt(r.at)
		if g < floor || g > expiries(expires, floor) {
			t.Errorf("request %d at %v: Expires %d, want %v..%v", i, r.at.Sub(t0), exp, floor, expires)
		}
		if !e.End.IsZero() && r.at.Add(g).After(later(e.End.Add(grace), r.at.Add(floor))) {
			t.Errorf("request %d at %v: Expires %d outlives the segment ending at %v by more than grace %v", i, r.at.Sub(t0), exp, e.End.Sub(t0), grace)
		}
		if r.body == "" && !e.End.IsZero() {
			if e.End.Sub(r.at) < 5*time.Second {
				t.Errorf("request %d at %v: refresh %v before the boundary at %v, which modifies anyway", i, r.at.Sub(t0), e.End.Sub(r.at), e.End.Sub(t0))
			}
			if expiry.Sub(e.End) >= grace/2 {
				t.Errorf("request %d at %v: refresh, but the publication already lasted until %v, well past the boundary at %v", i, r.at.Sub(t0), expiry.Sub(t0), e.End.Sub(t0))
			}
		}
		expiry = r.at.Add(g)
	}
	if !expiry.IsZero() && !expiry.After(until) {
		t.Errorf("the publication lapsed at %v, before %v", expiry.Sub(t0), until.Sub(t0))
	}
	for _, e := range tl[1:] {
		found := false
		for _, r := range got {
			d := r.at.Sub(e.Start)
			if d >= 0 && d <= onTime && r.body == string(e.Body) && (e.Body != nil || r.expires == "0") {
				found = true
			}
		}
		if !found {
			t.Errorf("no PUBLISH of %q within %v of its start at %v\n%s", e.Body, onTime, e.Start.Sub(t0), dump(got))
		}
	}
}

func expiries(expires, floor time.Duration) time.Duration { return max(expires, floor) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestConditionalRequestFailedRepublishesOnce checks that a 412 (the server
// lost the publication) is answered by exactly one fresh PUBLISH of the
// state in force, and that the publisher then carries on with the new
// ETag.
func TestConditionalRequestFailedRepublishesOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lose   func(req *sip.Request, n int) bool // answer 412
		want   []sent
		maxReq int // for a server that answers 412 to everything
	}{
		{
			name: "refresh", lose: func(_ *sip.Request, n int) bool { return n == 2 },
			want: []sent{
				{at: t0, expires: "600", body: "A"},
				{at: t0.Add(450 * time.Second), expires: "600", ifMatch: "etag1"}, // → 412
				{at: t0.Add(450 * time.Second), expires: "600", body: "A"},
				{at: t0.Add(900 * time.Second), expires: "420", ifMatch: "etag3"},
				{at: t0.Add(20 * time.Minute), expires: "600", ifMatch: "etag4", body: "B"},
				{at: t0.Add(25 * time.Minute), expires: "0", ifMatch: "etag5"},
			},
		},
		{
			name: "modify at a boundary", lose: func(_ *sip.Request, n int) bool { return n == 4 },
			want: []sent{
				{at: t0, expires: "600", body: "A"},
				{at: t0.Add(450 * time.Second), expires: "600", ifMatch: "etag1"},
				{at: t0.Add(900 * time.Second), expires: "420", ifMatch: "etag2"},
				{at: t0.Add(20 * time.Minute), expires: "600", ifMatch: "etag3", body: "B"}, // → 412
				{at: t0.Add(20 * time.Minute), expires: "600", body: "B"},                   // the new state, once
				{at: t0.Add(25 * time.Minute), expires: "0", ifMatch: "etag5"},
			},
		},
		{
			name: "removal on shutdown", lose: func(req *sip.Request, _ int) bool { return hdr(req, "Expires") == "0" },
			want: []sent{
				{at: t0, expires: "600", body: "A"},
				{at: t0.Add(450 * time.Second), expires: "600", ifMatch: "etag1"},
				{at: t0.Add(900 * time.Second), expires: "420", ifMatch: "etag2"},
				{at: t0.Add(20 * time.Minute), expires: "600", ifMatch: "etag3", body: "B"},
				{at: t0.Add(25 * time.Minute), expires: "0", ifMatch: "etag4"}, // → 412: gone already
			},
		},
		{
			// A broken server: 412 even without SIP-If-Match must not loop.
			name: "412 to everything", lose: func(*sip.Request, int) bool { return true }, maxReq: 30,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
					if tc.lose(req, n) {
						return publishertest.PreconditionFailed(req), nil
					}
					return ok(req, n), nil
				}}
				p, cancel, done := start(t, s, Options{Expires: 600 * time.Second})
				p.SetTimeline([]Entry{
					{Start: t0, End: t0.Add(20 * time.Minute), Body: []byte("A")},
					{Start: t0.Add(20 * time.Minute), End: t0.Add(30 * time.Minute), Body: []byte("B")},
				})
				time.Sleep(25 * time.Minute)
				synctest.Wait()
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run() = %v, want nil", err)
				}
				if tc.maxReq > 0 {
					if n := len(sents(s)); n > tc.maxReq {
						t.Errorf("412 to every request for 25 minutes: %d requests, want at most %d (backoff)", n, tc.maxReq)
					}
					return
				}
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}

// TestEqualBodyNotResent checks that a boundary whose document equals the
// one published sends nothing, however the timeline splits it, and that
// the Expires asked covers the merged segment.
func TestEqualBodyNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(10 * time.Minute), Body: []byte("A")},
			{Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Body: []byte("A")}, // a copy, not the same slice
			{Start: t0.Add(20 * time.Minute), End: t0.Add(30 * time.Minute), Body: []byte("B")},
		})
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		// A new timeline (e.g. after a calendar poll) with the same
		// document in force and a later boundary: nothing to send now; the
		// old lifetime is refreshed before it ends.
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(25 * time.Minute), Body: []byte("A")},
			{Start: t0.Add(25 * time.Minute), End: t0.Add(40 * time.Minute), Body: []byte("B")},
		})
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "1320", body: "A"},                             // 20m (both entries) + 2m
			{at: t0.Add(20 * time.Minute), expires: "420", ifMatch: "etag1"}, // refresh: the segment now ends at 25m
			{at: t0.Add(25 * time.Minute), expires: "1020", ifMatch: "etag2", body: "B"},
			{at: t0.Add(30 * time.Minute), expires: "0", ifMatch: "etag3"},
		})
	})
}

// TestBoundaryOnTime checks that the PUBLISH of each boundary goes out
// within 100 ms of it, at boundaries at odd instants, right after
// refreshes and with a server that takes its time to answer.
func TestBoundaryOnTime(t *testing.T) {
	for _, latency := range []time.Duration{0, 40 * time.Millisecond} {
		t.Run(fmt.Sprintf("latency %v", latency), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
					time.Sleep(latency)
					return ok(req, n), nil
				}}
				p, cancel, done := start(t, s, Options{Expires: 10 * time.Minute})
				var tl []Entry
				at := t0.Add(1234 * time.Millisecond)
				for i, d := range []time.Duration{
					7*time.Minute + 333*time.Millisecond, 10 * time.Minute, 8*time.Minute + 999*time.Millisecond,
					time.Second, 90 * time.Millisecond, 25 * time.Minute, 7*time.Minute + 30*time.Second,
				} {
					var body []byte
					if i != 3 {
						body = fmt.Appendf(nil, "S%d", i)
					}
					tl = append(tl, Entry{Start: at, End: at.Add(d), Body: body})
					at = at.Add(d)
				}
				p.SetTimeline(tl)
				time.Sleep(at.Sub(t0) + time.Minute)
				synctest.Wait()
				cancel()
				<-done
				got := sents(s)
				for _, e := range tl {
					sentAt := time.Time{}
					for _, r := range got {
						if !r.at.Before(e.Start) && r.body == string(e.Body) && (e.Body != nil || r.expires == "0") {
							sentAt = r.at
							break
						}
					}
					if d := sentAt.Sub(e.Start); sentAt.IsZero() || d > 100*time.Millisecond {
						t.Errorf("boundary at %v: PUBLISH %q sent %v later, want within 100ms\n%s", e.Start.Sub(t0), e.Body, d, dump(got))
					}
				}
			})
		})
	}
}
