package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	calpresence "github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/calendar"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is 2 March 2026 (a Monday) at hh:mm in Berlin.
func at(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, berlin) }

func day(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, berlin) }

func ev(uid, summary string, start, end time.Time, opts ...func(*calendar.Occurrence)) calendar.Occurrence {
	o := calendar.Occurrence{Details: &calendar.Details{Calendar: "work", UID: uid, Summary: summary,
		Status: calendar.StatusConfirmed, Class: calendar.ClassPublic, Attendees: 0}, Start: start, End: end}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func attendees(n int) func(*calendar.Occurrence) {
	return func(o *calendar.Occurrence) {
		o.Attendees = n
		for i := range n {
			o.AttendeeNames = append(o.AttendeeNames, "Person "+string(rune('A'+i)))
		}
	}
}

func class(c calendar.Class) func(*calendar.Occurrence) {
	return func(o *calendar.Occurrence) { o.Class = c }
}
func allDay(o *calendar.Occurrence)      { o.AllDay = true }
func transparent(o *calendar.Occurrence) { o.Transparent = true }
func cancelled(o *calendar.Occurrence)   { o.Status = calendar.StatusCancelled }
func declined(o *calendar.Occurrence)    { o.Response = "declined" }
func busy(status string) func(*calendar.Occurrence) {
	return func(o *calendar.Occurrence) { o.BusyStatus = status }
}

func example(t testing.TB) *Rules {
	t.Helper()
	r, err := Parse("rules.example.toml", calpresence.DefaultRules())
	if err != nil {
		t.Fatalf("Parse(rules.example.toml) error = %v", err)
	}
	return r
}

// TestExampleCases drives rules.example.toml through CONTRACT.md's eight
// cases: one event at a time, the state at 10:00.
func TestExampleCases(t *testing.T) {
	r := example(t)
	tests := []struct {
		name      string
		occ       calendar.Occurrence
		rule      string
		basic     string
		acts      []string
		note      string
		untilWant time.Time
	}{
		{"1 free", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), transparent), "", "open", nil, "", time.Time{}},
		{"1 cancelled", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), cancelled), "", "open", nil, "", time.Time{}},
		{"1 declined", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), declined), "", "open", nil, "", time.Time{}},
		{"2 vacation", ev("a", "Vacation", day(2), day(7), allDay), "vacation", "closed", []string{"away", "vacation"}, "On vacation until Fri 6 Mar", day(7)},
		{"2 PTO any case", ev("a", "pto (Bali)", day(2), day(6), allDay), "vacation", "closed", []string{"away", "vacation"}, "On vacation until Thu 5 Mar", day(6)},
		{"2 out of office", ev("a", "OUT OF OFFICE", day(2), day(3), allDay), "vacation", "closed", []string{"away", "vacation"}, "On vacation until Mon 2 Mar", day(3)},
		{"2 holiday", ev("a", "Public Holiday", day(2), day(3), allDay), "vacation", "closed", []string{"away", "vacation"}, "On vacation until Mon 2 Mar", day(3)},
		{"2b outlook oof all-day", ev("a", "Conference", day(2), day(4), allDay, busy("oof")), "out-of-office", "closed", []string{"away", "vacation"}, "Out of office until Tue 3 Mar", day(4)},
		{"2b outlook oof timed", ev("a", "Dentist", at(9, 0), at(12, 0), busy("oof")), "out-of-office", "closed", []string{"away", "vacation"}, "Out of office until 12:00", at(12, 0)},
		{"2b outlook oof over days", ev("a", "Trip", at(9, 0), day(4).Add(13*time.Hour), busy("oof"), attendees(3)), "out-of-office", "closed", []string{"away", "vacation"}, "Out of office until Wed 4 Mar 13:00", day(4).Add(13 * time.Hour)},
		{"2b google out of office", ev("a", "Out of office", at(8, 0), at(18, 0)), "out-of-office (google)", "closed", []string{"away", "vacation"}, "Out of office until 18:00", at(18, 0)},
		{"2b out of office in a longer summary is busy", ev("a", "Plan out of office rota", at(9, 0), at(11, 0)), "busy", "open", []string{"busy", "appointment"}, "Busy until 11:00", at(11, 0)},
		{"1 outlook free", ev("a", "Team meeting", at(9, 0), at(11, 0), attendees(3), busy("free")), "", "open", nil, "", time.Time{}},
		{"7 outlook busy-only feed", ev("a", "Busy", at(9, 30), at(10, 30), busy("busy")), "busy", "open", []string{"busy", "appointment"}, "Busy until 10:30", at(10, 30)},
		{"7 outlook working elsewhere", ev("a", "Client site", at(9, 30), at(10, 30), busy("workingelsewhere")), "busy", "open", []string{"busy", "appointment"}, "Busy until 10:30", at(10, 30)},
		{"3 other all-day", ev("a", "Alice's birthday", day(2), day(3), allDay, attendees(4)), "", "open", nil, "", time.Time{}},
		{"2 vacation timed is not vacation", ev("a", "Vacation planning", at(9, 0), at(11, 0)), "busy", "open", []string{"busy", "appointment"}, "Busy until 11:00", at(11, 0)},
		{"4 meeting", ev("a", "Weekly sync", at(9, 30), at(10, 45), attendees(2)), "meeting", "closed", []string{"busy", "meeting"}, "In a meeting until 10:45", at(10, 45)},
		{"4 private meeting is a meeting", ev("a", "Secret", at(9, 30), at(10, 45), attendees(2), class(calendar.ClassPrivate)), "meeting", "closed", []string{"busy", "meeting"}, "In a meeting until 10:45", at(10, 45)},
		{"5 private", ev("a", "Doctor", at(9, 30), at(10, 30), class(calendar.ClassPrivate)), "private", "open", []string{"busy"}, "Busy until 10:30", at(10, 30)},
		{"5 confidential lunch", ev("a", "Lunch with recruiter", at(9, 30), at(10, 30), class(calendar.ClassConfidential)), "private", "open", []string{"busy"}, "Busy until 10:30", at(10, 30)},
		{"6 lunch", ev("a", "Lunch", at(9, 30), at(10, 30)), "lunch", "open", []string{"away", "meal"}, "Out for lunch until 10:30", at(10, 30)},
		{"6 team lunch one attendee", ev("a", "Team LUNCH!", at(9, 30), at(10, 30), attendees(1)), "lunch", "open", []string{"away", "meal"}, "Out for lunch until 10:30", at(10, 30)},
		{"6 lunchbox is not lunch", ev("a", "Lunchbox repair", at(9, 30), at(10, 30)), "busy", "open", []string{"busy", "appointment"}, "Busy until 10:30", at(10, 30)},
		{"7 busy", ev("a", "Focus time", at(9, 30), at(10, 30)), "busy", "open", []string{"busy", "appointment"}, "Busy until 10:30", at(10, 30)},
		{"7 tentative reply is busy", ev("a", "Focus", at(9, 30), at(10, 30), func(o *calendar.Occurrence) { o.Response = "tentative" }), "busy", "open", []string{"busy", "appointment"}, "Busy until 10:30", at(10, 30)},
		{"8 no event now", ev("a", "Later", at(11, 0), at(12, 0)), "", "open", nil, "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs := r.Timeline([]calendar.Occurrence{tt.occ}, day(2), day(3), berlin)
			s := segmentAt(t, segs, at(10, 0))
			if s.Rule != tt.rule || s.State.Basic != tt.basic || !slices.Equal(s.State.Activities, tt.acts) || s.State.Note != tt.note {
				t.Errorf("Timeline(%s) at 10:00 = rule %q %v, want rule %q %s %v %q", tt.occ.Summary, s.Rule, s.State, tt.rule, tt.basic, tt.acts, tt.note)
			}
			if !s.State.Until.Equal(tt.untilWant) {
				t.Errorf("Timeline(%s) until = %v, want %v", tt.occ.Summary, s.State.Until, tt.untilWant)
			}
			if tt.rule != "" && (s.UID != "a" || !s.State.From.Equal(tt.occ.Start)) {
				t.Errorf("Timeline(%s) uid, from = %q, %v, want a, %v", tt.occ.Summary, s.UID, s.State.From, tt.occ.Start)
			}
		})
	}
}

