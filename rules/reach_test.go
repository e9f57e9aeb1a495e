package rules

import (
	"testing"
	"time"
)

func TestReach(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		lead, lag  time.Duration
	}{
		{"none", "[[rule]]\nname = \"a\"\nignore = true\n", 0, 0},
		{"one", "[[rule]]\nname = \"a\"\nignore = true\nlead = \"5m\"\nlag = \"48h\"\n", 5 * time.Minute, 48 * time.Hour},
		{"largest of each", "[[rule]]\nname = \"a\"\nignore = true\nlead = \"5m\"\n[[rule]]\nname = \"b\"\nignore = true\nlead = \"1m\"\nlag = \"72h\"\n",
			5 * time.Minute, 72 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("r.toml", []byte(tc.toml))
			if err != nil {
				t.Fatal(err)
			}
			lead, lag := r.Reach()
			if lead != tc.lead || lag != tc.lag {
				t.Errorf("Reach() = %v, %v, want %v, %v", lead, lag, tc.lead, tc.lag)
			}
			from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			to := from.Add(24 * time.Hour)
			wf, wt := r.Window(from, to)
			if !wf.Equal(from.Add(-tc.lag)) || !wt.Equal(to.Add(tc.lead)) {
				t.Errorf("Window(%v, %v) = %v, %v, want %v, %v", from, to, wf, wt, from.Add(-tc.lag), to.Add(tc.lead))
			}
		})
	}
}
