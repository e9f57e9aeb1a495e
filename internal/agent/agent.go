// Package agent runs calpresence's users: one pipeline per user, from the
// user's calendars through the rules to the user's publisher, with a state
// store that keeps each calendar's last good data across restarts.
package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/emiago/sipgo/sip"
)

// The agent runs one pipeline per user: each calendar is polled on its
// schedule by one poll.Scheduler shared by all users, each poll rebuilds
// the user's presence timeline, and the user's publisher publishes the
// timeline's documents at their boundaries. The scheduler keeps a calendar
// to a timer and a fixed pool of workers, no goroutine, so that 10,000 users
// cost 10,000 publisher goroutines and a few dozen more, and a slow calendar
// occupies one worker, not the others. Every rebuild, whatever causes it
// (a poll, midnight, data turning stale, a reload, a clock jump), is queued
// for one goroutine of the agent.

// User is one user as the config describes it, compiled: the agent
// takes it as it is, so that a reload either builds every User or
// changes nothing.
type User struct {
	ID        string // the AOR; the user's identity in logs, metrics and state files
	Zone      *time.Location
	Rules     *rules.Rules
	Calendars []Calendar
	Publisher publisher.Options // Logger is set by the agent
	// Doer sends the user's requests; nil: the agent's.
	Doer publisher.Doer
	// Watch, if set, watches what the server tells watchers about the
	// user while the publisher runs, and repairs it (watch.go).
	Watch Watcher
	// PublisherKey identifies the publisher options that cannot be
	// compared (the password source): a reload restarts the user's
	// publisher only when the key changes.
	PublisherKey string
	// NoBLF turns off the user's dialog publication for BLF lamps
	// (config [sip] blf = false): the rules' blf is then ignored.
	NoBLF bool
}

// Calendar is one calendar of a user.
type Calendar struct {
	Name   string
	Source calendar.Source
	Poll   cron.Schedule // read in the user's zone by the scheduler
	// Key identifies the calendar's data (type, URL, selection, account):
	// a reload keeps the data of a calendar whose key did not change.
	Key string
}

// Options tune the agent; each zero value is a default.
type Options struct {
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// Doer sends the requests of users whose User.Doer is nil.
	Doer publisher.Doer
	// StateDir is where each calendar's last good data is kept (see
	// DefaultStateDir); "" keeps nothing.
	StateDir string
	// Clock is the agent's time, passed on to the scheduler and to every
	// publisher (unless a User's publisher options set their own); nil is
	// the real clock. The demo runs the agent on a scaled clock.
	Clock clock.Clock
	// StaleAfter is how old a calendar's last good data may get before it
	// no longer counts and the user falls back to the default presence.
	StaleAfter time.Duration // default 24h
	// HorizonDays is how many days from the start of today the timeline
	// handed to the publisher covers; it is rebuilt every midnight.
	HorizonDays int // default 3
	// SaveDays is how many days from the start of today the saved state of
	// a calendar covers.
	SaveDays int // default 14
	// FetchTimeout bounds one poll of one calendar.
	FetchTimeout time.Duration // default 30s
	// MinRetry and MaxRetry bound the backoff after a failed poll; it
	// never postpones the calendar's next scheduled poll.
	MinRetry, MaxRetry time.Duration // default 1s and 5m
	// Workers is the number of polls that run at once.
	Workers int // default 64
	// Splay spreads the scheduled polls of the calendars after each
	// activation of their schedules, so that many users' "*/5" polls do
	// not reach a server in the same second (see poll.Options).
	Splay time.Duration // default 30s; negative: none
	// JumpCheck is how often the wall clock is compared with the
	// monotonic clock to notice suspends and clock steps.
	JumpCheck time.Duration // default 10s
	// PublisherClockCheck is the publishers' ClockCheck when a user's
	// options leave it unset: every publisher wakes this often to notice
	// suspends, so many users want it longer (0: the publisher's default).
	PublisherClockCheck time.Duration
	// OnTimeline, if set, is called with each timeline the agent hands to a
	// user's publisher, before the publisher has it: the segments of the
	// whole window (from the day before today) and the entries the
	// publisher gets (those not yet over). It runs under the user's lock
	// and must not call the agent. The demo prints the day from it.
	OnTimeline func(user string, segs []rules.Segment, entries []publisher.Entry)
	// OnDialogTimeline, if set, is called like OnTimeline with each
	// timeline handed to a user's dialog publisher (BLF lamps, see blf.go).
	OnDialogTimeline func(user string, entries []publisher.Entry)
	// DialogLinger is how long the terminated dialog stays published after
	// a BLF span (default dialoginfo.DefaultLinger); the demo lengthens it
	// at high speeds, where 10 s of simulated time pass in no time.
	DialogLinger time.Duration
}

