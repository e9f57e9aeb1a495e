package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/publisher"
)

// dialogHeld decodes the dialog-info document the server holds for aor:
// the state of the agent's dialog, "" when it holds none.
func dialogHeld(t *testing.T, d *recDoer, aor string) string {
	t.Helper()
	d.mu.Lock()
	body, ok := d.held[dialoginfo.Event+" "+aor]
	d.mu.Unlock()
	if !ok {
		return ""
	}
	doc, err := dialoginfo.Unmarshal(body)
	if err != nil {
		t.Fatalf("dialoginfo.Unmarshal(%s) = %v", body, err)
	}
	if len(doc.Dialogs) != 1 || doc.Dialogs[0].ID != dialoginfo.IDFor(aor) || doc.Entity != aor {
		t.Fatalf("held dialog document = %s, want one dialog %s of %s", body, dialoginfo.IDFor(aor), aor)
	}
	return doc.Dialogs[0].State
}

// A meeting (blf = true in the built-in rules) lights the lamp: confirmed
// from its start, terminated at its end for the linger, then the
// publication goes; a lunch publishes no dialog; on stop both
// publications are removed. With NoBLF nothing is published on the dialog
// package at all.
func TestAgentBLF(t *testing.T) {
	type check struct {
		at       time.Duration // from the meeting's start
		state    string        // the agent's dialog the server holds; "" none
		presence bool          // the server holds the agent's presence (not while the default says nothing)
	}
	checks := []check{
		{-time.Hour, "", false},                   // before: nothing published
		{time.Second, dialoginfo.Confirmed, true}, // the meeting
		{59 * time.Minute, dialoginfo.Confirmed, true},
		{time.Hour + time.Second, dialoginfo.Terminated, false}, // the linger
		{time.Hour + dialoginfo.DefaultLinger + time.Second, "", false},
		{2*time.Hour + 30*time.Minute, "", true}, // the lunch
	}
	for _, tc := range []struct {
		name  string
		noBLF bool
	}{{"blf", false}, {"no blf", true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				zone := zoneBerlin(t)
				time.Sleep(time.Until(time.Date(2000, 3, 10, 8, 0, 0, 0, time.UTC)))
				start := time.Now().Add(time.Hour) // 10:00 in Berlin
				const aor = "sip:alice@example.com"
				src := &fakeSource{name: "work", zone: zone}
				src.set(buildICS([]icsEvent{
					{uid: "m", summary: "Review", start: start, end: start.Add(time.Hour), attendees: 3},
					{uid: "l", summary: "Lunch", start: start.Add(2 * time.Hour), end: start.Add(3 * time.Hour)},
				}), nil)
				d := newRecDoer()
				u := userFor(aor, zone, builtin(t), src)
				u.NoBLF = tc.noBLF
				h := startAgent(t, d, &stateStore{}, Options{}, u)
				for _, c := range checks {
					time.Sleep(time.Until(start.Add(c.at)))
					synctest.Wait()
					want := c.state
					if tc.noBLF {
						want = ""
					}
					if got := dialogHeld(t, d, aor); got != want {
						t.Errorf("at meeting start %+v: dialog held %q, want %q", c.at, got, want)
					}
					if _, ok := d.heldState(t, aor); ok != c.presence {
						t.Errorf("at meeting start %+v: presence held = %t, want %t", c.at, ok, c.presence)
					}
					st := h.a.Stats().Users[0]
					if lit := want == dialoginfo.Confirmed; st.BLF != lit {
						t.Errorf("at meeting start %+v: Stats BLF = %t, want %t", c.at, st.BLF, lit)
					}
				}
				st := h.a.Stats().Users[0]
				dialogs := d.records(dialoginfo.Event + " " + aor)
				if tc.noBLF {
					if len(dialogs) != 0 || st.DialogRequests != [7]uint64{} {
						t.Errorf("NoBLF: dialog requests %v, stats %v; want none", dialogs, st.DialogRequests)
					}
				} else {
					// initial (confirmed), modify (terminated), remove.
					if len(dialogs) != 3 || dialogs[2].op != "remove" {
						t.Errorf("dialog requests = %+v, want publish, publish, remove", dialogs)
					}
					if st.DialogRequests[2] < 3 || st.DialogRequests[0] != 0 {
						t.Errorf("Stats DialogRequests = %v, want >= 3 2xx and no errors", st.DialogRequests)
					}
					if st.Requests == st.DialogRequests {
						t.Errorf("Stats Requests = DialogRequests = %v, want each package counted apart", st.Requests)
					}
				}
				h.stop()
				if _, ok := d.heldState(t, aor); ok {
					t.Error("after stop: presence still held")
				}
			})
		})
	}
}

