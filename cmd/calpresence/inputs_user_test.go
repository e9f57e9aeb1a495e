package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On a config of several users, events, preview and explain say whose
// calendars they read, and -user picks another.
func TestMultiUserInputs(t *testing.T) {
	dir := t.TempDir()
	ics := func(name, summary string) string {
		p := filepath.Join(dir, name)
		data := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + name +
			"\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\nSUMMARY:" + summary +
			"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`timezone = "UTC"
[sip]
proxy = "sip:127.0.0.1:5060"

[[user]]
aor = "sip:alice@example.com"
  [[user.calendar]]
  name = "work"
  url = "`+ics("alice.ics", "Alice review")+`"

[[user]]
aor = "sip:bob@example.com"
  [[user.calendar]]
  name = "work"
  url = "`+ics("bob.ics", "Bob standup")+`"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args           []string
		stdout, stderr string
	}{
		{[]string{"events", "-config", cfg, "-from", "2026-03-02", "-to", "2026-03-03"}, "Alice review",
			"showing sip:alice@example.com (the first of the config's users; -user AOR for another: sip:bob@example.com)"},
		{[]string{"events", "-config", cfg, "-user", "sip:bob@example.com", "-from", "2026-03-02", "-to", "2026-03-03"}, "Bob standup",
			"showing sip:bob@example.com (chosen by -user; -user AOR for another: sip:alice@example.com)"},
		{[]string{"preview", "-config", cfg, "-user", "sip:bob@example.com", "-from", "2026-03-02", "-to", "2026-03-03"}, "09:00",
			"showing sip:bob@example.com"},
		{[]string{"explain", "-config", cfg, "-at", "2026-03-02T09:30:00Z"}, "Alice review", "showing sip:alice@example.com"},
	} {
		out, errs, code := runMain(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.stdout) || !strings.Contains(errs, tc.stderr) {
			t.Errorf("calpresence %v = exit %d\nstdout %s\nstderr %s\nwant exit 0, stdout with %q, stderr with %q", tc.args, code, out, errs, tc.stdout, tc.stderr)
		}
	}
	// One user: no note.
	_, errs, code := runMain(t, "events", "-ics", filepath.Join(dir, "alice.ics"), "-from", "2026-03-02", "-to", "2026-03-03", "-tz", "UTC")
	if code != 0 || strings.Contains(errs, "showing") {
		t.Errorf("events -ics = exit %d, stderr %q; want no note of the user", code, errs)
	}
}