func (o Options) withDefaults() Options {
	o.Clock = clock.Or(o.Clock)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 24 * time.Hour
	}
	if o.HorizonDays <= 0 {
		o.HorizonDays = 3
	}
	if o.SaveDays <= 0 {
		o.SaveDays = 14
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 30 * time.Second
	}
	if o.MinRetry <= 0 {
		o.MinRetry = time.Second
	}
	if o.MaxRetry < o.MinRetry {
		o.MaxRetry = max(5*time.Minute, o.MinRetry)
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Splay == 0 {
		o.Splay = 30 * time.Second
	}
	if o.JumpCheck <= 0 {
		o.JumpCheck = 10 * time.Second
	}
	return o
}

// Agent runs the pipelines of all users.
type Agent struct {
	log   *slog.Logger
	doer  publisher.Doer
	store *stateStore
	opts  Options

	// newPublisher makes a user's publisher; tests replace it.
	newPublisher func(d publisher.Doer, opts publisher.Options) timelineRunner

	started  chan struct{} // closed when Run has set ctx and sched
	ctx      context.Context
	sched    *poll.Scheduler // polls every calendar of every user
	mu       sync.Mutex      // guards users, order, stopped
	users    map[string]*pipeline
	order    []string // user ids, sorted, for metrics
	stopped  bool
	pending  rebuildQueue
	pubs     sync.WaitGroup // publisher goroutines
	rebuilds atomic.Uint64
}

// timelineRunner is what the agent needs of a publisher.
type timelineRunner interface {
	SetTimeline([]publisher.Entry)
	Run(context.Context) error
}

// New makes an agent; Run starts it.
func New(opts Options) *Agent {
	opts = opts.withDefaults()
	return &Agent{
		log: opts.Logger, doer: opts.Doer, store: &stateStore{dir: opts.StateDir}, opts: opts,
		newPublisher: func(d publisher.Doer, o publisher.Options) timelineRunner { return publisher.New(d, o) },
		started:      make(chan struct{}),
		users:        map[string]*pipeline{},
		pending:      rebuildQueue{wake: make(chan struct{}, 1)},
	}
}

// Run runs the pipelines of specs until ctx is done, then removes every
// publication and returns once the publishers have finished. Apply changes
// the users while it runs. It fails, at once, only on options that
// withDefaults cannot make valid.
func (a *Agent) Run(ctx context.Context, specs []User) error {
	sched, err := poll.New(poll.Options{
		Workers: a.opts.Workers, Timeout: a.opts.FetchTimeout,
		MinRetry: a.opts.MinRetry, MaxRetry: a.opts.MaxRetry,
		ClockCheck: a.opts.JumpCheck, OnClockJump: a.clockJumped, Logger: a.log,
		Splay: a.opts.Splay, Clock: a.opts.Clock,
	})
	a.ctx, a.sched = ctx, sched
	if err != nil {
		a.mu.Lock()
		a.stopped = true // Apply does nothing
		a.mu.Unlock()
		close(a.started)
		return fmt.Errorf("agent: %w", err)
	}
	close(a.started)
	var bg sync.WaitGroup
	bg.Go(func() { sched.Run(ctx) })
	bg.Go(func() { a.pending.run(ctx) })
	a.Apply(specs)

	<-ctx.Done()
	a.mu.Lock()
	a.stopped = true
	for _, p := range a.users {
		p.stop()
	}
	a.mu.Unlock()
	bg.Wait()
	a.pubs.Wait()
	return nil
}