// recPublishers records what the agent makes of its publishers.
type recPublishers struct {
	mu     sync.Mutex
	events []string
}

func (r *recPublishers) wrap(a *Agent) {
	next := a.newPublisher
	a.newPublisher = func(d publisher.Doer, o publisher.Options) timelineRunner {
		r.mu.Lock()
		r.events = append(r.events, o.Event)
		r.mu.Unlock()
		return next(d, o)
	}
}

// A user whose timeline has no BLF span starts no dialog publisher (no
// goroutine, no request); one whose meeting is still being lingered over
// at shutdown removes both publications at once, the dialog one too.
func TestAgentBLFLazyAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		time.Sleep(time.Until(time.Date(2000, 3, 10, 8, 0, 0, 0, time.UTC)))
		now := time.Now()
		lunch := &fakeSource{name: "lunch", zone: zone}
		lunch.set(buildICS([]icsEvent{{uid: "l", summary: "Lunch", start: now, end: now.Add(time.Hour)}}), nil)
		meet := &fakeSource{name: "meet", zone: zone}
		meet.set(buildICS([]icsEvent{{uid: "m", summary: "Review", start: now, end: now.Add(time.Hour), attendees: 2}}), nil)
		d := newRecDoer()
		a := New(Options{Doer: d, JumpCheck: time.Hour})
		var rec recPublishers
		rec.wrap(a)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Run(ctx, []User{
				userFor("sip:bob@example.com", zone, builtin(t), lunch),
				userFor("sip:carol@example.com", zone, builtin(t), meet),
			})
		}()
		time.Sleep(time.Minute)
		synctest.Wait()
		rec.mu.Lock()
		var dialogs int
		for _, e := range rec.events {
			if e == dialoginfo.Event {
				dialogs++
			}
		}
		rec.mu.Unlock()
		if dialogs != 1 {
			t.Errorf("dialog publishers started = %d (of %v), want 1: carol's meeting only", dialogs, rec.events)
		}
		if got := dialogHeld(t, d, "sip:bob@example.com"); got != "" {
			t.Errorf("bob (lunch): dialog held %q, want none", got)
		}
		if got := dialogHeld(t, d, "sip:carol@example.com"); got != dialoginfo.Confirmed {
			t.Errorf("carol (meeting): dialog held %q, want confirmed", got)
		}
		cancel()
		<-done
		// Stopped during the meeting: the lamp is turned dark before the
		// publication goes.
		rs := d.records(dialoginfo.Event + " sip:carol@example.com")
		if n := len(rs); n < 3 || rs[n-2].op != "publish" || !strings.Contains(string(rs[n-2].body), "<state>terminated</state>") {
			t.Errorf("carol's dialog requests = %+v, want the terminated dialog before the removal", rs)
		}
		for _, aor := range []string{"sip:carol@example.com", dialoginfo.Event + " sip:carol@example.com"} {
			rs := d.records(aor)
			if len(rs) == 0 || rs[len(rs)-1].op != "remove" {
				t.Errorf("%s: last request %+v, want a removal", aor, rs)
			}
		}
	})
}

