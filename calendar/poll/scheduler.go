package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/backoff"
	"github.com/calpresence/calpresence/internal/clock"
)

// A Scheduler keeps calendars fresh: each is fetched when added, then on
// its cron schedule in its user's zone, and its events are handed to a
// callback. It serves one calendar as well as tens of thousands: a calendar
// costs a timer and a few hundred bytes, not a goroutine; when a calendar
// falls due its timer queues it for a fixed pool of workers, so a calendar
// that hangs holds one worker until the poll timeout and no other
// calendar waits for it beyond that.
//
// A failed poll is logged and retried with a capped, jittered exponential
// backoff (internal/backoff) that resets on success and never waits past the next scheduled
// poll, unless the server asked for more with Retry-After. The last good
// events stay in force meanwhile. A Source that panics fails that poll and
// nothing else.
//
// Timers follow the monotonic clock, which stands still while the machine
// is suspended; Run compares the wall clock with a timer of ClockCheck and,
// after a jump, polls at once the calendars that fell due (see CatchUp).
type Scheduler struct {
	opts  Options
	log   *slog.Logger
	clock clock.Clock

	mu       sync.Mutex // guards the fields below and every Entry's state
	work     sync.Cond  // signalled when the queue gains a poll or Run stops
	polls    []*Entry   // every calendar added and not removed; Entry.idx is its index
	head     *Entry     // FIFO of polls due, linked through Entry.prev/next
	tail     *Entry
	running  bool // Run is running
	stopping bool // Run is stopping: workers leave, nothing is armed
}

// Options configures a Scheduler; each zero value is a default.
type Options struct {
	// Workers is how many polls run at once; 0 means 64.
	Workers int
	// Timeout bounds one poll; 0 means 2 minutes.
	Timeout time.Duration
	// MinRetry and MaxRetry bound the backoff between retries after a
	// failed poll: it doubles from MinRetry up to MaxRetry, jittered, and
	// never postpones the next scheduled poll. 0 means 30s and 10m.
	MinRetry, MaxRetry time.Duration
	// ClockCheck is how often Run compares the wall clock with the
	// monotonic clock to notice a suspend or a clock step; 0 means 10s, a
	// negative value never.
	ClockCheck time.Duration
	// OnClockJump, if set, is called by Run after it noticed a jump of the
	// wall clock and caught up, so that the caller can redo what it
	// scheduled by the wall clock too.
	OnClockJump func(jump time.Duration)
	// Splay spreads the scheduled polls of the calendars over up to this
	// long after each activation of their schedules (and at most a tenth
	// of a schedule's interval), so that the "*/5 * * * *" polls of
	// thousands of users do not reach one server in the same second. Each
	// calendar keeps its own offset. 0 means none.
	Splay time.Duration
	// Logger receives poll failures, changed warnings and clock jumps of
	// calendars whose Spec has no Logger; nil discards.
	Logger *slog.Logger
	// Clock is the clock: its Now is the wall clock the schedules are read
	// by, its timers wait for polls and clock checks. Nil means the real
	// clock (clock.Real); a clock.Scaled runs a demo faster.
	Clock clock.Clock
}

// Spec is one calendar of a Scheduler.
type Spec struct {
	Source calendar.Source // required
	// Schedule says when to poll, as ParseSchedule returns it; its fields
	// are read in Zone. Nil means DefaultSchedule.
	Schedule cron.Schedule
	// Zone is the zone the schedule's fields are read in, the user's;
	// required, so that "0 8 * * *" never depends on the machine's zone.
	Zone *time.Location
	// OnUpdate receives the source's events after every successful poll
	// (also when they did not change: the source decides what is cheap).
	// The slices are shared and must not be modified. changed reports
	// whether the events differ from those of the calendar's previous
	// successful poll: sources hand back the same *calendar.Event values
	// for what they did not read again (an HTTP 304, an unchanged CalDAV
	// object), and the scheduler compares them by identity, in order. The
	// first successful poll is always changed; a changed warning alone is
	// not.
	//
	// OnUpdate and OnFailure run on a worker and are never called
	// concurrently for one calendar; the next poll of the calendar waits
	// for them, other calendars do not.
	OnUpdate func(name string, events []*calendar.Event, warnings []calendar.Warning, changed bool)
	// OnFailure receives the error of every failed poll; the receiver
	// keeps the last good events. A poll cut short by the end of Run or
	// by Remove is no failure and calls neither.
	OnFailure func(name string, err error)
	// Logger receives the calendar's poll failures and changed warnings,
	// with a "calendar" attribute added; nil means the scheduler's.
	Logger *slog.Logger
}

