package poll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/calpresence/calpresence/internal/httpx"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/clock"
)

// pollFakeSource returns scripted results and records when it was fetched.
type pollFakeSource struct {
	name    string        // "" means "work"
	delay   time.Duration // each fetch takes this long (in the bubble's time)
	busy    *inflight     // counts fetches in progress; may be nil
	mu      sync.Mutex
	results []error // one per fetch; nil = success; past the end: success
	block   bool    // wait for ctx instead
	panics  bool    // panic instead
	warning string  // the warning every successful fetch returns; "" means "bad"
	fetches []time.Time
	version int
}

// inflight counts the fetches in progress of many sources.
type inflight struct {
	mu       sync.Mutex
	now, max int
}

func (c *inflight) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now += d
	c.max = max(c.max, c.now)
}

func (f *pollFakeSource) Name() string {
	if f.name == "" {
		return "work"
	}
	return f.name
}

func (f *pollFakeSource) Fetch(ctx context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	f.mu.Lock()
	n := len(f.fetches)
	f.fetches = append(f.fetches, time.Now())
	block, panics, warning := f.block, f.panics, f.warning
	f.mu.Unlock()
	if f.busy != nil {
		f.busy.add(1)
		defer f.busy.add(-1)
	}
	if panics {
		panic("source broke")
	}
	if block {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	if f.delay > 0 {
		time.Sleep(f.delay) // the bubble's clock: a slow server
	}
	if n < len(f.results) && f.results[n] != nil {
		return nil, nil, f.results[n]
	}
	if warning == "" {
		warning = "bad"
	}
	f.mu.Lock()
	f.version++
	v := f.version
	f.mu.Unlock()
	return []*calendar.Event{{UID: fmt.Sprintf("v%d", v)}}, []calendar.Warning{{Source: "cal.ics", Line: 3, Err: errors.New(warning)}}, nil
}

func (f *pollFakeSource) set(fn func(f *pollFakeSource)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *pollFakeSource) times(start time.Time) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for _, t := range f.fetches {
		out = append(out, t.Sub(start))
	}
	return out
}

// pollUpdates records OnUpdate calls.
type pollUpdates struct {
	mu       sync.Mutex
	feedUIDs []string
}

func (u *pollUpdates) on(name string, events []*calendar.Event, _ []calendar.Warning, _ bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.feedUIDs = append(u.feedUIDs, name+":"+events[0].UID)
}

func (u *pollUpdates) get() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.feedUIDs...)
}

func pollDurations(ds ...string) []time.Duration {
	var out []time.Duration
	for _, s := range ds {
		d, err := time.ParseDuration(s)
		if err != nil {
			panic(err)
		}
		out = append(out, d)
	}
	return out
}

func pollEqualDurations(a, b []time.Duration) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// startScheduler starts s.Run in the bubble and returns a function that
// stops it and returns Run's error; Run must have returned by then, with no
// timer armed.
func startScheduler(t *testing.T, s *Scheduler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	synctest.Wait()
	return func() error {
		t.Helper()
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, p := range s.polls {
				if p.armed || p.timer != nil && p.timer.Stop() {
					t.Errorf("calendar %s: timer still armed after Run returned", p.spec.Source.Name())
				}
			}
			return err
		default:
			t.Fatalf("Run() still running after its context was cancelled")
			return nil
		}
	}
}

func newTestScheduler(t *testing.T, opts Options) *Scheduler {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v", opts, err)
	}
	return s
}

func mustAdd(t *testing.T, s *Scheduler, spec Spec) *Entry {
	t.Helper()
	p, err := s.Add(spec)
	if err != nil {
		t.Fatalf("Add(%+v) = %v", spec, err)
	}
	return p
}

func mustSchedule(t *testing.T, spec string) cron.Schedule {
	t.Helper()
	s, err := ParseSchedule(spec)
	if err != nil {
		t.Fatalf("ParseSchedule(%q) = %v", spec, err)
	}
	return s
}

