package rules

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
)

func mustParse(t testing.TB, src string) *Rules {
	t.Helper()
	r, err := Parse("test.toml", []byte(src))
	if err != nil {
		t.Fatalf("Parse() error = %v\n%s", err, src)
	}
	return r
}

// TestPrivacy tries to leak a private event's text through every field a
// template can reach, and checks that show_private opts in.
func TestPrivacy(t *testing.T) {
	const secret = "SECRET"
	var fields []string
	for _, f := range noteFields() {
		fields = append(fields, "{{."+f+"}}")
	}
	fields = append(fields, `{{join .Categories ","}}`, `{{join .AttendeeNames ","}}`, `{{printf "%v" .}}`, `{{upper .Summary}}`)
	tmpl := strings.Join(fields, "|")
	src := func(show bool) string {
		return "note_limit = 0\n[[rule]]\nname = \"all\"\nshow_private = " + map[bool]string{true: "true", false: "false"}[show] +
			"\n[rule.presence]\nbasic = \"open\"\nnote = '" + tmpl + "'\n"
	}
	for _, c := range []calendar.Class{calendar.ClassPrivate, calendar.ClassConfidential} {
		o := ev("uid", secret+" summary", at(9, 0), at(10, 0), class(c), attendees(2), func(o *calendar.Occurrence) {
			o.Description, o.Location, o.Organizer = secret+" desc", secret+" room", "mailto:"+secret+"@example.com"
			o.Categories = []string{secret + " cat"}
			o.AttendeeNames = []string{secret + " Bob", secret + " Carol"}
		})
		segs := mustParse(t, src(false)).Timeline([]calendar.Occurrence{o}, at(8, 0), at(11, 0), berlin)
		note := segmentAt(t, segs, at(9, 30)).State.Note
		if strings.Contains(note, secret) || !strings.Contains(note, Private) {
			t.Errorf("Timeline(%s event) note = %q, want no %q, and %q", c, note, secret, Private)
		}
		segs = mustParse(t, src(true)).Timeline([]calendar.Occurrence{o}, at(8, 0), at(11, 0), berlin)
		note = segmentAt(t, segs, at(9, 30)).State.Note
		for _, want := range []string{"SECRET summary", "SECRET desc", "SECRET room", "SECRET cat", "SECRET Bob"} {
			if !strings.Contains(note, want) {
				t.Errorf("Timeline(%s event, show_private) note = %q, want %q in it", c, note, want)
			}
		}
	}
	// A public event shows its text.
	o := ev("uid", "Public summary", at(9, 0), at(10, 0))
	segs := mustParse(t, src(false)).Timeline([]calendar.Occurrence{o}, at(8, 0), at(11, 0), berlin)
	if note := segmentAt(t, segs, at(9, 30)).State.Note; !strings.Contains(note, "Public summary") {
		t.Errorf("Timeline(public event) note = %q, want the summary", note)
	}
}