// Apply makes specs the agent's users: users that are gone stop (and
// remove their publication), new ones start, and the others take their new
// rules, calendars and zone, keeping the data of calendars that did not
// change. It cannot fail: everything that can is done when building specs.
func (a *Agent) Apply(specs []User) {
	<-a.started
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	keep := make(map[string]bool, len(specs))
	for i := range specs {
		keep[specs[i].ID] = true
	}
	for id, p := range a.users {
		if !keep[id] {
			p.stop()
			delete(a.users, id)
			a.log.Info("user removed", "user", id)
		}
	}
	for i := range specs {
		s := &specs[i]
		if p := a.users[s.ID]; p != nil {
			p.update(s)
			continue
		}
		p := &pipeline{a: a, id: s.ID, idBase: pidf.IDBase(s.ID)}
		a.users[s.ID] = p
		p.start(s)
	}
	a.order = a.order[:0]
	for id := range a.users {
		a.order = append(a.order, id)
	}
	slices.Sort(a.order)
}

// pipeline is one user.
type pipeline struct {
	a      *Agent
	id     string
	idBase string
	log    *slog.Logger // the agent's, with the user
	queued atomic.Bool  // in a.pending

	mu        sync.Mutex // guards the fields below
	doer      *countingDoer
	spec      *User
	cals      []*calState
	pub       timelineRunner
	pubCancel context.CancelFunc
	rebuild   clock.Timer
	stopped   bool
	ready     bool      // a timeline was handed to the publisher
	segs      []Segment // what Stats and Timeline show of the timeline
	timelineH uint64    // hash of the last timeline handed over
	// live are the segments of the timeline last handed to the publisher
	// (a part of segs, or of an earlier segs) and bodies their documents
	// (nil for none), index for index: what presenceChanged logs. The
	// bodies are those the publisher holds.
	live     []Segment
	bodies   [][]byte
	blf      blfState  // the dialog publication (blf.go)
	override *Override // the user's own status (override.go); nil: none
	repairs  atomic.Uint64
}

// calState is one calendar of a user and its last good data.
type calState struct {
	spec Calendar
	poll *poll.Entry // in a.sched; nil if it could not be added

	// Guarded by the pipeline's mu.
	gone      bool              // removed: late results are dropped
	attempted bool              // polled at least once, or loaded from disk
	events    []*calendar.Event // last good fetch
	saved     []calendar.Occurrence
	goodAt    time.Time // when the data in events or saved was fetched
	stale     bool
	savedAt   time.Time
	savedH    uint64
	noted     bool // noteUnread has spoken
}

func (p *pipeline) start(s *User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spec = s
	p.log = p.a.log.With("user", p.id)
	p.override = p.a.loadOverride(p.id)
	p.startPublisher()
	p.rebuild = p.a.opts.Clock.AfterFunc(time.Hour, func() { p.a.pending.push(p) })
	p.rebuild.Stop()
	// Each calendar is polled at once; the results wait for p.mu.
	for _, cs := range s.Calendars {
		p.cals = append(p.cals, p.newCal(cs))
	}
}

// startPublisher starts the user's publisher; p.mu is held.
func (p *pipeline) startPublisher() {
	d := p.spec.Doer
	if d == nil {
		d = p.a.doer
	}
	cd := &countingDoer{d: d}
	if p.doer != nil { // a restart: the counts go on
		for i := range cd.results {
			cd.results[i].Store(p.doer.results[i].Load())
		}
	}
	p.doer = cd
	opts := p.spec.Publisher
	opts.Logger = p.a.log
	opts.OnChange = p.presenceChanged
	opts.Farewell = presenceFarewell // see silent.go and farewell.go
	if opts.Clock == nil {
		opts.Clock = p.a.opts.Clock
	}
	if opts.ClockCheck == 0 {
		opts.ClockCheck = p.a.opts.PublisherClockCheck
	}
	ctx, cancel := context.WithCancel(p.a.ctx)
	pub := p.a.newPublisher(cd, opts)
	p.pub, p.pubCancel = pub, cancel
	p.ready = false
	p.timelineH = 0
	p.a.pubs.Go(func() {
		if err := pub.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			p.a.log.Error("publisher stopped", "user", p.id, "err", err)
		}
	})
	p.startWatch(ctx, "presence", pub)
}

