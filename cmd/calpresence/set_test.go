package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/config"
)

func TestSetArguments(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`timezone = "UTC"
state_dir = %q
[sip]
aor = "sip:alice@example.com"
[[calendar]]
name = "work"
url = "work.ics"
`, filepath.Join(dir, "state"))), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"set", "-config", cfg}, 2, "give one STATE"},
		{[]string{"set", "-config", cfg, "busy", "-for", "1m", "-until", "23:59"}, 2, "not both"},
		{[]string{"set", "-config", cfg, "-for", "-1m", "busy"}, 2, "positive"},
		{[]string{"set", "-config", cfg, "-clear", "busy"}, 2, "-clear takes no STATE"},
		{[]string{"set", "-config", cfg, "busy", "-until", "noon"}, 2, `-until "noon"`},
		{[]string{"set", "-config", filepath.Join(dir, "nope.toml"), "busy"}, 2, "nope.toml"},
		{[]string{"set", "-config", cfg, "busy", "-for", "30m"}, 1, "the agent is not running"},
		{[]string{"set", "-config", cfg, "-clear"}, 1, "the agent is not running"},
		{[]string{"status", "-config", cfg}, 1, "the agent is not running"},
	} {
		_, errs, code := runMain(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v = exit %d, stderr %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestParseUntil(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tg := &controlTarget{cfg: &config.Config{Users: []*config.User{
		{AOR: "sip:alice@example.com", Zone: berlin}, {AOR: "sip:bob@example.com", Zone: time.UTC},
	}}}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // 11:00 in Berlin
	for _, tc := range []struct {
		s, user string
		want    time.Time
		err     string
	}{
		{"15:00", "", time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC), ""},
		{"15:00", "sip:bob@example.com", time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), ""},
		{"10:30", "", time.Time{}, "in the past"},
		{"2026-03-02T12:00:00Z", "", time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), ""},
		{"2026-03-03", "", time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), ""},
		{"25:00", "", time.Time{}, "want HH:MM"},
	} {
		got, err := tg.parseUntil(tc.s, tc.user, now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || exitCode(err) != 2 {
				t.Errorf("parseUntil(%q) = %v, %v; want an input error with %q", tc.s, got, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseUntil(%q, %q) = %v, %v; want %v", tc.s, tc.user, got, err, tc.want)
		}
	}
}
