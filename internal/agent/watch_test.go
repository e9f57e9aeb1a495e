package agent

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A user's Watcher runs beside the publisher with the document in force,
// its repairs reach the server and the metrics, and it stops with the
// agent.
func TestAgentWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(-time.Hour), start.Add(time.Hour))}
		u := userFor(aor, zone, builtin(t), src)
		seen := make(chan []byte, 1)
		stopped := make(chan struct{})
		u.Watch = func(ctx context.Context, inForce func() []byte, repair func()) {
			defer close(stopped)
			time.Sleep(time.Minute)
			seen <- inForce()
			repair()
			<-ctx.Done()
		}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, u)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := decodeState(t, <-seen); got.Basic != "closed" {
			t.Errorf("the watcher's InForce = %s, want the meeting (closed)", fmtState(got))
		}
		recs := d.records(aor)
		if len(recs) != 2 || !recs[1].at.Equal(start.Add(time.Minute)) || string(recs[1].body) != string(recs[0].body) {
			t.Errorf("requests = %+v, want the publication and its repair a minute later", recs)
		}
		if st := h.a.Stats(); st.Users[0].Repairs != 1 {
			t.Errorf("Stats().Users[0].Repairs = %d, want 1", st.Users[0].Repairs)
		}
		h.stop()
		select {
		case <-stopped:
		default:
			t.Error("the watcher still runs after the agent stopped")
		}
	})
}