// Entry is a calendar added to a Scheduler: a handle to force a poll, read
// its state, change or remove it.
type Entry struct {
	s *Scheduler

	// Guarded by s.mu.
	spec       Spec
	timer      clock.Timer // of the current arming
	gen        uint64      // counts armings; a timer of an older one does nothing
	due        time.Time   // by the wall clock, when the next poll is due; zero: none
	notBefore  time.Time   // the server's Retry-After
	idx        int
	prev, next *Entry // in the queue
	queued     bool
	armed      bool // the timer will queue it
	running    bool
	again      bool // PollNow came while running
	removed    bool
	cancel     context.CancelFunc // of the fetch in progress
	idle       chan struct{}      // closed when the poll in progress ends; made on demand
	failures   int
	splay      time.Duration // this calendar's offset from its schedule
	polls      uint64
	errs       uint64
	lastOK     time.Time
	good       bool // a poll has succeeded: events are its
	lastErr    error
	events     []*calendar.Event
	warnings   []calendar.Warning
	warnH      uint64 // hash of the warnings last logged
}

// Status is a calendar's polling state, for status displays and tests.
type Status struct {
	Events   []*calendar.Event  // the last good events; shared, do not modify
	Warnings []calendar.Warning // the last good poll's warnings
	LastOK   time.Time          // when the last successful poll ended; zero if none
	LastErr  error              // the last poll's error; nil after a success
	Failures int                // consecutive failed polls
	// Next is when the calendar is polled next (a time in the past while
	// it waits for a worker); zero when it is not scheduled or removed.
	Next   time.Time
	Polls  uint64 // polls that ended, successful or not
	Errors uint64 // polls that failed
}

// clockJumpTolerance is how far the wall clock may drift from the monotonic
// clock between two checks before it counts as a jump.
const clockJumpTolerance = 2 * time.Second

// New validates opts and returns a scheduler with no calendars.
// It does no I/O and starts nothing: calendars added before Run wait for
// it.
func New(opts Options) (*Scheduler, error) {
	if opts.Workers == 0 {
		opts.Workers = 64
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
	if opts.ClockCheck == 0 {
		opts.ClockCheck = 10 * time.Second
	}
	if opts.Workers < 0 || opts.Timeout < 0 || opts.MinRetry < 0 || opts.MaxRetry < opts.MinRetry {
		return nil, fmt.Errorf("calendar scheduler: %d workers, timeout %v, retry %v..%v: want positive numbers, the minimum retry at most the maximum",
			opts.Workers, opts.Timeout, opts.MinRetry, opts.MaxRetry)
	}
	s := &Scheduler{opts: opts, log: opts.Logger, clock: clock.Or(opts.Clock)}
	s.work.L = &s.mu
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Add adds a calendar and queues its first poll at once. It does no I/O.
func (s *Scheduler) Add(spec Spec) (*Entry, error) {
	if err := s.check(&spec); err != nil {
		return nil, err
	}
	p := &Entry{s: s, spec: spec}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.due = s.clock.Now()
	p.splay = s.splayFor(spec.Schedule, p.due)
	p.idx = len(s.polls)
	s.polls = append(s.polls, p)
	s.enqueue(p)
	return p, nil
}

// check validates spec and fills in its defaults.
func (s *Scheduler) check(spec *Spec) error {
	if spec.Source == nil {
		return errors.New("calendar scheduler: no source")
	}
	if spec.Zone == nil {
		return fmt.Errorf("calendar %s: no time zone for the poll schedule", spec.Source.Name())
	}
	if spec.Schedule == nil {
		spec.Schedule = defaultSched
	}
	if spec.Logger == nil {
		spec.Logger = s.log
	}
	return nil
}

// Remove removes a calendar: it is not polled again, a fetch in progress
// is cancelled, and no callback starts after Remove returns (one already
// running may finish). Removing twice does nothing.
func (s *Scheduler) Remove(p *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.s != s || p.removed {
		return
	}
	p.removed = true
	s.disarm(p)
	p.timer = nil
	if p.queued {
		s.unqueue(p)
	}
	if p.cancel != nil {
		p.cancel()
	}
	last := s.polls[len(s.polls)-1]
	s.polls[p.idx], last.idx = last, p.idx
	s.polls[len(s.polls)-1] = nil
	s.polls = s.polls[:len(s.polls)-1]
	p.due, p.notBefore = time.Time{}, time.Time{}
}

// Run runs the workers and the clock check until ctx ends, then cancels
// the polls in progress, waits for them and returns ctx's error. Calendars
// keep their schedule: another Run takes over where this one stopped, and
// polls that fell due in between run at once. Run may be called once at a
// time.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("calendar scheduler: already running")
	}
	s.running = true
	for _, p := range s.polls {
		s.arm(p)
	}
	s.mu.Unlock()

	var workers sync.WaitGroup
	for range s.opts.Workers {
		workers.Go(func() { s.worker(ctx) })
	}
	// The check's timer follows the clock's monotonic time, which stands
	// still in a suspend: the wall clock read when it fires, less the wall
	// clock read when it was set, exceeds ClockCheck by the jump.
	var check clock.Timer
	var tick <-chan time.Time
	if s.opts.ClockCheck > 0 {
		check = s.clock.NewTimer(s.opts.ClockCheck)
		defer check.Stop()
		tick = check.C()
	}
	wall := s.clock.Now().Round(0)
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.stopping = true
			s.work.Broadcast()
			s.mu.Unlock()
			workers.Wait()
			s.mu.Lock()
			for _, p := range s.polls {
				s.disarm(p)
			}
			s.running, s.stopping = false, false
			s.mu.Unlock()
			return ctx.Err()
		case <-tick:
		}
		w := s.clock.Now().Round(0)
		jump := w.Sub(wall) - s.opts.ClockCheck
		check.Reset(s.opts.ClockCheck)
		wall = s.clock.Now().Round(0)
		if jump > clockJumpTolerance || jump < -clockJumpTolerance {
			s.log.InfoContext(ctx, "wall clock jumped; polling the calendars that fell due", "jump", jump.Round(time.Second))
			s.CatchUp(w)
			if s.opts.OnClockJump != nil {
				s.opts.OnClockJump(jump)
			}
		}
	}
}