// every lists 0, step, 2*step, ... up to until.
func every(step, until time.Duration) []time.Duration {
	var out []time.Duration
	for d := time.Duration(0); d <= until; d += step {
		out = append(out, d)
	}
	return out
}

// One scheduler, calendars in several zones: each follows its own schedule
// in its own zone, and is polled at once when added.
func TestSchedulerFollowsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble starts at 2000-01-01T00:00:00Z.
		tests := []struct {
			schedule string // "" means none: the default
			zone     string
			want     []time.Duration
		}{
			{"@every 5m", "UTC", every(5*time.Minute, 11*time.Hour)},
			{"", "UTC", every(5*time.Minute, 11*time.Hour)},
			{"0 */2 * * *", "UTC", every(2*time.Hour, 11*time.Hour)},
			// Hourly on the hour in India is at half past in UTC.
			{"0 * * * *", "Asia/Kolkata", append([]time.Duration{0}, pollDurations("30m", "1h30m", "2h30m", "3h30m", "4h30m", "5h30m", "6h30m", "7h30m", "8h30m", "9h30m", "10h30m")...)},
			// Nepal is 5:45 ahead: 06:00, 09:00, ... local.
			{"0 */3 * * *", "Asia/Kathmandu", pollDurations("0s", "15m", "3h15m", "6h15m", "9h15m")},
			{"30 9 * * *", "Europe/Berlin", pollDurations("0s", "8h30m")},
			{"0 6 * * *", "America/New_York", pollDurations("0s", "11h")},
		}
		start := time.Now()
		s := newTestScheduler(t, Options{})
		srcs := make([]*pollFakeSource, len(tests))
		updates := make([]pollUpdates, len(tests))
		for i, tt := range tests {
			srcs[i] = &pollFakeSource{name: fmt.Sprintf("cal%d", i)}
			spec := Spec{Source: srcs[i], Zone: mustZone(t, tt.zone), OnUpdate: updates[i].on}
			if tt.schedule != "" {
				spec.Schedule = mustSchedule(t, tt.schedule)
			}
			mustAdd(t, s, spec)
		}
		stop := startScheduler(t, s)
		time.Sleep(11*time.Hour + 30*time.Second)
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
		for i, tt := range tests {
			if times := srcs[i].times(start); !pollEqualDurations(times, tt.want) {
				t.Errorf("%q in %s: fetches at %v, want %v", tt.schedule, tt.zone, times, tt.want)
			}
			if n := len(updates[i].get()); n != len(tt.want) {
				t.Errorf("%q in %s: OnUpdate calls = %d, want %d", tt.schedule, tt.zone, n, len(tt.want))
			}
		}
	})
}

func TestSchedulerKeepsLastGoodDataAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		boom := errors.New("ics https://h/a.ics: server answered HTTP 503 Service Unavailable")
		src := &pollFakeSource{results: []error{nil, boom, boom, boom, boom}}
		var got pollUpdates
		var failures []error
		s := newTestScheduler(t, Options{MinRetry: 10 * time.Second, MaxRetry: 40 * time.Second})
		p := mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 1h"), Zone: time.UTC, OnUpdate: got.on,
			OnFailure: func(name string, err error) { failures = append(failures, err) }})
		stop := startScheduler(t, s)
		time.Sleep(time.Hour + 30*time.Second)
		synctest.Wait()
		st := p.Status()
		if st.Failures == 0 || !errors.Is(st.LastErr, boom) || len(st.Events) != 1 || st.Events[0].UID != "v1" {
			t.Errorf("Status() while failing = %+v, want failures, the error and the last good events (v1)", st)
		}
		time.Sleep(2 * time.Hour)
		stop()

		times := src.times(start)
		// 0s ok, 1h fails, then retries after 5-10s, 10-20s, 20-40s, and
		// one succeeds; then hourly from that success.
		if len(times) < 7 || times[0] != 0 || times[1] != time.Hour {
			t.Fatalf("fetches at %v, want 0s, 1h, retries, ...", times)
		}
		bounds := [][2]time.Duration{{5 * time.Second, 10 * time.Second}, {10 * time.Second, 20 * time.Second}, {20 * time.Second, 40 * time.Second}, {20 * time.Second, 40 * time.Second}}
		for i, b := range bounds {
			gap := times[i+2] - times[i+1]
			if gap < b[0] || gap > b[1] {
				t.Errorf("retry %d came %v after the failure, want within %v", i+1, gap, b)
			}
		}
		// @every rounds to whole seconds.
		if gap := times[6] - times[5]; gap <= time.Hour-time.Second || gap > time.Hour {
			t.Errorf("after recovering, next fetch came %v later, want 1h (fetches %v)", gap, times)
		}
		if u := got.get(); len(u) < 3 || u[0] != "work:v1" || u[1] != "work:v2" {
			t.Errorf("OnUpdate calls = %q, want work:v1, then work:v2 only after recovery", u)
		}
		if len(failures) != 4 || !errors.Is(failures[0], boom) {
			t.Errorf("OnFailure calls = %v, want the 4 failures", failures)
		}
		st = p.Status()
		if st.Failures != 0 || st.LastErr != nil || st.Polls != uint64(len(times)) || st.Errors != 4 {
			t.Errorf("Status() after recovery = %+v, want no failures, %d polls, 4 errors", st, len(times))
		}
	})
}

func TestSchedulerRetryNeverPassesSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		boom := errors.New("down")
		src := &pollFakeSource{results: []error{boom, boom, boom, boom, boom, boom}}
		s := newTestScheduler(t, Options{MinRetry: 10 * time.Minute, MaxRetry: time.Hour})
		mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "*/1 * * * *"), Zone: time.UTC})
		stop := startScheduler(t, s)
		time.Sleep(3*time.Minute + time.Second)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "1m", "2m", "3m")) {
			t.Errorf("fetches at %v, want every minute despite a 10m backoff", times)
		}
	})
}

// A server's Retry-After (a *httpx.StatusError, wrapped as sources do) is
// believed even past a scheduled poll.
func TestSchedulerHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		busy := fmt.Errorf("ics https://h/a.ics: %w", &httpx.StatusError{Code: 503, Status: "503 Service Unavailable", Retry: 20 * time.Minute})
		src := &pollFakeSource{results: []error{busy}}
		s := newTestScheduler(t, Options{})
		mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 5m"), Zone: time.UTC})
		stop := startScheduler(t, s)
		time.Sleep(26 * time.Minute)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "20m", "25m")) {
			t.Errorf("fetches at %v, want 0s, then 20m as the server asked, then on schedule", times)
		}
	})
}

func TestSchedulerStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		// Cancelled while a fetch hangs: no failure, and the next Run
		// polls again at once.
		src := &pollFakeSource{block: true}
		var failed atomic.Int32
		s := newTestScheduler(t, Options{})
		p := mustAdd(t, s, Spec{Source: src, Zone: time.UTC, OnFailure: func(string, error) { failed.Add(1) }})
		stop := startScheduler(t, s)
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
		if st := p.Status(); st.Failures != 0 || st.Polls != 0 || failed.Load() != 0 {
			t.Errorf("Status() after shutdown = %+v, %d OnFailure calls; want no poll counted", st, failed.Load())
		}
		time.Sleep(time.Minute)
		stop = startScheduler(t, s)
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "1m")) {
			t.Errorf("fetches at %v, want 0s, then at once when Run starts again", times)
		}
		stop()

		// A fetch that hangs past Timeout is a failure, and Run goes on.
		s = newTestScheduler(t, Options{Timeout: time.Minute})
		p = mustAdd(t, s, Spec{Source: src, Zone: time.UTC, OnFailure: func(string, error) { failed.Add(1) }})
		stop = startScheduler(t, s)
		time.Sleep(time.Minute + time.Second)
		if st := p.Status(); st.Failures != 1 || !errors.Is(st.LastErr, context.DeadlineExceeded) || failed.Load() != 1 {
			t.Errorf("Status() after a hung fetch = %+v, %d OnFailure calls; want one failure, deadline exceeded", st, failed.Load())
		}
		const want = "calendar work: no result within 1m0s, the poll timeout (is the server slow or unreachable?): context deadline exceeded"
		if st := p.Status(); st.LastErr == nil || st.LastErr.Error() != want {
			t.Errorf("LastErr after a hung fetch = %v, want %q", st.LastErr, want)
		}
		stop()
	})
}