func TestWorkingHours(t *testing.T) {
	r, err := Load("../examples/working-hours.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 6 March to Tuesday 10 March, one early call on Monday.
	call := ev("call", "Call with Tokyo", time.Date(2026, 3, 9, 7, 0, 0, 0, berlin), time.Date(2026, 3, 9, 7, 30, 0, 0, berlin), attendees(2))
	segs := r.Timeline([]calendar.Occurrence{call}, day(6), day(10), berlin)
	type want struct {
		start time.Time
		basic string
		note  string
	}
	wants := []want{
		{day(6), "closed", "Back at 08:00"},
		{time.Date(2026, 3, 6, 8, 0, 0, 0, berlin), "open", ""},
		{time.Date(2026, 3, 6, 17, 0, 0, 0, berlin), "closed", "Back Monday at 08:00"},
		{time.Date(2026, 3, 8, 0, 0, 0, 0, berlin), "closed", "Back at 08:00"},
		{time.Date(2026, 3, 9, 6, 55, 0, 0, berlin), "closed", "In a meeting until 07:30"},
		{time.Date(2026, 3, 9, 7, 30, 0, 0, berlin), "closed", "Back at 08:00"},
		{time.Date(2026, 3, 9, 8, 0, 0, 0, berlin), "open", ""},
		{time.Date(2026, 3, 9, 17, 0, 0, 0, berlin), "closed", "Back at 08:00"},
	}
	if len(segs) != len(wants) {
		t.Fatalf("Timeline(working hours) = %d segments, want %d:\n%v", len(segs), len(wants), segs)
	}
	for i, w := range wants {
		s := segs[i]
		if !s.Start.Equal(w.start) || s.State.Basic != w.basic || s.State.Note != w.note {
			t.Errorf("Timeline(working hours)[%d] = %v %s %q, want %v %s %q", i, s.Start, s.State.Basic, s.State.Note, w.start, w.basic, w.note)
		}
	}
	if ex := r.Explain(nil, time.Date(2026, 3, 7, 12, 0, 0, 0, berlin), berlin); !ex.OutsideWorkingHours || ex.Segment.State.Note != "Back Monday at 08:00" {
		t.Errorf("Explain(Saturday noon) = %+v, want outside working hours, back Monday", ex)
	}
	if ex := r.Explain(nil, time.Date(2026, 3, 6, 10, 0, 0, 0, berlin), berlin); ex.OutsideWorkingHours {
		t.Errorf("Explain(Friday 10:00) = %+v, want inside working hours", ex)
	}
	if segs[1].State.Sphere != "work" || segs[2].State.Sphere != "home" {
		t.Errorf("Timeline(working hours) spheres = %q, %q, want work, home", segs[1].State.Sphere, segs[2].State.Sphere)
	}
}

// TestDST: working hours and "until" notes follow the zone's offset changes
// (Berlin moves to summer time on 29 March 2026).
func TestDST(t *testing.T) {
	r, err := Load("../examples/working-hours.toml")
	if err != nil {
		t.Fatal(err)
	}
	mon := time.Date(2026, 3, 30, 0, 0, 0, 0, berlin)
	segs := r.Timeline(nil, mon, mon.Add(24*time.Hour), berlin)
	if got := segs[1].Start; got.Hour() != 8 || !got.Equal(time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("Timeline(after DST)[1] starts %v, want 08:00 CEST", got)
	}
}

func TestLeadLagAndMatchConditions(t *testing.T) {
	r := mustParse(t, `
[[rule]]
name = "standup"
lead = "5m"
lag = "2m"
[rule.match]
summary = 'standup'
case_sensitive = true
weekdays = ["mon"]
time_of_day = "09:00-10:00"
max_duration = "30m"
organizer_is_me = false
calendar = '^work$'
categories = '^team$'
[rule.presence]
basic = "closed"
activities = ["busy", "meeting"]
note = "Stand-up until {{clock .End}}"
mood = ["happy", "other:caffeinated"]
place_type = ["office"]
privacy = ["audio"]
sphere = "work"
`)
	base := func(opts ...func(*calendar.Occurrence)) calendar.Occurrence {
		o := ev("s", "Daily standup", at(9, 30), at(9, 45), func(o *calendar.Occurrence) { o.Categories = []string{"Other", "team"} })
		for _, f := range opts {
			f(&o)
		}
		return o
	}
	segs := r.Timeline([]calendar.Occurrence{base()}, at(9, 0), at(10, 0), berlin)
	if len(segs) != 3 || !segs[1].Start.Equal(at(9, 25)) || !segs[1].End.Equal(at(9, 47)) || segs[1].Rule != "standup" {
		t.Fatalf("Timeline(standup with lead/lag) = %v, want busy 09:25-09:47", segs)
	}
	st := segs[1].State
	if !st.From.Equal(at(9, 25)) || !st.Until.Equal(at(9, 47)) || st.Note != "Stand-up until 09:45" ||
		!slices.Equal(st.Mood, []string{"happy", "other:caffeinated"}) || st.Sphere != "work" {
		t.Errorf("Timeline(standup) state = %+v", st)
	}
	misses := map[string]func(*calendar.Occurrence){
		"case":      func(o *calendar.Occurrence) { o.Summary = "Daily STANDUP" },
		"weekday":   func(o *calendar.Occurrence) { o.Start, o.End = o.Start.AddDate(0, 0, 1), o.End.AddDate(0, 0, 1) },
		"time":      func(o *calendar.Occurrence) { o.Start = o.Start.Add(-time.Hour) },
		"duration":  func(o *calendar.Occurrence) { o.End = o.End.Add(time.Hour) },
		"organizer": func(o *calendar.Occurrence) { o.OrganizerIsMe = true },
		"calendar":  func(o *calendar.Occurrence) { o.Calendar = "home" },
		"category":  func(o *calendar.Occurrence) { o.Categories = []string{"teamwork"} },
	}
	for name, f := range misses {
		o := base(f)
		ex := r.Explain([]calendar.Occurrence{o}, o.Start, berlin)
		if len(ex.Events) != 1 || ex.Events[0].Rule != "" || len(ex.Events[0].Misses) != 1 || ex.Winner != -1 {
			t.Errorf("Explain(standup, %s changed) = %+v, want a miss", name, ex)
		}
	}
}

func TestExplain(t *testing.T) {
	r := example(t)
	occs := []calendar.Occurrence{
		ev("lunch", "Lunch", at(12, 0), at(13, 0)),
		ev("sync", "Sync", at(12, 30), at(13, 30), attendees(4)),
		ev("free", "Reminder", at(12, 0), at(14, 0), transparent),
		ev("later", "Later", at(15, 0), at(16, 0)),
	}
	ex := r.Explain(occs, at(12, 45), berlin)
	if len(ex.Events) != 3 {
		t.Fatalf("Explain() events = %d, want 3 (lunch, sync, free)", len(ex.Events))
	}
	w := ex.Events[ex.Winner]
	if w.Occurrence.UID != "sync" || w.Rule != "meeting" || ex.Segment.UID != "sync" || !ex.Segment.Start.Equal(at(12, 30)) || !ex.Segment.End.Equal(at(13, 30)) {
		t.Errorf("Explain() winner = %+v, segment %+v", w, ex.Segment)
	}
	lunch := ex.Events[0]
	if lunch.Rule != "lunch" || len(lunch.Misses) != 10 || !strings.Contains(lunch.Misses[9].Reason, "private is false") {
		t.Errorf("Explain() lunch = %+v", lunch)
	}
	if free := ex.Events[2]; !free.Ignored || free.Rule != "free" {
		t.Errorf("Explain() free = %+v, want ignored by rule free", free)
	}
	if ex := r.Explain(occs, at(20, 0), berlin); ex.Winner != -1 || len(ex.Events) != 0 || ex.Segment.Rule != "" || ex.Segment.State.Basic != "open" {
		t.Errorf("Explain(20:00) = %+v, want nothing on", ex)
	}
}

// TestDocumentGolden checks the PIDF of the example's states against
// golden files: the shapes CONTRACT.md promises.
func TestDocumentGolden(t *testing.T) {
	r := example(t)
	occs := []calendar.Occurrence{
		ev("sync@example.com", "Weekly <sync> & \"more\"", at(14, 0), at(15, 0), attendees(3)),
		ev("lunch@example.com", "Lunch", at(12, 0), at(13, 0)),
		ev("vac@example.com", "Vacation", day(3), day(7), allDay),
	}
	segs := r.Timeline(occs, day(2), day(4), berlin)
	cases := map[string]time.Time{"available": at(9, 0), "meeting": at(14, 30), "lunch": at(12, 30), "vacation": day(3).Add(time.Hour)}
	aor := "sip:alice@example.com"
	for name, tm := range cases {
		s := segmentAt(t, segs, tm)
		got, err := s.Document(aor, pidf.IDBase(aor)).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "pidf", name+".xml")
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Document(%s).Marshal() =\n%s\nwant\n%s", name, got, want)
		}
		back, err := pidf.Unmarshal(got)
		if err != nil || back.Tuples[0].Basic != s.State.Basic || back.Entity != aor {
			t.Errorf("pidf.Unmarshal(Document(%s)) = %+v, %v", name, back, err)
		}
	}
}