// CatchUp makes up for a jump of the wall clock, which now reads now: polls
// due by now are queued at once and the others are re-armed by the wall
// clock, never later than their schedule says from now. Run calls it when
// it notices a jump; call it when you learn of one sooner (a resume
// notification).
func (s *Scheduler) CatchUp(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.polls {
		if !p.armed {
			continue // queued, running, unscheduled, or Run is not running
		}
		if !p.due.After(now) {
			s.enqueue(p)
			continue
		}
		// After a step back, a timer set by the old wall clock would wait
		// for too long.
		if next := p.scheduledAfter(now); !next.IsZero() && next.Before(p.due) {
			p.due = latest(next, p.notBefore)
		}
		s.disarm(p)
		s.arm(p)
	}
}

// worker runs queued polls until Run stops.
func (s *Scheduler) worker(ctx context.Context) {
	s.mu.Lock()
	for {
		for s.head == nil && !s.stopping {
			s.work.Wait()
		}
		// Once ctx ends, a poll would only be cut short; Run is about to
		// set stopping.
		if s.stopping || ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		p := s.head
		s.begin(p)
		s.mu.Unlock()
		s.poll(ctx, p) // its error is logged and handed to OnFailure
		s.mu.Lock()
	}
}

// PollNow queues a poll of the calendar at once, as if it fell due; a poll
// in progress is followed by another. The schedule goes on from that poll.
func (p *Entry) PollNow() {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.s.enqueue(p)
}

