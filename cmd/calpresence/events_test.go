package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// The -update flag rewrites golden files. Other test files may register
// it too; whoever comes first wins.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata")
	}
}

func eventsUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// eventsRun runs the command line in-process.
func eventsRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// eventsCheckGolden compares got with testdata/events/name.golden, or rewrites
// the file under -update.
func eventsCheckGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "events", name+".golden")
	if eventsUpdate() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

const (
	eventsWork = "testdata/events/work.ics"
	eventsHome = "testdata/events/home.ics"
)

// eventsWeek is the window of most cases: eight days in Berlin, the last
// one with a cancelled instance.
var eventsWeek = []string{"-from", "2026-03-02", "-to", "2026-03-10", "-tz", "Europe/Berlin", "-me", "mailto:alice@example.com"}

func TestEventsGolden(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata/events")))
	defer srv.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"text", append([]string{"-ics", eventsWork, "-ics", eventsHome}, eventsWeek...), 0},
		{"json", append([]string{"-ics", eventsWork, "-ics", eventsHome, "-json"}, eventsWeek...), 0},
		// All-day events are whole days in -tz; so are the times printed.
		{"json-new-york", []string{"-ics", eventsHome, "-ics", eventsWork, "-json", "-from", "2026-03-04", "-to", "2026-03-06",
			"-tz", "America/New_York", "-me", "mailto:alice@example.com"}, 0},
		{"text-rfc3339-window", []string{"-ics", eventsWork, "-from", "2026-03-05T17:00:00+01:00", "-to", "2026-03-06T14:30:00+01:00", "-tz", "Asia/Tokyo"}, 0},
		{"text-config", []string{"-config", "testdata/events/config.toml", "-from", "2026-03-04", "-to", "2026-03-07"}, 0},
		{"json-config-me-flag", []string{"-config", "testdata/events/config.toml", "-json", "-me", "mailto:carol@example.com", "-from", "2026-03-02T09:00:00+01:00", "-to", "2026-03-02T09:01:00+01:00"}, 0},
		{"text-empty", []string{"-ics", eventsWork, "-from", "2027-01-01", "-to", "2027-01-02", "-tz", "Europe/Berlin"}, 0},
		{"json-empty", []string{"-ics", eventsWork, "-json", "-from", "2027-01-01", "-to", "2027-01-02", "-tz", "Europe/Berlin"}, 0},
		{"text-partly-broken", []string{"-ics", "testdata/events/partly-broken.ics", "-from", "2026-03-02", "-to", "2026-03-03", "-tz", "UTC"}, 0},
		{"text-http", append([]string{"-ics", srv.URL + "/work.ics", "-ics", "file://" + eventsAbs(t, eventsHome)}, eventsWeek...), 0},
		{"error-not-ics", []string{"-ics", "testdata/events/not-ics.ics", "-tz", "UTC"}, 2},
		{"error-missing-file", []string{"-ics", "testdata/events/missing.ics", "-tz", "UTC"}, 2},
		{"error-http-404", []string{"-ics", srv.URL + "/missing.ics", "-tz", "UTC"}, 2},
		{"error-bad-from", []string{"-ics", eventsWork, "-from", "2026-03-02 09:00", "-tz", "UTC"}, 2},
		{"error-to-before-from", []string{"-ics", eventsWork, "-from", "2026-03-02", "-to", "2026-03-01", "-tz", "UTC"}, 2},
		{"error-bad-tz", []string{"-ics", eventsWork, "-tz", "Mars/Olympus"}, 2},
		{"error-config-and-ics", []string{"-ics", eventsWork, "-config", "x.toml"}, 2},
		{"error-unsupported-scheme", []string{"-ics", "ftp://example.com/cal.ics", "-tz", "UTC"}, 2},
		{"error-missing-config", []string{"-config", "testdata/events/missing.toml", "-tz", "UTC"}, 2},
		{"error-argument", []string{"-ics", eventsWork, "extra.ics"}, 2},
		{"error-unknown-flag", []string{"-ics", eventsWork, "-frm", "2026-03-02"}, 2},
	}
	abs := eventsAbs(t, eventsHome)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := eventsRun(t, append([]string{"events"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("events %q: exit %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, stderr)
			}
			if tt.wantCode == 0 && strings.HasPrefix(tt.name, "json") && !json.Valid([]byte(stdout)) {
				t.Errorf("events %q printed invalid JSON:\n%s", tt.args, stdout)
			}
			got := fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, stdout, stderr)
			got = strings.ReplaceAll(got, srv.URL, "http://SERVER")
			got = strings.ReplaceAll(got, abs, "/ABS/home.ics")
			eventsCheckGolden(t, tt.name, got)
		})
	}
}

func eventsAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestEventsJSONContract checks the JSON form against CONTRACT.md
// independently of the golden file: key order, sorting, the forms of
// recurrence_id, all-day times and categories.
func TestEventsJSONContract(t *testing.T) {
	code, stdout, stderr := eventsRun(t, append([]string{"events", "-json", "-ics", eventsWork, "-ics", eventsHome}, eventsWeek...)...)
	if code != 0 {
		t.Fatalf("events -json: exit %d: %s", code, stderr)
	}
	wantKeys := []string{"calendar", "uid", "recurrence_id", "summary", "location", "start", "end", "all_day",
		"status", "transparent", "class", "response", "attendees", "categories"}
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) == 0 {
		t.Fatal("events -json printed no events")
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var prevStart time.Time
	var prevUID string
	for i, r := range raw {
		if keys := eventsJSONKeys(t, r); !slices.Equal(keys, wantKeys) {
			t.Errorf("element %d keys = %q, want %q", i, keys, wantKeys)
		}
		var o struct {
			UID, RecurrenceID, Start, End, Status, Class string
			AllDay                                       bool `json:"all_day"`
			Categories                                   []string
		}
		o.RecurrenceID = "unset"
		if err := json.Unmarshal(r, &o); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(r))
		var m map[string]any
		dec.Decode(&m)
		if m["categories"] == nil {
			t.Errorf("element %d (%s): categories = null, want an array", i, o.UID)
		}
		if m["recurrence_id"] != "" {
			if _, err := time.Parse(time.RFC3339, m["recurrence_id"].(string)); err != nil {
				t.Errorf("element %d (%s): recurrence_id %q, want RFC 3339 or \"\"", i, o.UID, m["recurrence_id"])
			}
		}
		start, err1 := time.Parse(time.RFC3339, m["start"].(string))
		end, err2 := time.Parse(time.RFC3339, m["end"].(string))
		if err1 != nil || err2 != nil || !end.After(start) {
			t.Errorf("element %d (%s): start %v, end %v, want RFC 3339 with end after start", i, o.UID, m["start"], m["end"])
		}
		if m["all_day"] == true {
			for _, tm := range []time.Time{start, end} {
				if h, mi, s := tm.In(berlin).Clock(); h != 0 || mi != 0 || s != 0 {
					t.Errorf("element %d (%s): all-day time %v is not midnight in Europe/Berlin", i, o.UID, tm)
				}
			}
		}
		switch m["class"] {
		case "public", "private", "confidential":
		default:
			t.Errorf("element %d (%s): class %v", i, o.UID, m["class"])
		}
		uid := m["uid"].(string)
		if start.Before(prevStart) || start.Equal(prevStart) && uid < prevUID {
			t.Errorf("element %d (%s at %v) sorts before the previous (%s at %v)", i, uid, start, prevUID, prevStart)
		}
		prevStart, prevUID = start, uid
	}
}

// eventsJSONKeys returns an object's keys in the order written.
func eventsJSONKeys(t *testing.T, r json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestEventsServerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/cal.ics"
	srv.Close()
	code, _, stderr := eventsRun(t, "events", "-ics", url, "-tz", "UTC")
	if code != 1 || !strings.Contains(stderr, "ics "+url+": ") {
		t.Errorf("events -ics %s (down) = exit %d, stderr %q; want exit 1 naming the URL", url, code, stderr)
	}
}

func TestEventsHelp(t *testing.T) {
	code, _, stderr := eventsRun(t, "events", "-h")
	if code != 0 || !strings.Contains(stderr, "usage: calpresence events") || !strings.Contains(stderr, "-json") {
		t.Errorf("events -h = exit %d, stderr %q; want 0 and the usage", code, stderr)
	}
}

func TestEventsTimeRange(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, berlin) }
	tests := []struct {
		start, end time.Time
		allDay     bool
		want       string
	}{
		{at(2, 9, 0), at(2, 9, 30), false, "09:00-09:30"},
		{at(5, 23, 0), at(6, 1, 0), false, "23:00-01:00+1"},
		{at(2, 9, 0), at(2, 9, 0), false, "09:00-09:00"},
		{at(4, 0, 0), at(5, 0, 0), true, "all day"},
		{at(4, 0, 0), at(7, 0, 0), true, "all day, 3 days"},
		// Across the switch to summer time (29 March), a day of 23 hours.
		{at(28, 0, 0), at(30, 0, 0), true, "all day, 2 days"},
		{at(28, 22, 0), at(29, 22, 0), false, "22:00-22:00+1"},
	}
	for _, tt := range tests {
		if got := eventsTimeRange(tt.start, tt.end, tt.allDay); got != tt.want {
			t.Errorf("eventsTimeRange(%v, %v, %v) = %q, want %q", tt.start, tt.end, tt.allDay, got, tt.want)
		}
	}
}

func TestEventsCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "-"},
		{"  ", "-"},
		{"Line 1\nLine 2\tTab", "Line 1 Line 2 Tab"},
		{"bell\a\x7f\u0085end", "bellend"},
		{"Größe 🎂", "Größe 🎂"},
	}
	for _, tt := range tests {
		if got := eventsCell(tt.in); got != tt.want {
			t.Errorf("eventsCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEventsFlags(t *testing.T) {
	o := calendar.Occurrence{RecurrenceID: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), Details: &calendar.Details{Transparent: true,
		Class: calendar.ClassConfidential, Response: "ACCEPTED", Attendees: 3, Categories: []string{"Work", "Ops"}}}
	if got, want := eventsFlags(&o), "recurring, free, confidential, accepted, 3 attendees, categories: Work/Ops"; got != want {
		t.Errorf("eventsFlags(%+v) = %q, want %q", o, got, want)
	}
	if got := eventsFlags(&calendar.Occurrence{Details: &calendar.Details{Attendees: 1}}); got != "1 attendee" {
		t.Errorf("eventsFlags(1 attendee) = %q", got)
	}
}

func TestEventsWidth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"Lunch", 5},
		{"Größe", 5},
		{"Mum's birthday 🎂", 17},
		{"会議", 4},
		{"e\u0301", 1},           // e + combining acute
		{"👩\u200d💻 pairing", 12}, // ZWJ sequence counted per emoji
	}
	for _, tt := range tests {
		if got := eventsWidth(tt.in); got != tt.want {
			t.Errorf("eventsWidth(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
