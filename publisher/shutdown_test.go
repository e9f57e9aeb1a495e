package publisher

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// TestShutdownDuringModify is issue 15's race: Run's context is done while
// a modification is in flight. The server has acted on it, so the removal
// must carry the ETag the modification is answered with, not the old one
// (which would get 412 and leave the publication until it expires).
func TestShutdownDuringModify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answerIn time.Duration // how long after the cancel the modify is answered
		want     []sent
		wantErr  bool
	}{
		{"answered soon", 200 * time.Millisecond, []sent{
			{at: t0, expires: "180", body: "A"},
			{at: t0.Add(time.Minute), expires: "3600", ifMatch: "etag1", body: "B"},
			{at: t0.Add(time.Minute + 1200*time.Millisecond), expires: "0", ifMatch: "etag2"},
		}, false},
		// Never answered within half of RemoveTimeout: the removal goes
		// out with the last ETag we know, within RemoveTimeout of the cancel.
		{"not answered", time.Hour, []sent{
			{at: t0, expires: "180", body: "A"},
			{at: t0.Add(time.Minute), expires: "3600", ifMatch: "etag1", body: "B"},
			{at: t0.Add(time.Minute + 2500*time.Millisecond), expires: "0", ifMatch: "etag1"},
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				cancelled, end := make(chan struct{}), make(chan struct{})
				defer close(end)
				s := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
					if n == 2 { // the modify: the server is slow to answer
						<-cancelled
						select {
						case <-time.After(tc.answerIn):
						case <-end:
						}
					}
					return ok(req, n), nil
				}}
				p, cancel, done := start(t, s, Options{})
				p.SetTimeline([]Entry{
					{Start: t0, End: t0.Add(time.Minute), Body: []byte("A")},
					{Start: t0.Add(time.Minute), End: t0.Add(time.Hour), Body: []byte("B")},
				})
				if _, err := s.Wait(t.Context(), 2); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second) // the modify is in flight
				cancel()
				close(cancelled)
				begin := time.Now()
				err := <-done
				if took := time.Since(begin); took > 3*time.Second {
					t.Errorf("Run returned %v after cancel, want at most RemoveTimeout 3s", took)
				}
				if (err != nil) != tc.wantErr {
					t.Errorf("Run() = %v, want error %v", err, tc.wantErr)
				}
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}

// TestRemove412 is a removal answered 412: nothing of ours is left under
// that ETag, so there is nothing to remove; Run succeeds and says so.
func TestRemove412(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		var mu sync.Mutex
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
		s := &publishertest.Doer{Handler: publishertest.Sequence(
			publishertest.Default,
			func(req *sip.Request, n int) (*sip.Response, error) {
				return publishertest.PreconditionFailed(req), nil
			},
		)}
		p, cancel, done := start(t, s, Options{Logger: log})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
		if _, err := s.Wait(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v after a removal answered 412, want nil", err)
		}
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0, expires: "0", ifMatch: "etag1"},
		})
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(logs.String(), "nothing left under our etag") {
			t.Errorf("log = %s, want the 412 on removal explained", logs.String())
		}
	})
}
