package publisher

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// Options.Farewell: on shutdown the publisher publishes the farewell
// document under the current ETag and then removes the publication; no
// farewell when it returns nil or what the server holds already; a 412 to
// the farewell leaves nothing to remove.
func TestShutdownFarewell(t *testing.T) {
	bye := func(b []byte) []byte {
		if string(b) == "A" {
			return []byte("A-over")
		}
		return nil
	}
	for _, tc := range []struct {
		name     string
		farewell func([]byte) []byte
		body     string
		handler  publishertest.Handler
		want     []sent
	}{
		{"farewell", bye, "A", nil, []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "60", ifMatch: "etag1", body: "A-over"},
			{at: t0.Add(time.Minute), expires: "0", ifMatch: "etag2"},
		}},
		{"none for this body", bye, "B", nil, []sent{
			{at: t0, expires: "3600", body: "B"},
			{at: t0.Add(time.Minute), expires: "0", ifMatch: "etag1"},
		}},
		{"same body", func(b []byte) []byte { return b }, "A", nil, []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "0", ifMatch: "etag1"},
		}},
		{"no farewell", nil, "A", nil, []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "0", ifMatch: "etag1"},
		}},
		{"412 to the farewell", bye, "A", func(req *sip.Request, n int) (*sip.Response, error) {
			if n == 2 {
				return publishertest.PreconditionFailed(req), nil
			}
			return ok(req, n), nil
		}, []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "60", ifMatch: "etag1", body: "A-over"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{Handler: tc.handler}
				p, cancel, done := start(t, s, Options{Farewell: tc.farewell})
				p.SetTimeline([]Entry{{Start: t0, Body: []byte(tc.body)}})
				time.Sleep(time.Minute)
				synctest.Wait()
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run() = %v, want nil", err)
				}
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}

// Options.Final: a change from a final document removes the publication
// and publishes the new one afresh, at once; a change from any other is a
// modification.
func TestFinalDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{Final: func(b []byte) bool { return string(b) == "over" }})
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(time.Minute), Body: []byte("on")},
			{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Body: []byte("over")},
			{Start: t0.Add(2 * time.Minute), End: t0.Add(time.Hour), Body: []byte("on again")},
		})
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "180", body: "on"},
			{at: t0.Add(time.Minute), expires: "180", ifMatch: "etag1", body: "over"}, // modify
			{at: t0.Add(2 * time.Minute), expires: "0", ifMatch: "etag2"},             // not a modify of "over"
			{at: t0.Add(2 * time.Minute), expires: "3600", body: "on again"},          // but afresh
			{at: t0.Add(3 * time.Minute), expires: "0", ifMatch: "etag4"},
		})
	})
}

// Where the timeline turns to "no publication", the farewell goes out at
// the boundary and the removal right after it, both on time; a document
// with no farewell is removed plainly.
func TestFarewellAtBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		bye := func(b []byte) []byte {
			if string(b) == "A" {
				return []byte("A-over")
			}
			return nil
		}
		p, cancel, done := start(t, s, Options{Farewell: bye})
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(time.Minute), Body: []byte("A")},
			{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute)}, // nothing to say
			{Start: t0.Add(2 * time.Minute), End: t0.Add(3 * time.Minute), Body: []byte("B")},
			{Start: t0.Add(3 * time.Minute)},
		})
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "180", body: "A"}, // the boundary plus Grace
			{at: t0.Add(time.Minute), expires: "60", ifMatch: "etag1", body: "A-over"},
			{at: t0.Add(time.Minute), expires: "0", ifMatch: "etag2"},
			{at: t0.Add(2 * time.Minute), expires: "180", body: "B"},
			{at: t0.Add(3 * time.Minute), expires: "0", ifMatch: "etag4"},
		})
	})
}

// On shutdown a farewell that gets no answer holds the removal back for
// at most half of RemoveTimeout: the removal still goes out, under the
// ETag the server last gave.
func TestShutdownFarewellUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		answer := make(chan struct{})
		s := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
			if n == 2 {
				<-answer // not before the publisher has given up on it
			}
			return ok(req, n), nil
		}}
		p, cancel, done := start(t, s, Options{Farewell: func([]byte) []byte { return []byte("bye") }, RemoveTimeout: 4 * time.Second})
		p.SetTimeline([]Entry{{Start: t0, Body: []byte("A")}})
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		err := <-done
		close(answer)
		if err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "60", ifMatch: "etag1", body: "bye"},
			{at: t0.Add(time.Minute + 2*time.Second), expires: "0", ifMatch: "etag1"},
		})
	})
}
