package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	calpresence "github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/calendar"
)

// benchRules is rules.example.toml plus eleven more regular-expression rules
// placed before the catch-all: twenty rules.
func benchRules(b *testing.B) *Rules {
	src := string(calpresence.DefaultRules())
	i := strings.LastIndex(src, "[[rule]]")
	var extra strings.Builder
	for n := range 11 {
		fmt.Fprintf(&extra, "[[rule]]\nname = \"extra %d\"\n[rule.match]\nsummary = '\\bproject-%d\\b'\nlocation = 'room %d'\nweekdays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n[rule.presence]\nbasic = \"open\"\nactivities = [\"busy\", \"working\"]\nnote = \"{{.Summary}} until {{clock .End}}\"\n\n", n, n, n)
	}
	src = src[:i] + extra.String() + src[i:]
	r, err := Parse("bench.toml", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	if len(r.rules) != 20 {
		b.Fatalf("bench rules: %d rules, want 20", len(r.rules))
	}
	return r
}

// yearOfEvents is a synthetic calendar: 5,000 events over 2026, mostly
// office-hour meetings of 15 min to 2 h, some overlapping, a few all-day.
func yearOfEvents(loc *time.Location) []calendar.Occurrence {
	rng := rand.New(rand.NewPCG(1, 2))
	summaries := []string{"Weekly sync", "Lunch", "1:1 with Bob", "Focus time", "Vacation", "project-3 review",
		"Dentist", "Customer call", "Lunchbox", "Planning", "project-7 standup"}
	occs := make([]calendar.Occurrence, 0, 5000)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	for i := range 5000 {
		d := start.AddDate(0, 0, rng.IntN(365))
		o := calendar.Occurrence{Details: &calendar.Details{Calendar: "work", UID: fmt.Sprintf("ev-%d@example.com", i),
			Summary: summaries[rng.IntN(len(summaries))], Location: fmt.Sprintf("Room %d", rng.IntN(10)),
			Status: calendar.StatusConfirmed, Class: calendar.ClassPublic, Attendees: rng.IntN(5)}}
		switch {
		case i%100 == 0:
			o.AllDay, o.Start, o.End = true, d, d.AddDate(0, 0, 1+rng.IntN(5))
		default:
			o.Start = d.Add(time.Duration(7*60+rng.IntN(11*60)) * time.Minute)
			o.End = o.Start.Add(time.Duration(15+15*rng.IntN(8)) * time.Minute)
		}
		if i%17 == 0 {
			o.Class = calendar.ClassPrivate
		}
		if i%23 == 0 {
			o.Transparent = true
		}
		occs = append(occs, o)
	}
	return occs
}

func BenchmarkTimelineYear(b *testing.B) {
	r := benchRules(b)
	occs := yearOfEvents(berlin)
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 1, 1, 0, 0, 0, 0, berlin)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(r.Timeline(occs, from, to, berlin))
	}
	b.ReportMetric(float64(n), "segments")
}
