package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/config"
)

// The calendar sources' log lines name the user and the calendar, once
// each (not `calendar=work calendar=work`).
func TestSourceLogAttributes(t *testing.T) {
	dir := t.TempDir()
	ics := filepath.Join(dir, "work.ics")
	os.WriteFile(ics, []byte(meetingICS(time.Now(), time.Now().Add(time.Hour))), 0o600)
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(`timezone = "UTC"
[sip]
aor = "sip:alice@example.com"
[[calendar]]
name = "work"
url = "`+ics+`"
`), 0o600)
	cfg, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	specs, err := buildUsers(cfg, agentDeps{sources: config.SourceDeps{Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	src := specs[0].Calendars[0].Source
	for range 2 { // fetched, then unchanged
		if _, _, err := src.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 1 || buf.Len() == 0 {
		t.Fatalf("the source logged nothing")
	}
	for _, line := range lines {
		if strings.Count(line, " calendar=work") != 1 || strings.Count(line, " user=sip:alice@example.com") != 1 {
			t.Errorf("want user and calendar once each: %s", line)
		}
	}
}
