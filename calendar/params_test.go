package calendar

import (
	"slices"
	"strings"
	"testing"

	ics "github.com/arran4/golang-ical"
)

var scanParamsSeeds = []string{
	`DTSTART;TZID=Europe/Berlin:20260105T090000`,
	`ATTENDEE;CN="Doe, Jane";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:j@example.com`,
	`ATTENDEE;cn=Jane;CN=Other:mailto:j@example.com`,
	`ATTENDEE;MEMBER="mailto:a@x","mailto:b@x";CN=A:mailto:a@x`,
	`X;A=a\:b:c`,
	`X;A="a\"b":c`,
	`X;A="unterminated:c`,
	`X;A=b"c":d`,
	`X; CN=x:y`,
	`X;=a:b`,
	`X;A=:b`,
	`X;A=,b:c`,
	`X;A=b`,
	`X;A=b,`,
	`X;A`,
	`X;A="b"c:d`,
	"X;A=b\tc:d",
	"X;A=b\x01c:d",
	"X;A=\xff\xfe:d",
	`X;A=b;`,
	`X;A=b;;B=c:d`,
}

// TestScanParams: the lines scanParams takes are those golang-ical parses
// to the same parameters, and the common ones are among them.
func TestScanParams(t *testing.T) {
	tests := []struct {
		line string
		want []param // nil: left to golang-ical
	}{
		{`DTSTART;TZID=Europe/Berlin:20260105T090000`, []param{{"TZID", "Europe/Berlin"}}},
		{`ATTENDEE;CN="Doe, Jane";partstat=ACCEPTED:mailto:j@x`, []param{{"CN", "Doe, Jane"}, {"PARTSTAT", "ACCEPTED"}}},
		{`X;MEMBER="a","b:c":d`, []param{{"MEMBER", "a"}, {"MEMBER", "b:c"}}},
		{`X;A=:b`, []param{{"A", ""}}},
		{`X;A=a\:b:c`, nil},
		{`X; CN=x:y`, nil},
		{`X;A=b`, nil},
		{`X;A="b"c:d`, nil},
	}
	for _, tt := range tests {
		semi := strings.IndexByte(tt.line, ';')
		got, ok := scanParams(nil, tt.line, semi)
		if !ok {
			got = nil
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("scanParams(%q) = %v, %v; want %v", tt.line, got, ok, tt.want)
		}
	}
}

// FuzzScanParams holds scanParams to golang-ical: whatever line it takes,
// golang-ical parses too, to the same parameters.
func FuzzScanParams(f *testing.F) {
	for _, s := range scanParamsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		semi := strings.IndexByte(line, ';')
		colon := valueStart(line)
		if semi < 0 || colon < 0 || semi > colon || !validName(line[:semi]) {
			return
		}
		got, ok := scanParams(nil, line, semi)
		if !ok {
			return
		}
		bp, err := ics.ParseProperty(ics.ContentLine(line))
		if err != nil || bp == nil {
			t.Fatalf("scanParams took %q, golang-ical: %v", line, err)
		}
		// Values of one name spelt in several cases came in golang-ical's
		// map order before; only the multiset is golang-ical's.
		want := libraryParams(nil, bp.ICalParameters)
		byNameValue := func(a, b param) int {
			if c := strings.Compare(a.name, b.name); c != 0 {
				return c
			}
			return strings.Compare(a.value, b.value)
		}
		slices.SortFunc(got, byNameValue)
		slices.SortFunc(want, byNameValue)
		if !slices.Equal(got, want) {
			t.Fatalf("scanParams(%q) = %v, golang-ical %v", line, got, want)
		}
	})
}
