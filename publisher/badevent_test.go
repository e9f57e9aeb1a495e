package publisher

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// A server without the event package (a Kamailio without
// presence_dialoginfo for Event: dialog) answers 489 Bad Event: that is
// final. The document is not retried with backoff (with thousands of users
// that is a storm of 489s); the next document of the timeline is offered
// once, and the warning is logged once.
func TestBadEventIsFinal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		until time.Duration // how long the timeline is followed
		want  []sent
	}{
		{"no retry within the segment", 9 * time.Minute, []sent{
			{at: t0, expires: "720", body: "A"}, // 10m + 2m grace
		}},
		{"the next document is offered once", 69 * time.Minute, []sent{
			{at: t0, expires: "720", body: "A"},
			{at: t0.Add(10 * time.Minute), expires: "3600", body: "B"},
		}},
		{"an hour later the document is offered again", 71 * time.Minute, []sent{
			{at: t0, expires: "720", body: "A"},
			{at: t0.Add(10 * time.Minute), expires: "3600", body: "B"},
			{at: t0.Add(70 * time.Minute), expires: "3600", body: "B"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				var logs bytes.Buffer
				log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
				s := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
					return status(req, 489, "Bad Event", "Allow-Events: presence"), nil
				}}
				p, cancel, done := start(t, s, Options{Event: "dialog", Logger: log})
				p.SetTimeline([]Entry{
					{Start: t0, End: t0.Add(10 * time.Minute), Body: []byte("A")},
					{Start: t0.Add(10 * time.Minute), End: t0.Add(3 * time.Hour), Body: []byte("B")},
				})
				time.Sleep(tc.until)
				synctest.Wait()
				cancel()
				<-done
				checkSent(t, sents(s), tc.want)
				var se *StatusError
				if err := p.LastError(); !errors.As(err, &se) || se.Code != 489 {
					t.Errorf("LastError = %v, want the 489", err)
				}
				if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
					t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
				}
			})
		})
	}
}
