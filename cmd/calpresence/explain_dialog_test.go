package main

import (
	"strings"
	"testing"

	"github.com/calpresence/calpresence/dialoginfo"
)

// explain -dialog prints the dialog-info document in force: confirmed
// during a meeting (blf = true in the built-in rules), terminated for the
// linger after it, none otherwise (a lunch, a private appointment).
func TestExplainDialog(t *testing.T) {
	const aor = "sip:alice@example.com"
	for _, tc := range []struct {
		at, state string // state "": none
		version   uint64
	}{
		{"2026-03-02T09:30:00+01:00", dialoginfo.Confirmed, 1772438400}, // the meeting 09:00-10:00
		{"2026-03-02T10:00:00+01:00", dialoginfo.Terminated, 1772442000},
		{"2026-03-02T10:00:09+01:00", dialoginfo.Terminated, 1772442000},
		{"2026-03-02T10:00:10+01:00", "", 0},
		{"2026-03-02T08:59:59+01:00", "", 0},
		{"2026-03-02T15:30:00+01:00", "", 0}, // private
	} {
		out, errs, code := runMain(t, "explain", "-ics", "testdata/preview/week.ics", "-tz", "Europe/Berlin",
			"-at", tc.at, "-dialog", "-aor", aor)
		if code != 0 {
			t.Fatalf("explain -at %s -dialog = exit %d, stderr:\n%s", tc.at, code, errs)
		}
		if tc.state == "" {
			if !strings.HasPrefix(out, "No dialog-info document at "+tc.at) {
				t.Errorf("explain -at %s -dialog = %q, want it to say there is none", tc.at, out)
			}
			continue
		}
		d, err := dialoginfo.Unmarshal([]byte(out))
		if err != nil {
			t.Fatalf("explain -at %s -dialog output: %v\n%s", tc.at, err, out)
		}
		if d.Entity != aor || d.State != dialoginfo.Full || d.Version != tc.version || len(d.Dialogs) != 1 ||
			d.Dialogs[0].ID != dialoginfo.IDFor(aor) || d.Dialogs[0].State != tc.state || d.Dialogs[0].Direction != dialoginfo.Recipient {
			t.Errorf("explain -at %s -dialog = %s, want version %d, one dialog %s %s", tc.at, out, tc.version, dialoginfo.IDFor(aor), tc.state)
		}
	}
	_, errs, code := runMain(t, "explain", "-ics", "testdata/preview/week.ics", "-at", "2026-03-02", "-dialog", "-pidf")
	if code != 2 || !strings.Contains(errs, "exclude each other") {
		t.Errorf("explain -dialog -pidf = exit %d, stderr %q; want 2, exclude each other", code, errs)
	}
}