// newCal sets up a calendar, with its saved data if there is any; p.mu is
// held.
func (p *pipeline) newCal(cs Calendar) *calState {
	c := &calState{spec: cs}
	sc, ok, err := p.a.store.Load(p.id, cs.Name)
	var saved []calendar.Occurrence
	if ok {
		saved, err = sc.occurrences()
		ok = err == nil
	}
	if err != nil {
		p.a.log.Warn("saved calendar data unreadable", "user", p.id, "calendar", cs.Name, "err", err)
	}
	if ok {
		c.saved = saved
		c.goodAt = sc.Fetched
		c.attempted = true
	}
	c.poll, err = p.a.sched.Add(p.pollSpec(c))
	if err != nil {
		// buildUsers checked what Add checks; the user goes on without
		// this calendar rather than waiting for it.
		p.a.log.Error("calendar not polled", "user", p.id, "calendar", cs.Name, "err", err)
		c.attempted = true
	}
	return c
}

// pollSpec is how the scheduler polls c; p.mu is held.
func (p *pipeline) pollSpec(c *calState) poll.Spec {
	return poll.Spec{
		Source: c.spec.Source, Schedule: c.spec.Poll, Zone: p.spec.Zone, Logger: p.log,
		OnUpdate: func(_ string, events []*calendar.Event, _ []calendar.Warning, changed bool) {
			p.updated(c, events, changed)
		},
		OnFailure: func(string, error) { p.failed(c) },
	}
}

// update takes a new spec of the same user.
func (p *pipeline) update(s *User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.spec
	p.spec = s
	if s.PublisherKey != old.PublisherKey {
		p.a.log.Info("publisher settings changed; republishing", "user", p.id)
		p.pubCancel()
		p.startPublisher()
		p.stopBLF() // the rebuild below starts it again if needed
	}
	byKey := map[string]*calState{}
	for _, c := range p.cals {
		byKey[c.spec.Key] = c
	}
	var cals []*calState
	for _, cs := range s.Calendars {
		if c := byKey[cs.Key]; c != nil && c.spec.Name == cs.Name {
			delete(byKey, cs.Key)
			// The data stays; the new source (a new CA file) and schedule
			// serve from the next poll.
			c.spec = cs
			if c.poll != nil {
				if err := c.poll.Update(p.pollSpec(c)); err != nil {
					p.a.log.Error("calendar settings not applied", "user", p.id, "calendar", cs.Name, "err", err)
				}
			}
			cals = append(cals, c)
			continue
		}
		cals = append(cals, p.newCal(cs))
	}
	for _, c := range byKey {
		p.removeCal(c)
	}
	p.cals = cals
	p.a.pending.push(p)
}

// removeCal stops polling c; p.mu is held.
func (p *pipeline) removeCal(c *calState) {
	c.gone = true
	if c.poll != nil {
		p.a.sched.Remove(c.poll)
	}
}

// stop ends the pipeline: its publisher removes the publication.
func (p *pipeline) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, c := range p.cals {
		p.removeCal(c)
	}
	p.rebuild.Stop()
	p.pubCancel()
	p.stopBLF() // both removals run at once
}

