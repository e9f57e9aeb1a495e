package calendar

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// OccurrenceJSON is the one JSON form of an Occurrence. Its first fields,
// in their order, are an element of `events -json` (CONTRACT.md); the
// fields after them carry the rest of an Occurrence, for the agent's state
// files, and are left out when empty. Times are RFC 3339 (fractions of a
// second only when there are any); recurrence_id is an instant in UTC, ""
// for an event that does not recur.
type OccurrenceJSON struct {
	Calendar     string   `json:"calendar"`
	UID          string   `json:"uid"`
	RecurrenceID string   `json:"recurrence_id"`
	Summary      string   `json:"summary"`
	Location     string   `json:"location"`
	Start        string   `json:"start"`
	End          string   `json:"end"`
	AllDay       bool     `json:"all_day"`
	Status       string   `json:"status"`
	Transparent  bool     `json:"transparent"`
	Class        string   `json:"class"`    // "public" when the event has none
	Response     string   `json:"response"` // lower case
	Attendees    int      `json:"attendees"`
	Categories   []string `json:"categories"` // never null

	Description   string   `json:"description,omitempty"`
	AttendeeNames []string `json:"attendee_names,omitempty"`
	Organizer     string   `json:"organizer,omitempty"`
	OrganizerIsMe bool     `json:"organizer_is_me,omitempty"`
}

// JSON returns the JSON form of o, its times in zone (nil: as they are).
func (o *Occurrence) JSON(zone *time.Location) OccurrenceJSON {
	in := func(t time.Time) time.Time {
		if zone != nil {
			return t.In(zone)
		}
		return t
	}
	j := OccurrenceJSON{
		Calendar: o.Calendar, UID: o.UID, Summary: o.Summary, Location: o.Location,
		Start: in(o.Start).Format(time.RFC3339Nano), End: in(o.End).Format(time.RFC3339Nano),
		AllDay: o.AllDay, Status: string(o.Status), Transparent: o.Transparent,
		Class: string(o.Class), Response: strings.ToLower(o.Response), Attendees: o.Attendees,
		Categories:  o.Categories,
		Description: o.Description, AttendeeNames: o.AttendeeNames,
		Organizer: o.Organizer, OrganizerIsMe: o.OrganizerIsMe,
	}
	if !o.RecurrenceID.IsZero() {
		j.RecurrenceID = o.RecurrenceID.UTC().Format(time.RFC3339Nano)
	}
	if j.Class == "" {
		j.Class = string(ClassPublic)
	}
	if j.Categories == nil {
		j.Categories = []string{}
	}
	return j
}

// Contract returns j with only the fields of `events -json`.
func (j OccurrenceJSON) Contract() OccurrenceJSON {
	j.Description, j.AttendeeNames, j.Organizer, j.OrganizerIsMe = "", nil, "", false
	return j
}

// Occurrence decodes j. It reads what JSON writes, and the state files of
// earlier versions, whose times were Go's time.Time JSON and whose empty
// fields were left out.
func (j *OccurrenceJSON) Occurrence() (Occurrence, error) {
	o := Occurrence{Details: &Details{
		Calendar: j.Calendar, UID: j.UID, Summary: j.Summary, Description: j.Description,
		Location: j.Location, AllDay: j.AllDay, Status: Status(j.Status), Transparent: j.Transparent,
		Class: Class(j.Class), Response: j.Response, Attendees: j.Attendees,
		AttendeeNames: j.AttendeeNames, Organizer: j.Organizer, OrganizerIsMe: j.OrganizerIsMe,
		Categories: j.Categories,
	}}
	if len(o.Categories) == 0 {
		o.Categories = nil
	}
	if o.Class == ClassPublic {
		// The JSON form does not tell an event without a CLASS from one
		// with CLASS:PUBLIC; both mean public, and an Occurrence says so
		// with "".
		o.Class = ""
	}
	var err error
	parse := func(name, s string, t *time.Time) {
		if err != nil || s == "" || s == "0001-01-01T00:00:00Z" {
			return
		}
		if *t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			err = fmt.Errorf("occurrence %q: %s: %w", j.UID, name, err)
		}
	}
	parse("recurrence_id", j.RecurrenceID, &o.RecurrenceID)
	parse("start", j.Start, &o.Start)
	parse("end", j.End, &o.End)
	if err == nil && (o.Start.IsZero() || o.End.IsZero()) {
		err = fmt.Errorf("occurrence %q: no start or end", j.UID)
	}
	return o, err
}

// HashOccurrences is a hash of everything the JSON form of occs says, in
// their order: occurrences that differ in any field hash apart (but for
// chance), and equal ones in whatever zone hash alike.
func HashOccurrences(occs []Occurrence) uint64 {
	h := fnv.New64a()
	enc := json.NewEncoder(h)
	for i := range occs {
		// Encoding a struct of strings, bools, ints and string slices
		// cannot fail.
		_ = enc.Encode(occs[i].JSON(time.UTC))
	}
	return h.Sum64()
}
