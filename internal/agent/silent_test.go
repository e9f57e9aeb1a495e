package agent

import (
	"testing"

	"github.com/calpresence/calpresence/rules"
)

func TestSaysNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		seg  rules.Segment
		want bool
	}{
		{"the shipped default", rules.Segment{State: rules.State{Basic: "open"}}, true},
		{"a closed default", rules.Segment{State: rules.State{Basic: "closed"}}, false},
		{"a default with a note", rules.Segment{State: rules.State{Basic: "open", Note: "Working from home"}}, false},
		{"a default with an activity", rules.Segment{State: rules.State{Basic: "open", Activities: []string{"busy"}}}, false},
		{"a default with a mood", rules.Segment{State: rules.State{Basic: "open", Mood: []string{"happy"}}}, false},
		{"a default with a place", rules.Segment{State: rules.State{Basic: "open", PlaceType: []string{"office"}}}, false},
		{"a default with privacy", rules.Segment{State: rules.State{Basic: "open", Privacy: []string{"quiet"}}}, false},
		{"a default with a sphere", rules.Segment{State: rules.State{Basic: "open", Sphere: "work"}}, false},
		{"a default that lights BLF", rules.Segment{State: rules.State{Basic: "open", BLF: true}}, false},
		{"a rule's open, empty state", rules.Segment{Rule: "free", State: rules.State{Basic: "open"}}, false},
	} {
		if got := saysNothing(tc.seg); got != tc.want {
			t.Errorf("%s: saysNothing = %v, want %v", tc.name, got, tc.want)
		}
	}
}
