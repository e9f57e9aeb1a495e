package agent

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// The timeline the agent keeps for status pages covers the whole window,
// past segments of today included, holds the published notes, and never a
// private event's text.
func TestAgentTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		time.Sleep(time.Until(time.Date(2000, 3, 10, 11, 0, 0, 0, zone)))
		const aor = "sip:alice@example.com"
		const canary = "CANARY-divorce-lawyer-7f3a"
		day := startOfDay(time.Now(), zone)
		at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
		src := &fakeSource{name: "work", zone: zone, ics: buildICS([]icsEvent{
			{uid: "m", summary: "Review", start: at(9, 0), end: at(10, 0), attendees: 3},
			{uid: "p", summary: canary, start: at(14, 0), end: at(15, 30), class: "PRIVATE"},
		})}
		h := startAgent(t, newRecDoer(), &stateStore{dir: t.TempDir()}, Options{}, userFor(aor, zone, rs, src))
		time.Sleep(time.Second)
		synctest.Wait()

		tl, ok := h.a.Timeline(aor)
		if !ok {
			t.Fatalf("Timeline(%q) = _, false", aor)
		}
		if tl.Zone != zone {
			t.Errorf("Timeline(%q).Zone = %v, want %v", aor, tl.Zone, zone)
		}
		tests := []struct {
			at         time.Time
			basic      string
			activities string
			note       string
			rule       string
		}{
			{at(9, 30), "closed", "busy,meeting", "In a meeting until 10:00", "meeting"}, // past: still shown
			{at(12, 0), "open", "", "", ""},
			{at(14, 30), "open", "busy", "Busy until 15:30", "private"},
		}
		for _, tt := range tests {
			var got *Segment
			for i, s := range tl.Segments {
				if !tt.at.Before(s.Start) && tt.at.Before(s.End) {
					got = &tl.Segments[i]
				}
			}
			if got == nil {
				t.Errorf("Timeline(%q) has no segment at %v", aor, tt.at)
				continue
			}
			if got.Basic != tt.basic || got.Activities != tt.activities || got.Note != tt.note || got.Rule != tt.rule {
				t.Errorf("Timeline(%q) at %v = %s %q %q rule %q, want %s %q %q rule %q", aor, tt.at.Format("15:04"),
					got.Basic, got.Activities, got.Note, got.Rule, tt.basic, tt.activities, tt.note, tt.rule)
			}
		}
		for i := 1; i < len(tl.Segments); i++ {
			if !tl.Segments[i].Start.Equal(tl.Segments[i-1].End) {
				t.Errorf("Timeline(%q) segments %d and %d are not contiguous", aor, i-1, i)
			}
		}
		if dump := fmt.Sprintf("%+v %+v", tl, h.a.Stats()); strings.Contains(dump, canary) {
			t.Errorf("Timeline or Stats holds a private event's summary: %s", dump)
		}
		st := h.a.Stats()
		if len(st.Users) != 1 || st.Users[0].Zone != zone || st.Users[0].Current.Note != "" || !st.Users[0].HasPresence {
			t.Errorf("Stats() = %+v, want alice in %v, available without a note", st, zone)
		}
		if _, ok := h.a.Timeline("sip:nobody@example.com"); ok {
			t.Errorf("Timeline(unknown user) = _, true")
		}
		h.stop()
	})
}

func TestSegmentInfosOverride(t *testing.T) {
	h := func(n int) time.Time { return time.Date(2026, 3, 2, n, 0, 0, 0, time.UTC) }
	segs := []rules.Segment{{Start: h(8), End: h(9), Rule: "meeting"}, {Start: h(9), End: h(10), Rule: "dnd"}, {Start: h(10), End: h(11)}}
	for _, tc := range []struct {
		name string
		o    *Override
		want [3]bool
	}{
		{"none", nil, [3]bool{}},
		{"9 to 10", &Override{Since: h(9), Until: h(10)}, [3]bool{false, true, false}},
		{"open-ended from 9", &Override{Since: h(9)}, [3]bool{false, true, true}},
	} {
		infos := segmentInfos(segs, tc.o)
		for i, want := range tc.want {
			if infos[i].Override != want {
				t.Errorf("%s: segmentInfos()[%d].Override = %v, want %v", tc.name, i, infos[i].Override, want)
			}
		}
	}
}
