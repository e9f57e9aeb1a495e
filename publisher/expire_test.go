package publisher

import (
	"cmp"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// TestExpireIntoGaps checks that with ExpireIntoGaps a segment followed by
// "no publication" is asked to end with the segment, no grace, and is left
// to expire there instead of removed; that a publication cancelled long
// before its expiry is still removed; and that shutdown removes.
func TestExpireIntoGaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expire bool
		tl     []Entry
		cancel time.Duration // when a new timeline drops everything; 0: never
		cap    time.Duration // Options.Expires; 0: 1h
		want   []sent
	}{
		{
			name: "gap after a segment", expire: true,
			tl: []Entry{
				{Start: t0, End: t0.Add(10 * time.Minute), Body: []byte("A")},
				{Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute)},
				{Start: t0.Add(20 * time.Minute), End: t0.Add(40 * time.Minute), Body: []byte("B")},
			},
			want: []sent{
				// To the segment's end, no grace, no refresh; at 10m
				// nothing is sent: the publication lapses.
				{at: t0, expires: "600", body: "A"},
				{at: t0.Add(20 * time.Minute), expires: "1320", body: "B"},
				{at: t0.Add(30 * time.Minute), expires: "0", ifMatch: "etag2"}, // shutdown
			},
		},
		{
			name: "a short segment before a gap: below the 60s floor", expire: true,
			tl: []Entry{
				{Start: t0, End: t0.Add(20500 * time.Millisecond), Body: []byte("A")},
				{Start: t0.Add(20500 * time.Millisecond), End: t0.Add(20 * time.Minute)},
			},
			want: []sent{{at: t0, expires: "21", body: "A"}}, // rounded up
		},
		{
			name: "capped lifetime refreshes up to the gap", expire: true,
			tl: []Entry{
				{Start: t0, End: t0.Add(25 * time.Minute), Body: []byte("A")},
				{Start: t0.Add(25 * time.Minute), End: t0.Add(2 * time.Hour)},
			},
			cap: 10 * time.Minute,
			want: []sent{
				{at: t0, expires: "600", body: "A"},
				{at: t0.Add(450 * time.Second), expires: "600", ifMatch: "etag1"},
				{at: t0.Add(15 * time.Minute), expires: "600", ifMatch: "etag2"}, // to 25m: the last
				// 25m: nothing; 30m: nothing left to remove.
			},
		},
		{
			name: "without the option the gap removes",
			tl: []Entry{
				{Start: t0, End: t0.Add(10 * time.Minute), Body: []byte("A")},
				{Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute)},
			},
			want: []sent{
				{at: t0, expires: "720", body: "A"},
				{at: t0.Add(10 * time.Minute), expires: "0", ifMatch: "etag1"},
			},
		},
		{
			name: "cancelled long before its expiry", expire: true,
			tl: []Entry{
				{Start: t0, End: t0.Add(50 * time.Minute), Body: []byte("A")},
				{Start: t0.Add(50 * time.Minute), End: t0.Add(60 * time.Minute)},
			},
			cancel: 5 * time.Minute,
			want: []sent{
				{at: t0, expires: "3000", body: "A"},
				{at: t0.Add(5 * time.Minute), expires: "0", ifMatch: "etag1"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{}
				p, cancel, done := start(t, s, Options{Expires: cmp.Or(tc.cap, time.Hour), ExpireIntoGaps: tc.expire})
				p.SetTimeline(tc.tl)
				if tc.cancel > 0 {
					time.Sleep(tc.cancel)
					synctest.Wait()
					p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour)}})
				}
				time.Sleep(t0.Add(30 * time.Minute).Sub(time.Now()))
				synctest.Wait()
				cancel()
				<-done
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}