// updated takes the events of a successful poll of c, saves them if they
// changed (as the scheduler tells) and queues a rebuild of the user's
// timeline. It runs on a scheduler worker.
func (p *pipeline) updated(c *calState, events []*calendar.Event, changed bool) {
	now := p.a.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || c.gone {
		return
	}
	c.attempted = true
	changed = changed || c.saved != nil
	c.events, c.saved, c.goodAt = events, nil, now
	// Save when the data changed, and now and then anyway so that the
	// saved fetch time tells the staleness of the data after a restart.
	if changed || now.Sub(c.savedAt) >= time.Hour {
		p.save(c, now)
	}
	if !changed && !c.stale && p.ready {
		// The same events, still fresh: the timeline would come out as it
		// is, so an unchanged feed (a 304) costs no expansion, rules or
		// encoding. The rebuild timer still falls due at the old staleness
		// limit, and finds the data fresh.
		return
	}
	p.a.pending.push(p)
}

// failed notes a failed poll of c (the scheduler logged it and retries);
// the last good data stays. A first poll that fails lets the user publish
// without this calendar.
func (p *pipeline) failed(c *calState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || c.gone {
		return
	}
	p.noteUnread(c)
	c.attempted = true
	p.a.pending.push(p)
}

// rebuildQueue holds the users whose timeline is to be rebuilt: after a
// poll, at midnight, when data turns stale, after a reload or a clock jump.
// It is the one way a timeline is rebuilt. One goroutine works through it,
// so that midnight, when every user's timer fires, costs no burst of
// goroutines, a scheduler worker never waits for a rebuild, and a burst of
// polls of one user's calendars costs one rebuild.
type rebuildQueue struct {
	mu   sync.Mutex
	ps   []*pipeline
	wake chan struct{} // holds a token while ps may be non-empty
}

// push queues p unless it is queued already; it never blocks.
func (q *rebuildQueue) push(p *pipeline) {
	if !p.queued.CompareAndSwap(false, true) {
		return
	}
	q.mu.Lock()
	q.ps = append(q.ps, p)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run rebuilds the queued users until ctx ends.
func (q *rebuildQueue) run(ctx context.Context) {
	var ps []*pipeline
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		q.mu.Lock()
		ps, q.ps = q.ps, ps[:0]
		q.mu.Unlock()
		for i, p := range ps {
			p.queued.Store(false)
			p.mu.Lock()
			p.rebuildLocked()
			p.mu.Unlock()
			ps[i] = nil
		}
	}
}

// save writes the calendar's occurrences over the saved window; p.mu is
// held.
func (p *pipeline) save(c *calState, now time.Time) {
	day := startOfDay(now, p.spec.Zone)
	// The saved data serves the timelines of the coming days, and so the
	// rules' reach around them.
	from, to := p.spec.Rules.Window(day.AddDate(0, 0, -1), day.AddDate(0, 0, p.a.opts.SaveDays))
	occs, _ := calendar.Expand(c.events, from, to, calendar.ExpandOptions{Zone: p.spec.Zone})
	h := calendar.HashOccurrences(occs)
	if h == c.savedH && now.Sub(c.savedAt) < time.Hour {
		return
	}
	if err := p.a.store.Save(p.id, c.spec.Name, now, from, to, occs); err != nil {
		p.a.log.Warn("saving calendar data failed", "user", p.id, "calendar", c.spec.Name, "err", err)
		return
	}
	c.savedH, c.savedAt = h, now
}

