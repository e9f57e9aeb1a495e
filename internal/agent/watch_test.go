package agent

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
)

// A user's Watchers run beside both publishers, presence and the BLF
// lamp's dialog, each with its own document in force; their repairs reach
// the server as that publication's and count in the metrics, and they stop
// with the agent.
func TestAgentWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(-time.Hour), start.Add(time.Hour))}
		u := userFor(aor, zone, builtin(t), src)
		var mu sync.Mutex
		seen := map[string][]byte{}
		var stopped sync.WaitGroup
		u.Watch = func(ctx context.Context, event string, inForce func() []byte, repair func()) {
			stopped.Add(1)
			defer stopped.Done()
			time.Sleep(time.Minute)
			mu.Lock()
			seen[event] = inForce()
			mu.Unlock()
			repair()
			<-ctx.Done()
		}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, u)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		mu.Lock()
		if len(seen) != 2 {
			t.Fatalf("watchers started for %d events (%v), want presence and dialog", len(seen), seen)
		}
		if got := decodeState(t, seen["presence"]); got.Basic != "closed" {
			t.Errorf("the presence watcher's InForce = %s, want the meeting (closed)", fmtState(got))
		}
		doc, err := dialoginfo.Unmarshal(seen[dialoginfo.Event])
		if err != nil || len(doc.Dialogs) != 1 || doc.Dialogs[0].ID != dialoginfo.IDFor(aor) || doc.Dialogs[0].State != dialoginfo.Confirmed {
			t.Errorf("the dialog watcher's InForce = %s, %v; want our dialog confirmed", seen[dialoginfo.Event], err)
		}
		mu.Unlock()
		for _, key := range []string{aor, dialoginfo.Event + " " + aor} {
			recs := d.records(key)
			if len(recs) != 2 || !recs[1].at.Equal(start.Add(time.Minute)) || string(recs[1].body) != string(recs[0].body) {
				t.Errorf("requests of %q = %+v, want the publication and its repair a minute later", key, recs)
			}
		}
		if st := h.a.Stats(); st.Users[0].Repairs != 2 {
			t.Errorf("Stats().Users[0].Repairs = %d, want 2 (one per publication)", st.Users[0].Repairs)
		}
		h.stop()
		done := make(chan struct{})
		go func() { stopped.Wait(); close(done) }()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Error("a watcher still runs after the agent stopped")
		}
	})
}
