package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
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
// accepted by the server; then SIPp sends N presentities' PUBLISHes to the
// same Kamailio as fast as it takes them, and the flip is reported against
// the time Kamailio needs for N PUBLISHes at that ceiling.
//
// The users have no BLF publication: the DND config serves no Event:
// dialog (it would answer 489), and the flip is to be N PUBLISHes.
// N comes from CALPRESENCE_BENCH_USERS (default 1000); run it once: go
// test -run '^$' -bench AgentUsers -benchtime 1x. CALPRESENCE_BENCH_PROFILE
// names a directory for heap.pprof (steady state) and cpu.pprof (the
// poll round).
func BenchmarkAgentUsers(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CALPRESENCE_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	// db_text keeps every presentity in shared memory, and each finished
	// transaction stays there for 5s.
	kam := testserver.StartKamailioDNDWith(b, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"),
		testserver.KamailioDNDOptions{SharedMemMB: max(256, n/25)})
	zone, _ := time.LoadLocation("Europe/Berlin")
	rs := builtin(b)

	if os.Getenv("CALPRESENCE_BENCH_PROFILE") != "" {
		runtime.MemProfileRate = 512 // the users' memory, finely
	}
	for b.Loop() {
		benchAgentUsers(b, n, kam.Addr(), zone, rs)
	}
}

func benchAgentUsers(b *testing.B, n int, server string, zone *time.Location, rs *rules.Rules) {
	b.Helper()
	// The flip: every user's meeting starts at the same instant, far
	// enough ahead for every user's first publication to settle.
	flip := time.Now().Add(time.Duration(20+n/500) * time.Second).Truncate(time.Second)
	// Busy until the flip (the default presence publishes nothing), then
	// in a meeting: every user publishes once at start, and once at the flip.
	feed := buildICS([]icsEvent{
		{uid: "b1", summary: "Focus", start: flip.Add(-time.Hour), end: flip},
		{uid: "m1", summary: "Review", start: flip, end: flip.Add(time.Hour), attendees: 3},
	})
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
			NoBLF:     true,
		}
	}
	// As calpresence run does: every user's requests through one Pacer
	// (CALPRESENCE_BENCH_PACE=0: straight to the Client, for comparison).
	var doer publisher.Doer = publisher.NewPacer(client, publisher.PaceOptions{})
	if os.Getenv("CALPRESENCE_BENCH_PACE") == "0" {
		doer = client
	}
	opts := Options{Doer: doer}
	if n > 1000 {
		opts.PublisherClockCheck = 15 * time.Second // as calpresence run does
	}
	a := New(opts)
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
				var res [7]uint64
				a.mu.Lock()
				for _, p := range a.users {
					for i := range res {
						res[i] += p.doer.results[i].Load()
					}
				}
				a.mu.Unlock()
				b.Fatalf("%s: not done by %v; requests by result (none, 1xx..6xx): %v; feed GETs %d", what, deadline, res, gets.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("first publications", func() bool { return ok() >= uint64(n) }, flip.Add(-time.Second))
	firstDone := time.Now()

	// Steady state: every user published, timers armed, nothing in flight.
	// A few collections, as a daemon's minutes bring: each halves the
	// stacks that use less than a quarter of theirs (the publishers' grew
	// while they sent and are parked shallow now).
	for range 4 {
		runtime.GC()
	}
	var steady runtime.MemStats
	runtime.ReadMemStats(&steady)
	perUser := float64(int64(steady.HeapInuse+steady.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / float64(n)
	profDir := os.Getenv("CALPRESENCE_BENCH_PROFILE")
	if profDir != "" {
		writeProfile(b, filepath.Join(profDir, "heap.pprof"), pprof.WriteHeapProfile)
		f, err := os.Create(filepath.Join(profDir, "cpu.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}

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
	if profDir != "" {
		pprof.StopCPUProfile()
	}

	// The flip.
	wait("the flip", func() bool { return ok() >= uint64(2*n) }, flip.Add(30*time.Second+time.Duration(n/500)*time.Second))
	flipDelay := time.Since(flip)

	// Kamailio's own ceiling, now, on the same server and transport: each
	// SIPp presentity takes 6 PUBLISHes (publish, 4 modifications, remove).
	scenario, _ := filepath.Abs(filepath.Join("..", "..", "publisher", "testdata", "sipp", "publish.xml"))
	took, _ := testserver.RunSIPp(b, scenario, server,
		"-m", strconv.Itoa(n), "-r", "100000", "-rp", "1000", "-l", "64", "-t", "t1")
	rate := float64(6*n) / took.Seconds()
	ceiling := time.Duration(float64(n) / rate * float64(time.Second))

	b.ReportMetric(float64(n), "users")
	b.ReportMetric(perUser, "B/user")
	b.ReportMetric(float64(roundCPU.Milliseconds()), "cpu-ms/poll-round")
	b.ReportMetric(flipDelay.Seconds(), "s/flip")
	b.ReportMetric(ceiling.Seconds(), "s/sipp-n-publishes")
	b.ReportMetric(flipDelay.Seconds()/ceiling.Seconds(), "flip/ceiling")
	b.ReportMetric(firstDone.Sub(flip.Add(-time.Duration(20+n/500)*time.Second)).Seconds(), "s/first-publish")
	b.Logf("steady state per user: heap %d B, stacks %d B",
		(int64(steady.HeapInuse)-int64(before.HeapInuse))/int64(n), (int64(steady.StackInuse)-int64(before.StackInuse))/int64(n))
	b.Logf("%d users: %.0f B/user in steady state, poll round %v CPU (%v/user), flip delivered %v after it was due (SIPp: %.0f PUBLISH/s, %v for %d: %.2fx), goroutines %d",
		n, perUser, roundCPU, roundCPU/time.Duration(n), flipDelay.Round(time.Millisecond), rate, ceiling.Round(time.Millisecond), n,
		flipDelay.Seconds()/ceiling.Seconds(), runtime.NumGoroutine())
}

func writeProfile(b *testing.B, path string, write func(io.Writer) error) {
	b.Helper()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := write(f); err != nil {
		b.Fatal(err)
	}
}

// rusage is the process's CPU time so far (user + system).
func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