// Fetch polls the calendar now in the calling goroutine, after a poll in
// progress ends, and returns the poll's error, as a worker would poll it
// (callbacks, logging, the next scheduled time). It needs no Run.
func (p *Entry) Fetch(ctx context.Context) error {
	s := p.s
	s.mu.Lock()
	for p.running {
		if p.idle == nil {
			p.idle = make(chan struct{})
		}
		idle := p.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	if p.removed {
		s.mu.Unlock()
		return fmt.Errorf("calendar %s: removed from its scheduler", p.spec.Source.Name())
	}
	s.begin(p)
	s.mu.Unlock()
	return s.poll(ctx, p)
}

// Update replaces the calendar's spec, keeping its state (last good
// events, failures, warnings logged): the new source and callbacks serve
// from the next poll, which comes no later than the new schedule says.
func (p *Entry) Update(spec Spec) error {
	s := p.s
	if err := s.check(&spec); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.spec = spec
	p.splay = s.splayFor(spec.Schedule, s.clock.Now())
	if p.removed || p.running || p.queued || p.due.IsZero() {
		return nil
	}
	if next := p.scheduledAfter(s.clock.Now()); !next.IsZero() && next.Before(p.due) {
		p.due = latest(next, p.notBefore)
	}
	if p.armed {
		s.disarm(p)
		s.arm(p)
	}
	return nil
}

// Name is the source's name.
func (p *Entry) Name() string {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.spec.Source.Name()
}

// Status returns the calendar's polling state.
func (p *Entry) Status() Status {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return Status{
		Events: p.events, Warnings: p.warnings, LastOK: p.lastOK, LastErr: p.lastErr,
		Failures: p.failures, Next: p.due, Polls: p.polls, Errors: p.errs,
	}
}

// poll fetches p's source and hands the result on; p is running, s.mu is
// not held. A poll cut short by ctx or by Remove changes nothing.
func (s *Scheduler) poll(ctx context.Context, p *Entry) error {
	s.mu.Lock()
	spec := p.spec
	fctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	p.cancel = cancel
	s.mu.Unlock()

	name := spec.Source.Name()
	events, warnings, err := fetchRecovered(fctx, spec.Source)
	if err != nil && ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		// The source's own words may be a bare "context deadline
		// exceeded": say which bound it was.
		err = fmt.Errorf("calendar %s: no result within %s, the poll timeout (is the server slow or unreachable?): %w", name, s.opts.Timeout, err)
	}
	cancel()
	now := s.clock.Now()

	s.mu.Lock()
	p.cancel = nil
	if p.removed || ctx.Err() != nil {
		// Shutting down or removed: not a failure of the calendar. The
		// poll stays due for the next Run.
		s.end(p)
		s.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("calendar %s: removed from its scheduler", name)
	}
	spec = p.spec // an Update during the fetch applies to its result
	p.polls++
	if err != nil {
		p.errs++
		p.failures++
		p.lastErr = err
		p.due = s.retryAt(p, now)
		p.notBefore = time.Time{}
		// A server that says when to come back (HTTP 429 or 503 with
		// Retry-After) is believed, even past scheduled polls.
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			p.notBefore = now.Add(ra.RetryAfter())
			p.due = latest(p.due, p.notBefore)
		}
		failures, next, good := p.failures, p.due, p.good
		s.mu.Unlock()
		msg := "calendar poll failed; keeping the last good events"
		if !good {
			// Nothing was read from it yet: there are no last good events.
			msg = "calendar poll failed; it has not been read yet"
		}
		spec.Logger.WarnContext(ctx, msg, "calendar", name, "err", err, "failures", failures, "retry_at", next)
		if spec.OnFailure != nil {
			spec.OnFailure(name, err)
		}
		s.mu.Lock()
		s.end(p)
		s.mu.Unlock()
		return err
	}
	changed := !p.good || !slices.Equal(p.events, events)
	p.good = true
	p.failures, p.lastErr, p.lastOK, p.notBefore = 0, nil, now, time.Time{}
	p.events, p.warnings = events, warnings
	p.due = p.scheduledAfter(now)
	next := p.due
	h := hashWarnings(warnings)
	warnChanged := h != p.warnH
	p.warnH = h
	s.mu.Unlock()

	if next.IsZero() {
		// ParseSchedule refuses specs that never fire; this one has run
		// out within robfig's five-year horizon.
		spec.Logger.WarnContext(ctx, "calendar poll schedule has no further run; polling stops until forced", "calendar", name)
	}
	// A calendar with a broken event would log the same warning at every
	// poll; it is logged when it first shows, and again when the
	// calendar's warnings change.
	if warnChanged {
		for _, w := range warnings {
			spec.Logger.WarnContext(ctx, "calendar warning", "calendar", name, "warning", w.String())
		}
	}
	spec.Logger.DebugContext(ctx, "calendar polled", "calendar", name, "events", len(events), "warnings", len(warnings))
	if spec.OnUpdate != nil {
		spec.OnUpdate(name, events, warnings, changed)
	}
	s.mu.Lock()
	s.end(p)
	s.mu.Unlock()
	return nil
}

