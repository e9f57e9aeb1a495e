package main

import (
	"bytes"
	"context"
	"flag"
	goldenfile "github.com/calpresence/calpresence/internal/golden"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/rules"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/NAME, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "HOME" || k == "XDG_CONFIG_HOME" {
			return t.TempDir()
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv}
	code = commands[args[0]].run(context.Background(), e, args[1:])
	return out.String(), errb.String(), code
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"rules-ok", []string{"-rules", "../../rules.example.toml"}, 0},
		{"examples-ok", []string{"-rules", "../../examples/on-call-travel.toml"}, 0},
		{"rules-bad", []string{"-rules", "testdata/check/bad-rules.toml"}, 2},
		{"rules-missing", []string{"-rules", "testdata/check/nope.toml"}, 2},
		{"config-ok", []string{"-config", "testdata/check/good.toml"}, 0},
		{"config-builtin-rules", []string{"-config", "testdata/check/good-builtin.toml"}, 0},
		{"config-bad-rules", []string{"-config", "testdata/check/config-bad-rules.toml"}, 2},
		{"config-bad", []string{"-config", "testdata/check/config-bad.toml"}, 2},
		{"config-secrets", []string{"-config", "testdata/check/config-secrets.toml"}, 2},
		{"config-and-rules", []string{"-config", "testdata/check/config-bad-rules.toml", "-rules", "../../rules.example.toml"}, 0},
		{"no-inputs", nil, 2},
		{"bad-flag", []string{"-nope"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runMain(t, append([]string{"check"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("check %v = exit %d, want %d; stderr:\n%s", tt.args, code, tt.code, errs)
			}
			if tt.name == "bad-flag" || tt.name == "no-inputs" || tt.name == "rules-missing" {
				return // flag package and OS wording
			}
			golden(t, filepath.Join("check", tt.name+".out"), []byte(out+"--- stderr\n"+errs))
		})
	}
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

func at(d, hh, mm int) time.Time { return time.Date(2026, 3, d, hh, mm, 0, 0, berlin) }

// sampleOccurrences is a Monday of a typical calendar, with a vacation
// starting the next day.
func sampleOccurrences() []calendar.Occurrence {
	base := calendar.Details{Calendar: "work", Status: calendar.StatusConfirmed, Class: calendar.ClassPublic}
	mk := func(uid, summary string, s, e time.Time, f func(*calendar.Occurrence)) calendar.Occurrence {
		d := base
		o := calendar.Occurrence{Details: &d}
		o.UID, o.Summary, o.Start, o.End = uid, summary, s, e
		if f != nil {
			f(&o)
		}
		return o
	}
	return []calendar.Occurrence{
		mk("sync@example.com", "Weekly sync", at(2, 9, 0), at(2, 10, 0), func(o *calendar.Occurrence) { o.Attendees = 4 }),
		mk("focus@example.com", "Focus time", at(2, 9, 30), at(2, 11, 0), nil),
		mk("lunch@example.com", "Lunch", at(2, 12, 0), at(2, 13, 0), nil),
		mk("doc@example.com", "Doctor <private>", at(2, 15, 0), at(2, 16, 0), func(o *calendar.Occurrence) { o.Class = calendar.ClassPrivate }),
		mk("free@example.com", "Reminder", at(2, 12, 0), at(2, 12, 30), func(o *calendar.Occurrence) { o.Transparent = true }),
		mk("vac@example.com", "Vacation", at(3, 0, 0), at(5, 0, 0), func(o *calendar.Occurrence) { o.AllDay = true }),
	}
}

func exampleRules(t *testing.T) *rules.Rules {
	r, err := rules.Load("../../rules.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPreviewOutput(t *testing.T) {
	r := exampleRules(t)
	from, to := at(2, 0, 0), at(4, 0, 0)
	segs := r.Timeline(sampleOccurrences(), from, to, berlin)
	var js, text, color bytes.Buffer
	if err := writePreviewJSON(&js, segs, berlin); err != nil {
		t.Fatal(err)
	}
	golden(t, "preview/sample.json", js.Bytes())
	if err := writePreviewText(&text, segs, from, to, berlin, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "preview/sample.txt", text.Bytes())
	if err := writePreviewText(&color, segs, from, to, berlin, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(color.String(), ansiRed) || strings.Contains(text.String(), "\x1b") {
		t.Errorf("writePreviewText(color) has no colour, or plain has some")
	}
}

func TestExplainOutput(t *testing.T) {
	r := exampleRules(t)
	occs := sampleOccurrences()
	for name, tm := range map[string]time.Time{"overlap": at(2, 9, 45), "nothing": at(2, 20, 0), "private": at(2, 15, 30), "free-and-lunch": at(2, 12, 15)} {
		ex := r.Explain(occs, tm, berlin)
		aor := "sip:alice@example.com"
		doc, err := ex.Segment.Document(aor, pidf.IDBase(aor)).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := writeExplain(&b, ex, r.Names(), doc, berlin); err != nil {
			t.Fatal(err)
		}
		golden(t, "explain/"+name+".txt", b.Bytes())
	}
}

func TestPreviewExplainUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"explain", "-ics", "x.ics"}, 2, "-at T is required"},
		{[]string{"explain", "-ics", "x.ics", "-config", "c.toml", "-at", "2026-03-02"}, 2, "either -config or -ics"},
		{[]string{"preview", "-ics", "x.ics", "-tz", "Nowhere/City"}, 2, "unknown time zone"},
		{[]string{"preview", "-config", "testdata/check/config-bad.toml"}, 2, "config-bad.toml:2:1: unknown key"},
		{[]string{"explain", "-config", "testdata/check/config-bad-rules.toml", "-at", "2026-03-02"}, 2, "bad-rules.toml:5:23: unknown activity"},
		{[]string{"preview", "-ics", "x.ics", "-rules", "testdata/check/bad-rules.toml"}, 2, "bad-rules.toml:5:23: unknown activity"},
		{[]string{"preview", "stray"}, 2, "unexpected argument"},
		// Files that cannot be read are bad input, as in events.
		{[]string{"preview", "-ics", "testdata/events/missing.ics", "-tz", "UTC"}, 2, "missing.ics"},
		{[]string{"explain", "-ics", "testdata/events/missing.ics", "-at", "2026-03-02"}, 2, "missing.ics"},
		{[]string{"preview", "-config", "testdata/events/missing.toml"}, 2, "missing.toml"},
		{[]string{"explain", "-config", "testdata/events/missing.toml", "-at", "2026-03-02"}, 2, "missing.toml"},
		{[]string{"preview", "-ics", "testdata/events/work.ics", "-rules", "testdata/check/missing.toml"}, 2, "missing.toml"},
		{[]string{"explain", "-ics", "testdata/events/work.ics", "-rules", "testdata", "-at", "2026-03-02"}, 2, "testdata"},
	}
	for _, tt := range tests {
		_, errs, code := runMain(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("%v = exit %d, stderr %q; want exit %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
}

// TestPreviewChartShortEvents checks that the day chart shows an event
// shorter than its half-hour cells.
func TestPreviewChartShortEvents(t *testing.T) {
	closed := rules.State{Basic: "closed", Activities: []string{"busy", "meeting"}}
	open := rules.State{Basic: "open"}
	segs := []rules.Segment{
		{Start: at(2, 0, 0), End: at(2, 9, 31), State: open},
		{Start: at(2, 9, 31), End: at(2, 9, 40), State: closed},
		{Start: at(2, 9, 40), End: at(3, 0, 0), State: open},
	}
	var b bytes.Buffer
	if err := writePreviewText(&b, segs, at(2, 0, 0), at(3, 0, 0), berlin, false); err != nil {
		t.Fatal(err)
	}
	var bar string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "Mon 2 Mar  ") && !strings.Contains(line, ":") {
			bar = strings.TrimPrefix(line, "Mon 2 Mar  ")
		}
	}
	cells := []rune(bar)
	if len(cells) != 48 || cells[19] != '█' || cells[18] != '·' || cells[20] != '·' {
		t.Errorf("writePreviewText bar = %q, want cell 19 (09:30-10:00) closed and its neighbours free", bar)
	}
}

// TestCommandsHelpAndArguments checks what every command does with -h
// (its usage, exit 0) and with a stray argument (exit 2).
func TestCommandsHelpAndArguments(t *testing.T) {
	for _, name := range commandOrder {
		_, errs, code := runMain(t, name, "-h")
		if code != 0 || !strings.Contains(errs, "usage: calpresence "+name) {
			t.Errorf("calpresence %s -h = exit %d, stderr %q; want exit 0 and the usage", name, code, errs)
		}
		stray := []string{name, "stray"}
		if name == "set" { // its one argument is the state
			stray = []string{name, "busy", "stray"}
		}
		_, errs, code = runMain(t, stray...)
		if code != 2 || !strings.Contains(errs, `unexpected argument "stray"`) {
			t.Errorf("calpresence %s stray = exit %d, stderr %q; want exit 2 naming the argument", name, code, errs)
		}
	}
}