func TestDialogFarewell(t *testing.T) {
	const aor = "sip:alice@example.com"
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tl := dialoginfo.Timeline(aor, []dialoginfo.Span{{Start: start, End: start.Add(time.Hour)}}, dialoginfo.TimelineOptions{})
	confirmed, terminated := tl[0].Body, tl[1].Body
	if !dialogFinal(terminated) || dialogFinal(confirmed) || dialogFinal([]byte("<presence/>")) {
		t.Errorf("dialogFinal(terminated, confirmed, not dialog-info) = %t, %t, %t; want true, false, false",
			dialogFinal(terminated), dialogFinal(confirmed), dialogFinal([]byte("<presence/>")))
	}
	for _, tc := range []struct {
		name      string
		published []byte
		version   uint64 // 0: no farewell
	}{
		{"confirmed", confirmed, uint64(start.Unix()) + 1},
		{"terminated already", terminated, 0},
		{"not a dialog-info document", []byte("<presence/>"), 0},
	} {
		got := dialogFarewell(tc.published)
		if tc.version == 0 {
			if got != nil {
				t.Errorf("%s: dialogFarewell() = %s, want nil", tc.name, got)
			}
			continue
		}
		d, err := dialoginfo.Unmarshal(got)
		if err != nil {
			t.Fatalf("%s: dialogFarewell() = %s: %v", tc.name, got, err)
		}
		if d.Version != tc.version || len(d.Dialogs) != 1 || d.Dialogs[0].State != dialoginfo.Terminated ||
			d.Dialogs[0].ID != dialoginfo.IDFor(aor) || d.Entity != aor {
			t.Errorf("%s: dialogFarewell() = %s, want the dialog terminated at version %d", tc.name, got, tc.version)
		}
	}
}

// A meeting that starts during the previous one's linger is published
// afresh (removal, then an initial PUBLISH), not as a modification of the
// terminated dialog, which Kamailio would skip.
func TestAgentBLFBackToBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		time.Sleep(time.Until(time.Date(2000, 3, 10, 8, 0, 0, 0, time.UTC)))
		start := time.Now().Add(time.Hour)
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone}
		src.set(buildICS([]icsEvent{
			{uid: "m1", summary: "Review", start: start, end: start.Add(time.Hour), attendees: 3},
			{uid: "m2", summary: "Planning", start: start.Add(time.Hour + 5*time.Second), end: start.Add(2 * time.Hour), attendees: 3},
		}), nil)
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, userFor(aor, zone, builtin(t), src))
		time.Sleep(time.Until(start.Add(90 * time.Minute)))
		synctest.Wait()
		h.stop()
		var got []string
		for _, r := range d.records(dialoginfo.Event + " " + aor) {
			s := r.op
			if r.body != nil {
				doc, err := dialoginfo.Unmarshal(r.body)
				if err != nil {
					t.Fatal(err)
				}
				s += " " + doc.Dialogs[0].State
			}
			got = append(got, r.at.Sub(start).String()+" "+s)
		}
		want := []string{"0s publish confirmed", "1h0m0s publish terminated", "1h0m5s remove", "1h0m5s publish confirmed",
			"1h30m0s publish terminated", "1h30m0s remove"} // the farewell on stop, then the removal
		if !slices.Equal(got, want) {
			t.Errorf("dialog requests =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// The farewell document, which the agent builds itself, validates against
// the RFC 4235 schema, as the timeline's documents do (dialoginfo's
// TestSchema).
func TestDialogFarewellSchema(t *testing.T) {
	xmllint := testserver.LookPath(t, "xmllint", "libxml2-utils")
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tl := dialoginfo.Timeline("sip:alice@example.com", []dialoginfo.Span{{Start: start, End: start.Add(time.Hour)}}, dialoginfo.TimelineOptions{})
	f := filepath.Join(t.TempDir(), "farewell.xml")
	if err := os.WriteFile(f, dialogFarewell(tl[0].Body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join("..", "..", "dialoginfo", "testdata", "dialog-info.xsd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint --schema dialog-info.xsd farewell.xml: %v\n%s", err, out)
	}
}