// fetchRecovered fetches from src; a panic in a source fails its poll, not
// the program.
func fetchRecovered(ctx context.Context, src calendar.Source) (events []*calendar.Event, warnings []calendar.Warning, err error) {
	defer func() {
		if r := recover(); r != nil {
			events, warnings, err = nil, nil, fmt.Errorf("calendar %s: fetch panicked: %v", src.Name(), r)
		}
	}()
	return src.Fetch(ctx)
}

// hashWarnings is FNV-1a over the warnings' texts, each ended by a zero
// byte; written out so that a poll without warnings, the common one,
// allocates nothing for it.
func hashWarnings(warnings []calendar.Warning) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, w := range warnings {
		for _, c := range []byte(w.String()) {
			h = (h ^ uint64(c)) * prime
		}
		h *= prime // ^ 0
	}
	return h
}

// scheduledAfter is when to poll next after a poll at t: the schedule's
// first activation after t, delayed by the calendar's splay; zero if none.
// s.mu is held.
func (p *Entry) scheduledAfter(t time.Time) time.Time {
	next := p.spec.Schedule.Next(t.In(p.spec.Zone))
	if next.IsZero() {
		return next
	}
	return next.Add(p.splay)
}

// splayFor picks a calendar's offset from its schedule: random within
// Splay and a tenth of the schedule's interval around now.
func (s *Scheduler) splayFor(sched cron.Schedule, now time.Time) time.Duration {
	if s.opts.Splay <= 0 {
		return 0
	}
	first := sched.Next(now)
	if first.IsZero() {
		return 0
	}
	limit := min(s.opts.Splay, sched.Next(first).Sub(first)/10)
	if limit <= 0 {
		return 0
	}
	return rand.N(limit)
}

// retryAt is when to try p again after a failure at now, its
// p.failures-th in a row: a jittered exponential backoff, but no later
// than the next scheduled poll. s.mu is held.
func (s *Scheduler) retryAt(p *Entry, now time.Time) time.Time {
	// "Equal jitter": at least half the delay, so retries stay spaced, and
	// spread over the other half so that calendars failing together (a
	// server restart) do not retry together.
	d := backoff.Policy{Min: s.opts.MinRetry, Max: s.opts.MaxRetry}.Delay(p.failures)
	retry := now.Add(d)
	if scheduled := p.scheduledAfter(now); !scheduled.IsZero() && scheduled.Before(retry) {
		return scheduled
	}
	return retry
}

// The state changes below need s.mu held.

// begin marks p running, out of the queue and the timer's reach.
func (s *Scheduler) begin(p *Entry) {
	if p.queued {
		s.unqueue(p)
	}
	s.disarm(p)
	p.running = true
}

// end marks p's poll over and schedules the next.
func (s *Scheduler) end(p *Entry) {
	p.running = false
	if p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
	if p.again {
		p.again = false
		s.enqueue(p)
		return
	}
	s.arm(p)
}

// enqueue queues p for a worker, unless it is queued or removed; a poll
// in progress is followed by another.
func (s *Scheduler) enqueue(p *Entry) {
	switch {
	case p.removed || p.queued:
		return
	case p.running:
		p.again = true
		return
	}
	s.disarm(p)
	p.queued = true
	p.prev, p.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = p
	} else {
		s.head = p
	}
	s.tail = p
	s.work.Signal()
}

func (s *Scheduler) unqueue(p *Entry) {
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		s.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		s.tail = p.prev
	}
	p.prev, p.next, p.queued = nil, nil, false
}

// arm sets p's timer for its due time, or queues p if that has passed.
// Without Run nothing is armed: Run arms every calendar when it starts.
func (s *Scheduler) arm(p *Entry) {
	if p.removed || p.running || p.queued || p.due.IsZero() || !s.running || s.stopping {
		return
	}
	d := p.due.Sub(s.clock.Now())
	if d <= 0 {
		s.enqueue(p)
		return
	}
	p.armed = true
	p.gen++
	gen := p.gen
	// A timer per arming, so that one that fired just before a re-arming
	// (and waits for s.mu) knows it is stale.
	p.timer = s.clock.AfterFunc(d, func() { s.fire(p, gen) })
}

func (s *Scheduler) disarm(p *Entry) {
	if p.armed {
		p.timer.Stop()
		p.armed = false
	}
}

// fire is p's timer: it queues p unless the timer was stopped or re-armed
// after it had already fired.
func (s *Scheduler) fire(p *Entry, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.armed && p.gen == gen {
		p.armed = false
		s.enqueue(p)
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
