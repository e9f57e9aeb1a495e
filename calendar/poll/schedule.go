package poll

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultSchedule is how often a calendar is read when the config does
// not say.
const DefaultSchedule = "@every 5m"

// defaultSched is DefaultSchedule, parsed.
var defaultSched = func() cron.Schedule {
	s, err := ParseSchedule(DefaultSchedule)
	if err != nil {
		panic(err)
	}
	return s
}()

// scheduleParser reads the five-field crontab format plus descriptors
// ("@hourly", "@every 5m"), as the config documents.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a poll schedule: a five-field cron spec
// ("*/5 * * * *") or a descriptor ("@hourly", "@every 5m"). The fields are
// read in whatever zone the times given to the schedule's Next are in, so a
// Scheduler evaluates them in the calendar's zone (Spec.Zone); for that
// reason TZ= and CRON_TZ= prefixes are refused rather than silently
// overriding it.
//
// Unlike robfig/cron's parser, which panics on inputs such as "TZ=0",
// ParseSchedule never panics. A spec that never fires ("0 0 30 2 *") is an
// error too.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("poll schedule %q: not a valid cron spec", spec)
		}
	}()
	s := strings.TrimSpace(spec)
	upper := strings.ToUpper(s)
	switch {
	case s == "":
		return nil, errors.New("poll schedule: empty (want a cron spec such as \"*/5 * * * *\" or \"@every 5m\")")
	case strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ="):
		return nil, fmt.Errorf("poll schedule %q: time zone prefixes are not supported; schedules follow the configured timezone", spec)
	}
	if every, ok := strings.CutPrefix(s, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		if err != nil || every == "" || every[0] != ' ' && every[0] != '\t' {
			return nil, fmt.Errorf("poll schedule %q: want \"@every\" and a duration such as 5m or 1h30m", spec)
		}
		if d < time.Second {
			return nil, fmt.Errorf("poll schedule %q: the interval must be at least 1s", spec)
		}
		return cron.Every(d), nil
	}
	sched, err = scheduleParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("poll schedule %q: %w", spec, err)
	}
	// robfig's Next searches five years ahead; a spec with no match in that
	// span (the 30th of February) would leave its calendar unpolled for good.
	ref := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	if sched.Next(ref).IsZero() {
		return nil, fmt.Errorf("poll schedule %q: never fires", spec)
	}
	return sched, nil
}
