package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	calpresence "github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/pidf"
)

func TestChosen(t *testing.T) {
	r, err := Parse("rules.example.toml", calpresence.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	until := from.Add(90 * time.Minute)
	for _, tc := range []struct {
		name, state, note string
		until             time.Time
		ok                bool
		basic             string
		activities        []string
		wantNote          string
	}{
		{"available", "available", "", until, true, "open", nil, ""},
		{"busy until", "busy", "", until, true, "open", []string{"busy"}, "Busy until 11:30"},
		{"busy open-ended", "busy", "", time.Time{}, true, "open", []string{"busy"}, "Busy"},
		{"dnd", "dnd", "", until, true, "closed", []string{"busy"}, "Do not disturb until 11:30"},
		{"away with note", "away", "At the dentist", until, true, "open", []string{"away"}, "At the dentist"},
		{"rule by name", "meeting", "", until, true, "closed", []string{"busy", "meeting"}, "In a meeting until 11:30"},
		{"rule open-ended drops its note", "lunch", "", time.Time{}, true, "open", []string{"away", "meal"}, ""},
		{"rule with note", "vacation", "Back Monday", until, true, "closed", []string{"away", "vacation"}, "Back Monday"},
		{"long note shortened", "away", strings.Repeat("word ", 100), until, true, "open", []string{"away"},
			pidf.Shorten(strings.Repeat("word ", 100), 64)},
		{"ignore rule is no state", "free", "", until, false, "", nil, ""},
		{"unknown", "sleeping", "", until, false, "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := r.Chosen(tc.state, from, tc.until, tc.note, berlin)
			if ok != tc.ok {
				t.Fatalf("Chosen(%q) ok = %v, want %v", tc.state, ok, tc.ok)
			}
			if !ok {
				return
			}
			if s.Basic != tc.basic || !slices.Equal(s.Activities, tc.activities) || s.Note != tc.wantNote {
				t.Errorf("Chosen(%q) = %s, want %s %v %q", tc.state, s, tc.basic, tc.activities, tc.wantNote)
			}
			if len(s.Activities) > 0 && (!s.From.Equal(from) || !s.Until.Equal(tc.until)) {
				t.Errorf("Chosen(%q) span = %v..%v, want %v..%v", tc.state, s.From, s.Until, from, tc.until)
			}
		})
	}
}