// Many calendars share the workers: never more fetches at once than
// workers, and every calendar gets its turn.
func TestSchedulerSharesWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, workers = 100, 4
		start := time.Now()
		var busy inflight
		s := newTestScheduler(t, Options{Workers: workers})
		srcs := make([]*pollFakeSource, n)
		for i := range srcs {
			srcs[i] = &pollFakeSource{name: fmt.Sprintf("cal%d", i), delay: time.Second, busy: &busy}
			mustAdd(t, s, Spec{Source: srcs[i], Schedule: mustSchedule(t, "@every 5m"), Zone: time.UTC})
		}
		stop := startScheduler(t, s)
		time.Sleep(n/workers*time.Second + time.Second)
		for i, src := range srcs {
			if times := src.times(start); len(times) != 1 {
				t.Errorf("calendar %d: fetches at %v, want one in the first round", i, times)
			}
		}
		busy.mu.Lock()
		most := busy.max
		busy.mu.Unlock()
		if most != workers {
			t.Errorf("at most %d fetches ran at once, want %d (the workers)", most, workers)
		}
		time.Sleep(5 * time.Minute)
		stop()
		for i, src := range srcs {
			// Each is due 5m after its first poll ended; the 1s fetches
			// then queue behind each other as in the first round.
			if times := src.times(start); len(times) != 2 || times[1]-times[0] < 5*time.Minute || times[1]-times[0] > 5*time.Minute+2*time.Second {
				t.Errorf("calendar %d: fetches at %v, want a second about 5m after the first", i, times)
			}
		}
	})
}

// Calendars that hang take one worker each, until the timeout; the others
// are polled on time by the workers left.
func TestSchedulerHangingCalendarIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := newTestScheduler(t, Options{Workers: 4, Timeout: 10 * time.Minute})
		var hung []*pollFakeSource
		for i := range 3 {
			src := &pollFakeSource{name: fmt.Sprintf("hung%d", i), block: true}
			hung = append(hung, src)
			mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 1m"), Zone: time.UTC})
		}
		var fast []*pollFakeSource
		for i := range 20 {
			src := &pollFakeSource{name: fmt.Sprintf("fast%d", i)}
			fast = append(fast, src)
			mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 1m"), Zone: time.UTC})
		}
		stop := startScheduler(t, s)
		time.Sleep(3*time.Minute + time.Second)
		stop()
		for _, src := range fast {
			if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "1m", "2m", "3m")) {
				t.Errorf("%s: fetches at %v, want every minute on the minute", src.name, times)
			}
		}
		for _, src := range hung {
			if times := src.times(start); len(times) != 1 {
				t.Errorf("%s: fetches at %v, want one that hangs", src.name, times)
			}
		}
	})
}

func TestSchedulerPollNowAndFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		src := &pollFakeSource{}
		var got pollUpdates
		s := newTestScheduler(t, Options{})
		p := mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 10m"), Zone: time.UTC, OnUpdate: got.on})

		// Without Run, Fetch polls in the caller's goroutine; the poll
		// queued by Add is then no longer due.
		if err := p.Fetch(t.Context()); err != nil {
			t.Errorf("Fetch() without Run = %v", err)
		}
		stop := startScheduler(t, s)
		time.Sleep(3 * time.Minute)
		p.PollNow()
		time.Sleep(10*time.Minute + time.Second)
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "3m", "13m")) {
			t.Errorf("fetches at %v, want 0s (Fetch), the forced 3m, then 10m later", times)
		}
		if u := got.get(); len(u) != 3 || u[1] != "work:v2" {
			t.Errorf("OnUpdate calls = %q, want 3 with the forced poll's second", u)
		}

		// A PollNow during a poll is followed by another poll; a Fetch
		// during a poll waits for it.
		src.set(func(f *pollFakeSource) { f.delay = time.Minute })
		p.PollNow()
		time.Sleep(time.Second)
		p.PollNow()
		p.PollNow()
		if err := p.Fetch(t.Context()); err != nil {
			t.Errorf("Fetch() = %v", err)
		}
		synctest.Wait()
		time.Sleep(2 * time.Minute)
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "3m", "13m", "13m1s", "14m1s", "15m1s")) {
			t.Errorf("fetches at %v, want the forced poll at 13m1s, the Fetch after it, the PollNow after that", times)
		}

		// Run refuses to run twice at once.
		if err := s.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Run() = %v, want an error", err)
		}
		stop()
	})
}

func TestSchedulerRecoversPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := &pollFakeSource{name: "bad", panics: true}
		good := &pollFakeSource{name: "good"}
		var failures []error
		s := newTestScheduler(t, Options{Workers: 1, MinRetry: time.Second, MaxRetry: time.Second})
		p := mustAdd(t, s, Spec{Source: bad, Zone: time.UTC, OnFailure: func(_ string, err error) { failures = append(failures, err) }})
		q := mustAdd(t, s, Spec{Source: good, Zone: time.UTC})
		stop := startScheduler(t, s)
		if st := p.Status(); st.LastErr == nil || !strings.Contains(st.LastErr.Error(), "calendar bad: fetch panicked: source broke") {
			t.Errorf("Status() of a panicking source = %+v, want the panic as an error", st)
		}
		if len(failures) != 1 {
			t.Errorf("OnFailure calls = %v, want the panic", failures)
		}
		bad.set(func(f *pollFakeSource) { f.panics = false })
		time.Sleep(time.Second)
		if st := p.Status(); st.LastErr != nil || len(st.Events) != 1 {
			t.Errorf("Status() after the source recovered = %+v, want events", st)
		}
		if st := q.Status(); len(st.Events) != 1 {
			t.Errorf("Status() of the calendar beside = %+v, want its events", st)
		}
		stop()
	})
}

