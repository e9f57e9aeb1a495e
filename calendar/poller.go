package calendar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultPollSchedule is how often a calendar is read when the config does
// not say.
const DefaultPollSchedule = "@every 5m"

// scheduleParser reads the five-field crontab format plus descriptors
// ("@hourly", "@every 5m"), as the config documents.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a poll schedule: a five-field cron spec
// ("*/5 * * * *") or a descriptor ("@hourly", "@every 5m"). The fields are
// read in whatever zone the times given to the schedule's Next are in, so a
// Scheduler evaluates them in the calendar's zone (PollSpec.Zone); for that reason TZ= and
// CRON_TZ= prefixes are refused rather than silently overriding it.
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
	// span (the 30th of February) would leave a poller waiting forever.
	ref := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	if sched.Next(ref).IsZero() {
		return nil, fmt.Errorf("poll schedule %q: never fires", spec)
	}
	return sched, nil
}

// PollerOptions configures a [Poller].
type PollerOptions struct {
	Source Source // required
	// Schedule is a cron spec or descriptor per ParseSchedule; "" means
	// DefaultPollSchedule.
	Schedule string
	// Zone is the zone the schedule's fields are read in, the user's;
	// required, so that "0 8 * * *" never depends on the machine's zone.
	Zone *time.Location
	// OnUpdate receives the source's events after every successful poll
	// (also when they did not change: the source decides what is cheap).
	// It is never called concurrently with itself, and never after a
	// failed poll: the receiver keeps the last good events. The slices are
	// shared and must not be modified.
	OnUpdate func(name string, events []*Event, warnings []Warning)
	// Timeout bounds one poll; 0 means 2 minutes.
	Timeout time.Duration
	// MinRetry and MaxRetry bound the backoff between retries after a
	// failed poll: it doubles from MinRetry up to MaxRetry, jittered, and
	// never postpones the next scheduled poll. 0 means 30s and 10m.
	MinRetry, MaxRetry time.Duration
	// Logger receives poll failures and changed warnings; nil discards.
	Logger *slog.Logger
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// Poller keeps one calendar fresh: it fetches the source at start, then on
// its cron schedule in the user's zone, and hands the events to OnUpdate.
// A failed poll is logged and retried with backoff; the last good events
// stay in force meanwhile. It is a Scheduler with one calendar and one
// worker; many calendars want one Scheduler instead.
type Poller struct {
	s    *Scheduler
	poll *Poll
}

// NewPoller validates opts and returns a poller. It does no I/O.
func NewPoller(opts PollerOptions) (*Poller, error) {
	if opts.Source == nil {
		return nil, errors.New("poller: no source")
	}
	name := opts.Source.Name()
	if opts.Zone == nil {
		return nil, fmt.Errorf("poller %s: no time zone for the schedule", name)
	}
	if opts.Schedule == "" {
		opts.Schedule = DefaultPollSchedule
	}
	sched, err := ParseSchedule(opts.Schedule)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: %w", name, err)
	}
	s, err := NewScheduler(SchedulerOptions{
		Workers: 1, Timeout: opts.Timeout, MinRetry: opts.MinRetry, MaxRetry: opts.MaxRetry,
		Logger: opts.Logger, Now: opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("poller %s: %w", name, err)
	}
	p, err := s.Add(PollSpec{Source: opts.Source, Schedule: sched, Zone: opts.Zone, OnUpdate: opts.OnUpdate})
	if err != nil {
		return nil, fmt.Errorf("poller %s: %w", name, err)
	}
	return &Poller{s: s, poll: p}, nil
}

// Name is the source's name.
func (p *Poller) Name() string { return p.poll.Name() }

// Run polls at once (unless Poll just did), then on schedule, until ctx
// ends; it returns ctx's error. Failures do not end it. Run may be called
// once at a time.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.s.Run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("poller %s: %w", p.Name(), err)
	}
	return ctx.Err()
}

// Poll fetches the source now and, on success, hands the events to
// OnUpdate. It waits for a poll in progress to finish first. Run, if
// running, reschedules from this poll.
func (p *Poller) Poll(ctx context.Context) error { return p.poll.Fetch(ctx) }

// Status returns the poller's state.
func (p *Poller) Status() PollStatus { return p.poll.Status() }
