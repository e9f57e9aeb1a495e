package publisher

import (
	"cmp"
	"fmt"
	"slices"
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
				time.Sleep(time.Until(t0.Add(30 * time.Minute)))
				synctest.Wait()
				cancel()
				<-done
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}

// OnChange hears each change of what watchers get, once: a document
// published, a publication left to lapse or withdrawn; not refreshes, not
// the removal on shutdown.
func TestOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		var got []string
		opts := Options{Expires: 10 * time.Minute, ExpireIntoGaps: true, OnChange: func(body []byte, how string) {
			got = append(got, fmt.Sprintf("%v %s %q", time.Since(t0), how, body))
		}}
		p, cancel, done := start(t, s, opts)
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(25 * time.Minute), Body: []byte("A")}, // refreshed twice
			{Start: t0.Add(25 * time.Minute), End: t0.Add(30 * time.Minute)},
			{Start: t0.Add(30 * time.Minute), End: t0.Add(90 * time.Minute), Body: []byte("B")},
			{Start: t0.Add(90 * time.Minute), End: t0.Add(2 * time.Hour), Body: []byte("C")},
		})
		time.Sleep(35 * time.Minute)
		synctest.Wait()
		// B is cancelled long before its publication would end: withdrawn.
		p.SetTimeline([]Entry{{Start: t0.Add(30 * time.Minute), End: t0.Add(90 * time.Minute)},
			{Start: t0.Add(90 * time.Minute), End: t0.Add(2 * time.Hour), Body: []byte("C")}})
		time.Sleep(time.Until(t0.Add(100 * time.Minute)))
		synctest.Wait()
		cancel()
		<-done
		want := []string{`0s published "A"`, `25m0s left to lapse ""`, `30m0s published "B"`, `35m0s withdrawn ""`, `1h30m0s published "C"`}
		if !slices.Equal(got, want) {
			t.Errorf("OnChange heard\n%q\nwant\n%q", got, want)
		}
	})
}