// rebuildLocked computes the user's timeline from the calendars' data and
// hands it to the publisher; p.mu is held.
func (p *pipeline) rebuildLocked() {
	if p.stopped {
		return
	}
	for _, c := range p.cals {
		if !c.attempted {
			return // publish nothing before every calendar had its chance
		}
	}
	p.a.rebuilds.Add(1)
	now := p.a.now()
	zone := p.spec.Zone
	day := startOfDay(now, zone)
	// The window starts the day before so that the segment in force starts
	// where its events make it start, not where the window does: a rebuild
	// then leaves the document in force as it was.
	from, to := day.AddDate(0, 0, -1), day.AddDate(0, 0, p.a.opts.HorizonDays)
	// The events that decide [from, to) are those of the rules' window, as
	// in preview: a lag of days carries an event of days ago into today.
	evFrom, evTo := p.spec.Rules.Window(from, to)

	var occs []calendar.Occurrence
	next := day.AddDate(0, 0, 1) // the window slides at midnight
	for _, c := range p.cals {
		if c.goodAt.IsZero() {
			continue
		}
		staleAt := c.goodAt.Add(p.a.opts.StaleAfter)
		if !now.Before(staleAt) {
			if !c.stale {
				c.stale = true
				p.a.log.Warn("calendar data stale; falling back to the default presence", "user", p.id,
					"calendar", c.spec.Name, "last_good", c.goodAt, "stale_after", p.a.opts.StaleAfter)
			}
			continue
		}
		if c.stale {
			c.stale = false
			p.a.log.Info("calendar data fresh again", "user", p.id, "calendar", c.spec.Name)
		}
		if staleAt.Before(next) {
			next = staleAt
		}
		if c.events != nil {
			o, _ := calendar.Expand(c.events, evFrom, evTo, calendar.ExpandOptions{Zone: zone})
			occs = append(occs, o...)
		} else {
			for _, o := range c.saved {
				if o.End.After(evFrom) && o.Start.Before(evTo) {
					occs = append(occs, o)
				}
			}
		}
	}
	slices.SortStableFunc(occs, func(x, y calendar.Occurrence) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.UID, y.UID)
	})
	segs := p.spec.Rules.Timeline(occs, from, to, zone)
	segs, next = p.withOverride(segs, now, from, to, next)

	entries := make([]publisher.Entry, 0, len(segs))
	bodies := make([][]byte, 0, len(segs))
	first := len(segs) // the first segment not over: the entries are segs[first:]
	h := fnv.New64a()
	for i, s := range segs {
		if !s.End.After(now) {
			continue
		}
		first = min(first, i)
		body, err := p.documentOf(s)
		if err != nil {
			// Cannot happen for documents the rules engine built; publish
			// nothing rather than something wrong.
			p.a.log.Error("encoding presence failed", "user", p.id, "start", s.Start, "err", err)
			body = nil
		}
		entries = append(entries, publisher.Entry{Start: s.Start, End: s.End, Body: body})
		bodies = append(bodies, body)
		fmt.Fprintf(h, "%d\x00%d\x00", s.Start.UnixNano(), s.End.UnixNano())
		h.Write(body)
	}
	p.segs = segmentInfos(segs, p.override) // the whole window, for Stats and Timeline
	if sum := h.Sum64(); !p.ready || sum != p.timelineH {
		if p.a.opts.OnTimeline != nil {
			p.a.opts.OnTimeline(p.id, segs, entries)
		}
		p.pub.SetTimeline(entries)
		p.live, p.bodies = p.segs[first:], bodies
		p.ready, p.timelineH = true, sum
		p.a.log.Debug("timeline rebuilt", "user", p.id, "segments", len(entries), "occurrences", len(occs))
	}
	p.rebuildBLF(segs, now)
	if !next.After(now) {
		next = now.Add(time.Minute) // never a busy loop
	}
	p.rebuild.Reset(next.Sub(now))
}

// now is the agent's wall clock.
func (a *Agent) now() time.Time { return a.opts.Clock.Now() }

// startOfDay is midnight (or the first instant, on a DST night without a
// midnight) of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// clockJumped is called by the scheduler after the wall clock jumped (a
// suspend, an NTP step, a manual change) and the polls that fell due were
// queued: the timelines' rebuild timers follow the monotonic clock too, so
// every timeline is rebuilt for the wall clock's day.
func (a *Agent) clockJumped(time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.users {
		a.pending.push(p)
	}
}

// countingDoer counts a user's requests by result for the metrics.
type countingDoer struct {
	d       publisher.Doer
	results [7]atomic.Uint64 // 0: no response; 1..6: status class
}

// Do sends req through the shared client.
func (c *countingDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := c.d.Do(ctx, req)
	c.count(res, err)
	return res, err
}

