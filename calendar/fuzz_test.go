package calendar

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseExpand feeds arbitrary bytes through ParseICS and Expand: they
// must never panic, must report a whole-stream failure only as a
// *SyntaxError, and must stay within the per-event cap.
func FuzzParseExpand(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.ics")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	const capPerEvent = 500
	f.Fuzz(func(t *testing.T, data []byte) {
		events, _, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: "fuzz.ics", Zone: berlin, Me: []string{"mailto:a@example.com"}})
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("ParseICS() error %T %v, want *SyntaxError", err, err)
			}
			return
		}
		occ, _ := Expand(events, from, to, ExpandOptions{Zone: berlin, MaxPerEvent: capPerEvent})
		limit := 0
		for _, e := range events {
			limit += capPerEvent + 1 + len(e.Overrides)
		}
		if len(occ) > limit {
			t.Fatalf("Expand() = %d occurrences, cap allows %d", len(occ), limit)
		}
		for i, o := range occ {
			if o.End.Before(o.Start) {
				t.Fatalf("occurrence %d ends before it starts: %v", i, o)
			}
			if !o.Start.Before(to) || (o.End.After(o.Start) && !o.End.After(from)) {
				t.Fatalf("occurrence %d [%v, %v) outside the window", i, o.Start, o.End)
			}
			if i > 0 && o.Start.Before(occ[i-1].Start) {
				t.Fatalf("occurrences not sorted at %d", i)
			}
		}
	})
}