func TestDocumentXMLLint(t *testing.T) {
	xmllint := testserver.LookPath(t, "xmllint", "libxml2-utils")
	files, _ := filepath.Glob(filepath.Join("testdata", "pidf", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no golden PIDF files")
	}
	if out, err := exec.Command(xmllint, append([]string{"--noout"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("xmllint --noout %v: %v\n%s", files, err, out)
	}
}

// TestExamplesRun runs every shipped rule set over a varied day, so that
// no template of theirs fails on real data.
func TestExamplesRun(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.toml")
	files = append(files, "../rules.example.toml")
	occs := []calendar.Occurrence{
		ev("1", "Weekly sync", at(9, 0), at(10, 0), attendees(3), func(o *calendar.Occurrence) { o.Location = "Room 1" }),
		ev("2", "On call", at(8, 0), at(20, 0)),
		ev("3", "Flight LH 123", at(17, 0), day(3).Add(2*time.Hour)),
		ev("4", "Trade fair", day(2), day(4), allDay, func(o *calendar.Occurrence) { o.Categories = []string{"Conference"} }),
		ev("5", "Lunch", at(12, 0), at(13, 0), class(calendar.ClassPrivate)),
		ev("6", "PTO", day(4), day(6), allDay),
	}
	for _, f := range files {
		r, err := Load(f)
		if err != nil {
			t.Fatalf("Load(%s) error = %v", f, err)
		}
		for _, s := range r.Timeline(occs, day(1), day(7), berlin) {
			if s.Rule != "" && s.State.Note == "" && r.rules[slices.IndexFunc(r.rules, func(ru *rule) bool { return ru.name == s.Rule })].presence.note != nil {
				t.Errorf("%s: Timeline() segment %v of rule %q has an empty note: its template failed", f, s.Start, s.Rule)
			}
			if strings.Contains(s.State.Note, "Lunch") {
				t.Errorf("%s: Timeline() note %q shows a private summary", f, s.State.Note)
			}
		}
	}
}

// TestInlineSyntax: the same rules written with inline tables and dotted
// keys compile and behave the same.
func TestInlineSyntax(t *testing.T) {
	r := mustParse(t, `
rule = [
  { name = "free", ignore = true, match = { transparent = true } },
  { name = "meeting", match.min_attendees = 2, presence = { basic = "closed", activities = ["busy", "meeting"], note = "Meeting until {{clock .End}}" } },
]
default.basic = "open"
default.note = "Available"
`)
	segs := r.Timeline([]calendar.Occurrence{
		ev("m", "Sync", at(9, 0), at(10, 0), attendees(2)),
		ev("f", "Free", at(11, 0), at(12, 0), attendees(2), transparent),
	}, at(8, 0), at(13, 0), berlin)
	if len(segs) != 3 || segs[1].Rule != "meeting" || segs[1].State.Note != "Meeting until 10:00" || segs[2].State.Note != "Available" {
		t.Errorf("Timeline(inline rules) = %v", segs)
	}
	if _, err := Parse("inline.toml", []byte("rule = [{ name = \"x\", ignore = true, matches = {} }]\n")); err == nil ||
		err.Error() != `inline.toml:1:38: unknown key "matches" in [[rule]] (known: ignore, lag, lead, match, name, presence, priority, show_private)` {
		t.Errorf("Parse(inline unknown key) error = %v", err)
	}
}

func TestNoteLimit(t *testing.T) {
	r := mustParse(t, "note_limit = 20\n[[rule]]\nname = \"x\"\nshow_private = true\n[rule.presence]\nbasic = \"open\"\nnote = \"{{.Summary}}\"\n")
	o := ev("x", strings.Repeat("Very long summary ", 600), at(9, 0), at(10, 0))
	segs := r.Timeline([]calendar.Occurrence{o}, at(9, 0), at(10, 0), berlin)
	if got := segs[0].State.Note; got != "Very long summary…" {
		t.Errorf("Timeline(long summary) note = %q, want %q", got, "Very long summary…")
	}
}