func segmentAt(t *testing.T, segs []Segment, tm time.Time) Segment {
	t.Helper()
	for _, s := range segs {
		if !s.Start.After(tm) && s.End.After(tm) {
			return s
		}
	}
	t.Fatalf("no segment holds %v in %v", tm, segs)
	return Segment{}
}

// TestExampleRanking: vacation > meeting > private > lunch > other busy;
// between equals, the one that started last.
func TestExampleRanking(t *testing.T) {
	r := example(t)
	vac := ev("vac", "OOO", day(2), day(3), allDay)
	meet := ev("meet", "Sync", at(9, 0), at(12, 0), attendees(3))
	priv := ev("priv", "Dentist", at(9, 0), at(12, 0), class(calendar.ClassPrivate))
	lunch := ev("lunch", "Lunch", at(9, 0), at(12, 0))
	busy := ev("busy", "Focus", at(9, 0), at(12, 0))
	order := []calendar.Occurrence{vac, meet, priv, lunch, busy}
	for i := range order {
		occs := slices.Clone(order[i:])
		slices.Reverse(occs) // input order must not matter
		s := segmentAt(t, r.Timeline(occs, day(2), day(3), berlin), at(10, 0))
		if s.UID != order[i].UID {
			t.Errorf("Timeline(%d overlapping from %s) winner = %q, want %q", len(occs), order[i].UID, s.UID, order[i].UID)
		}
	}
	// Equals: the meeting that started last wins while it runs.
	a := ev("a", "Long sync", at(9, 0), at(12, 0), attendees(2))
	b := ev("b", "Short sync", at(10, 0), at(11, 0), attendees(2))
	segs := r.Timeline([]calendar.Occurrence{b, a}, at(8, 0), at(13, 0), berlin)
	want := []struct {
		start, end time.Time
		uid, note  string
	}{
		{at(8, 0), at(9, 0), "", ""},
		{at(9, 0), at(10, 0), "a", "In a meeting until 12:00"},
		{at(10, 0), at(11, 0), "b", "In a meeting until 11:00"},
		{at(11, 0), at(12, 0), "a", "In a meeting until 12:00"},
		{at(12, 0), at(13, 0), "", ""},
	}
	if len(segs) != len(want) {
		t.Fatalf("Timeline(overlapping meetings) = %v, want %d segments", segs, len(want))
	}
	for i, w := range want {
		s := segs[i]
		if !s.Start.Equal(w.start) || !s.End.Equal(w.end) || s.UID != w.uid || s.State.Note != w.note {
			t.Errorf("Timeline(overlapping meetings)[%d] = %v-%v %q %q, want %v-%v %q %q", i, s.Start, s.End, s.UID, s.State.Note, w.start, w.end, w.uid, w.note)
		}
	}
}

