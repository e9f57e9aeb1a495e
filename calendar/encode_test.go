package calendar

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

func sampleOccurrence() Occurrence {
	berlin := time.FixedZone("CET", 3600)
	return Occurrence{
		Details: &Details{
			Calendar: "work", UID: "abc@example.com",
			Summary: "Review", Description: "Bring <notes> & coffee", Location: "Room 1",
			Status: StatusConfirmed, Class: ClassPrivate, Response: "accepted", Attendees: 2,
			AttendeeNames: []string{"Alice", "Bob"}, Organizer: "mailto:bob@example.com", Categories: []string{"x"},
		},
		RecurrenceID: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		Start:        time.Date(2026, 3, 2, 9, 0, 0, 0, berlin), End: time.Date(2026, 3, 2, 9, 30, 0, 0, berlin),
	}
}

func TestOccurrenceJSONRoundTrip(t *testing.T) {
	allDay := sampleOccurrence()
	allDay.AllDay, allDay.RecurrenceID, allDay.Categories, allDay.OrganizerIsMe = true, time.Time{}, nil, true
	frac := sampleOccurrence()
	frac.Start = frac.Start.Add(1500 * time.Millisecond)
	for _, o := range []Occurrence{sampleOccurrence(), allDay, frac} {
		data, err := json.Marshal(o.JSON(time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		var j OccurrenceJSON
		if err := json.Unmarshal(data, &j); err != nil {
			t.Fatal(err)
		}
		got, err := j.Occurrence()
		if err != nil {
			t.Fatalf("Occurrence() of %s = %v", data, err)
		}
		if !got.Start.Equal(o.Start) || !got.End.Equal(o.End) || !got.RecurrenceID.Equal(o.RecurrenceID) {
			t.Errorf("times of %s = %v %v %v, want %v %v %v", data, got.Start, got.End, got.RecurrenceID, o.Start, o.End, o.RecurrenceID)
		}
		got.Start, got.End, got.RecurrenceID = o.Start, o.End, o.RecurrenceID
		if !reflect.DeepEqual(got, o) {
			t.Errorf("round trip of %s =\n%+v\nwant\n%+v", data, got, o)
		}
	}
}

func TestOccurrenceJSONContract(t *testing.T) {
	o := sampleOccurrence()
	o.Class, o.Categories, o.Response = "", nil, "ACCEPTED"
	data, err := json.Marshal(o.JSON(time.FixedZone("CET", 3600)).Contract())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"calendar":"work","uid":"abc@example.com","recurrence_id":"2026-03-02T08:00:00Z","summary":"Review",` +
		`"location":"Room 1","start":"2026-03-02T09:00:00+01:00","end":"2026-03-02T09:30:00+01:00","all_day":false,` +
		`"status":"confirmed","transparent":false,"class":"public","response":"accepted","attendees":2,"categories":[]}`
	if string(data) != want {
		t.Errorf("contract JSON =\n%s\nwant\n%s", data, want)
	}
}

// Old state files wrote Go's time.Time JSON and left empty fields out.
func TestOccurrenceJSONOldState(t *testing.T) {
	old := `{"calendar":"work","uid":"u1","summary":"Lunch","start":"2026-03-02T12:00:00.5+01:00","end":"2026-03-02T13:00:00+01:00"}`
	var j OccurrenceJSON
	if err := json.Unmarshal([]byte(old), &j); err != nil {
		t.Fatal(err)
	}
	o, err := j.Occurrence()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 2, 11, 0, 0, 5e8, time.UTC)
	if o.UID != "u1" || o.Summary != "Lunch" || !o.Start.Equal(want) || !o.RecurrenceID.IsZero() || o.Class != "" || o.Categories != nil {
		t.Errorf("old occurrence = %+v", o)
	}
	if _, err := (&OccurrenceJSON{UID: "u2", Start: "yesterday", End: "2026-03-02T13:00:00Z"}).Occurrence(); err == nil {
		t.Error("Occurrence() of a bad start = nil error")
	}
}

// A change to any one field changes the hash; the zone of the times does not.
func TestHashOccurrences(t *testing.T) {
	base := sampleOccurrence()
	h := HashOccurrences([]Occurrence{base})
	inUTC := base
	inUTC.Start, inUTC.End = base.Start.UTC(), base.End.UTC()
	if HashOccurrences([]Occurrence{inUTC}) != h {
		t.Error("the same occurrence in UTC hashes apart")
	}
	for name, edit := range map[string]func(*Occurrence){
		"description":     func(o *Occurrence) { o.Description += "!" },
		"all day":         func(o *Occurrence) { o.AllDay = true },
		"recurrence id":   func(o *Occurrence) { o.RecurrenceID = o.RecurrenceID.Add(time.Hour) },
		"organizer":       func(o *Occurrence) { o.Organizer = "mailto:carol@example.com" },
		"attendee names":  func(o *Occurrence) { o.AttendeeNames = []string{"Alice"} },
		"organizer is me": func(o *Occurrence) { o.OrganizerIsMe = true },
		"start":           func(o *Occurrence) { o.Start = o.Start.Add(time.Second) },
		"summary":         func(o *Occurrence) { o.Summary = "Other" },
	} {
		o := sampleOccurrence()
		o.AttendeeNames = slices.Clone(o.AttendeeNames)
		edit(&o)
		if HashOccurrences([]Occurrence{o}) == h {
			t.Errorf("a change of the %s leaves the hash", name)
		}
	}
	if HashOccurrences([]Occurrence{base, base}) == h || HashOccurrences(nil) == h {
		t.Error("the number of occurrences leaves the hash")
	}
}

// contractJSONIndented is what `events -json` wrote for one occurrence
// before AppendContractJSON: encoding/json, indented as an array element.
func contractJSONIndented(t testing.TB, o *Occurrence, zone *time.Location) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode([]OccurrenceJSON{o.JSON(zone).Contract()}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	return s[len("[\n") : len(s)-len("\n]\n")]
}

func TestAppendContractJSON(t *testing.T) {
	base := sampleOccurrence()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(o *Occurrence)
		zone *time.Location
	}{
		{"sample", func(o *Occurrence) {}, time.UTC},
		{"no zone", func(o *Occurrence) {}, nil},
		{"in Tokyo", func(o *Occurrence) {}, tokyo},
		{"defaults", func(o *Occurrence) {
			o.Class, o.Categories, o.RecurrenceID, o.Response = "", nil, time.Time{}, "ACCEPTED"
		}, time.UTC},
		{"all day, categories", func(o *Occurrence) { o.AllDay, o.Transparent, o.Categories = true, true, []string{"a", "b,c", ""} }, time.UTC},
		{"fractions", func(o *Occurrence) { o.Start = o.Start.Add(1500 * time.Millisecond) }, time.UTC},
		{"escapes", func(o *Occurrence) {
			o.Summary = "<b>\"q\" \\ & \x00\x01\b\f\n\r\t\x1f\x7f é \u2028\u2029 \xff\xfe end"
			o.Location, o.Calendar, o.UID = "日本語 😀", "\xe2\x82", "a\u2027b"
		}, time.UTC},
		{"attendees", func(o *Occurrence) { o.Attendees = -3 }, time.UTC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, d := base, *base.Details
			o.Details = &d // the edit is this case's alone
			tt.edit(&o)
			want := contractJSONIndented(t, &o, tt.zone)
			if got := string(o.AppendContractJSON(nil, tt.zone)); got != want {
				t.Errorf("AppendContractJSON() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func FuzzAppendContractJSON(f *testing.F) {
	f.Add("Review", "Room 1", "cat", "accepted", int64(0))
	f.Add("<b>\"&\x00\u2028\xff", "\xe2\x82", "", "TENTATIVE", int64(1500))
	f.Fuzz(func(t *testing.T, summary, location, category, response string, ms int64) {
		o := sampleOccurrence()
		o.Summary, o.Location, o.Response, o.Categories = summary, location, response, []string{category, summary}
		o.Start = o.Start.Add(time.Duration(ms) * time.Millisecond)
		want := contractJSONIndented(t, &o, time.UTC)
		if got := string(o.AppendContractJSON(nil, time.UTC)); got != want {
			t.Fatalf("AppendContractJSON() =\n%s\nwant\n%s", got, want)
		}
	})
}
