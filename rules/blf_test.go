package rules

import (
	"testing"

	"github.com/calpresence/calpresence/calendar"
)

// TestExampleBLF: the shipped rules light BLF lamps for meetings and
// vacation (out of office) and for nothing else.
func TestExampleBLF(t *testing.T) {
	r := example(t)
	tests := []struct {
		name string
		occ  calendar.Occurrence
		blf  bool
	}{
		{"meeting", ev("a", "Weekly sync", at(9, 30), at(10, 45), attendees(2)), true},
		{"private meeting", ev("a", "Secret", at(9, 30), at(10, 45), attendees(3), class(calendar.ClassPrivate)), true},
		{"vacation", ev("a", "Vacation", day(2), day(7), allDay), true},
		{"out of office", ev("a", "Out of office", day(2), day(3), allDay), true},
		{"private", ev("a", "Doctor", at(9, 30), at(10, 30), class(calendar.ClassPrivate)), false},
		{"lunch", ev("a", "Lunch", at(9, 30), at(10, 30)), false},
		{"busy", ev("a", "Focus time", at(9, 30), at(10, 30)), false},
		{"declined meeting", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), declined), false},
		{"free meeting", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), transparent), false},
		{"no event", ev("a", "Later", at(11, 0), at(12, 0), attendees(3)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := r.Timeline([]calendar.Occurrence{tt.occ}, day(2), day(3), berlin)
			if s := segmentAt(t, segs, at(10, 0)); s.State.BLF != tt.blf {
				t.Errorf("Timeline(%s) at 10:00 = rule %q BLF %v, want BLF %v", tt.occ.Summary, s.Rule, s.State.BLF, tt.blf)
			}
		})
	}
}

// TestBLFKey: blf is read from [rule.presence], [default] and
// [working_hours.outside], defaults to false, and splits segments that
// differ only in it.
func TestBLFKey(t *testing.T) {
	const src = `
[default]
basic = "open"
[[rule]]
name = "lamp"
match.summary = "lamp"
[rule.presence]
basic = "closed"
note = "Busy"
blf = true
[[rule]]
name = "dark"
match.summary = "dark"
[rule.presence]
basic = "closed"
note = "Busy"
blf = false
[[rule]]
name = "unset"
[rule.presence]
basic = "closed"
note = "Busy"
`
	r := mustParse(t, src)
	occs := []calendar.Occurrence{
		ev("1", "lamp", at(9, 0), at(10, 0)),
		ev("2", "dark", at(10, 0), at(11, 0)),
		ev("3", "other", at(11, 0), at(12, 0)),
		ev("4", "lamp again", at(12, 0), at(13, 0)),
	}
	segs := r.Timeline(occs, at(8, 0), at(14, 0), berlin)
	tests := []struct {
		hh   int
		rule string
		blf  bool
	}{{8, "", false}, {9, "lamp", true}, {10, "dark", false}, {11, "unset", false}, {12, "lamp", true}, {13, "", false}}
	for _, tt := range tests {
		s := segmentAt(t, segs, at(tt.hh, 30))
		if s.Rule != tt.rule || s.State.BLF != tt.blf {
			t.Errorf("Timeline() at %d:30 = rule %q BLF %v, want rule %q BLF %v", tt.hh, s.Rule, s.State.BLF, tt.rule, tt.blf)
		}
	}
	if len(segs) != 6 {
		t.Errorf("Timeline() = %d segments %v, want 6: segments differing in BLF only are not merged", len(segs), segs)
	}

	wh := mustParse(t, `
[working_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-17:00"
[working_hours.outside]
basic = "closed"
note = "Off work"
blf = true
`)
	if s := segmentAt(t, wh.Timeline(nil, day(2), day(3), berlin), at(20, 0)); !s.State.BLF {
		t.Errorf("Timeline() outside working hours = %+v, want BLF from [working_hours.outside]", s.State)
	}
}