// TestTimelineCoversWindow checks the invariants on a busy day: segments
// are contiguous, cover exactly [from, to), and no neighbours are equal.
func TestTimelineCoversWindow(t *testing.T) {
	r := example(t)
	occs := []calendar.Occurrence{
		ev("1", "Sync", at(9, 0), at(10, 0), attendees(3)),
		ev("2", "Focus", at(9, 30), at(11, 0)),
		ev("3", "Lunch", at(12, 0), at(13, 0)),
		ev("4", "Lunch", at(13, 0), at(13, 30)), // same rule, different end: not merged
		ev("5", "Before window", at(6, 0), at(8, 30)),
		ev("6", "After window", at(19, 0), at(23, 0)),
		ev("7", "Zero length", at(15, 0), at(15, 0)),
	}
	from, to := at(8, 0), at(18, 0)
	segs := r.Timeline(occs, from, to, berlin)
	if !segs[0].Start.Equal(from) || !segs[len(segs)-1].End.Equal(to) {
		t.Fatalf("Timeline() spans %v-%v, want %v-%v", segs[0].Start, segs[len(segs)-1].End, from, to)
	}
	for i := 1; i < len(segs); i++ {
		if !segs[i].Start.Equal(segs[i-1].End) {
			t.Errorf("Timeline()[%d] starts %v, previous ends %v", i, segs[i].Start, segs[i-1].End)
		}
		if segs[i].State.Equal(segs[i-1].State) {
			t.Errorf("Timeline()[%d] equals its neighbour: %v", i, segs[i].State)
		}
	}
	if got := r.Timeline(occs, to, from, berlin); got != nil {
		t.Errorf("Timeline(to, from) = %v, want nil", got)
	}
	// Pure: the same input gives the same output.
	again := r.Timeline(slices.Clone(occs), from, to, berlin)
	if len(again) != len(segs) {
		t.Errorf("Timeline() is not deterministic: %d then %d segments", len(segs), len(again))
	}
}

func TestLoadExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../rules.example.toml")
	if len(files) < 5 {
		t.Errorf("examples: found %v, want rules.example.toml and at least four examples", files)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("Load(%s) error = %v", f, err)
		}
	}
	data, err := os.ReadFile("../rules.example.toml")
	if err != nil || string(data) != string(calpresence.DefaultRules()) {
		t.Errorf("calpresence.DefaultRules() differs from rules.example.toml (%v)", err)
	}
}

// TestInvalid: one file per mistake in testdata/invalid, each with the
// exact expected messages in a .err file beside it.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid cases: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".toml") + ".err")
			if err != nil && !*update {
				t.Fatal(err)
			}
			_, err = Load(f)
			if err == nil {
				t.Fatalf("Load(%s) error = nil, want\n%s", f, want)
			}
			if *update {
				if err := os.WriteFile(strings.TrimSuffix(f, ".toml")+".err", []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("Load(%s) error =\n%s\nwant\n%s", f, got, want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("Load(%s) error has no *Error", f)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(calpresence.DefaultRules())
	files, _ := filepath.Glob("../examples/*.toml")
	more, _ := filepath.Glob("testdata/invalid/*.toml")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	occs := []calendar.Occurrence{
		ev("1", "Sync", at(9, 0), at(10, 0), attendees(3)),
		ev("2", "Vacation", day(2), day(4), allDay),
		ev("3", "Private", at(11, 0), at(12, 0), class(calendar.ClassPrivate)),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.toml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.toml:") {
					t.Fatalf("Parse() error line %q lacks FILE:LINE:COL", line)
				}
			}
			return
		}
		segs := r.Timeline(occs, day(1), day(5), berlin)
		if !segs[0].Start.Equal(day(1)) || !segs[len(segs)-1].End.Equal(day(5)) {
			t.Fatalf("Timeline() does not cover the window: %v", segs)
		}
	})
}
