package agent

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// A user's own status beats the meeting at once, survives a restart, and
// the meeting comes back at its end; clearing one brings the calendar back
// at once.
func TestAgentOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		store := &stateStore{dir: t.TempDir()}
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(3*time.Hour))}
		d := newRecDoer()
		h := startAgent(t, d, store, Options{}, userFor(aor, zone, rs, src))
		time.Sleep(90 * time.Minute)
		synctest.Wait()
		if got, _ := d.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("in the meeting the server holds %s, want closed", fmtState(got))
		}
		id, err := h.a.SetOverride("", Override{State: "available", Note: "Ask me"}, 30*time.Minute)
		if err != nil || id != aor {
			t.Fatalf("SetOverride(available, 30m) = %q, %v, want %q, nil", id, err, aor)
		}
		synctest.Wait()
		if got, _ := d.heldState(t, aor); !sameState(got, rules.State{Basic: "open", Note: "Ask me"}) {
			t.Fatalf("after the override the server holds %s, want open \"Ask me\"", fmtState(got))
		}
		ps := h.a.Presences()
		if len(ps) != 1 || ps[0].Source != "override" || ps[0].Override == nil || ps[0].Override.State != "available" ||
			!ps[0].Current.End.Equal(start.Add(2*time.Hour)) {
			t.Fatalf("Presences() = %+v, want the override until %v", ps, start.Add(2*time.Hour))
		}

		// A restart keeps it.
		h.stop()
		d2 := newRecDoer()
		h2 := startAgent(t, d2, store, Options{}, userFor(aor, zone, rs, src))
		time.Sleep(time.Second)
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); got.Basic != "open" {
			t.Fatalf("after a restart during the override the server holds %s, want open", fmtState(got))
		}
		// Its end brings the meeting back, on time.
		time.Sleep(time.Until(start.Add(2 * time.Hour)))
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("at the override's end the server holds %s, want closed (the meeting)", fmtState(got))
		}
		recs := d2.records(aor)
		if last := recs[len(recs)-1]; !last.at.Equal(start.Add(2 * time.Hour)) {
			t.Errorf("the meeting came back at %v, want %v", last.at, start.Add(2*time.Hour))
		}
		if ps := h2.a.Presences(); ps[0].Source != "calendar" || ps[0].Override != nil || ps[0].Current.Rule != "meeting" {
			t.Errorf("after the override's end Presences() = %+v, want the calendar's meeting", ps)
		}
		if o := h2.a.loadOverride(aor); o != nil {
			t.Errorf("after its end the override is still saved: %+v", o)
		}

		// Open-ended, then cleared.
		if _, err := h2.a.SetOverride(aor, Override{State: "lunch"}, 0); err != nil {
			t.Fatalf("SetOverride(lunch) = %v", err)
		}
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); !sameState(got, rules.State{Basic: "open", Activities: []string{"away", "meal"}}) {
			t.Fatalf("with the lunch override the server holds %s, want open [away meal]", fmtState(got))
		}
		time.Sleep(10 * time.Minute)
		if _, err := h2.a.ClearOverride(""); err != nil {
			t.Fatalf("ClearOverride = %v", err)
		}
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("after clearing the server holds %s, want closed (the meeting)", fmtState(got))
		}
		h2.stop()
		assertStopped(t, h2.a)
	})
}

func TestAgentOverrideRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))}
		h := startAgent(t, newRecDoer(), &stateStore{}, Options{},
			userFor("sip:alice@example.com", zone, rs, src), userFor("sip:bob@example.com", zone, rs, src))
		synctest.Wait()
		for _, tc := range []struct {
			name, user string
			o          Override
			d          time.Duration
		}{
			{"which user", "", Override{State: "busy"}, 0},
			{"unknown user", "sip:carol@example.com", Override{State: "busy"}, 0},
			{"unknown state", "sip:bob@example.com", Override{State: "sleeping"}, 0},
			{"ignore rule", "sip:bob@example.com", Override{State: "free"}, 0},
			{"past end", "sip:bob@example.com", Override{State: "busy", Until: time.Now().Add(-time.Minute)}, 0},
		} {
			_, err := h.a.SetOverride(tc.user, tc.o, tc.d)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("%s: SetOverride(%q, %+v) = %v, want an *InputError", tc.name, tc.user, tc.o, err)
			}
		}
		for _, p := range h.a.Presences() {
			if p.Override != nil {
				t.Errorf("after refused overrides %s has %+v", p.User, p.Override)
			}
		}
	})
}

func TestSplice(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	seg := func(s, e int, rule string) rules.Segment { return rules.Segment{Start: at(s), End: at(e), Rule: rule} }
	for _, tc := range []struct {
		name string
		segs []rules.Segment
		s    rules.Segment
		want []rules.Segment
	}{
		{"inside one", []rules.Segment{seg(0, 24, "")}, seg(9, 10, "o"),
			[]rules.Segment{seg(0, 9, ""), seg(9, 10, "o"), seg(10, 24, "")}},
		{"over several", []rules.Segment{seg(0, 9, ""), seg(9, 11, "m"), seg(11, 24, "")}, seg(10, 12, "o"),
			[]rules.Segment{seg(0, 9, ""), seg(9, 10, "m"), seg(10, 12, "o"), seg(12, 24, "")}},
		{"on edges", []rules.Segment{seg(0, 9, ""), seg(9, 11, "m"), seg(11, 24, "")}, seg(9, 11, "o"),
			[]rules.Segment{seg(0, 9, ""), seg(9, 11, "o"), seg(11, 24, "")}},
		{"to the end", []rules.Segment{seg(0, 9, ""), seg(9, 24, "m")}, seg(8, 24, "o"),
			[]rules.Segment{seg(0, 8, ""), seg(8, 24, "o")}},
		{"no segments", nil, seg(8, 9, "o"), []rules.Segment{seg(8, 9, "o")}},
	} {
		got := splice(tc.segs, tc.s)
		ok := len(got) == len(tc.want)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i].Start.Equal(tc.want[i].Start) && got[i].End.Equal(tc.want[i].End) && got[i].Rule == tc.want[i].Rule
		}
		if !ok {
			t.Errorf("%s: splice = %v, want %v", tc.name, got, tc.want)
		}
	}
}