// DoTimeout passes the publisher's timeout on to a Doer that queues
// requests (the Pacer), so that it counts from the sending.
func (c *countingDoer) DoTimeout(ctx context.Context, req *sip.Request, timeout time.Duration) (*sip.Response, error) {
	var res *sip.Response
	var err error
	if td, ok := c.d.(publisher.TimeoutDoer); ok {
		res, err = td.DoTimeout(ctx, req, timeout)
	} else {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		res, err = c.d.Do(tctx, req)
		cancel()
	}
	c.count(res, err)
	return res, err
}

func (c *countingDoer) count(res *sip.Response, err error) {
	switch {
	case err != nil || res == nil:
		c.results[0].Add(1)
	case res.StatusCode >= 100 && res.StatusCode < 700:
		c.results[res.StatusCode/100].Add(1)
	default:
		c.results[0].Add(1)
	}
}

// Stats is what the agent can tell about its users, for metrics and status
// pages.
type Stats struct {
	Users []UserStats // sorted by ID
}

// UserStats is the state of one user's pipeline.
type UserStats struct {
	ID   string
	Zone *time.Location // the user's zone; nil before the first Apply
	// Current is the segment in force; its End is when the presence
	// changes next, as far as the timeline reaches. HasPresence is false
	// before the first timeline or past its end.
	Current     Segment
	HasPresence bool
	// Requests counts the user's PUBLISH requests by result: index 0 for
	// no response (an error), 1 to 6 for the response's status class.
	Requests [7]uint64
	// DialogRequests counts the PUBLISH requests of the user's dialog
	// publication (BLF lamps) likewise; BLF is true while the lamp is lit.
	DialogRequests [7]uint64
	BLF            bool
	Calendars      []CalendarStats
	// Repairs counts the publications republished because the server
	// told watchers something else (User.Watch).
	Repairs uint64
}

// Segment is a stretch of a user's timeline.
type Segment struct {
	Start, End time.Time
	Basic      string // "open" or "closed"
	Activities string // comma-separated
	Rule       string // the rule that decided it; "" for the default presence
	Note       string // the published note (rules hide private events' text)
	// Override: the user's own status (calpresence set) decided it, and
	// Rule names the state chosen.
	Override bool
}

// CalendarStats is the state of one calendar of a user.
type CalendarStats struct {
	Name string
	// Poll is the scheduler's view of the calendar: polls, errors, the
	// last success and error, the next poll. Zero if it is not polled.
	Poll poll.Status
	// LastGood is when the data the user goes by was fetched, by the last
	// good poll or, after a restart, as the state file says; zero: never.
	LastGood time.Time
	// Stale is true while that data is older than Options.StaleAfter and
	// is ignored.
	Stale bool
}

// Stats returns the state of every user.
func (a *Agent) Stats() Stats {
	a.mu.Lock()
	ps := make([]*pipeline, 0, len(a.order))
	for _, id := range a.order {
		ps = append(ps, a.users[id])
	}
	a.mu.Unlock()
	now := a.now()
	st := Stats{Users: make([]UserStats, 0, len(ps))}
	for _, p := range ps {
		var polls []*poll.Entry
		p.mu.Lock()
		u := UserStats{ID: p.id, Zone: p.spec.Zone, Repairs: p.repairs.Load()}
		for _, s := range p.segs {
			if !now.Before(s.Start) && now.Before(s.End) {
				u.Current, u.HasPresence = s, true
				break
			}
		}
		for _, c := range p.cals {
			u.Calendars = append(u.Calendars, CalendarStats{Name: c.spec.Name, LastGood: c.goodAt, Stale: c.stale})
			polls = append(polls, c.poll)
		}
		if p.doer != nil {
			for i := range u.Requests {
				u.Requests[i] = p.doer.results[i].Load()
			}
		}
		p.blfStats(&u, now)
		p.mu.Unlock()
		// The scheduler's lock is taken without p.mu: the scheduler calls
		// into the pipeline holding neither, but the order stays one way.
		for i, poll := range polls {
			if poll != nil {
				u.Calendars[i].Poll = poll.Status()
			}
		}
		st.Users = append(st.Users, u)
	}
	return st
}
