package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/robfig/cron/v3"
)

// BenchmarkAgentUsers runs N users in one process: ICS feeds from an
// in-process HTTP server, publications to the real Kamailio (the DND
// config, a presence server). It reports the memory per user in steady
// state, the CPU time of one poll round of every calendar (unchanged
// feeds: conditional GETs), and the time from a meeting start shared by
// every user (the 09:00 flip) until the last user's new state was
// accepted by the server. N comes from CALPRESENCE_BENCH_USERS (default
// 1000); run it once: go test -run '^$' -bench AgentUsers -benchtime 1x.
func BenchmarkAgentUsers(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CALPRESENCE_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	kam := testserver.StartKamailioDND(b, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	zone, _ := time.LoadLocation("Europe/Berlin")
	rs := builtin(b)

	for b.Loop() {
		benchAgentUsers(b, n, kam.Addr(), zone, rs)
	}
}

func benchAgentUsers(b *testing.B, n int, server string, zone *time.Location, rs *rules.Rules) {
	b.Helper()
	// The flip: every user's meeting starts at the same instant, far
	// enough ahead for every user's first publication to settle.
	flip := time.Now().Add(time.Duration(20+n/500) * time.Second).Truncate(time.Second)
	feed := meetingICS(flip, flip.Add(time.Hour))
	etag := `"v1"`
	var gets atomic.Int64
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar")
		w.Write([]byte(feed))
	}))
	defer feeds.Close()

	client, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	specs := make([]User, n)
	for i := range specs {
		aor := fmt.Sprintf("sip:u%d@example.com", i)
		src, err := ics.New(ics.Options{
			Name: "work", URL: fmt.Sprintf("%s/u/%d.ics", feeds.URL, i), HTTPClient: httpc,
			Parse: calendar.ParseOptions{Calendar: "work", Zone: zone},
		})
		if err != nil {
			b.Fatal(err)
		}
		specs[i] = User{
			ID: aor, Zone: zone, Rules: rs,
			Calendars: []Calendar{{Name: "work", Source: src, Poll: cron.Every(time.Hour), Key: "work"}},
			Publisher: publisher.Options{AOR: aor, Proxy: "sip:" + server + ";transport=tcp"},
		}
	}
	// As calpresence run does: every user's requests through one Pacer
	// (CALPRESENCE_BENCH_PACE=0: straight to the Client, for comparison).
	var doer publisher.Doer = publisher.NewPacer(client, publisher.PaceOptions{})
	if os.Getenv("CALPRESENCE_BENCH_PACE") == "0" {
		doer = client
	}
	a := New(Options{Doer: doer})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx, specs) }()
	defer func() { cancel(); <-done }()

	ok := func() (n uint64) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, p := range a.users {
			p.mu.Lock()
			n += p.doer.results[2].Load()
			p.mu.Unlock()
		}
		return n
	}
	wait := func(what string, cond func() bool, deadline time.Time) {
		for !cond() {
			if time.Now().After(deadline) {
				b.Fatalf("%s: not done by %v", what, deadline)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("first publications", func() bool { return ok() >= uint64(n) }, flip.Add(-time.Second))
	firstDone := time.Now()

	// Steady state: every user published, timers armed, nothing in flight.
	runtime.GC()
	var steady runtime.MemStats
	runtime.ReadMemStats(&steady)
	perUser := float64(int64(steady.HeapInuse+steady.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / float64(n)

	// One poll round of every calendar: all answered 304.
	ru0 := rusage()
	g0 := gets.Load()
	a.mu.Lock()
	for _, p := range a.users {
		for _, c := range p.cals {
			c.poll.PollNow()
		}
	}
	a.mu.Unlock()
	wait("poll round", func() bool { return gets.Load()-g0 >= int64(n) }, flip.Add(-time.Second))
	roundCPU := rusage() - ru0

	// The flip.
	wait("the flip", func() bool { return ok() >= uint64(2*n) }, flip.Add(30*time.Second))
	flipDelay := time.Since(flip)

	b.ReportMetric(float64(n), "users")
	b.ReportMetric(perUser, "B/user")
	b.ReportMetric(float64(roundCPU.Milliseconds()), "cpu-ms/poll-round")
	b.ReportMetric(flipDelay.Seconds(), "s/flip")
	b.ReportMetric(firstDone.Sub(flip.Add(-time.Duration(20+n/500)*time.Second)).Seconds(), "s/first-publish")
	b.Logf("%d users: %.0f B/user in steady state, poll round %v CPU, flip delivered %v after it was due, goroutines %d",
		n, perUser, roundCPU, flipDelay.Round(time.Millisecond), runtime.NumGoroutine())
}

// rusage is the process's CPU time so far (user + system).
func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
