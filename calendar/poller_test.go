package calendar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseSchedule(t *testing.T) {
	berlin := feedZone(t, "Europe/Berlin")
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
// time it is given, across a DST change, which is how Poller applies the
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
		got := sched.Next(tt.from.In(feedZone(t, tt.zone)))
		if !got.Equal(tt.want) {
			t.Errorf("Next(%v in %s) = %v, want %v", tt.from, tt.zone, got.UTC(), tt.want)
		}
	}

	// Midnight does not exist on some DST days in some zones; the schedule
	// must still move on.
	daily, _ := ParseSchedule("@daily")
	sp := feedZone(t, "America/Sao_Paulo")
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

// pollFakeSource returns scripted results and records when it was fetched.
type pollFakeSource struct {
	mu      sync.Mutex
	results []error // one per fetch; nil = success; past the end: success
	block   bool    // wait for ctx instead
	fetches []time.Time
	version int
}

func (f *pollFakeSource) Name() string { return "work" }

func (f *pollFakeSource) Fetch(ctx context.Context) ([]*Event, []Warning, error) {
	f.mu.Lock()
	n := len(f.fetches)
	f.fetches = append(f.fetches, time.Now())
	block := f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	if n < len(f.results) && f.results[n] != nil {
		return nil, nil, f.results[n]
	}
	f.mu.Lock()
	f.version++
	v := f.version
	f.mu.Unlock()
	return []*Event{{UID: fmt.Sprintf("v%d", v)}}, []Warning{{Source: "cal.ics", Line: 3, Err: errors.New("bad")}}, nil
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

func (u *pollUpdates) on(name string, events []*Event, _ []Warning) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.feedUIDs = append(u.feedUIDs, name+":"+events[0].UID)
}

func (u *pollUpdates) get() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.feedUIDs...)
}

// startPoller starts p.Run in the bubble and returns a function that stops it
// and returns Run's error.
func startPoller(t *testing.T, p *Poller) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			return err
		default:
			t.Fatalf("Run() still running after its context was cancelled")
			return nil
		}
	}
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

func TestPollerFollowsSchedule(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		zone     string
		// The bubble starts at 2000-01-01T00:00:00Z.
		want []time.Duration
	}{
		{"every", "@every 5m", "UTC", pollDurations("0s", "5m", "10m", "15m")},
		{"default", "", "UTC", pollDurations("0s", "5m", "10m", "15m")},
		{"cron", "*/7 * * * *", "UTC", pollDurations("0s", "7m", "14m")},
		// Hourly on the hour in India is at half past in UTC.
		{"cron in the user's zone", "0 * * * *", "Asia/Kolkata", pollDurations("0s", "30m")},
		{"cron in the user's zone 2", "0 6 * * *", "America/New_York", pollDurations("0s", "11h")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				src := &pollFakeSource{}
				var got pollUpdates
				p, err := NewPoller(PollerOptions{Source: src, Schedule: tt.schedule, Zone: feedZone(t, tt.zone), OnUpdate: got.on})
				if err != nil {
					t.Fatal(err)
				}
				stop := startPoller(t, p)
				time.Sleep(tt.want[len(tt.want)-1] + time.Minute/2)
				if err := stop(); !errors.Is(err, context.Canceled) {
					t.Errorf("Run() = %v, want context.Canceled", err)
				}
				if times := src.times(start); !pollEqualDurations(times, tt.want) {
					t.Errorf("fetches at %v, want %v", times, tt.want)
				}
				if n := len(got.get()); n != len(tt.want) {
					t.Errorf("OnUpdate calls = %d, want %d", n, len(tt.want))
				}
			})
		})
	}
}

func TestPollerKeepsLastGoodDataAndBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		boom := errors.New("ics https://h/a.ics: server answered HTTP 503 Service Unavailable")
		src := &pollFakeSource{results: []error{nil, boom, boom, boom, boom}}
		var got pollUpdates
		p, err := NewPoller(PollerOptions{Source: src, Schedule: "@every 1h", Zone: time.UTC, OnUpdate: got.on,
			MinRetry: 10 * time.Second, MaxRetry: 40 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		stop := startPoller(t, p)
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
		if st := p.Status(); st.Failures != 0 || st.LastErr != nil {
			t.Errorf("Status() after recovery = %+v, want no failures", st)
		}
	})
}

func TestPollerRetryNeverPassesSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		boom := errors.New("down")
		src := &pollFakeSource{results: []error{boom, boom, boom, boom, boom, boom}}
		p, err := NewPoller(PollerOptions{Source: src, Schedule: "*/1 * * * *", Zone: time.UTC,
			MinRetry: 10 * time.Minute, MaxRetry: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		stop := startPoller(t, p)
		time.Sleep(3*time.Minute + time.Second)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "1m", "2m", "3m")) {
			t.Errorf("fetches at %v, want every minute despite a 10m backoff", times)
		}
	})
}

func TestPollerStopsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Cancelled while a fetch hangs.
		src := &pollFakeSource{block: true}
		p, err := NewPoller(PollerOptions{Source: src, Zone: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		stop := startPoller(t, p)
		synctest.Wait()
		if err := stop(); !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
		if st := p.Status(); st.Failures != 0 {
			t.Errorf("Status() after shutdown = %+v, want no failure counted", st)
		}

		// A fetch that hangs past Timeout is a failure, and Run goes on.
		p, err = NewPoller(PollerOptions{Source: src, Zone: time.UTC, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		stop = startPoller(t, p)
		time.Sleep(time.Minute + time.Second)
		if st := p.Status(); st.Failures != 1 || !errors.Is(st.LastErr, context.DeadlineExceeded) {
			t.Errorf("Status() after a hung fetch = %+v, want one failure, deadline exceeded", st)
		}
		stop()
	})
}

func TestPollerForcedPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		src := &pollFakeSource{}
		var got pollUpdates
		p, err := NewPoller(PollerOptions{Source: src, Schedule: "@every 10m", Zone: time.UTC, OnUpdate: got.on})
		if err != nil {
			t.Fatal(err)
		}
		stop := startPoller(t, p)
		time.Sleep(3 * time.Minute)
		if err := p.Poll(t.Context()); err != nil {
			t.Errorf("Poll() = %v", err)
		}
		time.Sleep(10*time.Minute + time.Second)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "3m", "13m")) {
			t.Errorf("fetches at %v, want 0s, the forced 3m, then 10m later", times)
		}
		if u := got.get(); len(u) != 3 || u[1] != "work:v2" {
			t.Errorf("OnUpdate calls = %q, want 3 with the forced poll's second", u)
		}

		// Run refuses to run twice at once.
		stop = startPoller(t, p)
		synctest.Wait()
		if err := p.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Run() = %v, want an error", err)
		}
		stop()

		// Without Run, Poll still works.
		if err := p.Poll(t.Context()); err != nil || !strings.HasPrefix(got.get()[len(got.get())-1], "work:") {
			t.Errorf("Poll() without Run = %v", err)
		}
	})
}

func TestNewPollerErrors(t *testing.T) {
	src := &pollFakeSource{}
	tests := []struct {
		opts PollerOptions
		want string
	}{
		{PollerOptions{Zone: time.UTC}, "poller: no source"},
		{PollerOptions{Source: src}, "poller work: no time zone"},
		{PollerOptions{Source: src, Zone: time.UTC, Schedule: "TZ=0"}, `calendar work: poll schedule "TZ=0": time zone prefixes`},
		{PollerOptions{Source: src, Zone: time.UTC, MinRetry: time.Hour, MaxRetry: time.Minute}, "the minimum retry at most the maximum"},
	}
	for _, tt := range tests {
		if _, err := NewPoller(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewPoller(%+v) = %v, want error containing %q", tt.opts, err, tt.want)
		}
	}
}

// retryLater is an error that asks to wait, like a 503 with Retry-After.
type retryLater time.Duration

func (r retryLater) Error() string             { return "busy" }
func (r retryLater) RetryAfter() time.Duration { return time.Duration(r) }

func TestPollerHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		src := &pollFakeSource{results: []error{retryLater(20 * time.Minute)}}
		p, err := NewPoller(PollerOptions{Source: src, Schedule: "@every 5m", Zone: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		stop := startPoller(t, p)
		time.Sleep(26 * time.Minute)
		stop()
		if times := src.times(start); !pollEqualDurations(times, pollDurations("0s", "20m", "25m")) {
			t.Errorf("fetches at %v, want 0s, then 20m as the server asked, then on schedule", times)
		}
	})
}

// TestPollerWithICSSource polls a real feed: the second poll costs a 304,
// still hands the events on, and a failing server keeps them.
func TestPollerWithICSSource(t *testing.T) {
	f := &condFeedServer{body: readFeedFile(t, "two.ics"), etag: `"v1"`}
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src, parses := newFeedSource(t, ICSOptions{Name: "team", URL: srv.URL + "/team.ics"})
	var got pollUpdates
	p, err := NewPoller(PollerOptions{Source: src, Zone: feedZone(t, "Europe/Berlin"), OnUpdate: got.on})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Poll(t.Context()); err != nil {
			t.Fatalf("Poll() = %v", err)
		}
	}
	down.Store(true)
	if err := p.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Errorf("Poll() from a failing server = %v, want the 502", err)
	}
	if _, notModified := f.counts(); notModified != 1 || parses.Load() != 1 {
		t.Errorf("after two polls: %d answered 304, %d parses; want 1 and 1", notModified, parses.Load())
	}
	if u := got.get(); len(u) != 2 || u[0] != "team:standup@example.com" || u[1] != u[0] {
		t.Errorf("OnUpdate calls = %q, want the feed's events twice", u)
	}
	if st := p.Status(); len(st.Events) != 2 || st.Failures != 1 {
		t.Errorf("Status() after a failure = %d events, %d failures; want the 2 last good events, 1 failure", len(st.Events), st.Failures)
	}
}