// The same warnings are logged once, not at every poll; changed ones again.
func TestSchedulerLogsWarningsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
		src := &pollFakeSource{}
		var warned int
		s := newTestScheduler(t, Options{})
		p := mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 1m"), Zone: time.UTC, Logger: log.With("user", "alice"),
			OnUpdate: func(_ string, _ []*calendar.Event, w []calendar.Warning, _ bool) { warned += len(w) }})
		stop := startScheduler(t, s)
		time.Sleep(3*time.Minute + time.Second)
		src.set(func(f *pollFakeSource) { f.warning = "worse" })
		time.Sleep(2 * time.Minute)
		stop()
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		if n := strings.Count(out, "calendar warning"); n != 2 {
			t.Errorf("logged %d warnings, want 2 (the first, then the changed one):\n%s", n, out)
		}
		if !strings.Contains(out, `user=alice calendar=work warning="cal.ics:3: uid \"\": worse"`) {
			t.Errorf("log lacks the changed warning with the spec's logger attributes:\n%s", out)
		}
		if st := p.Status(); warned != int(st.Polls) {
			t.Errorf("OnUpdate got %d warnings in %d polls, want every poll's", warned, st.Polls)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// After a jump of the wall clock (a suspend stops the monotonic clock that
// timers follow), polls that fell due run at once; after a step back, none
// waits longer than its schedule says.
func TestSchedulerClockJump(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var offset atomic.Int64
		clk := offsetClock{Clock: clock.Real, offset: &offset}
		now := clk.Now
		var jumps []time.Duration
		s := newTestScheduler(t, Options{Clock: clk, ClockCheck: 10 * time.Second,
			OnClockJump: func(d time.Duration) { jumps = append(jumps, d) }})
		hourly := &pollFakeSource{name: "hourly"}
		mustAdd(t, s, Spec{Source: hourly, Schedule: mustSchedule(t, "0 * * * *"), Zone: time.UTC})
		daily := &pollFakeSource{name: "daily"}
		mustAdd(t, s, Spec{Source: daily, Schedule: mustSchedule(t, "@every 24h"), Zone: time.UTC})
		stop := startScheduler(t, s)

		// At 00:10:05 the wall clock moves 2h ahead: the hourly poll due
		// at 01:00 runs at the next check, the daily one stays.
		time.Sleep(10*time.Minute + 5*time.Second)
		offset.Store(int64(2 * time.Hour))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if times := hourly.times(start); !pollEqualDurations(times, pollDurations("0s", "10m10s")) {
			t.Errorf("hourly: fetches at %v (monotonic), want 0s, then at the check after the jump", times)
		}
		if times := daily.times(start); len(times) != 1 {
			t.Errorf("daily: fetches at %v, want only the first", times)
		}
		if len(jumps) != 1 || jumps[0] != 2*time.Hour {
			t.Errorf("OnClockJump calls = %v, want one of 2h", jumps)
		}

		// The wall clock reads 02:10:10, the next hourly poll is due at
		// 03:00. Stepped back by 2h to 00:10:10, the poll comes at 01:00 by
		// the new clock, not 2h50m later (CatchUp at once; Run's check
		// would notice too, 10s later).
		offset.Store(0)
		s.CatchUp(now())
		time.Sleep(50 * time.Minute)
		synctest.Wait()
		if times := hourly.times(start); !pollEqualDurations(times, pollDurations("0s", "10m10s", "1h")) {
			t.Errorf("hourly: fetches at %v (monotonic), want the third at 1h after the step back", times)
		}
		stop()
	})
}

// Remove cancels a fetch in progress and frees its worker; Update changes
// the source and schedule from the next poll on, keeping the state.
func TestSchedulerRemoveAndUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := newTestScheduler(t, Options{Workers: 1})
		hung := &pollFakeSource{name: "hung", block: true}
		var called atomic.Int32
		h := mustAdd(t, s, Spec{Source: hung, Zone: time.UTC,
			OnUpdate: func(string, []*calendar.Event, []calendar.Warning, bool) { called.Add(1) }, OnFailure: func(string, error) { called.Add(1) }})
		other := &pollFakeSource{name: "other"}
		var got pollUpdates
		o := mustAdd(t, s, Spec{Source: other, Schedule: mustSchedule(t, "@every 1h"), Zone: time.UTC, OnUpdate: got.on})
		stop := startScheduler(t, s)
		if times := other.times(start); len(times) != 0 {
			t.Fatalf("other: fetches at %v, want none while the only worker hangs", times)
		}
		s.Remove(h)
		s.Remove(h)
		synctest.Wait()
		if times := other.times(start); !pollEqualDurations(times, pollDurations("0s")) {
			t.Errorf("other: fetches at %v, want one as soon as the hung calendar was removed", times)
		}
		if st := h.Status(); !st.Next.IsZero() || st.Polls != 0 || called.Load() != 0 {
			t.Errorf("Status() of a removed calendar = %+v, %d callbacks; want nothing scheduled, no poll, no callback", st, called.Load())
		}
		if err := h.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "removed") {
			t.Errorf("Fetch() of a removed calendar = %v, want an error", err)
		}

		// At 10m: a new source, every 5m; the next poll is at 15m, from the
		// new source, and the events are kept meanwhile.
		time.Sleep(10 * time.Minute)
		other2 := &pollFakeSource{name: "other", version: 100}
		if err := o.Update(Spec{Source: other2, Schedule: mustSchedule(t, "@every 5m"), Zone: time.UTC, OnUpdate: got.on}); err != nil {
			t.Fatalf("Update() = %v", err)
		}
		if st := o.Status(); len(st.Events) != 1 || st.Events[0].UID != "v1" || !st.Next.Equal(start.Add(15*time.Minute)) {
			t.Errorf("Status() after Update = %+v, want the old events, next poll at 15m", st)
		}
		time.Sleep(10*time.Minute + time.Second)
		stop()
		if times := other2.times(start); !pollEqualDurations(times, pollDurations("15m", "20m")) {
			t.Errorf("new source: fetches at %v, want 15m, 20m", times)
		}
		if u := got.get(); len(u) != 3 || u[1] != "other:v101" {
			t.Errorf("OnUpdate calls = %q, want v1 then the new source's", u)
		}
		if times := hung.times(start); len(times) != 1 {
			t.Errorf("removed calendar: fetches at %v, want only the one cancelled", times)
		}
	})
}

