package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

func TestStateSaveLoad(t *testing.T) {
	st := &stateStore{dir: t.TempDir()}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	occs := []calendar.Occurrence{{
		Details: &calendar.Details{
			Calendar: "work", UID: "a@x", Summary: "Sync <&>", Description: "d", Location: "Room 1",
			Status: calendar.StatusConfirmed, Class: calendar.ClassPrivate, Response: "accepted",
			Attendees: 3, AttendeeNames: []string{"Alice", "Bob", "Carol"}, Organizer: "mailto:bob@x",
			Categories: []string{"Work"},
		},
		RecurrenceID: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		Start:        time.Date(2026, 3, 2, 9, 0, 0, 0, berlin), End: time.Date(2026, 3, 2, 9, 30, 0, 0, berlin),
	}, {
		Details: &calendar.Details{Calendar: "work", UID: "b@x", AllDay: true, Transparent: true, OrganizerIsMe: true},
		Start:   time.Date(2026, 3, 3, 0, 0, 0, 0, berlin), End: time.Date(2026, 3, 4, 0, 0, 0, 0, berlin),
	}}
	fetched := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	from, to := fetched.Add(-24*time.Hour), fetched.Add(14*24*time.Hour)
	if err := st.Save("sip:alice@example.com", "work", fetched, from, to, occs); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	sc, ok, err := st.Load("sip:alice@example.com", "work")
	if err != nil || !ok {
		t.Fatalf("Load() = _, %v, %v, want ok", ok, err)
	}
	if !sc.Fetched.Equal(fetched) || !sc.From.Equal(from) || !sc.To.Equal(to) {
		t.Errorf("Load() times = %v %v %v, want %v %v %v", sc.Fetched, sc.From, sc.To, fetched, from, to)
	}
	got, err := sc.occurrences()
	if err != nil {
		t.Fatalf("occurrences() = %v", err)
	}
	if len(got) != len(occs) {
		t.Fatalf("Load() = %d occurrences, want %d", len(got), len(occs))
	}
	for i := range occs {
		w, g := occs[i], got[i]
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !g.RecurrenceID.Equal(w.RecurrenceID) {
			t.Errorf("occurrence %d times = %v %v %v, want %v %v %v", i, g.Start, g.End, g.RecurrenceID, w.Start, w.End, w.RecurrenceID)
		}
		g.Start, g.End, g.RecurrenceID = w.Start, w.End, w.RecurrenceID
		if !reflect.DeepEqual(g, w) {
			t.Errorf("occurrence %d = %+v, want %+v", i, g, w)
		}
	}

	// Another user or calendar has no data; a file of another user (or
	// version) is not taken.
	if _, ok, err := st.Load("sip:bob@example.com", "work"); ok || err != nil {
		t.Errorf("Load(bob) = %v, %v, want nothing", ok, err)
	}
	p := st.path("sip:alice@example.com", "work")
	os.WriteFile(p, []byte(`{"version":99,"user":"sip:alice@example.com","calendar":"work"}`), 0o600)
	if _, ok, err := st.Load("sip:alice@example.com", "work"); ok || err != nil {
		t.Errorf("Load(version 99) = %v, %v, want nothing", ok, err)
	}
	os.WriteFile(p, []byte(`{"vers`), 0o600)
	if _, ok, err := st.Load("sip:alice@example.com", "work"); ok || err == nil {
		t.Errorf("Load(truncated) = %v, %v, want an error", ok, err)
	}
	// No temporary files are left behind.
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".tmp-*"))
	if len(files) != 0 {
		t.Errorf("temporary files left: %v", files)
	}
}

func TestStateDisabled(t *testing.T) {
	st := &stateStore{}
	if err := st.Save("u", "c", time.Now(), time.Now(), time.Now(), nil); err != nil {
		t.Errorf("Save() without a dir = %v, want nil", err)
	}
	if _, ok, err := st.Load("u", "c"); ok || err != nil {
		t.Errorf("Load() without a dir = %v, %v, want nothing", ok, err)
	}
}

func TestEscapeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sip:alice@example.com", "sip%3Aalice@example.com"},
		{"work", "work"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"a/b", "a%2Fb"},
		{"a%2Fb", "a%252Fb"},
		{"Küche", "K%C3%BCche"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := escapeName(tt.in); got != tt.want {
			t.Errorf("escapeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefaultStateDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/xdg", "HOME": "/home/a"}, "/xdg/calpresence"},
		{map[string]string{"XDG_STATE_HOME": "relative", "HOME": "/home/a"}, "/home/a/.local/state/calpresence"},
		{map[string]string{"HOME": "/home/a"}, "/home/a/.local/state/calpresence"},
	}
	for _, tt := range tests {
		got, err := DefaultStateDir(env(tt.env))
		if err != nil || got != tt.want {
			t.Errorf("DefaultStateDir(%v) = %q, %v, want %q", tt.env, got, err, tt.want)
		}
	}
}

// A state file written before the occurrences took calendar's JSON form
// (Go's time.Time JSON, empty fields left out) still loads.
func TestStateLoadOldFormat(t *testing.T) {
	st := &stateStore{dir: t.TempDir()}
	const user, cal = "sip:alice@example.com", "work"
	old := `{"version":1,"user":"sip:alice@example.com","calendar":"work","fetched":"2026-03-02T07:00:00Z",` +
		`"from":"2026-03-01T07:00:00Z","to":"2026-03-16T07:00:00Z","occurrences":[` +
		`{"calendar":"work","uid":"a@x","recurrence_id":"2026-03-02T08:00:00Z","summary":"Sync","description":"d",` +
		`"start":"2026-03-02T09:00:00+01:00","end":"2026-03-02T09:30:00.5+01:00","status":"confirmed","class":"private",` +
		`"response":"accepted","attendees":2,"attendee_names":["Alice","Bob"],"organizer":"mailto:bob@x","categories":["Work"]},` +
		`{"calendar":"work","uid":"b@x","start":"2026-03-03T00:00:00+01:00","end":"2026-03-04T00:00:00+01:00",` +
		`"all_day":true,"transparent":true,"organizer_is_me":true}]}`
	p := st.path(user, cal)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, ok, err := st.Load(user, cal)
	if err != nil || !ok {
		t.Fatalf("Load() = _, %v, %v, want ok", ok, err)
	}
	got, err := sc.occurrences()
	if err != nil {
		t.Fatalf("occurrences() = %v", err)
	}
	cet := time.FixedZone("", 3600)
	want := []calendar.Occurrence{{
		Details: &calendar.Details{
			Calendar: "work", UID: "a@x", Summary: "Sync", Description: "d",
			Status: calendar.StatusConfirmed, Class: calendar.ClassPrivate, Response: "accepted",
			Attendees: 2, AttendeeNames: []string{"Alice", "Bob"}, Organizer: "mailto:bob@x", Categories: []string{"Work"},
		},
		RecurrenceID: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		Start:        time.Date(2026, 3, 2, 9, 0, 0, 0, cet), End: time.Date(2026, 3, 2, 9, 30, 0, 5e8, cet),
	}, {
		Details: &calendar.Details{Calendar: "work", UID: "b@x", AllDay: true, Transparent: true, OrganizerIsMe: true},
		Start:   time.Date(2026, 3, 3, 0, 0, 0, 0, cet), End: time.Date(2026, 3, 4, 0, 0, 0, 0, cet),
	}}
	if len(got) != len(want) {
		t.Fatalf("Load() = %d occurrences, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !g.RecurrenceID.Equal(w.RecurrenceID) {
			t.Errorf("occurrence %d times = %v %v %v, want %v %v %v", i, g.Start, g.End, g.RecurrenceID, w.Start, w.End, w.RecurrenceID)
		}
		g.Start, g.End, g.RecurrenceID = w.Start, w.End, w.RecurrenceID
		if !reflect.DeepEqual(g, w) {
			t.Errorf("occurrence %d = %+v, want %+v", i, g, w)
		}
	}
}
