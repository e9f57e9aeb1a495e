package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/pidf"
)

// TestPreviewICS runs preview end to end on an ICS file.
func TestPreviewICS(t *testing.T) {
	out, errs, code := runMain(t, "preview", "-ics", "testdata/preview/week.ics", "-tz", "Europe/Berlin",
		"-me", "mailto:alice@example.com", "-from", "2026-03-02", "-to", "2026-03-05", "-json")
	if code != 0 {
		t.Fatalf("preview -json = exit %d, stderr:\n%s", code, errs)
	}
	var segs []previewSegment
	if err := json.Unmarshal([]byte(out), &segs); err != nil {
		t.Fatalf("preview -json output: %v\n%s", err, out)
	}
	if segs[0].Start != "2026-03-02T00:00:00+01:00" || segs[len(segs)-1].End != "2026-03-05T00:00:00+01:00" {
		t.Errorf("preview -json spans %s to %s, want the whole window", segs[0].Start, segs[len(segs)-1].End)
	}
	want := map[string]previewSegment{
		"2026-03-02T09:00:00+01:00": {Basic: "closed", Note: "In a meeting until 10:00", Rule: "meeting", UID: "sync@example.com"},
		"2026-03-02T12:00:00+01:00": {Basic: "open", Note: "Out for lunch until 13:00", Rule: "lunch", UID: "lunch@example.com"},
		"2026-03-02T15:00:00+01:00": {Basic: "open", Note: "Busy until 16:00", Rule: "private", UID: "private@example.com"},
		"2026-03-04T00:00:00+01:00": {Basic: "closed", Note: "On vacation until Fri 6 Mar", Rule: "vacation", UID: "vacation@example.com"},
	}
	found := 0
	for _, s := range segs {
		w, ok := want[s.Start]
		if !ok {
			continue
		}
		found++
		if s.Basic != w.Basic || s.Note != w.Note || s.Rule != w.Rule || s.UID != w.UID {
			t.Errorf("preview -json segment at %s = %+v, want %+v", s.Start, s, w)
		}
	}
	if found != len(want) {
		t.Errorf("preview -json = %s, want segments starting at each of %v", out, want)
	}
	if strings.Contains(out, "Therapy") {
		t.Errorf("preview -json leaks a private summary:\n%s", out)
	}
}

func TestExplainICS(t *testing.T) {
	out, errs, code := runMain(t, "explain", "-ics", "testdata/preview/week.ics", "-tz", "Europe/Berlin",
		"-at", "2026-03-02T09:30:00+01:00", "-pidf", "-aor", "sip:alice@example.com")
	if code != 0 {
		t.Fatalf("explain -pidf = exit %d, stderr:\n%s", code, errs)
	}
	d, err := pidf.Unmarshal([]byte(out))
	if err != nil {
		t.Fatalf("explain -pidf output: %v\n%s", err, out)
	}
	if d.Entity != "sip:alice@example.com" || d.Tuples[0].Basic != "closed" || d.Tuples[0].Notes[0].Text != "In a meeting until 10:00" ||
		d.Persons[0].Activities.Values[0].Name != "busy" {
		t.Errorf("explain -pidf = %+v", d)
	}
	out, _, code = runMain(t, "explain", "-ics", "testdata/preview/week.ics", "-tz", "Europe/Berlin", "-at", "2026-03-02T15:30:00+01:00")
	if code != 0 || !strings.Contains(out, `rule "private"`) || !strings.Contains(out, "Busy until 16:00") {
		t.Errorf("explain at 15:30 = exit %d\n%s", code, out)
	}
}

// TestWeekICSPipeline feeds a real ICS file through the calendar step and
// the example rules into preview's JSON, without the source wiring.
func TestWeekICSPipeline(t *testing.T) {
	f, err := os.Open("testdata/preview/week.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts := calendar.ParseOptions{Calendar: "week", Source: f.Name(), Zone: berlin, Me: []string{"mailto:alice@example.com"}}
	events, warns, err := calendar.ParseICS(f, opts)
	if err != nil || len(warns) > 0 {
		t.Fatalf("calendar.ParseICS(week.ics) = %v, %v", warns, err)
	}
	from, to := at(2, 0, 0), at(7, 0, 0)
	occs, warns := calendar.Expand(events, from.AddDate(0, 0, -31), to, calendar.ExpandOptions{Zone: berlin})
	if len(warns) > 0 {
		t.Fatalf("calendar.Expand(week.ics) warnings = %v", warns)
	}
	segs := exampleRules(t).Timeline(occs, from, to, berlin)
	var js, text bytes.Buffer
	if err := writePreviewJSON(&js, segs, berlin); err != nil {
		t.Fatal(err)
	}
	golden(t, "preview/week.json", js.Bytes())
	if err := writePreviewText(&text, segs, from, to, berlin, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "preview/week.txt", text.Bytes())
	if strings.Contains(js.String()+text.String(), "Therapy") {
		t.Errorf("preview leaks a private summary:\n%s", js.String())
	}
}