func TestSchedulerErrors(t *testing.T) {
	for _, opts := range []Options{
		{Workers: -1}, {Timeout: -time.Second}, {MinRetry: -time.Second}, {MinRetry: time.Hour, MaxRetry: time.Minute},
	} {
		if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "calendar scheduler: ") {
			t.Errorf("New(%+v) = %v, want an error", opts, err)
		}
	}
	s := newTestScheduler(t, Options{})
	src := &pollFakeSource{}
	for _, tt := range []struct {
		spec Spec
		want string
	}{
		{Spec{Zone: time.UTC}, "calendar scheduler: no source"},
		{Spec{Source: src}, "calendar work: no time zone"},
	} {
		if _, err := s.Add(tt.spec); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Add(%+v) = %v, want error containing %q", tt.spec, err, tt.want)
		}
	}
	p := mustAdd(t, s, Spec{Source: src, Zone: time.UTC})
	if err := p.Update(Spec{Source: src}); err == nil || !strings.Contains(err.Error(), "no time zone") {
		t.Errorf("Update(no zone) = %v, want an error", err)
	}
}

// With Splay, calendars on one schedule are polled spread over the splay
// after each activation, each at its own steady offset.
func TestSchedulerSplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := newTestScheduler(t, Options{Workers: 4, Splay: 30 * time.Second})
		const n = 50
		srcs := make([]*pollFakeSource, n)
		for i := range srcs {
			srcs[i] = &pollFakeSource{name: fmt.Sprintf("cal%d", i)}
			mustAdd(t, s, Spec{Source: srcs[i], Zone: time.UTC, Schedule: mustSchedule(t, "*/5 * * * *")})
		}
		stop := startScheduler(t, s)
		time.Sleep(16 * time.Minute)
		stop()
		offsets := map[time.Duration]bool{}
		for _, src := range srcs {
			times := src.times(start)
			if len(times) != 4 { // at once, then after 5, 10 and 15 minutes
				t.Fatalf("%s: fetches at %v, want 4", src.name, times)
			}
			off := times[1] - 5*time.Minute
			if off < 0 || off >= 30*time.Second {
				t.Errorf("%s: second fetch at %v, want within 30s after 5m", src.name, times[1])
			}
			for k, at := range times[1:] {
				if want := time.Duration(k+1)*5*time.Minute + off; at != want {
					t.Errorf("%s: fetch %d at %v, want %v (a steady offset)", src.name, k+1, at, want)
				}
			}
			offsets[off] = true
		}
		if len(offsets) < n/2 {
			t.Errorf("%d calendars polled at only %d distinct offsets, want them spread", n, len(offsets))
		}
	})
}

