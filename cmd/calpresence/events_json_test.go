package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// TestWriteEventsJSONAsEncodingJSON: events -json writes the bytes
// encoding/json wrote for the contract's array, for none, one and many
// occurrences (more pieces than workers).
func TestWriteEventsJSONAsEncodingJSON(t *testing.T) {
	one := calendar.Occurrence{
		Details: &calendar.Details{Calendar: "work", UID: "a@x", Summary: "<b>Review</b> & \"notes\"\n", Location: "Raum 1 ✓",
			Categories: []string{"x", "y"}, Response: "ACCEPTED"},
		Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		RecurrenceID: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
	many := make([]calendar.Occurrence, 5*jsonChunk+17) // pieces on several workers, the last a short one
	for i := range many {
		d := *one.Details
		many[i] = one
		many[i].Details = &d
		many[i].Summary = strings.Repeat("s", i%97)
		many[i].Start = one.Start.Add(time.Duration(i) * time.Minute)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, occs := range [][]calendar.Occurrence{nil, {one}, many} {
		var want, got bytes.Buffer
		js := make([]calendar.OccurrenceJSON, 0, len(occs))
		for i := range occs {
			js = append(js, occs[i].JSON(berlin).Contract())
		}
		if err := writeJSON(&want, js); err != nil {
			t.Fatal(err)
		}
		if err := writeEventsJSON(&got, occs, berlin); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("writeEventsJSON(%d occurrences) differs from encoding/json:\n%.400s\nwant\n%.400s", len(occs), got.String(), want.String())
		}
	}
}

// failAfter takes n writes, then fails every one.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// A failed write is the result, whichever piece it hit, and no worker is
// left behind (the race detector and the test's end would show one).
func TestWriteEventsJSONWriteFails(t *testing.T) {
	one := calendar.Occurrence{Details: &calendar.Details{UID: "a@x"},
		Start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
	occs := make([]calendar.Occurrence, 20*jsonChunk)
	for i := range occs {
		occs[i] = one
	}
	for _, n := range []int{0, 1, 3, 21} {
		if err := writeEventsJSON(&failAfter{n: n}, occs, time.UTC); err == nil || err.Error() != "disk full" {
			t.Errorf("writeEventsJSON() after %d writes = %v, want disk full", n, err)
		}
	}
}
