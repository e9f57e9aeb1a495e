package poll

import (
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	from := time.Date(2026, 3, 2, 8, 2, 0, 0, berlin)
	tests := []struct {
		spec     string
		wantNext time.Time // from `from`, in Berlin
		wantErr  string
	}{
		{spec: "*/5 * * * *", wantNext: time.Date(2026, 3, 2, 8, 5, 0, 0, berlin)},
		{spec: "  0 9 * * mon-fri ", wantNext: time.Date(2026, 3, 2, 9, 0, 0, 0, berlin)},
		{spec: "@every 5m", wantNext: from.Add(5 * time.Minute)},
		{spec: "@every 1h30m", wantNext: from.Add(90 * time.Minute)},
		{spec: "@hourly", wantNext: time.Date(2026, 3, 2, 9, 0, 0, 0, berlin)},
		{spec: "@daily", wantNext: time.Date(2026, 3, 3, 0, 0, 0, 0, berlin)},
		{spec: "0 0 29 2 *", wantNext: time.Date(2028, 2, 29, 0, 0, 0, 0, berlin)},
		{spec: "", wantErr: "poll schedule: empty"},
		{spec: "   ", wantErr: "poll schedule: empty"},
		{spec: "TZ=0", wantErr: "time zone prefixes are not supported"},
		{spec: "CRON_TZ=Europe/Berlin", wantErr: "time zone prefixes are not supported"},
		{spec: "CRON_TZ=UTC */5 * * * *", wantErr: "time zone prefixes are not supported"},
		{spec: "tz=UTC 0 * * * *", wantErr: "time zone prefixes are not supported"},
		{spec: "@every", wantErr: `want "@every" and a duration`},
		{spec: "@every5m", wantErr: `want "@every" and a duration`},
		{spec: "@every 5", wantErr: `want "@every" and a duration`},
		{spec: "@every 0s", wantErr: "at least 1s"},
		{spec: "@every -5m", wantErr: "at least 1s"},
		{spec: "@every 500ms", wantErr: "at least 1s"},
		{spec: "@weekdays", wantErr: "unrecognized descriptor"},
		{spec: "* * * *", wantErr: "expected exactly 5 fields"},
		{spec: "0 * * * * *", wantErr: "expected exactly 5 fields"},
		{spec: "61 * * * *", wantErr: "above maximum"},
		{spec: "*/0 * * * *", wantErr: "step of range should be a positive number"},
		{spec: "0 0 30 2 *", wantErr: "never fires"},
		{spec: "0 0 31 4,6,9,11 *", wantErr: "never fires"},
	}
	for _, tt := range tests {
		sched, err := ParseSchedule(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSchedule(%q) = %v, want error containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q) = %v, want ok", tt.spec, err)
			continue
		}
		if got := sched.Next(from); !got.Equal(tt.wantNext) {
			t.Errorf("ParseSchedule(%q).Next(%v) = %v, want %v", tt.spec, from, got, tt.wantNext)
		}
	}
}

// TestParseScheduleZones checks that a schedule follows the zone of the
// time it is given, across a DST change, which is how a Scheduler applies the
// user's zone.
func TestParseScheduleZones(t *testing.T) {
	sched, err := ParseSchedule("0 8 * * *")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		zone string
		from time.Time
		want time.Time
	}{
		{"Europe/Berlin", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC)}, // CEST from the 29th
		{"Europe/Berlin", time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 7, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)},
		{"Asia/Kolkata", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 2, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := sched.Next(tt.from.In(mustZone(t, tt.zone)))
		if !got.Equal(tt.want) {
			t.Errorf("Next(%v in %s) = %v, want %v", tt.from, tt.zone, got.UTC(), tt.want)
		}
	}

	// Midnight does not exist on some DST days in some zones; the schedule
	// must still move on.
	daily, _ := ParseSchedule("@daily")
	sp := mustZone(t, "America/Sao_Paulo")
	from := time.Date(2018, 11, 3, 12, 0, 0, 0, sp)
	if got := daily.Next(from); got.IsZero() || !got.After(from) || got.Sub(from) > 36*time.Hour {
		t.Errorf("@daily Next(%v) = %v, want the next day", from, got)
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 5m", "TZ=0", "CRON_TZ=", "0 0 30 2 *", "@every 1h", "1-5/2 0 * jan mon"} {
		f.Add(s)
	}
	from := time.Date(2026, 3, 2, 8, 2, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		sched, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		if next := sched.Next(from); !next.After(from) {
			t.Errorf("ParseSchedule(%q).Next(%v) = %v, want a later time", spec, from, next)
		}
	})
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