// A Fetch while Run runs is a poll like a scheduled one: the schedule goes
// on from it. Without Run, Fetch still polls.
func TestSchedulerFetchDuringRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		src := &pollFakeSource{}
		var got pollUpdates
		s := newTestScheduler(t, Options{Workers: 1})
		p := mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "@every 10m"), Zone: time.UTC, OnUpdate: got.on})
		stop := startScheduler(t, s)
		time.Sleep(3 * time.Minute)
		if err := p.Fetch(t.Context()); err != nil {
			t.Errorf("Fetch() = %v", err)
		}
		time.Sleep(10*time.Minute + time.Second)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "3m", "13m")) {
			t.Errorf("fetches at %v, want 0s, the forced 3m, then 10m later", times)
		}
		if u := got.get(); len(u) != 3 || u[1] != "work:v2" {
			t.Errorf("OnUpdate calls = %q, want 3 with the forced poll's second", u)
		}

		if err := p.Fetch(t.Context()); err != nil || !strings.HasPrefix(got.get()[len(got.get())-1], "work:") {
			t.Errorf("Fetch() without Run = %v", err)
		}
	})
}

// offsetClock is the real clock (the bubble's) with its wall clock moved
// by offset, as a suspend or a clock step moves it.
type offsetClock struct {
	clock.Clock
	offset *atomic.Int64
}

func (c offsetClock) Now() time.Time { return c.Clock.Now().Add(time.Duration(c.offset.Load())) }

// sameSource hands back the slice of its last read until bump says the
// calendar changed, as sources do after an HTTP 304 or an unchanged ctag.
type sameSource struct {
	mu     sync.Mutex
	events []*calendar.Event
	n      int
}

func (s *sameSource) Name() string { return "same" }

func (s *sameSource) Fetch(context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.n++
		s.events = []*calendar.Event{{UID: fmt.Sprintf("v%d", s.n)}}
	}
	// A fresh slice with the same events: what CalDAV builds every poll.
	return slices.Clone(s.events), nil, nil
}

func (s *sameSource) bump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
}

// OnUpdate's changed flag is set on the first poll and when the events are
// other values than the last poll's, not merely another slice of them.
func TestSchedulerChanged(t *testing.T) {
	src := &sameSource{}
	var got []bool
	s := newTestScheduler(t, Options{})
	p := mustAdd(t, s, Spec{Source: src, Zone: time.UTC,
		OnUpdate: func(_ string, _ []*calendar.Event, _ []calendar.Warning, changed bool) { got = append(got, changed) }})
	steps := []struct {
		bump bool
		want bool
	}{{false, true}, {false, false}, {false, false}, {true, true}, {false, false}}
	for i, st := range steps {
		if st.bump {
			src.bump()
		}
		if err := p.Fetch(t.Context()); err != nil {
			t.Fatalf("Fetch() = %v", err)
		}
		if len(got) != i+1 || got[i] != st.want {
			t.Errorf("poll %d: OnUpdate changed = %v, want %v", i+1, got, st.want)
		}
	}
}

// On a scaled clock (a demo at 60x) schedules and clock checks run on the
// clock's time: an hourly calendar polls every real minute, and the clock
// check, which runs on the same clock, sees no jump.
func TestSchedulerScaledClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var jumps []time.Duration
		s := newTestScheduler(t, Options{Clock: clock.NewScaled(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), 60),
			ClockCheck: 10 * time.Second, OnClockJump: func(d time.Duration) { jumps = append(jumps, d) }})
		src := &pollFakeSource{}
		mustAdd(t, s, Spec{Source: src, Schedule: mustSchedule(t, "0 * * * *"), Zone: time.UTC})
		stop := startScheduler(t, s)
		time.Sleep(3*time.Minute + time.Second)
		synctest.Wait()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "1m", "2m", "3m")) {
			t.Errorf("fetches at %v real time, want every minute (each scaled hour)", times)
		}
		if len(jumps) != 0 {
			t.Errorf("OnClockJump calls = %v, want none on a scaled clock", jumps)
		}
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
	})
}
