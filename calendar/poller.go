package calendar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// Poller evaluates them in the user's zone; for that reason TZ= and
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
	// It is never called concurrently with itself for one poller, and never
	// after a failed poll: the receiver keeps the last good events. The
	// slices are shared and must not be modified.
	OnUpdate func(name string, events []*Event, warnings []Warning)
	// Timeout bounds one poll; 0 means 2 minutes.
	Timeout time.Duration
	// MinRetry and MaxRetry bound the backoff between retries after a
	// failed poll: it doubles from MinRetry up to MaxRetry, jittered, and
	// never postpones the next scheduled poll. 0 means 30s and 10m.
	MinRetry, MaxRetry time.Duration
	// Logger receives poll failures and changed warnings; nil discards.
	Logger *slog.Logger
	// Now is the clock for the schedule; nil means time.Now.
	Now func() time.Time
}

// Poller keeps one calendar fresh: it fetches the source at start, then on
// its cron schedule in the user's zone, and hands the events to OnUpdate.
// A failed poll is logged and retried with backoff; the last good events
// stay in force meanwhile.
type Poller struct {
	opts     PollerOptions
	sched    cron.Schedule
	logger   *slog.Logger
	now      func() time.Time
	sem      chan struct{} // held by a poll in progress
	kick     chan struct{} // a forced poll happened: Run re-reads next
	running  atomic.Bool
	mu       sync.Mutex // guards the fields below
	next     time.Time  // when Run polls next; zero: not scheduled
	failures int        // consecutive failed polls
	lastOK   time.Time
	lastErr  error
	events   []*Event
	warnings []Warning
	reported []string // warnings last logged
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
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MinRetry == 0 {
		opts.MinRetry = 30 * time.Second
	}
	if opts.MaxRetry == 0 {
		opts.MaxRetry = 10 * time.Minute
	}
	if opts.Timeout < 0 || opts.MinRetry < 0 || opts.MaxRetry < opts.MinRetry {
		return nil, fmt.Errorf("poller %s: timeout %v, retry %v..%v: want positive durations, the minimum retry at most the maximum",
			name, opts.Timeout, opts.MinRetry, opts.MaxRetry)
	}
	p := &Poller{
		opts:   opts,
		sched:  sched,
		logger: opts.Logger,
		now:    opts.Now,
		sem:    make(chan struct{}, 1),
		kick:   make(chan struct{}, 1),
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	p.logger = p.logger.With("calendar", name)
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// Name is the source's name.
func (p *Poller) Name() string { return p.opts.Source.Name() }

// Run polls at once, then on schedule, until ctx ends; it returns ctx's
// error. Failures do not end it. Run may be called once at a time.
func (p *Poller) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return fmt.Errorf("poller %s: already running", p.Name())
	}
	defer p.running.Store(false)

	p.Poll(ctx) // logged; Run keeps going either way
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		p.mu.Lock()
		next := p.next
		p.mu.Unlock()
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(next.Sub(p.now()), 0))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-fire:
			p.Poll(ctx)
		case <-p.kick:
			// A forced poll moved the schedule: wait for the new time.
			timer.Stop()
		}
	}
}

// Poll fetches the source now and, on success, hands the events to
// OnUpdate. It waits for a poll in progress (Run's or another Poll's) to
// finish first. Run, if running, reschedules from this poll.
func (p *Poller) Poll(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()

	fctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	events, warnings, err := p.opts.Source.Fetch(fctx)
	cancel()
	if ctx.Err() != nil {
		// Shutting down is not a failure of the calendar.
		return ctx.Err()
	}
	now := p.now()

	p.mu.Lock()
	if err != nil {
		p.failures++
		p.lastErr = err
		p.next = p.retryAt(now, p.failures)
		// A server that says when to come back (HTTP 429 or 503 with
		// Retry-After) is believed, even past scheduled polls.
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			p.next = latest(p.next, now.Add(ra.RetryAfter()))
		}
		failures, next := p.failures, p.next
		p.mu.Unlock()
		p.logger.WarnContext(ctx, "calendar poll failed; keeping the last good events",
			"error", err, "failures", failures, "retry_at", next)
		p.signal()
		return err
	}
	p.failures, p.lastErr, p.lastOK = 0, nil, now
	p.events, p.warnings = events, warnings
	p.next = p.sched.Next(now.In(p.opts.Zone))
	next := p.next
	changed := p.warningsChanged(warnings)
	p.mu.Unlock()

	if next.IsZero() {
		// ParseSchedule refuses specs that never fire; this one has run
		// out within robfig's five-year horizon.
		p.logger.WarnContext(ctx, "calendar poll schedule has no further run; polling stops until forced", "schedule", p.opts.Schedule)
	}

	if changed {
		for _, w := range warnings {
			p.logger.WarnContext(ctx, "calendar warning", "warning", w.String())
		}
	}
	p.logger.DebugContext(ctx, "calendar polled", "events", len(events), "warnings", len(warnings))
	if p.opts.OnUpdate != nil {
		p.opts.OnUpdate(p.Name(), events, warnings)
	}
	p.signal()
	return nil
}

// signal tells Run, without blocking, that next changed.
func (p *Poller) signal() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// retryAt is when to try again after the n-th consecutive failure at now:
// a jittered exponential backoff, but no later than the next scheduled poll.
func (p *Poller) retryAt(now time.Time, n int) time.Time {
	d := p.opts.MinRetry
	for i := 1; i < n && d < p.opts.MaxRetry; i++ {
		d *= 2
	}
	d = min(d, p.opts.MaxRetry)
	// "Equal jitter": at least half the delay, so retries stay spaced, and
	// spread over the other half so that pollers failing together (a
	// server restart) do not retry together.
	if half := d / 2; half > 0 {
		d = half + rand.N(half+1)
	}
	retry := now.Add(d)
	if scheduled := p.sched.Next(now.In(p.opts.Zone)); !scheduled.IsZero() && scheduled.Before(retry) {
		return scheduled
	}
	return retry
}

// warningsChanged records warnings and reports whether they differ from
// those last logged, so that a calendar with a broken event does not log
// the same warning every five minutes. p.mu must be held.
func (p *Poller) warningsChanged(warnings []Warning) bool {
	texts := make([]string, len(warnings))
	for i, w := range warnings {
		texts[i] = w.String()
	}
	if slices.Equal(texts, p.reported) {
		return false
	}
	p.reported = texts
	return true
}

// PollStatus is a poller's state, for status displays and tests.
type PollStatus struct {
	Events   []*Event  // the last good events; shared, do not modify
	Warnings []Warning // the last good poll's warnings
	LastOK   time.Time // when the last successful poll ended; zero if none
	LastErr  error     // the last poll's error; nil after a success
	Failures int       // consecutive failed polls
	Next     time.Time // when Run polls next; zero when not scheduled
}

// Status returns the poller's state.
func (p *Poller) Status() PollStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PollStatus{
		Events: p.events, Warnings: p.warnings, LastOK: p.lastOK,
		LastErr: p.lastErr, Failures: p.failures, Next: p.next,
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
